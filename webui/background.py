"""The app's job queue and the pieces a worker inside this process would use, made once per app.

Background work (analyses, large imports, reports) is queued on ``coproduce.services.jobs.JobQueue``
and run by ``coproduce worker``, a separate process (``coproduce serve`` starts one unless told not to).
They live in ``app.extensions`` so tests can put their own there: ``app.extensions["coproduce.pipeline"]``
is a callable returning the ``Pipeline`` an in-process worker (tests) uses, and
``app.extensions["coproduce.privacy"]`` the privacy factory imports use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import current_app

from coproduce.config import Settings
from coproduce.pipeline.run import Pipeline
from coproduce.services.imports import PrivacyFactory, default_privacy
from coproduce.services.job_worker import LazyPipeline
from coproduce.services.jobs import JobContext, JobQueue

__all__ = ["LazyPipeline", "job_context", "job_queue", "pipeline_provider", "privacy", "settings"]

_lock = threading.Lock()


def _extension(name: str, make: Callable[[], Any]) -> Any:
    extensions = current_app.extensions
    with _lock:
        if name not in extensions:
            extensions[name] = make()
        return extensions[name]


def settings() -> Settings:
    return current_app.extensions["coproduce.settings"]


def job_queue() -> JobQueue:
    return _extension(
        "coproduce.jobs", lambda: JobQueue(current_app.extensions["coproduce.session_factory"], settings())
    )


def pipeline_provider() -> Callable[[], Pipeline]:
    return _extension("coproduce.pipeline", lambda: LazyPipeline(settings()))


def privacy() -> PrivacyFactory:
    return _extension("coproduce.privacy", lambda: default_privacy)


def job_context() -> JobContext:
    """What a worker running inside this app's process gets (tests and notebooks; production workers
    build their own)."""
    return JobContext(current_app.extensions["coproduce.session_factory"], settings(), pipeline_provider(), privacy())

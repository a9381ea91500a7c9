"""The app's background job runner and analysis pipeline, made once per app on first use.

Both live in ``app.extensions`` so tests can put their own there: ``app.extensions["coproduce.pipeline"]``
is a callable returning the ``Pipeline`` to use (the default builds the standard one once, on the first
run, which loads the models: 10-40 seconds), and ``app.extensions["coproduce.privacy"]`` the privacy
factory imports use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import current_app

from coproduce.config import Settings
from coproduce.pipeline.run import Pipeline
from coproduce.services.imports import PrivacyFactory, default_privacy
from coproduce.services.jobs import JobRunner

_lock = threading.Lock()


class LazyPipeline:
    """Builds the default pipeline on first call and hands out the same one after (it is reusable)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Pipeline:
        with self._lock:
            if self._pipeline is None:
                from coproduce.services.analysis import default_pipeline

                self._pipeline = default_pipeline(self.settings)
            return self._pipeline


def _extension(name: str, make: Callable[[], Any]) -> Any:
    extensions = current_app.extensions
    with _lock:
        if name not in extensions:
            extensions[name] = make()
        return extensions[name]


def settings() -> Settings:
    return current_app.extensions["coproduce.settings"]


def job_runner() -> JobRunner:
    return _extension("coproduce.jobs", JobRunner)


def pipeline_provider() -> Callable[[], Pipeline]:
    return _extension("coproduce.pipeline", lambda: LazyPipeline(settings()))


def privacy() -> PrivacyFactory:
    return _extension("coproduce.privacy", lambda: default_privacy)

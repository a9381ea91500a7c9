"""`coproduce worker`, and the worker `coproduce serve` and `coproduce demo` start beside the web UI.

The worker is a process of its own (see ``coproduce.services.job_worker``); the web UI only queues jobs.
So that one command still gives a working demo, ``serve`` starts a worker as a child process unless the
``start_worker`` setting or ``--no-worker`` says not to, and stops it when the server stops.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

WarmOpt = Annotated[
    bool, typer.Option("--warm/--no-warm", help="Load the analysis models before taking the first job.")
]


def worker(
    instance: Annotated[Path | None, typer.Option("--instance", help="Instance folder (database, secret key).")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database URL; overrides the setting.")
    ] = None,
    warm: WarmOpt = True,
) -> None:
    """Run background jobs (imports, analyses, reports) for this instance until stopped (Ctrl+C)."""
    from coproduce.cli import _factory, _settings, err
    from coproduce.services.job_worker import Worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = _settings(instance, database_url)
    Worker(s, _factory(s), say=lambda message: err.print(message, highlight=False)).run(warm_models=warm)


@contextmanager
def child_worker(enabled: bool, instance: Path | None, database_url: str | None) -> Iterator[subprocess.Popen | None]:
    """A ``coproduce worker`` child process while the block runs (None when not ``enabled``)."""
    if not enabled:
        yield None
        return
    command = [sys.executable, "-m", "coproduce.cli", "worker"]
    if instance is not None:
        command += ["--instance", str(instance)]
    if database_url:
        command += ["--database-url", database_url]
    child = subprocess.Popen(command)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)  # stop now: a job it was running is queued again on restart
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

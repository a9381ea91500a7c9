"""A small in-process background job runner: one worker thread, a queue, and job states anyone can read.

Long work (an analysis, a large import) runs here so a web request can return at once and a page can
show how far it got. The interface is kept narrow so a real job queue can replace it later:

- :meth:`JobRunner.submit` (``fn, *args, **kwargs``) returns a job id;
- :meth:`JobRunner.get` returns a :class:`JobStatus` snapshot (or ``None`` for an unknown id);
- :meth:`JobRunner.cancel` asks a job to stop.

Inside a job, :func:`report_progress` records the stage and how much of it is done, and raises
:class:`JobCancelled` once someone has asked the job to stop: cancelling takes effect at the next
progress report, never in the middle of a write. Outside a job both are harmless no-ops, so the same
function can run in the foreground (the CLI) unchanged. Jobs live in memory: a restart forgets them
(anything they wrote to the database stays, with its own status).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from coproduce.store.models import utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = "queued", "running", "finished", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED)
DONE_STATUSES = frozenset({FINISHED, FAILED, CANCELLED})


class JobCancelled(Exception):
    """Raised inside a job, at a progress report, after someone asked it to stop."""


class JobBusyError(Exception):
    """A job with the same key is already queued or running."""

    def __init__(self, key: str, job_id: str) -> None:
        super().__init__(f"a job for {key} is already queued or running ({job_id})")
        self.key = key
        self.job_id = job_id


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job: safe to read from any thread, never changes under the reader."""

    id: str
    label: str
    key: str | None
    status: str
    stage: str = ""
    done: int = 0
    total: int = 0
    detail: dict[str, Any] = field(default_factory=dict)  # what the job chose to tell, e.g. its run id
    result: Any = None
    error: str = ""
    cancel_requested: bool = False
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def percent(self) -> int:
        if self.status == FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total > 0 else 0


@dataclass
class _Job:
    state: JobStatus
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


_local = threading.local()


def _current() -> tuple[JobRunner, _Job] | None:
    return getattr(_local, "job", None)


def report_progress(stage: str, done: int, total: int) -> None:
    """Record how far the current job is; raise :class:`JobCancelled` if it has been asked to stop."""
    current = _current()
    if current is None:
        return
    runner, job = current
    runner._update(job, stage=stage, done=int(done), total=int(total))
    if job.cancel.is_set():
        raise JobCancelled(f"stopped at {stage} ({done} of {total})")


def set_detail(**values: Any) -> None:
    """Tell whoever reads the current job something about it (e.g. ``run_id=12``)."""
    current = _current()
    if current is not None:
        runner, job = current
        runner._update(job, detail={**job.state.detail, **values})


def current_job_id() -> str | None:
    current = _current()
    return current[1].state.id if current else None


class JobRunner:
    """Runs submitted jobs one at a time on a single worker thread (started on first use)."""

    def __init__(self, keep: int = 200) -> None:
        self._keep = keep
        self._jobs: dict[str, _Job] = {}
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, label: str = "", key: str | None = None, **kwargs: Any) -> str:
        """Queue ``fn(*args, **kwargs)``; returns the job id. With ``key``, refuse (JobBusyError) while
        another job with that key is queued or running."""
        with self._lock:
            if key is not None:
                busy = self._active(key)
                if busy is not None:
                    raise JobBusyError(key, busy.state.id)
            job = _Job(
                JobStatus(uuid.uuid4().hex, label or getattr(fn, "__name__", "job"), key, QUEUED), fn, args, kwargs
            )
            self._jobs[job.state.id] = job
            self._prune()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="coproduce-jobs", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job.state.id

    def get(self, job_id: str) -> JobStatus | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.state if job else None

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop: a queued job never starts; a running one stops at its next progress report.
        Returns False when the job is unknown or already done."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.is_done:
                return False
            job.cancel.set()
            if job.state.status == QUEUED:
                job.state = replace(job.state, status=CANCELLED, cancel_requested=True, finished_at=utcnow())
                job.ended.set()
            else:
                job.state = replace(job.state, cancel_requested=True)
            return True

    def active(self, key: str) -> JobStatus | None:
        """The queued or running job with this key, if any."""
        with self._lock:
            job = self._active(key)
            return job.state if job else None

    def jobs(self) -> list[JobStatus]:
        with self._lock:
            return [job.state for job in self._jobs.values()]

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job is done (or ``timeout`` seconds pass); returns its latest state."""
        with self._lock:
            job = self._jobs[job_id]
        job.ended.wait(timeout)
        with self._lock:
            return job.state

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop the worker after the jobs already queued (a running job is asked to stop)."""
        with self._lock:
            for job in self._jobs.values():
                if not job.state.is_done:
                    job.cancel.set()
            worker = self._worker
        self._queue.put(None)
        if worker is not None:
            worker.join(timeout)

    # -- the worker

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.state.is_done:  # cancelled while queued
                    continue
                job.state = replace(job.state, status=RUNNING, started_at=utcnow())
            _local.job = (self, job)
            try:
                result = job.fn(*job.args, **job.kwargs)
            except JobCancelled as exc:
                self._end(job, CANCELLED, error=str(exc))
            except Exception as exc:
                log.exception("background job %s (%s) failed", job.state.id, job.state.label)
                self._end(job, FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
            else:
                self._end(job, FINISHED, result=result)
            finally:
                _local.job = None

    def _end(self, job: _Job, status: str, *, result: Any = None, error: str = "") -> None:
        with self._lock:
            job.state = replace(job.state, status=status, result=result, error=error, finished_at=utcnow())
            job.ended.set()

    def _update(self, job: _Job, **changes: Any) -> None:
        with self._lock:
            job.state = replace(job.state, **changes)

    def _active(self, key: str) -> _Job | None:
        return next((j for j in self._jobs.values() if j.state.key == key and not j.state.is_done), None)

    def _prune(self) -> None:
        done = [j for j in self._jobs.values() if j.state.is_done]
        for job in done[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.state.id]

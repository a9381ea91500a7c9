"""Background jobs on a persistent queue: job state in the database, the work done by `coproduce worker`.

Long work (an analysis, a large import, reports) runs outside web requests. The web app and the workers
are separate processes; they share the ``job`` table (what to run, its state, progress, cancel request,
which worker has it and when that worker last said it was alive). The queue (huey, see
``coproduce.services.job_queue``) carries only job ids. The interface stays narrow:

- :meth:`JobQueue.submit` (an importable function, JSON-able keyword arguments) returns a job id;
- :meth:`JobQueue.get` returns a :class:`JobStatus` snapshot (or ``None`` for an unknown id);
- :meth:`JobQueue.cancel` asks a job to stop.

A job function is declared with :func:`background` and called as ``fn(context, **arguments)``, where the
:class:`JobContext` holds what cannot travel as JSON (the session factory, the settings, the warmed
pipeline). Inside a job, :func:`report_progress` records the stage and how much of it is done, and raises
:class:`JobCancelled` once someone has asked the job to stop: cancelling takes effect at the next progress
report, never in the middle of a write. Outside a job both are harmless no-ops, so the same function runs
in the foreground (the CLI) unchanged.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store.db import transaction
from coproduce.store.models import Job, JobWorker, utcnow

if TYPE_CHECKING:
    from huey import Huey

    from coproduce.services.audit import Actor

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "finished",
    "failed",
    "cancelled",
    "interrupted",
)
STATUSES = (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED)
ACTIVE_STATUSES = frozenset({QUEUED, RUNNING})
DONE_STATUSES = frozenset({FINISHED, FAILED, CANCELLED, INTERRUPTED})
PROGRESS_WRITE_SECONDS = 0.5  # progress rows are written at most this often (a new stage always is)


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
    """A snapshot of one job row: never changes under the reader."""

    id: str
    label: str
    key: str | None
    status: str
    kind: str = ""
    stage: str = ""
    done: int = 0
    total: int = 0
    detail: dict[str, Any] = field(default_factory=dict)  # what the job chose to tell, e.g. its run id
    result: Any = None
    error: str = ""
    cancel_requested: bool = False
    requested_by: str = ""
    attempts: int = 0
    resumable: bool = False
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker_id: str | None = None
    heartbeat_at: datetime | None = None

    @classmethod
    def of(cls, row: Job) -> JobStatus:
        return cls(
            id=row.id,
            label=row.label,
            key=row.key,
            status=row.status,
            kind=row.kind,
            stage=row.stage,
            done=row.done,
            total=row.total,
            detail=dict(row.detail or {}),
            result=row.result,
            error=row.error,
            cancel_requested=row.cancel_requested,
            requested_by=row.requested_by_label,
            attempts=row.attempts,
            resumable=row.resumable,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            worker_id=row.worker_id,
            heartbeat_at=row.heartbeat_at,
        )

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def percent(self) -> int:
        if self.status == FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total > 0 else 0


@dataclass
class JobContext:
    """What a job function gets besides its JSON arguments: made once per worker process."""

    factory: sessionmaker[Session]
    settings: Settings
    pipeline: Callable[[], Any] | None = None  # returns the (warmed) analysis Pipeline
    privacy: Callable[..., Any] | None = None  # the privacy factory imports use (None: the default)


def background(
    *, resumable: bool = False, on_interrupt: Callable[[sessionmaker[Session], str], None] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a job. ``resumable``: when its worker dies mid-run, running it again from the
    start is safe and picks up what was kept (it wrote nothing partial). ``on_interrupt(factory, job_id)``
    tidies up after a dead worker (e.g. marks the analysis run interrupted) before any re-run."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.job_resumable = resumable  # type: ignore[attr-defined]
        fn.job_on_interrupt = on_interrupt  # type: ignore[attr-defined]
        return fn

    return mark


def function_path(fn: Callable[..., Any]) -> str:
    path = f"{fn.__module__}:{fn.__qualname__}"
    if "<" in path:
        raise ValueError(f"{path} is not importable: a job must be a module-level function")
    return path


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    if not hasattr(target, "job_resumable"):
        raise ValueError(f"{path} is not declared as a background job (coproduce.services.jobs.background)")
    return target


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        value = {"value": value}
    return json.loads(json.dumps(value, default=str))


class JobQueue:
    """Submit, read and cancel jobs. The database is the source of truth; huey only carries job ids."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, huey: Huey | None = None) -> None:
        self.factory = factory
        self.settings = settings
        self._huey = huey
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                from coproduce.services.job_queue import make_huey

                self._huey = make_huey(self.settings)
            return self._huey

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=3 * self.settings.job_heartbeat_seconds)

    def submit(
        self,
        fn: Callable[..., Any],
        *,
        kind: str,
        label: str = "",
        key: str | None = None,
        requested_by: Actor | None = None,
        **arguments: Any,
    ) -> str:
        """Queue ``fn(context, **arguments)``; returns the job id. With ``key``, refuse (JobBusyError) while
        another job with that key is queued or running (in any process: a unique column says so)."""
        path = function_path(fn)
        resolve(path)  # refuse now, not in the worker, a function that is not a job
        try:
            encoded = json.loads(json.dumps(arguments))
        except TypeError as exc:
            raise ValueError(f"job arguments must be JSON: {exc}") from exc
        job_id = uuid.uuid4().hex
        try:
            with transaction(self.factory) as session:
                session.add(
                    Job(
                        id=job_id,
                        kind=kind,
                        key=key,
                        active_key=key,
                        label=(label or fn.__name__)[:200],
                        function=path,
                        arguments=encoded,
                        resumable=bool(fn.job_resumable),  # type: ignore[attr-defined]
                        status=QUEUED,
                        requested_by_id=requested_by.user_id if requested_by else None,
                        requested_by_label=(requested_by.label if requested_by else "")[:200],
                    )
                )
        except IntegrityError as exc:
            busy = self.active(key) if key is not None else None
            if busy is None:
                raise
            raise JobBusyError(key or "", busy.id) from exc
        self.enqueue(job_id)
        return job_id

    def enqueue(self, job_id: str) -> None:
        from coproduce.services.job_queue import enqueue

        enqueue(self.huey, job_id)

    def get(self, job_id: str) -> JobStatus | None:
        if not job_id:
            return None
        with self.factory() as session:
            row = session.get(Job, job_id)
            return JobStatus.of(row) if row is not None else None

    def active(self, key: str) -> JobStatus | None:
        """The queued or running job with this key, if any."""
        with self.factory() as session:
            row = session.scalar(select(Job).where(Job.active_key == key))
            return JobStatus.of(row) if row is not None else None

    def jobs(self, kind: str | None = None, limit: int = 100) -> list[JobStatus]:
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if kind is not None:
            query = query.where(Job.kind == kind)
        with self.factory() as session:
            return [JobStatus.of(row) for row in session.scalars(query)]

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop: a queued job never starts; a running one stops at its next progress report;
        one whose worker is gone is marked cancelled at once. False when unknown or already ended."""
        with transaction(self.factory) as session:
            row = session.get(Job, job_id)
            if row is None or row.status in DONE_STATUSES:
                return False
            row.cancel_requested = True
            if row.status == QUEUED:
                _end(row, CANCELLED, error="Stopped by request before it started.")
            elif not self._worker_alive(row):
                _end(row, CANCELLED, error="Stopped by request; the worker running it had already stopped.")
            return True

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.1) -> JobStatus:
        """Poll until the job is done (or ``timeout`` seconds pass); returns its latest state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.get(job_id)
            if state is None:
                raise KeyError(job_id)
            if state.is_done or (deadline is not None and time.monotonic() >= deadline):
                return state
            time.sleep(poll)

    def workers_alive(self) -> int:
        """How many workers said they were alive recently (and have not said they stopped)."""
        since = utcnow() - self.stale_after
        with self.factory() as session:
            rows = session.scalars(
                select(JobWorker.id).where(JobWorker.stopped_at.is_(None), JobWorker.heartbeat_at >= since)
            )
            return len(list(rows))

    def worker_alive(self, job: JobStatus) -> bool:
        """Whether the worker running ``job`` still reports in."""
        return job.heartbeat_at is not None and utcnow() - job.heartbeat_at <= self.stale_after

    def _worker_alive(self, row: Job) -> bool:
        return row.heartbeat_at is not None and utcnow() - row.heartbeat_at <= self.stale_after


def _end(row: Job, status: str, *, result: Any = None, error: str = "") -> None:
    row.status, row.active_key, row.finished_at = status, None, utcnow()
    if result is not None:
        row.result = result
    if error:
        row.error = error[:2000]


# -- inside a job


@dataclass
class _Running:
    factory: sessionmaker[Session]
    job_id: str
    stage: str = ""
    last_write: float = 0.0


_local = threading.local()


def _current() -> _Running | None:
    return getattr(_local, "job", None)


def report_progress(stage: str, done: int, total: int) -> None:
    """Record how far the current job is; raise :class:`JobCancelled` if it has been asked to stop."""
    current = _current()
    if current is None:
        return
    now = time.monotonic()
    with transaction(current.factory) as session:
        if stage != current.stage or now - current.last_write >= PROGRESS_WRITE_SECONDS or done >= total:
            current.stage, current.last_write = stage, now
            session.execute(
                update(Job)
                .where(Job.id == current.job_id)
                .values(stage=stage[:40], done=int(done), total=int(total), heartbeat_at=utcnow())
            )
        cancel = session.scalar(select(Job.cancel_requested).where(Job.id == current.job_id))
    if cancel:
        raise JobCancelled(f"stopped at {stage} ({done} of {total})")


def set_detail(**values: Any) -> None:
    """Tell whoever reads the current job something about it (e.g. ``run_id=12``); values must be JSON."""
    current = _current()
    if current is None:
        return
    with transaction(current.factory) as session:
        row = session.get(Job, current.job_id)
        if row is not None:
            row.detail = {**(row.detail or {}), **json.loads(json.dumps(values))}


def current_job_id() -> str | None:
    current = _current()
    return current.job_id if current else None


def execute(job_id: str, context: JobContext, worker_id: str) -> str | None:
    """Run one queued job in this thread: claim it (only one worker ever does), run it, record how it
    ended. Returns the final status, or None when the job was not queued (cancelled, or claimed already)."""
    factory = context.factory
    now = utcnow()
    with transaction(factory) as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(status=RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now, attempts=Job.attempts + 1)
        ).rowcount
        row = session.get(Job, job_id) if claimed else None
        path, arguments = (row.function, dict(row.arguments or {})) if row is not None else ("", {})
    if not claimed:
        return None
    _local.job = _Running(factory, job_id)
    status, result, error = FINISHED, None, ""
    try:
        result = _jsonable(resolve(path)(context, **arguments))
    except JobCancelled as exc:
        status, error = CANCELLED, str(exc)
    except Exception as exc:
        log.exception("background job %s (%s) failed", job_id, path)
        status, error = FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        _local.job = None
    with transaction(factory) as session:
        row = session.get(Job, job_id)
        if row is not None and row.status == RUNNING and row.worker_id == worker_id:
            _end(row, status, result=result, error=error)
        elif row is not None:
            status = row.status  # someone marked it (e.g. cancelled once its worker looked gone)
    return status

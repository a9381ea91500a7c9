"""The queue under the jobs: huey carrying job ids, and the recovery of jobs whose worker died.

``job_queue_url`` empty gives a huey ``SqliteHuey`` in ``<instance>/jobs.sqlite`` (web app and workers
on one machine); ``redis://...`` gives ``RedisHuey`` (workers anywhere). A message holds only a job id:
what to run and its JSON arguments are in the ``job`` row (never a pickled closure).

A worker that dies (killed, out of memory, the machine restarted) leaves its job ``running`` with a
heartbeat that stops moving. :func:`recover` (run by every worker when it starts and then periodically)
marks such jobs interrupted, lets the job's own ``on_interrupt`` tidy up (an analysis run row becomes
``interrupted``), and queues resumable jobs again: a re-run of an analysis reuses the embedding cache, so
it embeds only what the dead worker had not.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.services import jobs
from coproduce.store.db import transaction
from coproduce.store.models import Job, JobWorker, utcnow

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger(__name__)

TASK_NAME = "coproduce.run_job"
MAX_ATTEMPTS = 3  # a job that took its worker down this many times is left interrupted
LOST_MESSAGE_SECONDS = 30  # a queued job older than this with no queue message is queued again


def queue_name(settings: Settings) -> str:
    """One queue per database: two instances sharing a Redis never take each other's jobs."""
    return "coproduce-" + hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:10]


def make_huey(settings: Settings) -> Huey:
    from huey import RedisHuey, SqliteHuey

    url = settings.job_queue_url.strip()
    if not url:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        path = (settings.instance_dir / "jobs.sqlite").resolve()
        huey: Huey = SqliteHuey(queue_name(settings), filename=str(path), results=False)
    elif url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(queue_name(settings), url=url, results=False)
    else:
        raise BadInputError(
            f"the job queue URL {url!r} is not one coproduce knows",
            field="COPRODUCE_JOB_QUEUE_URL",
            hint="Leave it empty for a SQLite queue in the instance folder, or give redis://host:6379/0",
        )
    huey.coproduce_task = huey.task(name=TASK_NAME)(_run_job)  # type: ignore[attr-defined]
    return huey


def enqueue(huey: Huey, job_id: str) -> None:
    huey.coproduce_task(job_id)  # type: ignore[attr-defined]


# -- running jobs in this process

_serving: tuple[jobs.JobContext, str] | None = None


def serve(context: jobs.JobContext, worker_id: str) -> None:
    """Make this process run the queue's messages with ``context`` (a worker calls it once)."""
    global _serving
    _serving = (context, worker_id)


def _run_job(job_id: str) -> None:
    if _serving is None:
        raise RuntimeError("this process is not a coproduce worker (coproduce.services.job_queue.serve)")
    context, worker_id = _serving
    jobs.execute(job_id, context, worker_id)


def local_worker_id(tag: str) -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{tag}"


def run_pending(queue: jobs.JobQueue, context: jobs.JobContext, worker_id: str | None = None) -> int:
    """A deterministic in-process consumer: take the queued messages one at a time and run each here,
    until the queue is empty. Returns how many messages it took."""
    taken = 0
    worker_id = worker_id or local_worker_id("in-process")
    while (task := queue.huey.dequeue()) is not None:
        taken += 1
        jobs.execute(str(task.args[0]), context, worker_id)
    return taken


class InProcessWorker:
    """A thread that runs :func:`run_pending` until stopped: the queue's worker inside one process
    (tests, notebooks). Production uses ``coproduce worker``, a process of its own."""

    def __init__(self, queue: jobs.JobQueue, context: jobs.JobContext, poll: float = 0.05) -> None:
        self.queue, self.context, self.poll = queue, context, poll
        self.worker_id = local_worker_id("thread")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="coproduce-in-process-worker", daemon=True)

    def start(self) -> InProcessWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 60) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not run_pending(self.queue, self.context, self.worker_id):
                self._stop.wait(self.poll)


# -- recovering from dead workers


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that pid
        return True
    return True


def worker_gone(worker_id: str | None, heartbeat_at: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    """A worker is gone when its heartbeat is stale, or (same machine) its process no longer exists."""
    if heartbeat_at is None or now - heartbeat_at > stale_after:
        return True
    host, _, rest = (worker_id or "").partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname()[:60] and pid.isdigit() and not _pid_alive(int(pid))


def recover(queue: jobs.JobQueue, now: datetime | None = None) -> list[str]:
    """Deal with running jobs whose worker is gone, and queued jobs whose message was lost. Returns the
    ids of the jobs it queued again. Safe to run in several workers at once."""
    now = now or utcnow()
    factory = queue.factory
    with factory() as session:
        running = [
            (row.id, row.worker_id, row.heartbeat_at, row.function, row.attempts, row.resumable)
            for row in session.scalars(select(Job).where(Job.status == jobs.RUNNING))
        ]
    requeued: list[str] = []
    for job_id, worker_id, heartbeat_at, path, attempts, resumable in running:
        if not worker_gone(worker_id, heartbeat_at, now, queue.stale_after):
            continue
        _tidy(factory, path, job_id)
        if _interrupt(queue, job_id, worker_id, attempts, resumable):
            requeued.append(job_id)
    requeued += _requeue_lost(queue, now, skip=set(requeued))
    for job_id in requeued:
        queue.enqueue(job_id)
    return requeued


def prune(queue: jobs.JobQueue, keep_days: int, now: datetime | None = None) -> int:
    """Delete the jobs that ended more than ``keep_days`` days ago (their arguments, labels and errors name
    projects, files and people who asked), and the workers that stopped or fell silent as long ago; 0 keeps
    them all. Returns how many jobs were deleted. Safe to run in several workers at once."""
    if keep_days <= 0:
        return 0
    before = (now or utcnow()) - timedelta(days=keep_days)
    with transaction(queue.factory) as session:
        ended = delete(Job).where(Job.status.in_(jobs.DONE_STATUSES), Job.finished_at < before)
        deleted = session.execute(ended).rowcount or 0
        # A worker that crashed never says it stopped: not heard from in as long is gone too.
        session.execute(delete(JobWorker).where(or_(JobWorker.stopped_at < before, JobWorker.heartbeat_at < before)))
    return int(deleted)


def _tidy(factory: Any, path: str, job_id: str) -> None:
    try:
        handler = getattr(jobs.resolve(path), "job_on_interrupt", None)
        if handler is not None:
            handler(factory, job_id)
    except Exception:  # a broken clean-up must not stop the others
        log.exception("could not tidy up after interrupted job %s (%s)", job_id, path)


def _interrupt(queue: jobs.JobQueue, job_id: str, worker_id: str | None, attempts: int, resumable: bool) -> bool:
    """Mark the job interrupted (or queued again when it can resume); True when queued again."""
    again = resumable and attempts < MAX_ATTEMPTS
    with transaction(queue.factory) as session:
        row = session.get(Job, job_id)
        if row is None or row.status != jobs.RUNNING or row.worker_id != worker_id:
            return False  # another worker's sweep got there first
        where = f"{row.stage} {row.done} of {row.total}" if row.stage else "the start"
        note = f"Interrupted at {where}: its worker ({worker_id}) stopped."
        history = list((row.detail or {}).get("interruptions", []))
        history.append({"at": utcnow().isoformat(timespec="seconds"), "worker": worker_id, "stage": row.stage})
        row.detail = {**(row.detail or {}), "interruptions": history}
        if again and not row.cancel_requested:
            row.status, row.worker_id, row.heartbeat_at = jobs.QUEUED, None, None
            row.error = f"{note} Queued again (attempt {attempts + 1} of {MAX_ATTEMPTS})."
            return True
        row.status, row.active_key, row.finished_at = jobs.INTERRUPTED, None, utcnow()
        if row.cancel_requested:
            row.status, row.error = jobs.CANCELLED, f"{note} It had been asked to stop."
        elif resumable:
            row.error = f"{note} Not queued again: it was interrupted {attempts} times."
        else:
            row.error = f"{note} Start it again."
    return False


def _requeue_lost(queue: jobs.JobQueue, now: datetime, skip: set[str]) -> list[str]:
    """Queued jobs with no message in the queue (a worker died between taking the message and claiming
    the job, or the queue's storage was reset). A duplicate message is harmless: only one claim wins."""
    cutoff = now - timedelta(seconds=LOST_MESSAGE_SECONDS)
    with queue.factory() as session:
        old = set(session.scalars(select(Job.id).where(Job.status == jobs.QUEUED, Job.created_at < cutoff)))
    if not old:
        return []
    waiting = {str(task.args[0]) for task in queue.huey.pending() if getattr(task, "args", None)}
    return sorted(old - waiting - skip)

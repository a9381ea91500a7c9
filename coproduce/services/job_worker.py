"""`coproduce worker`: one process running the huey consumer for an instance's job queue.

The worker registers itself in ``job_worker`` (so pages can say whether anyone will pick a queued job up),
recovers jobs left behind by dead workers, warms the analysis pipeline once (models load once per
process, not once per job), then runs huey's consumer with one worker thread. A heartbeat thread keeps
``job_worker.heartbeat_at`` and the heartbeat of the job it is running fresh, and sweeps for dead
workers' jobs every few beats.
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.services import jobs
from coproduce.services.job_queue import local_worker_id, prune, recover, serve
from coproduce.store.db import transaction
from coproduce.store.models import Job, JobWorker, utcnow

if TYPE_CHECKING:
    from coproduce.pipeline.run import Pipeline

log = logging.getLogger(__name__)

SWEEP_EVERY_BEATS = 6


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    sys.exit(128 + signal.SIGTERM)


class LazyPipeline:
    """Builds the default pipeline on first call and hands out the same one after (it is reusable)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._pipeline is None:
                from coproduce.services.analysis import default_pipeline

                self._pipeline = default_pipeline(self.settings)
            return self._pipeline


def warm(pipeline: Pipeline) -> None:
    """Load the models a run needs now, so the first job does not wait for them, then freeze what is loaded.

    The models are hundreds of thousands of objects that live as long as the worker. Python's full garbage
    collection walks every tracked object, and one landing in a run cost it 0.4 s (a re-run after review takes
    0.5 s); after ``gc.freeze()`` it walks only what runs create (0.02 s). Collected first, so no garbage is frozen.
    """
    pipeline.warm()
    gc.collect()
    gc.freeze()


class Worker:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        *,
        pipeline: Callable[[], Any] | None = None,
        say: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.settings = settings
        self.queue = jobs.JobQueue(factory, settings)
        self.context = jobs.JobContext(factory, settings, pipeline=pipeline or LazyPipeline(settings))
        self.id = local_worker_id(uuid.uuid4().hex[:8])
        self.say = say
        self._stop = threading.Event()

    def register(self) -> None:
        with transaction(self.queue.factory) as session:
            session.add(JobWorker(id=self.id, host=socket.gethostname()[:100], pid=int(self.id.split(":")[1])))

    def beat(self) -> None:
        now = utcnow()
        with transaction(self.queue.factory) as session:
            session.execute(update(JobWorker).where(JobWorker.id == self.id).values(heartbeat_at=now))
            session.execute(
                update(Job).where(Job.worker_id == self.id, Job.status == jobs.RUNNING).values(heartbeat_at=now)
            )

    def sweep(self) -> list[str]:
        requeued = recover(self.queue)
        if requeued:
            self.say(f"Queued again {len(requeued)} job(s) left by a stopped worker: {', '.join(requeued)}")
        pruned = prune(self.queue, self.settings.job_history_days)
        if pruned:
            self.say(f"Deleted {pruned} job(s) that ended more than {self.settings.job_history_days} days ago.")
        return requeued

    def run(self, *, warm_models: bool = True) -> None:
        """Serve until SIGINT (finish the current job, then stop) or SIGTERM (stop now)."""
        if threading.current_thread() is threading.main_thread():
            # Until huey's consumer installs its own handlers (after the models load), SIGTERM still
            # leaves through ``finally``, so the worker is recorded as stopped.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.register()
        beating = threading.Thread(target=self._heartbeat, name="coproduce-worker-heartbeat", daemon=True)
        beating.start()
        try:
            self.sweep()
            if warm_models and self.context.pipeline is not None:
                self.say("Loading the analysis models ...")
                warm(self.context.pipeline())
            serve(self.context, self.id)
            consumer = self.queue.huey.create_consumer(
                workers=1, worker_type="thread", periodic=False, initial_delay=0.1, backoff=1.15, max_delay=1.0
            )
            self.say(f"Worker {self.id} is taking jobs (Ctrl+C to stop).")
            consumer.run()
        finally:
            self._stop.set()
            beating.join(5)
            self._leave()

    def _heartbeat(self) -> None:
        beats = 0
        while not self._stop.wait(self.settings.job_heartbeat_seconds):
            try:
                self.beat()
                beats += 1
                if beats % SWEEP_EVERY_BEATS == 0:
                    self.sweep()
            except Exception:  # a database hiccup must not kill the heartbeat for good
                log.exception("worker heartbeat failed")

    def _leave(self) -> None:
        """Say this worker stopped; a job it was stopped in the middle of is queued again (if it can be)."""
        with transaction(self.queue.factory) as session:
            session.execute(update(JobWorker).where(JobWorker.id == self.id).values(stopped_at=utcnow()))
            session.execute(
                update(Job).where(Job.worker_id == self.id, Job.status == jobs.RUNNING).values(heartbeat_at=None)
            )
        recover(self.queue)

"""The job queue: jobs in the database, run by a consumer (here the deterministic in-process one):
submit, progress, failures captured, cancel (queued and running), one job per key, recovery of jobs
whose worker died."""

from __future__ import annotations

import gc
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from coproduce.config import Settings
from coproduce.services import jobs
from coproduce.services.job_queue import recover, run_pending, worker_gone
from coproduce.services.job_worker import Worker, warm
from coproduce.services.jobs import JobBusyError, JobContext, JobQueue
from coproduce.store.db import transaction
from coproduce.store.models import Job, utcnow

RAN: list[str] = []


@jobs.background()
def add(context: JobContext, a: int, b: int, times: int = 1) -> dict[str, int]:
    for step in range(3):
        jobs.report_progress("adding", step + 1, 3)
    RAN.append("add")
    return {"sum": (a + b) * times}


@jobs.background()
def broken(context: JobContext) -> None:
    jobs.report_progress("reading", 0, 1)
    raise ValueError("row 3 is not a number")


@jobs.background()
def cancels_itself(context: JobContext) -> str:
    jobs.report_progress("waiting", 0, 2)
    JobQueue(context.factory, context.settings).cancel(jobs.current_job_id() or "")
    RAN.append("before")
    jobs.report_progress("waiting", 1, 2)  # raises: cancel was asked for
    RAN.append("after")
    return "finished anyway"


@jobs.background()
def tells(context: JobContext) -> None:
    jobs.set_detail(run_id=42)


def tidy(factory, job_id: str) -> None:  # type: ignore[no-untyped-def]
    RAN.append(f"tidied {job_id}")


@jobs.background(resumable=True, on_interrupt=tidy)
def resumable(context: JobContext) -> None:
    RAN.append("resumable")


def not_a_job(context: JobContext) -> None:
    pass


@pytest.fixture
def queue(session_factory, settings: Settings) -> JobQueue:
    RAN.clear()
    return JobQueue(session_factory, settings)


@pytest.fixture
def context(session_factory, settings: Settings) -> JobContext:
    return JobContext(session_factory, settings)


def test_a_job_is_queued_in_the_database_and_run_by_a_consumer(queue: JobQueue, context: JobContext) -> None:
    job_id = queue.submit(add, kind="test", label="Sum", a=2, b=3, times=2)
    state = queue.get(job_id)
    assert state.status == "queued" and state.kind == "test" and not state.is_done
    assert (Path(queue.settings.instance_dir) / "jobs.sqlite").is_file()  # huey's SQLite queue
    assert len(queue.huey) == 1  # one message: the job id

    # Another process (another JobQueue on its own engine) sees the same job.
    assert run_pending(queue, context) == 1
    state = queue.get(job_id)
    assert state.status == "finished" and state.result == {"sum": 10}
    assert (state.stage, state.done, state.total, state.percent) == ("adding", 3, 3, 100)
    assert state.label == "Sum" and state.started_at and state.finished_at and state.attempts == 1
    assert queue.get("no-such-job") is None


def test_a_failure_is_captured_and_the_consumer_goes_on(queue: JobQueue, context: JobContext) -> None:
    failing = queue.submit(broken, kind="test")
    after = queue.submit(add, kind="test", a=1, b=1)
    run_pending(queue, context)
    state = queue.get(failing)
    assert state.status == "failed" and state.error == "ValueError: row 3 is not a number"
    assert state.stage == "reading"
    assert queue.get(after).result == {"sum": 2}


def test_cancel_stops_a_running_job_at_its_next_progress_report(queue: JobQueue, context: JobContext) -> None:
    job_id = queue.submit(cancels_itself, kind="test")
    run_pending(queue, context)
    state = queue.get(job_id)
    assert state.status == "cancelled" and state.cancel_requested and RAN == ["before"]
    assert "stopped at waiting" in state.error
    assert not queue.cancel(job_id), "a job that has ended cannot be cancelled again"


def test_a_queued_job_cancelled_never_starts(queue: JobQueue, context: JobContext) -> None:
    job_id = queue.submit(add, kind="test", a=1, b=2, key="k")
    assert queue.cancel(job_id)
    assert queue.get(job_id).status == "cancelled" and queue.active("k") is None
    run_pending(queue, context)  # the message is taken, the job is not run
    assert RAN == [] and queue.get(job_id).status == "cancelled"


def test_only_one_job_per_key_at_a_time(queue: JobQueue, context: JobContext, settings: Settings) -> None:
    first = queue.submit(add, kind="test", a=1, b=2, key="analysis:p")
    other_process = JobQueue(queue.factory, settings)
    with pytest.raises(JobBusyError) as busy:
        other_process.submit(add, kind="test", a=1, b=2, key="analysis:p")
    assert busy.value.job_id == first
    assert queue.active("analysis:p").id == first
    assert queue.submit(add, kind="test", a=1, b=2, key="analysis:other")  # another key is fine
    run_pending(queue, context)
    assert queue.active("analysis:p") is None
    again = queue.submit(add, kind="test", a=1, b=2, key="analysis:p")
    run_pending(queue, context)
    assert queue.get(again).result == {"sum": 3}


def test_jobs_are_importable_functions_with_json_arguments(queue: JobQueue) -> None:
    with pytest.raises(ValueError, match="not declared as a background job"):
        queue.submit(not_a_job, kind="test")
    with pytest.raises(ValueError, match="JSON"):
        queue.submit(add, kind="test", a=object(), b=1)

    @jobs.background()
    def inner(context: JobContext) -> None:
        pass

    with pytest.raises(ValueError, match="module-level"):
        queue.submit(inner, kind="test")
    assert queue.jobs() == []


def test_progress_and_details_outside_a_job_do_nothing() -> None:
    jobs.report_progress("stage", 1, 2)
    jobs.set_detail(run_id=3)
    assert jobs.current_job_id() is None


def test_details_a_job_sets_are_readable(queue: JobQueue, context: JobContext) -> None:
    job_id = queue.submit(tells, kind="test")
    run_pending(queue, context)
    assert queue.get(job_id).detail == {"run_id": 42}


def _claim(queue: JobQueue, job_id: str, worker_id: str, heartbeat_age: float = 0.0) -> None:
    """Make the job look as if ``worker_id`` took it and last reported ``heartbeat_age`` seconds ago."""
    assert queue.huey.dequeue() is not None  # the worker took the message
    with transaction(queue.factory) as session:
        row = session.get(Job, job_id)
        row.status, row.worker_id, row.attempts = "running", worker_id, row.attempts + 1
        row.heartbeat_at = utcnow() - timedelta(seconds=heartbeat_age)
        row.stage, row.done, row.total = "embed", 64, 600


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_job_whose_worker_died_is_queued_again_when_it_can_resume(queue: JobQueue, context: JobContext) -> None:
    import socket

    job_id = queue.submit(resumable, kind="test", key="resume")
    _claim(queue, job_id, f"{socket.gethostname()}:{_dead_pid()}:x")
    assert recover(queue) == [job_id]
    state = queue.get(job_id)
    assert state.status == "queued" and queue.active("resume").id == job_id
    assert "Interrupted at embed 64 of 600" in state.error and "attempt 2 of 3" in state.error
    assert [f"tidied {job_id}"] == RAN
    assert recover(queue) == [], "nothing left to recover"
    run_pending(queue, context)
    assert queue.get(job_id).status == "finished" and RAN[-1] == "resumable"
    assert queue.get(job_id).detail["interruptions"][0]["stage"] == "embed"


def test_a_job_that_cannot_resume_ends_interrupted_and_frees_its_key(queue: JobQueue) -> None:
    job_id = queue.submit(add, kind="test", key="once", a=1, b=1)
    _claim(queue, job_id, "elsewhere:1:x", heartbeat_age=3600)  # another machine, silent for an hour
    assert recover(queue) == []
    state = queue.get(job_id)
    assert state.status == "interrupted" and state.is_done and "Start it again" in state.error
    assert queue.active("once") is None


def test_a_job_that_keeps_killing_its_worker_is_not_queued_forever(queue: JobQueue) -> None:
    job_id = queue.submit(resumable, kind="test")
    with transaction(queue.factory) as session:
        session.get(Job, job_id).attempts = 2
    _claim(queue, job_id, "elsewhere:1:x", heartbeat_age=3600)
    assert recover(queue) == []
    assert queue.get(job_id).status == "interrupted" and "interrupted 3 times" in queue.get(job_id).error


def test_a_live_worker_is_left_alone(queue: JobQueue) -> None:
    job_id = queue.submit(resumable, kind="test")
    _claim(queue, job_id, "elsewhere:1:x", heartbeat_age=1)
    assert recover(queue) == [] and queue.get(job_id).status == "running"
    stale = timedelta(seconds=15)
    assert not worker_gone("elsewhere:1:x", utcnow(), utcnow(), stale)
    assert worker_gone("elsewhere:1:x", utcnow() - timedelta(seconds=16), utcnow(), stale)
    assert worker_gone("elsewhere:1:x", None, utcnow(), stale)


def test_a_queued_job_whose_message_was_lost_is_queued_again(queue: JobQueue, context: JobContext) -> None:
    job_id = queue.submit(add, kind="test", a=2, b=2)
    assert queue.huey.dequeue() is not None  # taken by a worker that died before claiming it
    assert recover(queue) == [], "too recent: its message may still be on its way"
    assert recover(queue, now=utcnow() + timedelta(minutes=5)) == [job_id]
    run_pending(queue, context)
    assert queue.get(job_id).result == {"sum": 4}


def test_workers_register_and_say_when_they_stop(queue: JobQueue, session_factory, settings: Settings) -> None:
    assert queue.workers_alive() == 0
    worker = Worker(settings, session_factory)
    worker.register()
    worker.beat()
    assert queue.workers_alive() == 1
    job_id = queue.submit(resumable, kind="test")
    _claim(queue, job_id, worker.id)
    worker._leave()  # stopped mid-job (SIGTERM): the job is queued again for the next worker
    assert queue.workers_alive() == 0
    assert queue.get(job_id).status == "queued"
    with session_factory() as session:
        assert session.scalar(select(Job.worker_id).where(Job.id == job_id)) is None


def test_ended_jobs_and_stopped_workers_are_deleted_after_the_history_days(
    queue: JobQueue, context: JobContext, session_factory, settings: Settings
) -> None:
    from coproduce.services.job_queue import prune
    from coproduce.store.models import JobWorker

    old, recent = (queue.submit(add, kind="test", a=i, b=1) for i in range(2))
    run_pending(queue, context)
    running = queue.submit(add, kind="test", a=9, b=9)
    _claim(queue, running, "elsewhere:1:x")
    waiting = queue.submit(add, kind="test", a=7, b=7)
    assert queue.cancel(waiting) and queue.get(waiting).status == "cancelled"
    long_ago = utcnow() - timedelta(days=40)
    with transaction(session_factory) as session:
        session.get(Job, old).finished_at = long_ago
        session.get(Job, running).created_at = long_ago  # still running: kept, however old
        session.add(JobWorker(id="gone:1:a", host="gone", pid=1, stopped_at=long_ago))
        session.add(JobWorker(id="gone:2:b", host="gone", pid=2, stopped_at=utcnow()))
        session.add(JobWorker(id="crashed:3:c", host="gone", pid=3, heartbeat_at=long_ago))  # never said it stopped

    assert prune(queue, 0) == 0  # 0 keeps everything
    worker = Worker(settings.with_overrides(job_history_days=30), session_factory)
    worker.sweep()
    with session_factory() as session:
        assert set(session.scalars(select(Job.id))) == {recent, waiting, running}
        assert set(session.scalars(select(JobWorker.id))) == {"gone:2:b"}
    assert prune(queue, 30) == 0  # nothing more to delete


def test_warming_a_worker_warms_its_pipeline_and_freezes_what_is_loaded() -> None:
    class Pipeline:
        warmed = False

        def warm(self) -> None:
            self.warmed = True

    pipeline = Pipeline()
    try:
        warm(pipeline)  # type: ignore[arg-type]
        assert pipeline.warmed
        assert gc.get_freeze_count() > 0  # full collections in later runs skip the loaded models
    finally:
        gc.unfreeze()

"""The in-process job runner: submit, progress, failures captured, cancel (queued and running), keys."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from coproduce.services import jobs
from coproduce.services.jobs import JobBusyError, JobRunner


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    runner = JobRunner()
    yield runner
    runner.shutdown(timeout=5)


def add(a: int, b: int, *, times: int = 1) -> int:
    for step in range(3):
        jobs.report_progress("adding", step + 1, 3)
    return (a + b) * times


def test_a_job_runs_in_the_background_and_keeps_its_result_and_progress(runner: JobRunner) -> None:
    job_id = runner.submit(add, 2, 3, times=2, label="Sum")
    state = runner.wait(job_id, timeout=5)
    assert state.status == "finished" and state.result == 10
    assert (state.stage, state.done, state.total, state.percent) == ("adding", 3, 3, 100)
    assert state.label == "Sum" and state.started_at is not None and state.finished_at is not None
    assert runner.get("no-such-job") is None


def test_a_failure_is_captured_not_raised(runner: JobRunner) -> None:
    def broken() -> None:
        jobs.report_progress("reading", 0, 1)
        raise ValueError("row 3 is not a number")

    state = runner.wait(runner.submit(broken), timeout=5)
    assert state.status == "failed"
    assert state.error == "ValueError: row 3 is not a number"
    assert state.stage == "reading"
    # The worker survives a failure and runs the next job.
    assert runner.wait(runner.submit(add, 1, 1), timeout=5).result == 2


def test_cancel_stops_a_running_job_at_its_next_progress_report(runner: JobRunner) -> None:
    started, release = threading.Event(), threading.Event()
    reached: list[int] = []

    def slow() -> str:
        jobs.report_progress("waiting", 0, 2)
        started.set()
        release.wait(5)
        reached.append(1)
        jobs.report_progress("waiting", 1, 2)  # raises: cancel was asked for
        reached.append(2)
        return "finished anyway"

    job_id = runner.submit(slow)
    assert started.wait(5)
    assert runner.cancel(job_id)
    assert runner.get(job_id).cancel_requested and runner.get(job_id).status == "running"
    release.set()
    state = runner.wait(job_id, timeout=5)
    assert state.status == "cancelled" and reached == [1]
    assert "stopped at waiting" in state.error
    assert not runner.cancel(job_id), "a job that has ended cannot be cancelled again"


def test_a_queued_job_cancelled_never_starts(runner: JobRunner) -> None:
    release = threading.Event()
    ran: list[str] = []
    first = runner.submit(release.wait, 5)
    second = runner.submit(ran.append, "second")
    assert runner.get(second).status == "queued"
    assert runner.cancel(second)
    assert runner.get(second).status == "cancelled"
    release.set()
    runner.wait(first, timeout=5)
    runner.wait(runner.submit(ran.append, "third"), timeout=5)
    assert ran == ["third"]


def test_only_one_job_per_key_at_a_time(runner: JobRunner) -> None:
    release = threading.Event()
    first = runner.submit(release.wait, 5, key="analysis:p")
    with pytest.raises(JobBusyError) as busy:
        runner.submit(add, 1, 2, key="analysis:p")
    assert busy.value.job_id == first
    assert runner.active("analysis:p").id == first
    assert runner.submit(add, 1, 2, key="analysis:other")  # another key is fine
    release.set()
    runner.wait(first, timeout=5)
    assert runner.active("analysis:p") is None
    assert runner.wait(runner.submit(add, 1, 2, key="analysis:p"), timeout=5).result == 3


def test_progress_and_details_outside_a_job_do_nothing() -> None:
    jobs.report_progress("stage", 1, 2)
    jobs.set_detail(run_id=3)
    assert jobs.current_job_id() is None
    assert add(1, 2) == 3


def test_details_a_job_sets_are_readable(runner: JobRunner) -> None:
    def tell() -> None:
        jobs.set_detail(run_id=42)

    assert runner.wait(runner.submit(tell), timeout=5).detail == {"run_id": 42}

"""Analysis runs as jobs: progress written where any process can read it (throttled), one run at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.services import jobs
from coproduce.services.audit import Actor
from coproduce.services.job_queue import run_pending
from coproduce.services.projects import create_project
from coproduce.services.runs import (
    ProgressRecorder,
    analyse_project,
    check_can_start,
    interrupted_runs,
    start_analysis,
)
from coproduce.store.db import transaction
from coproduce.store.models import AnalysisRun, Project
from tests.conftest import GREEN_PAPER

ACTOR = Actor(label="analyst@example.org", user_id=None)


@pytest.fixture
def project(session_factory) -> str:
    with transaction(session_factory) as session:
        return create_project(session, ACTOR, "Green paper", load_framework(GREEN_PAPER)).slug


def add_run(session_factory, slug: str, status: str = "running") -> int:
    with transaction(session_factory) as session:
        project = session.scalar(select(Project).where(Project.slug == slug))
        run = AnalysisRun(project_id=project.id, config_hash="0" * 64, status=status)
        session.add(run)
        session.flush()
        return run.id


def test_progress_goes_to_the_running_run_at_most_once_a_second(session_factory, project) -> None:
    add_run(session_factory, project, status="finished")  # an older run is left alone
    run_id = add_run(session_factory, project)
    now = [100.0]
    recorder = ProgressRecorder(session_factory, project, ACTOR, clock=lambda: now[0])

    def stored() -> dict:
        with session_factory() as session:
            run = session.get(AnalysisRun, run_id)
            return {**run.progress, "by": run.requested_by_label}

    recorder("embed", 0, 480)
    assert stored()["stage"] == "embed" and stored()["by"] == "analyst@example.org"
    assert recorder.run_id == run_id
    now[0] += 0.3
    recorder("embed", 120, 480)  # too soon: not written
    assert stored()["done"] == 0
    now[0] += 1.0
    recorder("embed", 240, 480)
    assert (stored()["done"], stored()["total"]) == (240, 480)
    now[0] += 0.1
    recorder("code", 0, 1)  # a new stage is always written
    assert stored()["stage"] == "code"
    assert {"stage", "done", "total", "updated_at", "job"} <= set(stored())


def test_only_one_run_at_a_time(session_factory, settings, project) -> None:
    with session_factory() as session:
        check_can_start(session, session.scalar(select(Project).where(Project.slug == project)))
    add_run(session_factory, project)
    with pytest.raises(BadInputError, match="already running"):
        analyse_project(session_factory, settings, project, ACTOR)  # refused before any model loads


@jobs.background()
def records_then_cancels(context: jobs.JobContext, project: str) -> None:
    recorder = ProgressRecorder(context.factory, project, ACTOR)
    recorder("segment", 0, 1)
    jobs.JobQueue(context.factory, context.settings).cancel(jobs.current_job_id() or "")
    recorder("segment", 1, 1)


def test_a_cancel_stops_the_run_and_marks_it(session_factory, settings, project) -> None:
    """The recorder raises JobCancelled inside a cancelled job, so a run stops at its next progress report."""
    run_id = add_run(session_factory, project)
    queue = jobs.JobQueue(session_factory, settings)
    job_id = queue.submit(records_then_cancels, kind="test", project=project)
    run_pending(queue, jobs.JobContext(session_factory, settings))
    state = queue.get(job_id)
    assert state.status == "cancelled" and state.detail == {"run_id": run_id}


def test_a_dead_workers_run_is_marked_interrupted_and_no_longer_blocks(session_factory, project) -> None:
    mine = add_run(session_factory, project)
    other = add_run(session_factory, project, status="finished")
    with transaction(session_factory) as session:
        session.get(AnalysisRun, mine).progress = {"job": "a" * 32, "stage": "embed"}
        session.get(AnalysisRun, other).progress = {"job": "a" * 32}
    interrupted_runs(session_factory, "a" * 32)
    with session_factory() as session:
        run = session.get(AnalysisRun, mine)
        assert run.status == "interrupted" and "nothing of this run was stored" in run.error
        assert session.get(AnalysisRun, other).status == "finished"
        check_can_start(session, session.scalar(select(Project).where(Project.slug == project)))


def test_the_command_line_refuses_while_an_analysis_is_queued(session_factory, settings, project) -> None:
    queue = jobs.JobQueue(session_factory, settings)
    with transaction(session_factory) as session:
        start_analysis(session, ACTOR, queue, session.scalar(select(Project).where(Project.slug == project)))
    with pytest.raises(BadInputError, match="already queued or running"):
        analyse_project(session_factory, settings, project, ACTOR)  # refused before any model loads

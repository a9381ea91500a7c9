"""Analysis runs through the web UI: queue a run, live progress, refuse a second start, stop, and say
plainly when no worker is running. Jobs run in the deterministic in-process consumer (run_pending)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.frameworks.loader import load_framework
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from coproduce.services.job_queue import run_pending
from coproduce.services.job_worker import Worker
from coproduce.services.jobs import JobQueue
from coproduce.services.projects import create_project
from coproduce.services.users import add_member
from coproduce.store.db import transaction
from coproduce.store.models import AnalysisRun, AuditEvent, Finding, Project, User
from tests.conftest import GREEN_PAPER, ROOT
from tests.services.test_analysis import pipeline as cheap_pipeline
from tests.webui.conftest import Seed
from webui import background

SURVEY = ROOT / "corpus" / "samples" / "survey-citizen-space-send.csv"
ACTOR = Actor(label="test")
PROGRESS_KEYS = {
    "job",
    "run",
    "status",
    "status_label",
    "running",
    "stage",
    "stage_label",
    "done",
    "total",
    "percent",
    "cancel_requested",
    "error",
    "summary",
    "message",
}


@pytest.fixture(scope="module")
def shared_pipeline(embedder):
    return cheap_pipeline(embedder)


@pytest.fixture
def queue(app: Flask, shared_pipeline) -> JobQueue:
    """The app's queue; its jobs run with the cheap pipeline in place of the default (which loads every model)."""
    app.extensions["coproduce.pipeline"] = lambda: shared_pipeline
    with app.app_context():
        return background.job_queue()


def drain(app: Flask) -> int:
    """Run every queued job here, as a worker would."""
    with app.app_context():
        return run_pending(background.job_queue(), background.job_context())


@pytest.fixture
def project(
    session_factory: sessionmaker[Session], settings: Settings, make_user: Callable[[str], str], embedder
) -> str:
    """A green-paper project holding the sample Citizen Space export (about 40 respondents); admin is a member."""
    from coproduce.privacy.redaction import get_redactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    email = make_user("admin")
    with transaction(session_factory) as session:
        slug = create_project(session, ACTOR, "Green paper", load_framework(GREEN_PAPER)).slug
        user = session.scalar(select(User).where(User.email == email))
        add_member(session, ACTOR, session.scalar(select(Project).where(Project.slug == slug)), user, "admin")
    import_file(
        session_factory,
        settings,
        slug,
        SURVEY,
        ACTOR,
        kind="survey",
        privacy=lambda s: (get_redactor(s), SafeguardingFlagger(embedder=embedder)),
    )
    return slug


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def start(client: FlaskClient, slug: str, after_run: str = "0"):
    return client.post(f"/projects/{slug}/analysis", data={"after_run": after_run})


def test_a_run_is_queued_for_a_worker_reports_progress_and_makes_findings(
    app: Flask, admin: FlaskClient, queue: JobQueue, project: str, session_factory: sessionmaker[Session]
) -> None:
    page = admin.get(f"/projects/{project}/analysis").get_data(as_text=True)
    assert "Run analysis" in page and "has not been analysed yet" in page
    response = start(admin, project)
    assert response.status_code == 302
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    waiting = admin.get(f"/projects/{project}/analysis/{job_id}/progress").get_json()
    assert waiting["status"] == "queued" and waiting["running"]
    assert "No worker is running: start one with `coproduce worker`" in waiting["message"]
    assert drain(app) == 1
    state = queue.get(job_id)
    assert state.status == "finished", state.error
    assert state.detail["embedding"]["encoded"] >= 0 and state.requested_by == "admin@example.org"
    run_id = state.detail["run_id"]

    progress = admin.get(f"/projects/{project}/analysis/{job_id}/progress").get_json()
    assert set(progress) == PROGRESS_KEYS
    assert progress["status"] == "finished" and not progress["running"] and progress["percent"] == 100
    assert progress["run"] == run_id and progress["job"] == job_id
    assert progress["summary"]["findings"] > 0
    by_run = admin.get(f"/projects/{project}/analysis/{run_id}/progress").get_json()
    assert by_run["run"] == run_id and by_run["status"] == "finished"

    status_page = admin.get(f"/projects/{project}/analysis/{run_id}").get_data(as_text=True)
    assert "Finished" in status_page and 'http-equiv="refresh"' not in status_page
    assert "Stop this analysis" not in status_page and "admin@example.org" in status_page

    with session_factory() as session:
        run = session.get(AnalysisRun, run_id)
        assert run.status == "finished" and run.requested_by_label == "admin@example.org"
        assert run.progress["stage"] == "finished" and run.progress["job"] == job_id
        findings = session.scalar(select(func.count()).select_from(Finding).where(Finding.project_id == run.project_id))
        assert findings == run.summary["findings"] > 0
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.project_id == run.project_id)))
        assert {"analysis.start", "analysis.run"} <= actions

    listing = admin.get(f"/projects/{project}/analysis").get_data(as_text=True)
    assert f"Run {run_id}" in listing and "admin@example.org" in listing and "findings" in listing


def test_a_second_start_is_refused_while_one_is_waiting_or_running(
    app: Flask,
    admin: FlaskClient,
    queue: JobQueue,
    project: str,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    job_id = start(admin, project).headers["Location"].rsplit("/", 1)[-1]  # no worker: it stays queued
    page = admin.get(f"/projects/{project}/analysis/{job_id}").get_data(as_text=True)
    assert "Waiting" in page and '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert 'aria-live="polite"' in page and "<progress" in page and "runs.js" in page
    assert "start one with `coproduce worker`" in page
    assert admin.get(f"/projects/{project}/analysis/{job_id}/progress").get_json()["running"] is True

    worker = Worker(settings, session_factory)  # a worker that says it is alive (busy elsewhere)
    worker.register()
    message = admin.get(f"/projects/{project}/analysis/{job_id}/progress").get_json()["message"]
    assert message == "Queued: waiting for the worker to start it."

    listing = admin.get(f"/projects/{project}/analysis").get_data(as_text=True)
    assert "An analysis of this project is running" in listing and 'id="run-analysis"' not in listing
    refused = start(admin, project)
    assert refused.status_code == 302
    assert "already running" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    assert len(queue.jobs(kind="analysis")) == 1

    # Stop it while it waits: it never starts, and nothing is written.
    stopped = admin.post(f"/projects/{project}/analysis/{job_id}/cancel")
    assert stopped.status_code == 302
    assert queue.get(job_id).status == "cancelled"
    assert "Stopped" in admin.get(f"/projects/{project}/analysis/{job_id}").get_data(as_text=True)
    drain(app)
    assert queue.get(job_id).status == "cancelled"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AnalysisRun)) == 1  # the seed's run only
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis.cancel")) is not None


def test_a_run_left_running_by_another_process_blocks_starts_and_can_be_marked_stopped(
    admin: FlaskClient, queue: JobQueue, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as session:
        project = session.scalar(select(Project).where(Project.slug == seed.project_slug))
        run = AnalysisRun(
            project_id=project.id,
            config_hash="1" * 64,
            status="running",
            progress={"stage": "embed", "done": 120, "total": 480},
            requested_by_label="cli:someone",
        )
        session.add(run)
        session.flush()
        run_id = run.id
    progress = admin.get(f"/projects/{seed.project_slug}/analysis/{run_id}/progress").get_json()
    assert (progress["stage"], progress["done"], progress["total"], progress["percent"]) == ("embed", 120, 480, 25)
    assert progress["running"] and progress["job"] is None
    page = admin.get(f"/projects/{seed.project_slug}/analysis/{run_id}").get_data(as_text=True)
    assert re.search(r'<progress id="run-progress"[^>]*max="480" value="120">25%</progress>', page)
    assert "cli:someone" in page

    refused = start(admin, seed.project_slug, after_run=str(run_id))
    assert "already running" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    assert queue.jobs() == []

    admin.post(f"/projects/{seed.project_slug}/analysis/{run_id}/cancel")
    with session_factory() as session:
        run = session.get(AnalysisRun, run_id)
        assert run.status == "cancelled" and "no process was running it" in run.error
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis.cancel"))
        assert event.entity_id == run_id and event.before == {"status": "running"}


def test_a_page_older_than_the_newest_run_does_not_start_another(
    admin: FlaskClient, queue: JobQueue, seed: Seed
) -> None:
    response = start(admin, seed.project_slug, after_run="0")  # the seed already has run 1
    assert "since you opened this page" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert queue.jobs() == []


def test_status_of_another_projects_run_or_an_unknown_job(admin: FlaskClient, seed: Seed) -> None:
    assert admin.get(f"/projects/{seed.project_slug}/analysis/999999").status_code == 404
    page = admin.get(f"/projects/{seed.project_slug}/analysis/not-a-job")
    assert page.status_code == 200 and "no record of this analysis" in page.get_data(as_text=True)

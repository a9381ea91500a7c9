"""The reports page: make reports in the background, list them, download them safely."""

from __future__ import annotations

from sqlalchemy import select

from coproduce.services.job_queue import run_pending
from coproduce.store.models import AuditEvent
from webui import background


def wait_for_jobs(app) -> None:  # type: ignore[no-untyped-def]
    """Run the queued report jobs here, as a worker would."""
    with app.app_context():
        queue = background.job_queue()
        run_pending(queue, background.job_context())
        for job in queue.jobs():
            assert job.status == "finished", job.error


def test_staff_make_and_download_a_codebook(app, login_as, seed, session_factory):  # type: ignore[no-untyped-def]
    client = login_as("analyst")
    page = client.get(f"/projects/{seed.project_slug}/reports").get_data(as_text=True)
    assert "No reports have been made for this project yet." in page
    assert 'id="create-qdc"' in page and 'id="create-all"' in page and "csrf_token" in page

    response = client.post(f"/projects/{seed.project_slug}/reports", data={"format": "qdc"})
    assert response.status_code == 302
    queued = client.get(f"/projects/{seed.project_slug}/reports").get_data(as_text=True)
    assert "Making reports" in queued and "No worker is running" in queued
    wait_for_jobs(app)
    page = client.get(f"/projects/{seed.project_slug}/reports").get_data(as_text=True)
    name = f"{seed.project_slug}-codebook.qdc"
    assert name in page and "REFI-QDA codebook" in page

    with client.get(f"/projects/{seed.project_slug}/reports/{name}") as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert b"urn:QDA-XML:codebook:1.0" in download.data and b"Waiting times" in download.data
    with session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("report.%"))))
    assert actions == ["report.create", "report.download"]


def test_every_format_from_the_button(app, login_as, seed):  # type: ignore[no-untyped-def]
    client = login_as("admin")
    client.post(f"/projects/{seed.project_slug}/reports", data={"format": "all"})
    wait_for_jobs(app)
    page = client.get(f"/projects/{seed.project_slug}/reports").get_data(as_text=True)
    for suffix in ("report.html", "report.pdf", "report.docx", "coded-data.xlsx", "project.qdpx", "easy-read.pdf"):
        assert f"{seed.project_slug}-{suffix}" in page
    with client.get(f"/projects/{seed.project_slug}/reports/{seed.project_slug}-report.html") as html:
        assert html.status_code == 200
        assert b"<script>" not in html.data, "respondent text is escaped, and reports carry no script"


def test_unknown_format_is_refused_without_a_job(app, login_as, seed):  # type: ignore[no-untyped-def]
    client = login_as("analyst")
    response = client.post(f"/projects/{seed.project_slug}/reports", data={"format": "pptx"}, follow_redirects=True)
    assert "Choose a report to make." in response.get_data(as_text=True)
    with app.app_context():
        assert background.job_queue().jobs() == []


def test_downloads_only_report_files_of_this_project(app, login_as, seed, settings):  # type: ignore[no-untyped-def]
    client = login_as("admin")
    folder = settings.instance_dir / "reports" / seed.project_slug
    folder.mkdir(parents=True)
    (settings.instance_dir / "coproduce-secret.txt").write_text("secret")
    (folder / "notes.txt").write_text("not a report")
    other = settings.instance_dir / "reports" / seed.other_project_slug
    other.mkdir(parents=True)
    (other / f"{seed.other_project_slug}-report.html").write_text("other project")
    base = f"/projects/{seed.project_slug}/reports"
    for name in (
        "notes.txt",
        "..%2Fcoproduce-secret.txt",
        "%2E%2E%2F%2E%2E%2Fcoproduce.sqlite",
        f"{seed.other_project_slug}-report.html",
        f"{seed.project_slug}-report.exe",
        f".{seed.project_slug}-report.html.partial",
    ):
        assert client.get(f"{base}/{name}").status_code == 404, name
    missing = client.get(f"{base}/{seed.project_slug}-report.pdf")
    assert missing.status_code == 200 and "has not been made yet" in missing.get_data(as_text=True)


def test_panel_members_cannot_open_reports(login_as, seed):  # type: ignore[no-untyped-def]
    client = login_as("parent_carer")
    assert client.get(f"/projects/{seed.project_slug}/reports").status_code == 403

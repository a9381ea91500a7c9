"""Audit pages: the project's log for staff, a finding's history for every member, nothing editable."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.privacy.base import RedactionResult
from coproduce.services.audit import Actor, record
from coproduce.services.imports import import_file
from coproduce.store.models import AuditEvent, Code, Project, ReviewDecision, User
from tests.webui.conftest import PERSONAL, Seed

Login = Callable[[str], FlaskClient]
SECRET = "Hermione Ravensworth"  # a name in an imported file; the stand-in redactor replaces it


class ReplaceName:
    def redact(self, text: str) -> RedactionResult:
        return RedactionResult(text, text.replace(SECRET, "[PERSON]"))


class NoFlags:
    def detect(self, text: str) -> list:
        return []


def audit_url(seed: Seed) -> str:
    return f"/projects/{seed.project_slug}/audit"


def history_url(seed: Seed, index: int = 0) -> str:
    return f"/projects/{seed.project_slug}/findings/{seed.finding_ids[index]}/audit"


def text(response) -> str:
    return response.get_data(as_text=True)


def add_events(factory: sessionmaker[Session], seed: Seed, n: int) -> None:
    with factory() as session, session.begin():
        project = session.scalar(select(Project).where(Project.slug == seed.project_slug))
        for i in range(n):
            record(
                session,
                Actor(label=f"person{i % 2}@example.org"),
                "theme.rename" if i % 2 else "code.accept",
                "theme" if i % 2 else "code_assignment",
                i,
                project_id=project.id,
                before={"label": f"old {i}"},
                after={"label": f"new {i}", "original_text": PERSONAL},
            )


def test_staff_read_the_project_log_newest_first_with_filters(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as("analyst")
    add_events(session_factory, seed, 5)
    page = text(client.get(audit_url(seed)))
    assert "Audit log" in page and "newest first" in page
    assert "showing 1 to 2" in page  # the test app pages by two
    assert page.index("new 4") < page.index("new 3")
    assert "<caption" in page and "Before" in page and "After" in page
    assert PERSONAL not in page and "(hidden: only project admins can see it)" in page
    filtered = text(client.get(audit_url(seed) + "?action=theme.rename&actor=person1@example.org"))
    assert "2 entries" in filtered and "new 3" in filtered and "new 1" in filtered and "new 4" not in filtered
    assert "3 entries" in text(client.get(audit_url(seed) + "?entity_type=code_assignment"))
    second = text(client.get(audit_url(seed) + "?page=2"))
    assert "new 2" in second and "new 4" not in second
    assert "No entries match these filters" in text(client.get(audit_url(seed) + "?action=nothing.like.this"))


def test_admins_see_original_text_values_in_the_log(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as("admin")
    add_events(session_factory, seed, 1)
    assert PERSONAL in text(client.get(audit_url(seed)))


def test_panel_members_and_observers_cannot_open_the_project_log(login_as: Login, seed: Seed) -> None:
    for grant in ("parent_carer", "observer"):
        client = login_as(grant)
        assert client.get(audit_url(seed)).status_code == 403
        client.post("/sign-out")


def test_the_log_cannot_be_changed_through_the_web(login_as: Login, seed: Seed) -> None:
    client = login_as("admin")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.open(audit_url(seed), method=method).status_code == 405
        assert client.open(history_url(seed), method=method).status_code == 405


def test_a_findings_history_shows_changes_sign_offs_and_review_decisions(
    client: FlaskClient, login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    base = f"/projects/{seed.project_slug}/findings/{seed.finding_ids[0]}"
    login_as("young_person")
    assert client.post(base + "/sign", data={"decision": "dissent", "comment": "Too vague"}).status_code == 302
    client.post("/sign-out")
    login_as("analyst")
    assert (
        client.post(base + "/statement", data={"statement": "Waits were long.", "expected_version": "1"}).status_code
        == 302
    )
    with session_factory() as session, session.begin():
        analyst = session.scalar(select(User).where(User.email == "analyst@example.org"))
        wait, more = (session.scalar(select(Code).where(Code.key == k)) for k in ("WAIT", "MORE"))
        session.add(
            ReviewDecision(
                user_id=analyst.id,
                segment_id=seed.segment_ids[0],
                action="recode",
                from_code_id=wait.id,
                to_code_id=more.id,
                comment="Asks for help",
            )
        )
    client.post("/sign-out")
    panel = login_as("parent_carer")
    page = text(panel.get(history_url(seed)))
    assert "History of this finding" in page
    assert "finding.change" in page and "Waits were long." in page  # the statement edit, before and after
    assert "signoff.give" in page and "finding.status" in page
    assert "Too vague" in page and "Dissent" in page
    assert "recode" in page and "Waiting times" in page and "More support" in page and "Asks for help" in page
    assert PERSONAL not in page
    assert page.index("finding.change") < page.index("signoff.give")  # newest first


def test_imports_never_put_original_text_in_the_log(
    app: Flask, settings: Settings, seed: Seed, session_factory: sessionmaker[Session], login_as: Login, tmp_path: Path
) -> None:
    path = tmp_path / "family.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["family id", "question", "feedback"])
        writer.writerow(["F1", "1", f"{SECRET} waited a year for speech therapy."])
    import_file(
        session_factory,
        settings,
        seed.project_slug,
        path,
        Actor(label="cli:test"),
        kind="family",
        privacy=lambda s: (ReplaceName(), NoFlags()),
    )
    with session_factory() as session:
        events = session.scalars(select(AuditEvent)).all()
        assert any(e.action == "source.import" for e in events)
        assert all(SECRET not in json.dumps([e.before, e.after]) for e in events)
    assert "source.import" in text(login_as("admin").get(audit_url(seed) + "?action=source.import"))

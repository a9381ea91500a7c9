"""The whole co-production flow in a real browser, as issue 4 describes it.

An admin imports the seed submission, runs the analysis, reviews and recodes segments (by
keyboard), edits a theme; a parent carer, a young person and a professional each sign off a
finding; the audit page then shows every step. Every page on the way is checked with axe-core,
and any console error fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.frameworks.loader import load_framework
from coproduce.pipeline.run import Pipeline
from coproduce.services.audit import Actor
from coproduce.services.job_queue import InProcessWorker
from coproduce.services.projects import create_project
from coproduce.services.users import add_member, create_user
from coproduce.store.db import transaction
from coproduce.store.models import AuditEvent, Finding, ReviewDecision, SignOff, Theme
from tests.conftest import GREEN_PAPER, SEED
from tests.services.test_analysis import pipeline as cheap_pipeline
from tests.webui.browser.conftest import DEV_SERVER_WARNINGS, LiveServer, check_accessibility, sign_in, sign_out
from webui import background

pytestmark = [pytest.mark.browser, pytest.mark.slow, *DEV_SERVER_WARNINGS]

PASSWORD = "a long panel passphrase"
SLUG = "send-seed"
PEOPLE = {
    "admin": "ada@example.org",
    "parent_carer": "pat@example.org",
    "young_person": "yan@example.org",
    "professional": "pro@example.org",
}


@pytest.fixture(scope="module")
def shared_pipeline(embedder: object) -> Pipeline:
    return cheap_pipeline(embedder)


@pytest.fixture
def project(
    session_factory: sessionmaker[Session], live_server: LiveServer, shared_pipeline: Pipeline
) -> Iterator[str]:
    actor = Actor(label="test")
    with transaction(session_factory) as session:
        made = create_project(session, actor, "SEND seed", load_framework(GREEN_PAPER), slug=SLUG)
        for role, email in PEOPLE.items():
            user = create_user(session, actor, email, role.replace("_", " ").title(), PASSWORD)
            add_member(session, actor, made, user, role)
    # The analysis runs on a queue worker inside this process, with the session's embedder (models load once).
    live_server.app.extensions["coproduce.pipeline"] = lambda: shared_pipeline
    with live_server.app.app_context():
        worker = InProcessWorker(background.job_queue(), background.job_context()).start()
    yield SLUG
    worker.stop(timeout=60)


def checked(page: Page, where: str) -> None:
    expect(page.locator("h1")).to_be_visible()
    check_accessibility(page, where)


def test_a_panel_of_three_roles_takes_the_seed_from_import_to_signed_off_findings(
    page: Page, project: str, session_factory: sessionmaker[Session]
) -> None:
    base = f"/projects/{project}"
    sign_in(page, PEOPLE["admin"], PASSWORD)
    checked(page, "projects list")

    # Import the seed submission through the upload form, check the preview, import it.
    page.goto(f"{base}/import")
    checked(page, "import form")
    page.get_by_label("File to import").set_input_files(str(SEED))
    page.get_by_label("Who wrote it?").select_option("organisation")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("h1")).to_have_text("Check the import")
    checked(page, "import preview")
    # Redaction and safeguarding models load on the first import: allow for it.
    page.get_by_role("button", name="Import this file").click(timeout=240_000)
    expect(page.locator(".govuk-panel__title")).to_have_text("File imported")
    checked(page, "import result")

    # Run the analysis and wait for it to finish (the status page polls without reloading).
    page.goto(f"{base}/analysis")
    checked(page, "analysis runs")
    page.get_by_role("button", name="Run analysis").click()
    expect(page.locator("#run-status-tag")).to_have_text(re.compile("Finished"), timeout=240_000)
    checked(page, "finished run")

    # Review by keyboard only: move to the first segment, accept its first suggestion.
    page.goto(f"{base}/review")
    checked(page, "review queue")
    first_segment = page.locator("[data-segment]").first
    code_row = first_segment.locator('[data-code][data-status="suggested"]').first
    row_id = code_row.get_attribute("id")
    page.keyboard.press("j")
    expect(first_segment).to_be_focused()
    page.keyboard.press("a")
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
    checked(page, "review after accepting")
    expect(page.locator(f"#{row_id}")).to_have_attribute("data-status", "accepted")

    # Recode by keyboard too: j to the first segment, c to its "Recode to" list, an arrow to pick a
    # code, Tab to the Recode button, Enter.
    page.keyboard.press("j")
    page.keyboard.press("c")
    chosen = page.locator("select[data-recode]:focus")
    expect(chosen).to_have_count(1)
    page.keyboard.press("ArrowDown")
    picked = chosen.evaluate("select => select.value")
    assert picked, "the arrow key chose a code"
    page.keyboard.press("Tab")
    expect(page.locator("button[id^=recode-]:focus")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
    with session_factory() as session:
        recoded = session.scalars(
            select(ReviewDecision).where(ReviewDecision.action == "recode").order_by(ReviewDecision.id)
        ).all()
        assert len(recoded) == 1 and recoded[0].to_code_id is not None

    # Edit a theme: rename the first one.
    page.goto(f"{base}/themes")
    checked(page, "themes")
    with session_factory() as session:
        theme_id = session.scalars(select(Theme.id).order_by(Theme.id).limit(1)).one()
    page.goto(f"{base}/themes/{theme_id}")
    checked(page, "theme page")
    page.locator("#rename-form").get_by_label("Name").fill("Waiting for assessments, renamed by the panel")
    page.get_by_role("button", name="Rename theme").click()
    expect(page.locator("main")).to_contain_text("Waiting for assessments, renamed by the panel")
    checked(page, "theme after rename")

    # Pick the finding the panel will sign off: the first question-and-code finding.
    page.goto(f"{base}/findings/")
    checked(page, "findings list")
    with session_factory() as session:
        finding = session.scalars(
            select(Finding).where(Finding.kind == "question_code").order_by(Finding.id).limit(1)
        ).one()
        finding_url = f"{base}/findings/{finding.id}"
    sign_out(page)

    for role in ("parent_carer", "young_person", "professional"):
        sign_in(page, PEOPLE[role], PASSWORD)
        page.goto(finding_url)
        checked(page, f"finding page for {role}")
        page.get_by_label("Approve", exact=True).check()
        page.get_by_role("button", name="Record my decision").click()
        expect(page.locator(".govuk-notification-banner, .govuk-error-summary").first).to_be_visible()
        checked(page, f"finding page after {role} signed")
        sign_out(page)

    with session_factory() as session:
        signed = session.get(Finding, finding.id)
        assert signed is not None and signed.status == "signed_off"
        roles = {s.role for s in session.scalars(select(SignOff).where(SignOff.finding_id == finding.id))}
        assert roles == {"parent_carer", "young_person", "professional"}
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.project_id.is_not(None))))

    # The audit page shows each step.
    sign_in(page, PEOPLE["admin"], PASSWORD)
    page.goto(f"{base}/audit")
    checked(page, "project audit")
    audit_text = page.locator("main").inner_text()
    for email in PEOPLE.values():
        assert email in audit_text
    assert {"source.import", "analysis.start", "analysis.run", "review.recode", "signoff.give"} <= actions, actions
    assert any(a.startswith("theme.") for a in actions), actions
    page.goto(f"{finding_url}/audit")
    checked(page, "finding audit")
    expect(page.locator("main")).to_contain_text(PEOPLE["young_person"])

"""Finding pages: the list with filters, one finding's figures and segments, sign-off, edits and conflicts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import AuditEvent, Finding, Notification, Project, SignOff, User
from tests.webui.conftest import HOSTILE, PASSWORD, PERSONAL, Seed

Login = Callable[[str], FlaskClient]


def url(seed: Seed, tail: str = "") -> str:
    return f"/projects/{seed.project_slug}/findings/{tail}"


def finding_url(seed: Seed, tail: str = "", index: int = 0) -> str:
    return url(seed, f"{seed.finding_ids[index]}{tail}")


def version(factory: sessionmaker[Session], seed: Seed, index: int = 0) -> int:
    with factory() as session:
        return session.get(Finding, seed.finding_ids[index]).version


def text(response) -> str:
    return response.get_data(as_text=True)


def listed(client: FlaskClient, seed: Seed, query: str = "") -> str:
    """The findings list below its filter form."""
    return text(client.get(url(seed, query))).split('role="status"', 1)[1]


def test_the_list_groups_findings_and_filters_them(login_as: Login, seed: Seed) -> None:
    client = login_as("young_person")
    page = listed(client, seed)
    assert "By question" in page and "By national standard" in page
    assert "Waiting times" in page and "Timely assessment" in page and "Long waits for assessment" in page
    assert "Draft" in page and "1 of 3 (33%)" in page
    only_standards = listed(client, seed, "?kind=standard")
    assert "Timely assessment" in only_standards and "Long waits for assessment" not in only_standards
    by_code = listed(client, seed, "?code=WAIT")
    assert "Waiting times" in by_code and "Long waits for assessment" not in by_code
    assert "No findings match these filters" in text(client.get(url(seed, "?status=signed_off")))
    second = listed(client, seed, "?question=2")
    assert "1 finding matches these filters" in second
    assert "Answers to question 2" in second and "Waiting times" not in second


def test_a_finding_shows_figures_quotes_and_highlighted_segments(login_as: Login, seed: Seed) -> None:
    client = login_as("parent_carer")
    page = text(client.get(finding_url(seed)))
    assert "1 of 3 respondents (33%) raised “Waiting times”" in page
    assert "<caption" in page and "Respondents by respondent type" in page
    assert "Stance split" in page and "Majority" in page
    assert "Without campaign responses" in page
    assert "<mark" in page and "My daughter [PERSON] waited two years" in page
    assert PERSONAL not in page
    assert "Approval from at least 1 parent carer, 1 young person and 1 professional" in page
    assert 'id="sign-form"' in page and 'id="statement-form"' not in page
    assert f'name="expected_version" value="{1}"' in page
    # Segment filters.
    assert "No segments match these filters" in text(client.get(finding_url(seed, "?respondent_type=young_person")))
    assert "My daughter" in text(client.get(finding_url(seed, "?stance=concern")))
    assert "No segments match" in text(client.get(finding_url(seed, "?stance=none")))


def test_staff_see_edit_forms_and_not_the_sign_form(login_as: Login, seed: Seed) -> None:
    page = text(login_as("analyst").get(finding_url(seed)))
    assert 'id="statement-form"' in page and 'id="you-said-we-did-form"' in page
    assert 'id="sign-form"' not in page


def test_segments_are_paginated_and_text_escaped(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    from coproduce.store.models import Response, Segment

    with session_factory() as session, session.begin():
        target = session.get(Finding, seed.finding_ids[0])
        hostile = session.get(Response, seed.hostile_response_id)
        extra = Segment(response_id=hostile.id, position=0, start=0, end=len(HOSTILE), text=HOSTILE)
        target.segments = [*target.segments, extra, *(session.get(Segment, i) for i in seed.segment_ids[1:])]
    client = login_as("observer")
    first = text(client.get(finding_url(seed)))
    assert "3 segments; showing 1 to 2" in first
    assert HOSTILE not in first
    second = text(client.get(finding_url(seed, "?page=2")))
    assert "showing 3 to 3" in second


def sign(client: FlaskClient, seed: Seed, decision: str, comment: str = "", expected: int | None = 1):
    data = {"decision": decision, "comment": comment}
    if expected is not None:
        data["expected_version"] = str(expected)
    return client.post(finding_url(seed, "/sign"), data=data)


def switch(client: FlaskClient, login_as: Login, grant: str) -> FlaskClient:
    client.post("/sign-out")
    return login_as(grant)


def test_three_panel_roles_sign_off_and_dissent_stays_visible(
    client: FlaskClient, login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    login_as("professional")
    response = sign(client, seed, "dissent", "The waits are longer than this says")
    assert response.status_code == 302
    for grant in ("parent_carer", "young_person"):
        switch(client, login_as, grant)
        assert sign(client, seed, "approve").status_code == 302
    page = text(client.get(finding_url(seed)))
    assert "Still needed: 1 professional" in page
    # A second professional approves: the rule is met and the dissent is still there.
    with session_factory() as session, session.begin():
        from coproduce.services.audit import Actor
        from coproduce.services.users import add_member, create_user

        project = session.scalar(select(Project).where(Project.slug == seed.project_slug))
        user = create_user(session, Actor(label="test"), "pro2@example.org", "Second professional", PASSWORD)
        add_member(session, Actor(label="test"), project, user, "professional")
    client.post("/sign-out")
    client.post("/sign-in", data={"email": "pro2@example.org", "password": PASSWORD})
    response = sign(client, seed, "approve_with_comment", "Clear and fair")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Your decision is recorded" in page
    assert "The rule is met: this finding is signed off." in page
    assert "The waits are longer than this says" in page and "dissents" in page
    assert "Clear and fair" in page
    with session_factory() as session:
        assert session.get(Finding, seed.finding_ids[0]).status == "signed_off"
        assert len(session.scalars(select(SignOff)).all()) == 4
    assert "Signed off" in text(client.get(url(seed)))


def test_sign_off_errors_are_shown_in_an_error_summary(login_as: Login, seed: Seed) -> None:
    client = login_as("young_person")
    response = sign(client, seed, "dissent", "")
    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page and 'href="#comment"' in page
    assert "Enter the reason you dissent" in page
    assert page.count("govuk-error-message") >= 1
    missing = sign(client, seed, "")
    assert missing.status_code == 400 and 'href="#decision"' in text(missing)


def test_non_panel_members_cannot_sign(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    for grant in ("admin", "analyst", "observer"):
        client = login_as(grant)
        assert sign(client, seed, "approve").status_code == 403
        client.post("/sign-out")
    with session_factory() as session:
        assert session.scalars(select(SignOff)).all() == []


def test_editing_a_signed_off_finding_reopens_it_and_notifies_signers(
    client: FlaskClient, login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    for grant in ("parent_carer", "young_person", "professional"):
        switch(client, login_as, grant)
        assert sign(client, seed, "approve").status_code == 302
    switch(client, login_as, "analyst")
    response = client.post(
        finding_url(seed, "/statement"), data={"statement": "Families waited too long.", "expected_version": "1"}
    )
    assert response.status_code == 302
    with session_factory() as session:
        finding = session.get(Finding, seed.finding_ids[0])
        assert finding.status == "reopened" and finding.statement == "Families waited too long."
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "finding.reopen")) is not None
        notified = {n.user_id for n in session.scalars(select(Notification))}
        signers = {
            u.id
            for u in session.scalars(
                select(User).where(User.email.in_([f"{g}@example.org" for g in ("parent-carer", "young-person")]))
            )
        }
        assert signers <= notified and len(notified) == 3
    switch(client, login_as, "parent_carer")
    page = text(client.get(f"/projects/{seed.project_slug}/notifications/"))
    assert "A finding you signed off has changed" in page and "Unread" in page
    assert 'href="/projects/send-review/notifications/"' in page  # the navigation area
    client.post(f"/projects/{seed.project_slug}/notifications/read", data={"notification_id": "all"})
    page = text(client.get(f"/projects/{seed.project_slug}/notifications/"))
    assert "0 unread" in page and "Unread</strong>" not in page
    detail = text(client.get(finding_url(seed)))
    assert "Reopened" in detail and "Approvals of earlier versions (3)" in detail


def test_a_stale_edit_names_who_changed_it_first(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as("analyst")
    assert (
        client.post(
            finding_url(seed, "/statement"), data={"statement": "First edit.", "expected_version": "1"}
        ).status_code
        == 302
    )
    stale = client.post(finding_url(seed, "/you-said-we-did"), data={"you_said_we_did": "x", "expected_version": "1"})
    assert stale.status_code == 409
    page = text(stale)
    assert "There is a problem" in page
    assert "analyst@example.org changed this finding on" in page
    assert re.search(r'name="expected_version" value="(\d+)"', page).group(1) == str(version(session_factory, seed))
    assert "First edit." in page
    with session_factory() as session:
        assert session.get(Finding, seed.finding_ids[0]).you_said_we_did == ""
    saved = client.post(
        finding_url(seed, "/you-said-we-did"),
        data={"you_said_we_did": "We publish waiting times.", "expected_version": str(version(session_factory, seed))},
    )
    assert saved.status_code == 302
    assert "We publish waiting times." in text(client.get(finding_url(seed)))
    empty = client.post(
        finding_url(seed, "/statement"), data={"statement": " ", "expected_version": version(session_factory, seed)}
    )
    assert empty.status_code == 400 and 'href="#statement"' in text(empty)


@pytest.mark.parametrize("grant", ["admin", "site_admin"])
def test_admins_change_the_sign_off_rule(
    grant: str, login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as(grant)
    page = text(client.get(url(seed, "sign-off-rule")))
    assert 'id="require_parent_carer"' in page and 'value="1"' in page
    bad = client.post(
        url(seed, "sign-off-rule"),
        data={"require_parent_carer": "x", "require_young_person": "0", "require_professional": "0"},
    )
    assert bad.status_code == 400 and 'href="#require_parent_carer"' in text(bad)
    none = client.post(
        url(seed, "sign-off-rule"),
        data={"require_parent_carer": "0", "require_young_person": "0", "require_professional": "0"},
    )
    assert none.status_code == 400 and "at least one approval" in text(none)
    ok = client.post(
        url(seed, "sign-off-rule"),
        data={"require_parent_carer": "2", "require_young_person": "0", "require_professional": "1"},
    )
    assert ok.status_code == 302
    with session_factory() as session:
        project = session.scalar(select(Project).where(Project.slug == seed.project_slug))
        assert project.signoff_rule == {"require_roles": {"parent_carer": 2, "professional": 1}}
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "project.signoff_rule"))
        assert event.after == {"require_roles": {"parent_carer": 2, "professional": 1}}
    assert "Approval from at least 2 parent carers and 1 professional" in text(client.get(finding_url(seed)))

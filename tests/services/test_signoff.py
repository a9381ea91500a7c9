"""Panel sign-off: the rule, who may sign, what counts, status changes, dissent and reopening."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor
from coproduce.services.findings import FindingConflictError, edit_statement
from coproduce.services.signoff import (
    SignOffRefusedError,
    normalise_rule,
    set_rule,
    sign,
    signoff_state,
)
from coproduce.services.users import add_member, create_user
from coproduce.store.models import AuditEvent, Finding, Notification, Project, SignOff, User
from tests.services.conftest import Seed
from tests.webui import conftest as web

ANALYST = Actor(label="analyst@example.org")


def member(session: Session, role: str, name: str | None = None) -> User:
    project = session.scalar(select(Project).where(Project.slug == "send-review"))
    email = f"{name or role.replace('_', '-')}@example.org"
    user = create_user(session, Actor(label="test"), email, name or role, web.PASSWORD)
    add_member(session, Actor(label="test"), project, user, role)
    return user


def finding(db: Session, seed: Seed, index: int = 0) -> Finding:
    return db.get(Finding, seed.finding_ids[index])


def events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_rules_are_normalised_and_checked() -> None:
    default = {"parent_carer": 1, "young_person": 1, "professional": 1}
    assert normalise_rule({}) == default
    assert normalise_rule({"require_roles": ["professional", "parent_carer"]}) == {
        "parent_carer": 1,
        "professional": 1,
    }
    assert normalise_rule({"require_roles": {"young_person": 2, "professional": 0}}) == {"young_person": 2}
    for bad in (
        {"require_roles": ["analyst"]},
        {"require_roles": {"parent_carer": -1}},
        {"require_roles": {"parent_carer": "one"}},
        {"require_roles": {"parent_carer": 0}},
        {"require_roles": ["parent_carer", "parent_carer"]},
        {"roles": ["parent_carer"]},
    ):
        with pytest.raises(BadInputError):
            normalise_rule(bad)


def test_three_roles_sign_off_a_finding(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    people = [member(db, role) for role in ("parent_carer", "young_person", "professional")]
    assert target.status == "draft"
    version = target.version

    sign(db, Actor.of(people[0]), people[0], target, "approve", "", version)
    assert target.status == "in_review"
    assert target.version == version  # signing is not a change to the finding
    state = signoff_state(db, target)
    assert state.needed == {"young_person": 1, "professional": 1}
    assert [s.name for s in state.approvals["parent_carer"]] == ["parent_carer"]

    sign(db, Actor.of(people[1]), people[1], target, "approve_with_comment", "Say it plainly", version)
    assert target.status == "in_review"
    sign(db, Actor.of(people[2]), people[2], target, "approve", "", version)
    assert target.status == "signed_off"
    state = signoff_state(db, target)
    assert state.met and state.needed == {}
    assert state.approvals["young_person"][0].comment == "Say it plainly"
    assert [e.after["status"] for e in events(db, "finding.status")] == ["in_review", "signed_off"]
    assert len(events(db, "signoff.give")) == 3
    db.commit()
    assert db.scalar(select(Finding.status).where(Finding.id == target.id)) == "signed_off"


def test_dissent_needs_a_reason_and_stays_visible_after_sign_off(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    carer, young, pro, other = (
        member(db, "parent_carer"),
        member(db, "young_person"),
        member(db, "professional"),
        member(db, "professional", "second-pro"),
    )
    with pytest.raises(BadInputError) as raised:
        sign(db, Actor.of(other), other, target, "dissent", "  ", target.version)
    assert raised.value.field == "comment"
    with pytest.raises(BadInputError):
        sign(db, Actor.of(other), other, target, "approve_with_comment", "", target.version)
    with pytest.raises(BadInputError):
        sign(db, Actor.of(other), other, target, "maybe", "", target.version)

    sign(db, Actor.of(other), other, target, "dissent", "The waits are longer than this says", target.version)
    for person in (carer, young, pro):
        sign(db, Actor.of(person), person, target, "approve", "", target.version)
    assert target.status == "signed_off"  # dissent never blocks the rule
    state = signoff_state(db, target)
    assert [(d.name, d.comment) for d in state.dissents] == [("second-pro", "The waits are longer than this says")]


def test_signing_again_replaces_but_keeps_history(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    carer = member(db, "parent_carer")
    sign(db, Actor.of(carer), carer, target, "approve", "", target.version)
    sign(db, Actor.of(carer), carer, target, "dissent", "Changed my mind", target.version)
    state = signoff_state(db, target)
    assert state.approvals["parent_carer"] == []
    assert [d.comment for d in state.dissents] == ["Changed my mind"]
    assert db.scalar(select(func.count(SignOff.id)).where(SignOff.finding_id == target.id)) == 2
    replaced = events(db, "signoff.replace")
    assert replaced[0].before["decision"] == "approve" and replaced[0].after["decision"] == "dissent"


def test_only_panel_roles_may_sign(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    for role in ("admin", "analyst", "observer"):
        person = member(db, role)
        with pytest.raises(SignOffRefusedError):
            sign(db, Actor.of(person), person, target, "approve", "", target.version)
    outsider = create_user(db, Actor(label="test"), "nobody@example.org", "Nobody", web.PASSWORD)
    with pytest.raises(SignOffRefusedError):
        sign(db, Actor.of(outsider), outsider, target, "approve", "", target.version)
    assert db.scalar(select(func.count(SignOff.id))) == 0


def test_a_change_reopens_the_finding_and_notifies_its_signers(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    people = [member(db, role) for role in ("parent_carer", "young_person", "professional")]
    for person in people:
        sign(db, Actor.of(person), person, target, "approve", "", target.version)
    assert target.status == "signed_off"
    old_version = target.version

    edit_statement(db, ANALYST, target, "Families told us waits are too long.", old_version)
    assert target.status == "reopened"
    assert target.version > old_version
    state = signoff_state(db, target)
    assert not state.met and state.needed == {"parent_carer": 1, "young_person": 1, "professional": 1}
    assert len(state.earlier) == 3  # kept, shown as given to an earlier version
    notes = db.scalars(select(Notification).where(Notification.finding_id == target.id)).all()
    assert sorted(n.user_id for n in notes) == sorted(p.id for p in people)
    assert all("analyst@example.org" in n.message for n in notes)

    # A signature held against the old version is refused, naming who changed it.
    with pytest.raises(FindingConflictError) as raised:
        sign(db, Actor.of(people[0]), people[0], target, "approve", "", old_version)
    assert "analyst@example.org" in str(raised.value)
    sign(db, Actor.of(people[0]), people[0], target, "approve", "", target.version)
    assert target.status == "in_review"


def test_an_admin_changes_the_rule_and_statuses_follow(db: Session, seed: Seed) -> None:
    target = finding(db, seed)
    carer = member(db, "parent_carer")
    sign(db, Actor.of(carer), carer, target, "approve", "", target.version)
    project = db.get(Project, target.project_id)
    changed = set_rule(db, Actor(label="admin@example.org"), project, {"require_roles": {"parent_carer": 1}})
    assert changed == [target] and target.status == "signed_off"
    event = events(db, "project.signoff_rule")[0]
    assert event.before == {"require_roles": {"parent_carer": 1, "young_person": 1, "professional": 1}}
    assert event.after == {"require_roles": {"parent_carer": 1}}
    assert signoff_state(db, target).rule_text == (
        "Approval from at least 1 parent carer, on the current version of the finding."
    )
    set_rule(db, Actor(label="admin@example.org"), project, {"require_roles": {"parent_carer": 2}})
    assert target.status == "in_review"
    with pytest.raises(BadInputError):
        set_rule(db, Actor(label="admin@example.org"), project, {"require_roles": {"observer": 1}})

"""Review decisions: each writes a decision, an audit event and a seen mark, reaches the right findings,
leaves rows the analysis re-run keeps, and refuses what is not the reviewer's to change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services import review
from coproduce.services.analysis import _human_statuses
from coproduce.services.audit import Actor
from coproduce.services.findings import findings_touched_by_codes
from coproduce.services.users import add_member, create_user
from coproduce.store.models import (
    AuditEvent,
    Code,
    CodeAssignment,
    Finding,
    Framework,
    ReviewDecision,
    Segment,
    SegmentSeen,
    Stance,
    User,
)
from tests.services.conftest import Seed
from tests.services.conftest import seeded_project as the_project
from tests.webui import conftest as web


def person(db: Session, role: str | None = "parent_carer", email: str = "reviewer@example.org") -> Actor:
    user = create_user(db, Actor(label="test"), email, "Reviewer", web.PASSWORD)
    if role is not None:
        add_member(db, Actor(label="test"), the_project(db), user, role)
    db.flush()
    return Actor.of(user)


@pytest.fixture
def actor(db: Session) -> Actor:
    return person(db)


def code(db: Session, key: str) -> Code:
    return db.scalars(select(Code).where(Code.key == key)).first()


def versions(db: Session, seed: Seed) -> list[int]:
    db.expire_all()
    return [db.get(Finding, fid).version for fid in seed.finding_ids]


def decisions(db: Session) -> list[ReviewDecision]:
    return list(db.scalars(select(ReviewDecision).order_by(ReviewDecision.id)))


def audits(db: Session, prefix: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.id)))


def seen(db: Session, actor: Actor) -> set[int]:
    return set(db.scalars(select(SegmentSeen.segment_id).where(SegmentSeen.user_id == actor.user_id)))


def test_accept_writes_decision_audit_and_seen_and_changes_no_count(db: Session, seed: Seed, actor: Actor) -> None:
    before = versions(db, seed)
    outcome = review.accept(db, actor, the_project(db), seed.assignment_ids[0], comment="clearly about waiting")
    db.flush()
    assignment = db.get(CodeAssignment, seed.assignment_ids[0])
    assert (assignment.status, assignment.origin, assignment.user_id) == ("accepted", "model", actor.user_id)
    [decision] = decisions(db)
    assert (decision.action, decision.user_id, decision.segment_id, decision.code_assignment_id) == (
        "accept",
        actor.user_id,
        seed.segment_ids[0],
        seed.assignment_ids[0],
    )
    assert decision.to_code_id == code(db, "WAIT").id and decision.comment == "clearly about waiting"
    [event] = audits(db, "review.")
    assert event.action == "review.accept" and event.entity_id == seed.assignment_ids[0]
    assert event.before["status"] == "suggested" and event.after["status"] == "accepted"
    assert event.actor_id == actor.user_id
    assert seen(db, actor) == {seed.segment_ids[0]}
    # The counts already included the suggestion: no finding changes.
    assert outcome.changed and outcome.finding_ids == ()
    assert versions(db, seed) == before


def test_accepting_twice_changes_nothing_the_second_time(db: Session, seed: Seed, actor: Actor) -> None:
    review.accept(db, actor, the_project(db), seed.assignment_ids[0])
    again = review.accept(db, actor, the_project(db), seed.assignment_ids[0])
    assert not again.changed and "already accepted" in again.message
    assert len(decisions(db)) == 1


def test_reject_keeps_the_model_row_and_reopens_the_findings_counting_it(db: Session, seed: Seed, actor: Actor) -> None:
    question_finding, standard_finding, _theme = (db.get(Finding, i) for i in seed.finding_ids)
    standard_finding.status = "signed_off"
    db.flush()
    before = versions(db, seed)
    outcome = review.reject(db, actor, the_project(db), seed.assignment_ids[0])
    db.flush()
    assignment = db.get(CodeAssignment, seed.assignment_ids[0])
    assert (assignment.origin, assignment.status) == ("model", "rejected")
    [decision] = decisions(db)
    assert (decision.action, decision.from_code_id) == ("reject", code(db, "WAIT").id)
    assert [e.action for e in audits(db, "review.")] == ["review.reject"]
    assert seen(db, actor) == {seed.segment_ids[0]}
    assert set(outcome.finding_ids) == {question_finding.id, standard_finding.id}
    after = versions(db, seed)
    assert after[0] > before[0] and after[1] > before[1] and after[2] == before[2]
    assert db.get(Finding, standard_finding.id).status == "reopened"
    assert {e.entity_id for e in audits(db, "finding.")} == {question_finding.id, standard_finding.id}


def test_recode_rejects_the_model_row_and_adds_an_accepted_human_row(db: Session, seed: Seed, actor: Actor) -> None:
    wait, more = code(db, "WAIT"), code(db, "MORE")
    outcome = review.recode(db, actor, the_project(db), seed.assignment_ids[0], "MORE", comment="about help")
    db.flush()
    rows = db.scalars(select(CodeAssignment).where(CodeAssignment.segment_id == seed.segment_ids[0])).all()
    assert {(r.code_id, r.origin, r.status) for r in rows} == {
        (wait.id, "model", "rejected"),
        (more.id, "human", "accepted"),
    }
    human = next(r for r in rows if r.origin == "human")
    assert human.user_id == actor.user_id and human.confidence is None
    [decision] = decisions(db)
    assert (decision.action, decision.from_code_id, decision.to_code_id) == ("recode", wait.id, more.id)
    assert decision.code_assignment_id == seed.assignment_ids[0] and decision.comment == "about help"
    assert [e.action for e in audits(db, "review.")] == ["review.recode", "review.recode_to"]
    assert seen(db, actor) == {seed.segment_ids[0]}
    # The findings a re-run of the look-up reaches are the ones recorded as changed.
    touched = findings_touched_by_codes(db, the_project(db).id, [seed.segment_ids[0]], [wait.id, more.id])
    assert [f.key for f in touched] == ["q1:code:WAIT", "standard:S1"]
    assert outcome.finding_ids == tuple(f.id for f in touched)
    # What the analysis re-run reads: the decisions, as (segment, code) -> status.
    assert _human_statuses(db, the_project(db).id) == {
        (seed.segment_ids[0], wait.id): "rejected",
        (seed.segment_ids[0], more.id): "accepted",
    }


def test_recode_to_a_code_the_segment_has_a_row_for_updates_that_row(db: Session, seed: Seed, actor: Actor) -> None:
    review.reject(db, actor, the_project(db), seed.assignment_ids[1])  # MORE on segment 2, now rejected
    review.add_code(db, actor, the_project(db), seed.segment_ids[1], "WAIT")
    db.flush()
    wait_row = db.scalars(
        select(CodeAssignment).where(
            CodeAssignment.segment_id == seed.segment_ids[1], CodeAssignment.code_id == code(db, "WAIT").id
        )
    ).one()
    review.recode(db, actor, the_project(db), wait_row.id, "MORE")
    db.flush()
    rows = db.scalars(select(CodeAssignment).where(CodeAssignment.segment_id == seed.segment_ids[1])).all()
    assert len(rows) == 2  # no second MORE row
    assert {(r.code.key, r.origin, r.status) for r in rows} == {
        ("MORE", "model", "accepted"),
        ("WAIT", "human", "rejected"),
    }


def test_recode_to_the_same_code_is_refused(db: Session, seed: Seed, actor: Actor) -> None:
    with pytest.raises(BadInputError, match="already has") as caught:
        review.recode(db, actor, the_project(db), seed.assignment_ids[0], "WAIT")
    assert caught.value.field == "to_code"


def test_add_and_remove_a_human_code(db: Session, seed: Seed, actor: Actor) -> None:
    before = versions(db, seed)
    added = review.add_code(db, actor, the_project(db), seed.segment_ids[1], "WAIT", comment="mentions a wait")
    db.flush()
    row = db.scalars(
        select(CodeAssignment).where(CodeAssignment.segment_id == seed.segment_ids[1], CodeAssignment.origin == "human")
    ).one()
    assert (row.code.key, row.status, row.user_id) == ("WAIT", "accepted", actor.user_id)
    [decision] = decisions(db)
    assert (decision.action, decision.to_code_id, decision.code_assignment_id) == ("add", row.code_id, row.id)
    assert [e.action for e in audits(db, "review.")] == ["review.add"]
    assert audits(db, "review.")[0].before is None
    assert seen(db, actor) == {seed.segment_ids[1]}
    assert added.finding_ids  # WAIT findings count it now
    assert versions(db, seed)[:2] > before[:2]

    assert not review.add_code(db, actor, the_project(db), seed.segment_ids[1], "WAIT").changed
    removed = review.remove_code(db, actor, the_project(db), row.id)
    db.flush()
    assert removed.changed and db.get(CodeAssignment, row.id).status == "rejected"
    assert [d.action for d in decisions(db)] == ["add", "reject"]
    with pytest.raises(BadInputError, match="Only a code a person added"):
        review.remove_code(db, actor, the_project(db), seed.assignment_ids[0])


def test_set_stance_is_a_human_decision(db: Session, seed: Seed, actor: Actor) -> None:
    before = versions(db, seed)
    outcome = review.set_stance(db, actor, the_project(db), seed.segment_ids[0], "recommend")
    db.flush()
    segment = db.get(Segment, seed.segment_ids[0])
    assert (segment.stance.key, segment.stance_origin) == ("recommend", "human")
    [event] = audits(db, "review.")
    assert (event.action, event.before, event.after) == (
        "review.stance",
        {"stance": "concern", "stance_origin": "model"},
        {"stance": "recommend", "stance_origin": "human"},
    )
    assert seen(db, actor) == {seed.segment_ids[0]}
    assert set(outcome.finding_ids) == set(seed.finding_ids)  # its code's findings and its theme's
    assert all(a > b for a, b in zip(versions(db, seed), before, strict=True))
    assert not review.set_stance(db, actor, the_project(db), seed.segment_ids[0], "recommend").changed
    with pytest.raises(BadInputError) as caught:
        review.set_stance(db, actor, the_project(db), seed.segment_ids[0], "furious")
    assert caught.value.field == "stance"


def test_bulk_accept_and_reject(db: Session, seed: Seed, actor: Actor) -> None:
    accepted = review.bulk(db, actor, the_project(db), list(seed.assignment_ids), "accept")
    db.flush()
    assert accepted.message == "2 codes accepted." and accepted.finding_ids == ()
    assert {db.get(CodeAssignment, i).status for i in seed.assignment_ids} == {"accepted"}
    assert [d.action for d in decisions(db)] == ["accept", "accept"]
    assert seen(db, actor) == set(seed.segment_ids)

    rejected = review.bulk(db, actor, the_project(db), list(seed.assignment_ids), "reject")
    db.flush()
    assert rejected.message == "2 codes rejected."
    assert {db.get(CodeAssignment, i).status for i in seed.assignment_ids} == {"rejected"}
    assert len(audits(db, "review.")) == 4
    # Each affected finding is recorded once for the whole batch.
    changes = [e.entity_id for e in audits(db, "finding.")]
    assert sorted(changes) == sorted(set(changes)) == sorted(rejected.finding_ids)


def test_bulk_checks_every_id_before_changing_any(db: Session, seed: Seed, actor: Actor) -> None:
    foreign = _foreign_assignment(db, seed)
    with pytest.raises(review.NotFoundError):
        review.bulk(db, actor, the_project(db), [seed.assignment_ids[0], foreign.id], "accept")
    assert db.get(CodeAssignment, seed.assignment_ids[0]).status == "suggested"
    with pytest.raises(BadInputError, match="at least one"):
        review.bulk(db, actor, the_project(db), [], "accept")
    with pytest.raises(BadInputError):
        review.bulk(db, actor, the_project(db), [seed.assignment_ids[0]], "maybe")


def _foreign_assignment(db: Session, seed: Seed) -> CodeAssignment:
    segment = Segment(response_id=seed.other_response_id, position=0, start=0, end=9, text="Elsewhere")
    db.add(segment)
    db.flush()
    row = CodeAssignment(segment_id=segment.id, code_id=code(db, "WAIT").id, origin="model", confidence=0.9)
    db.add(row)
    db.flush()
    return row


def test_refuses_what_is_not_in_the_project(db: Session, seed: Seed, actor: Actor) -> None:
    project = the_project(db)
    foreign = _foreign_assignment(db, seed)
    with pytest.raises(review.NotFoundError):
        review.accept(db, actor, project, foreign.id)
    with pytest.raises(review.NotFoundError):
        review.recode(db, actor, project, 10_000, "MORE")
    with pytest.raises(review.NotFoundError):
        review.add_code(db, actor, project, foreign.segment_id, "MORE")
    with pytest.raises(review.NotFoundError):
        review.mark_seen(db, actor, project, [seed.segment_ids[0], foreign.segment_id])
    assert decisions(db) == []


def test_refuses_codes_of_another_framework(db: Session, seed: Seed, actor: Actor) -> None:
    other = Framework(name="Another", version="1", codes=[Code(key="ELSE", label="Something else")])
    db.add(other)
    db.flush()
    for bad in (other.codes[0].id, "ELSE"):
        with pytest.raises(BadInputError, match="not a code of this project") as caught:
            review.add_code(db, actor, the_project(db), seed.segment_ids[0], bad)
        assert caught.value.field == "code"
        with pytest.raises(BadInputError):
            review.recode(db, actor, the_project(db), seed.assignment_ids[0], bad)
    assert db.get(CodeAssignment, seed.assignment_ids[0]).status == "suggested"
    other_stance = Stance(framework_id=other.id, key="concern", label="Concern")
    db.add(other_stance)
    db.flush()
    with pytest.raises(BadInputError):
        review.set_stance(db, actor, the_project(db), seed.segment_ids[0], other_stance.id)


@pytest.mark.parametrize("role", ["observer", None])
def test_only_reviewers_of_the_project_may_decide(db: Session, seed: Seed, role: str | None) -> None:
    outsider = person(db, role, email=f"{role}@example.org")
    with pytest.raises(review.NotFoundError):
        review.accept(db, outsider, the_project(db), seed.assignment_ids[0])
    with pytest.raises(review.NotFoundError):
        review.mark_seen(db, outsider, the_project(db), [seed.segment_ids[0]])


def test_a_decision_needs_a_person(db: Session, seed: Seed) -> None:
    with pytest.raises(BadInputError, match="signed-in person"):
        review.accept(db, Actor.cli(), the_project(db), seed.assignment_ids[0])


def test_site_admins_and_staff_may_review(db: Session, seed: Seed) -> None:
    admin = create_user(db, Actor(label="test"), "site@example.org", "Site", web.PASSWORD, site_admin=True)
    db.flush()
    assert review.accept(db, Actor.of(admin), the_project(db), seed.assignment_ids[0]).changed
    analyst = person(db, "analyst", email="analyst@example.org")
    assert review.reject(db, analyst, the_project(db), seed.assignment_ids[0]).changed


def test_mark_seen(db: Session, seed: Seed, actor: Actor) -> None:
    outcome = review.mark_seen(db, actor, the_project(db), list(seed.segment_ids))
    db.flush()
    assert outcome.message == "2 segments marked as seen."
    assert seen(db, actor) == set(seed.segment_ids)
    review.mark_seen(db, actor, the_project(db), [seed.segment_ids[0]])  # again: still one mark each
    db.flush()
    assert db.scalar(select(func.count()).select_from(SegmentSeen)) == 2
    assert db.get(User, actor.user_id) is not None
    assert audits(db, "review.") == []  # a personal mark, not a change to the analysis

"""Findings after people change codes: fresh counts, reopened sign-offs, and edits that never overwrite."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor
from coproduce.services.findings import (
    FindingConflictError,
    edit_statement,
    findings_touched_by_codes,
    record_finding_change,
    refresh_figures,
    set_you_said_we_did,
)
from coproduce.services.signoff import sign
from coproduce.services.users import add_member, create_user
from coproduce.store.models import (
    AnalysisRun,
    AuditEvent,
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Notification,
    Project,
    Respondent,
    Response,
    Segment,
)
from tests.services.conftest import Seed
from tests.webui import conftest as web

REVIEWER = Actor(label="reviewer@example.org")


def code(db: Session, key: str) -> Code:
    return db.scalar(select(Code).where(Code.key == key))


def direct_count(db: Session, code_id: int, question_id: int | None) -> tuple[set[int], set[int]]:
    """Respondents carrying the code, and the base, counted the plain way (no shared helpers)."""
    carrying = set()
    for a in db.scalars(select(CodeAssignment).where(CodeAssignment.code_id == code_id)):
        segment = db.get(Segment, a.segment_id)
        response = db.get(Response, segment.response_id)
        if question_id is not None and response.question_id != question_id:
            continue
        rows = db.scalars(
            select(CodeAssignment).where(CodeAssignment.segment_id == a.segment_id, CodeAssignment.code_id == code_id)
        ).all()
        statuses = {r.status for r in rows}
        if "accepted" in statuses or ("suggested" in statuses and "rejected" not in statuses):
            carrying.add(response.respondent_id)
    base = set()
    for response in db.scalars(select(Response).join(Respondent).where(Respondent.project_id == 1)):
        if question_id is None or (
            response.question_id == question_id and ((response.redacted_text or "").strip() or response.scale_answer)
        ):
            base.add(response.respondent_id)
    return carrying, base


def add_human_code(db: Session, segment_id: int, key: str, status: str = "accepted") -> None:
    db.add(CodeAssignment(segment_id=segment_id, code_id=code(db, key).id, origin="human", status=status, user_id=None))
    db.flush()


def test_refresh_recounts_what_a_direct_count_finds(db: Session, seed: Seed) -> None:
    by_question, by_standard, _ = (db.get(Finding, i) for i in seed.finding_ids)
    wait = code(db, "WAIT")
    # A reviewer adds "Waiting times" to the professional's segment; the latest run found them in a campaign.
    add_human_code(db, seed.segment_ids[1], "WAIT")
    professional = db.get(Response, db.get(Segment, seed.segment_ids[1]).response_id).respondent_id
    run = db.scalar(select(AnalysisRun))
    db.add(Campaign(project_id=run.project_id, analysis_run_id=run.id, key="c0", respondent_ids=[professional]))
    db.flush()

    changed = refresh_figures(db, [by_question, by_standard, db.get(Finding, seed.finding_ids[2])])
    assert changed == [by_question, by_standard]  # emerging themes are not recounted here
    carrying, base = direct_count(db, wait.id, by_question.question_id)
    figures = by_question.figures
    assert (figures["respondents"], figures["base"]) == (len(carrying), len(base)) == (2, 3)
    assert figures["share"] == round(2 / 3, 4)
    assert figures["by_type"] == {
        "parent_carer": {"respondents": 1, "base": 1, "share": 1.0},
        "professional": {"respondents": 1, "base": 1, "share": 1.0},
    }
    assert figures["without_campaigns"] == {"respondents": 1, "base": 2, "share": 0.5}
    assert figures["stance"] == {"concern": 2}
    assert figures["segments"] == 2
    assert len(figures["quotes"]) == 1  # kept: its segment still carries the code
    assert by_question.statement == (
        "2 of 3 respondents (67%) raised “Waiting times” in answer to question 1. Of them: 2 raised concerns. "
        "Without campaign responses: 1 of 2."
    )
    assert {s.id for s in by_question.segments} == set(seed.segment_ids)

    carrying, base = direct_count(db, wait.id, None)
    assert (by_standard.figures["respondents"], by_standard.figures["base"]) == (len(carrying), len(base)) == (2, 4)
    assert by_standard.figures["codes"] == {"WAIT": 2}
    assert by_standard.statement.startswith("2 of 4 respondents (50%) raised the standard “Timely assessment”")

    # Rejecting the model's suggestion takes the parent carer out, and their quote with them.
    model = db.get(CodeAssignment, seed.assignment_ids[0])
    model.status = "rejected"
    db.flush()
    refresh_figures(db, [by_question])
    carrying, base = direct_count(db, wait.id, by_question.question_id)
    assert by_question.figures["respondents"] == len(carrying) == 1
    assert by_question.figures["quotes"] == []
    assert refresh_figures(db, [by_question]) == []  # nothing moved: nothing changes


def test_a_code_change_reopens_signed_off_findings_and_notifies_signers(db: Session, seed: Seed) -> None:
    project = db.get(Project, db.get(Finding, seed.finding_ids[0]).project_id)
    signers = []
    for role in ("parent_carer", "young_person", "professional"):
        user = create_user(db, Actor(label="test"), f"{role}@example.org", role, web.PASSWORD)
        add_member(db, Actor(label="test"), project, user, role)
        signers.append(user)
    target = db.get(Finding, seed.finding_ids[0])
    for user in signers:
        sign(db, Actor.of(user), user, target, "approve", "", target.version)
    assert target.status == "signed_off"

    add_human_code(db, seed.segment_ids[1], "WAIT")
    touched = findings_touched_by_codes(db, project.id, [seed.segment_ids[1]], [code(db, "WAIT").id])
    assert [f.id for f in touched] == list(seed.finding_ids[:2])
    reopened = [record_finding_change(db, REVIEWER, f, "code added by a reviewer") for f in touched]
    assert reopened == [True, False]
    assert target.status == "reopened"
    assert target.figures["respondents"] == 2  # every caller gets fresh counts
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "finding.reopen"))
    assert event.before["respondents"] == 1 and event.after["respondents"] == 2
    assert event.after["reason"] == "code added by a reviewer"
    notes = db.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [n.user_id for n in notes] == [u.id for u in signers]
    assert "reviewer@example.org" in notes[0].message


def test_a_stale_edit_is_refused_naming_who_changed_it_first(db: Session, seed: Seed) -> None:
    target = db.get(Finding, seed.finding_ids[0])
    loaded = target.version
    first = Actor(label="first-analyst@example.org")
    assert edit_statement(db, first, target, "Families told us the waits are too long.", loaded)
    with pytest.raises(FindingConflictError) as raised:
        edit_statement(db, Actor(label="second@example.org"), target, "Something else", loaded)
    assert raised.value.changed_by == "first-analyst@example.org"
    assert raised.value.changed_at == target.updated_at
    assert "first-analyst@example.org changed this finding on" in str(raised.value)
    assert target.statement == "Families told us the waits are too long."
    with pytest.raises(FindingConflictError):
        set_you_said_we_did(db, Actor(label="second@example.org"), target, "We hired staff", loaded)
    with pytest.raises(BadInputError):
        edit_statement(db, first, target, "   ", target.version)


def test_a_written_statement_survives_a_recount_and_is_marked_for_checking(db: Session, seed: Seed) -> None:
    target = db.get(Finding, seed.finding_ids[0])
    edit_statement(db, Actor(label="analyst@example.org"), target, "Waits came up again and again.", target.version)
    add_human_code(db, seed.segment_ids[1], "WAIT")
    record_finding_change(db, REVIEWER, target, "code added")
    assert target.statement == "Waits came up again and again."
    assert target.figures["respondents"] == 2
    assert target.figures["statement_check"] is True
    assert target.figures["statement_edited"]["by"] == "analyst@example.org"


def test_you_said_we_did_is_saved_and_audited(db: Session, seed: Seed) -> None:
    target = db.get(Finding, seed.finding_ids[2])
    analyst = Actor(label="analyst@example.org")
    assert set_you_said_we_did(db, analyst, target, "  We now publish waiting times.  ", target.version)
    assert target.you_said_we_did == "We now publish waiting times."
    assert not set_you_said_we_did(db, analyst, target, "We now publish waiting times.", target.version)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "finding.you_said_we_did"))
    assert event.before == {"you_said_we_did": ""}
    assert event.after["you_said_we_did"] == "We now publish waiting times."
    assert target.updated_by_label == "analyst@example.org"


def test_you_said_we_did_keeps_a_signed_off_finding_signed(db: Session, seed: Seed) -> None:
    """It is the organisation's answer to the finding, not what the panel signed."""
    target = db.get(Finding, seed.finding_ids[0])
    version = target.version
    db.execute(update(Finding).where(Finding.id == target.id).values(status="signed_off"))
    db.refresh(target)
    assert set_you_said_we_did(db, Actor(label="analyst@example.org"), target, "We hired two assessors.", version)
    assert (target.status, target.version) == ("signed_off", version)
    assert db.scalar(select(func.count()).select_from(Notification)) == 0

"""Changes to findings: the one place that bumps a finding's version, reopens it and tells its signers.

Whoever changes a finding (a reviewer recoding a segment, an editor renaming a theme, an analyst
editing a statement, a new analysis run) calls :func:`record_finding_change`. A signed-off finding
that changes is reopened: its sign-offs were given to an earlier version, so they no longer count,
and every signer gets an in-app notification saying what changed and who changed it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.pipeline.findings import effective_codes, finding_statement, respondent_figures
from coproduce.services.audit import Actor, record
from coproduce.store.models import (
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Notification,
    Question,
    Respondent,
    Response,
    Segment,
    SignOff,
    Stance,
    Standard,
    code_standard,
    finding_segment,
    utcnow,
)

RECOUNTED_KINDS = ("question_code", "standard")
MAX_STATEMENT = 5000


@dataclass
class FindingConflictError(BadInputError):
    """Someone changed the finding after the person loaded it: their change is refused, not merged."""

    changed_by: str = ""
    changed_at: datetime | None = None


def check_version(finding: Finding, expected_version: int | None) -> None:
    """Refuse a change made against an older copy of ``finding``, naming who changed it first and when."""
    if expected_version is None or expected_version == finding.version:
        return
    who = finding.updated_by_label or "someone else"
    when = f" on {finding.updated_at.day} {finding.updated_at:%B %Y at %H:%M} UTC" if finding.updated_at else ""
    raise FindingConflictError(
        f"{who} changed this finding{when}, after you opened it (it is now version {finding.version}, "
        f"you had version {expected_version}). Your change has not been saved",
        field="expected_version",
        hint="Reload the page to see their change, then try again",
        changed_by=who,
        changed_at=finding.updated_at,
    )


def record_finding_change(
    session: Session,
    actor: Actor,
    finding: Finding,
    reason: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    recount: Callable[[Finding], bool] | None = None,
) -> bool:
    """Mark ``finding`` as changed by ``actor``; returns True when it was signed off and is now reopened.

    The caller has already made the change on the row (or on rows the finding counts). The version
    goes up here, so a person holding an older copy gets an optimistic-locking conflict, and any
    sign-off given to an earlier version stops counting. A counted finding is brought up to date by
    ``recount`` (True when its figures, statement or links changed) when given, e.g. the exact
    incremental update of ``services.finding_delta`` after a review decision; otherwise by a full recount.
    """
    was_signed = finding.status == "signed_off"
    if finding.kind in RECOUNTED_KINDS:
        old = {"respondents": finding.figures.get("respondents"), "statement": finding.statement}
        if recount(finding) if recount is not None else refresh_figures(session, [finding]):
            new = {"respondents": finding.figures.get("respondents"), "statement": finding.statement}
            changed = [k for k in old if old[k] != new[k]]
            before = {**{k: old[k] for k in changed}, **(before or {})}
            after = {**{k: new[k] for k in changed}, **(after or {})}
    finding.updated_by_label = actor.label
    finding.updated_at = utcnow()
    if was_signed:
        finding.status = "reopened"
    # The mapper bumps ``version`` on flush whenever the row changes; the two fields above make sure it does.
    session.flush()
    record(
        session,
        actor,
        "finding.reopen" if was_signed else "finding.change",
        "finding",
        finding.id,
        project_id=finding.project_id,
        before=before,
        after={**(after or {}), "reason": reason, "version": finding.version},
    )
    if was_signed:
        signers = set(session.scalars(select(SignOff.user_id).where(SignOff.finding_id == finding.id)))
        for user_id in sorted(signers - ({actor.user_id} if actor.user_id else set())):
            session.add(
                Notification(
                    user_id=user_id,
                    project_id=finding.project_id,
                    finding_id=finding.id,
                    message=f"A finding you signed off has changed and is open again ({reason}, by {actor.label}).",
                )
            )
    return was_signed


def findings_touched_by_codes(
    session: Session, project_id: int, segment_ids: Iterable[int], code_ids: Iterable[int]
) -> list[Finding]:
    """The findings of ``project_id`` whose counts depend on ``code_ids`` on ``segment_ids``: the
    question-and-code findings of those segments' questions, and the standard findings of those codes."""
    segment_ids, code_ids = set(segment_ids), set(code_ids)
    if not segment_ids or not code_ids:
        return []
    question_ids = set(
        session.scalars(
            select(Response.question_id)
            .join(Segment, Segment.response_id == Response.id)
            .where(Segment.id.in_(segment_ids))
        )
    ) - {None}
    standard_ids = set(
        session.scalars(select(code_standard.c.standard_id).where(code_standard.c.code_id.in_(code_ids)))
    )
    query = select(Finding).where(
        Finding.project_id == project_id,
        ((Finding.kind == "question_code") & Finding.code_id.in_(code_ids) & Finding.question_id.in_(question_ids))
        | ((Finding.kind == "standard") & Finding.standard_id.in_(standard_ids)),
    )
    return list(session.scalars(query.order_by(Finding.id)))


# ---------------------------------------------------------------- recounting after human changes


def refresh_figures(session: Session, findings: Iterable[Finding]) -> list[Finding]:
    """Recount question-and-code and standard findings from the database; returns those that changed.

    A respondent counts when one of their segments carries the code *effectively*: a model suggestion
    nobody rejected, or a code a person accepted or added. Base, shares by respondent type, counts
    without the latest campaign groups and the stance split are counted as the pipeline counts them;
    quotes are kept while their segments still carry the code. The statement is rewritten, unless a
    person wrote it: then it is kept and marked for checking when the numbers moved.
    """
    changed = []
    for finding in findings:
        if finding.kind not in RECOUNTED_KINDS:
            continue
        if _refresh_one(session, finding):
            changed.append(finding)
    return changed


def _refresh_one(session: Session, finding: Finding) -> bool:
    project_id = finding.project_id
    if finding.kind == "question_code":
        code_ids = {finding.code_id} - {None}
    else:
        code_ids = set(
            session.scalars(select(code_standard.c.code_id).where(code_standard.c.standard_id == finding.standard_id))
        )
    if not code_ids or (finding.kind == "question_code" and finding.question_id is None):
        return False
    in_project = (
        select(Response.id, Response.respondent_id, Respondent.respondent_type)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id)
    )
    if finding.kind == "question_code":
        in_project = in_project.where(Response.question_id == finding.question_id)
    # Every assignment of the counted codes with its segment's place, respondent and stance, as plain
    # rows in one query (ORM objects and id lists in bound parameters cost seconds at 100,000 segments).
    rows = session.execute(
        select(
            Segment.id,
            Segment.response_id,
            Segment.position,
            CodeAssignment.code_id,
            CodeAssignment.status,
            Response.respondent_id,
            Stance.key,
        )
        .join(CodeAssignment, CodeAssignment.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .outerjoin(Stance, Segment.stance_id == Stance.id)
        .where(
            Segment.response_id.in_(in_project.with_only_columns(Response.id).scalar_subquery()),
            CodeAssignment.code_id.in_(code_ids),
        )
    ).all()
    key_of: dict[int, tuple[int, int]] = {}
    respondent_of: dict[int, int] = {}
    stance_of: dict[int, str | None] = {}
    by_status: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for seg_id, response_id, position, code_id, status, respondent_id, stance_key in rows:
        key_of[seg_id] = (response_id, position)
        respondent_of[seg_id] = respondent_id
        stance_of[seg_id] = stance_key
        by_status[status].append((seg_id, code_id))
    effective = effective_codes(by_status["suggested"], by_status["accepted"], by_status["rejected"])
    segment_ids = sorted(effective, key=lambda s: key_of[s])
    keys = [key_of[s] for s in segment_ids]

    if finding.kind == "question_code":
        type_of = dict(
            session.execute(
                select(Response.respondent_id, Respondent.respondent_type)
                .join(Respondent, Response.respondent_id == Respondent.id)
                .where(Respondent.project_id == project_id, Response.question_id == finding.question_id)
            ).all()
        )
        base = _answered(session, project_id, finding.question_id)
    else:
        type_of = dict(
            session.execute(
                select(Respondent.id, Respondent.respondent_type)
                .where(Respondent.project_id == project_id)
                .where(Respondent.id.in_(in_project.with_only_columns(Response.respondent_id).scalar_subquery()))
            ).all()
        )
        base = set(type_of)
    campaign = _campaign_respondents(session, project_id)
    respondents = {respondent_of[s] for s in segment_ids}

    stance_respondents: dict[str, set[int]] = defaultdict(set)
    for s in segment_ids:
        if stance_of[s] is not None:
            stance_respondents[stance_of[s]].add(respondent_of[s])
    kept = set(keys)
    old = dict(finding.figures or {})
    figures: dict[str, Any] = {
        **old,
        **respondent_figures(respondents, base, type_of, campaign, stance_respondents, segments=len(keys)),
        "quotes": [q for q in old.get("quotes", []) if tuple(q.get("segment", ())) in kept],
    }
    if finding.kind == "standard":
        labels = dict(session.execute(select(Code.id, Code.key).where(Code.id.in_(code_ids))).all())
        figures["codes"] = {
            labels[c]: len({respondent_of[s] for s, codes in effective.items() if c in codes})
            for c in sorted(code_ids, key=lambda c: labels[c])
        }
    statement = _statement_for(session, finding, figures)
    if old.get("statement_edited"):
        if (old.get("respondents"), old.get("base")) != (figures["respondents"], figures["base"]):
            figures["statement_check"] = True  # a person wrote it for other numbers
        statement = finding.statement
    linked = _linked(session, finding)
    wanted = set(segment_ids)
    if figures == old and statement == finding.statement and linked == wanted:
        return False
    finding.figures = figures
    finding.statement = statement
    _relink(session, finding, linked, wanted)
    return True


def _answered(
    session: Session, project_id: int, question_id: int | None, respondent_type: str | None = None
) -> set[int]:
    """Respondents (of ``respondent_type`` when given) who answered the question: some text that is not
    only whitespace, or a closed answer.

    Only the first 200 characters of each answer are read; the rare answer whose start is all
    whitespace is read in full."""
    answered: set[int] = set()
    blank_start: list[int] = []
    query = (
        select(Response.id, Response.respondent_id, func.substr(Response.redacted_text, 1, 200), Response.scale_answer)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id, Response.question_id == question_id)
    )
    if respondent_type is not None:
        query = query.where(Respondent.respondent_type == respondent_type)
    for response_id, respondent, head, scale in session.execute(query):
        if scale or (head or "").strip():
            answered.add(respondent)
        elif head:
            blank_start.append(response_id)
    for start in range(0, len(blank_start), 500):
        chunk = blank_start[start : start + 500]
        for respondent, text_ in session.execute(
            select(Response.respondent_id, Response.redacted_text).where(Response.id.in_(chunk))
        ):
            if (text_ or "").strip():
                answered.add(respondent)
    return answered


def _linked(session: Session, finding: Finding) -> set[int]:
    return set(session.scalars(select(finding_segment.c.segment_id).where(finding_segment.c.finding_id == finding.id)))


def _linked_among(session: Session, finding: Finding, segment_ids: Iterable[int]) -> set[int]:
    """The finding's links to any of ``segment_ids``."""
    wanted, found = sorted(set(segment_ids)), set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(finding_segment.c.segment_id).where(
                    finding_segment.c.finding_id == finding.id,
                    finding_segment.c.segment_id.in_(wanted[start : start + 500]),
                )
            )
        )
    return found


def _relink(session: Session, finding: Finding, linked: set[int], wanted: set[int]) -> None:
    """Make the finding's supporting segments ``wanted``, writing only the links that change."""
    session.flush()  # pending ORM changes to the collection first, so the rows below are the truth
    gone, new = sorted(linked - wanted), sorted(wanted - linked)
    for start in range(0, len(gone), 500):
        session.execute(
            delete(finding_segment).where(
                finding_segment.c.finding_id == finding.id, finding_segment.c.segment_id.in_(gone[start : start + 500])
            )
        )
    if new:
        session.execute(insert(finding_segment), [{"finding_id": finding.id, "segment_id": s} for s in new])
    session.expire(finding, ["segments"])


def _statement_for(session: Session, finding: Finding, figures: dict[str, Any]) -> str:
    if finding.kind == "question_code":
        number = session.scalar(select(Question.number).where(Question.id == finding.question_id))
        label = session.scalar(select(Code.label).where(Code.id == finding.code_id))
        return finding_statement(figures, f"“{label}”", f"question {number}")
    label = session.scalar(select(Standard.label).where(Standard.id == finding.standard_id))
    return finding_statement(figures, f"the standard “{label}”", "any question")


def _campaign_respondents(session: Session, project_id: int) -> set[int]:
    """Everyone in a campaign group found by the project's latest analysis run."""
    latest = session.scalar(select(func.max(Campaign.analysis_run_id)).where(Campaign.project_id == project_id))
    if latest is None:
        return set()
    groups = session.scalars(
        select(Campaign.respondent_ids).where(Campaign.project_id == project_id, Campaign.analysis_run_id == latest)
    )
    return {int(r) for ids in groups for r in ids or []}


# ---------------------------------------------------------------- edits by analysts


def edit_statement(session: Session, actor: Actor, finding: Finding, text: str, expected_version: int | None) -> bool:
    """Replace the finding's statement (analysts and admins); True when it changed.

    A statement a person wrote is kept when codes change later; the finding is then marked for
    checking instead. A signed-off finding is reopened.
    """
    text = (text or "").strip()
    if not text:
        raise BadInputError("enter the statement", field="statement", hint="Say what respondents told you")
    if len(text) > MAX_STATEMENT:
        raise BadInputError(f"the statement must be {MAX_STATEMENT} characters or fewer", field="statement")
    check_version(finding, expected_version)
    if text == finding.statement:
        return False
    before = finding.statement
    finding.statement = text
    figures = {k: v for k, v in (finding.figures or {}).items() if k != "statement_check"}
    finding.figures = {**figures, "statement_edited": {"by": actor.label, "at": utcnow().isoformat(timespec="seconds")}}
    record_finding_change(
        session, actor, finding, "statement edited", before={"statement": before}, after={"statement": text}
    )
    return True


def set_you_said_we_did(
    session: Session, actor: Actor, finding: Finding, text: str, expected_version: int | None
) -> bool:
    """Set what was done about the finding ("You said, we did"; empty clears it); True when it changed.

    It is the organisation's answer to the finding, not part of what the panel signs: saving it
    neither reopens a signed-off finding nor makes its sign-offs stale, so the version stays.
    """
    text = (text or "").strip()
    if len(text) > MAX_STATEMENT:
        raise BadInputError(f"“You said, we did” must be {MAX_STATEMENT} characters or fewer", field="you_said_we_did")
    check_version(finding, expected_version)
    if text == finding.you_said_we_did:
        return False
    before = finding.you_said_we_did
    # A plain UPDATE: through the ORM the version counter would move and the sign-offs stop counting.
    session.execute(
        update(Finding)
        .where(Finding.id == finding.id)
        .values(you_said_we_did=text, updated_by_label=actor.label, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(finding)
    record(
        session,
        actor,
        "finding.you_said_we_did",
        "finding",
        finding.id,
        project_id=finding.project_id,
        before={"you_said_we_did": before},
        after={"you_said_we_did": text},
    )
    return True

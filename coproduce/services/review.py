"""Segment review: people accept, reject, recode and add codes, and set stances, on a project's segments.

Every change is recorded three ways, in the caller's transaction (nothing here commits):
a :class:`~coproduce.store.models.ReviewDecision` row (who, which segment and assignment, what, from
and to which code, comment), an audit event with the state before and after, and a
:class:`~coproduce.store.models.SegmentSeen` mark for the reviewer. When the change alters the codes a
segment carries (its *effective* codes: model suggestions with human decisions applied), every
finding counting those codes is passed to :func:`coproduce.services.findings.record_finding_change`,
which reopens it if it was signed off. Accepting a suggestion the counts already include changes no
finding.

The rows have the shape the analysis re-run keeps (``services.analysis``): a code a person added is
``origin="human", status="accepted"``; a rejected suggestion stays a ``origin="model"`` row with
``status="rejected"``. There is at most one row per (segment, code): adding or recoding to a code the
segment already has a row for updates that row instead of adding a second one.

A stance change has no review-decision action in the schema; it is recorded by its audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services import access
from coproduce.services.audit import Actor, record
from coproduce.services.finding_delta import ReviewDelta
from coproduce.services.findings import findings_touched_by_codes, record_finding_change
from coproduce.services.segment_filters import ids_in_project
from coproduce.store.models import (
    Code,
    CodeAssignment,
    Finding,
    Project,
    ReviewDecision,
    Segment,
    SegmentSeen,
    Stance,
    Theme,
    User,
    theme_segment,
    utcnow,
)

BULK_ACTIONS = ("accept", "reject")


class NotFoundError(LookupError):
    """The segment, assignment or project is not there for this person: it does not exist, belongs to
    another project, or the person may not review this project. The web UI answers 404."""


@dataclass(frozen=True)
class ReviewOutcome:
    changed: bool
    message: str  # what happened, in words for a banner or the command line
    segment_ids: tuple[int, ...] = ()
    finding_ids: tuple[int, ...] = ()  # findings recorded as changed


# ---------------------------------------------------------------- look-ups and checks


def reviewer(session: Session, actor: Actor, project: Project) -> User:
    """The person behind ``actor``, if they may review ``project`` (staff and panel members)."""
    if actor.user_id is None:
        raise BadInputError("Review decisions are made by a signed-in person", hint="Run this as a user account")
    user = session.get(User, actor.user_id)
    if user is None or not user.is_active or not (access.grants_for(session, user, project) & access.REVIEWERS):
        raise NotFoundError(f"project {project.slug!r} not found")
    return user


def _segment(session: Session, project: Project, segment_id: int) -> Segment:
    if segment_id not in ids_in_project(session, project, [segment_id]):
        raise NotFoundError(f"segment {segment_id} not found in this project")
    segment = session.get(Segment, segment_id)
    assert segment is not None
    return segment


def _assignment(session: Session, project: Project, assignment_id: int) -> CodeAssignment:
    assignment = session.get(CodeAssignment, assignment_id)
    if assignment is None or assignment.segment_id is None:
        raise NotFoundError(f"code assignment {assignment_id} not found in this project")
    if assignment.segment_id not in ids_in_project(session, project, [assignment.segment_id]):
        raise NotFoundError(f"code assignment {assignment_id} not found in this project")
    return assignment


def _code(session: Session, project: Project, code: int | str) -> Code:
    """A code of the project's framework, by id or key; any other is bad input."""
    if isinstance(code, int):
        found = session.get(Code, code)
    else:
        found = session.scalar(select(Code).where(Code.framework_id == project.framework_id, Code.key == code))
    if found is None or found.framework_id != project.framework_id:
        raise BadInputError(f"{code!r} is not a code of this project's framework", field="code")
    return found


def _rows_for(session: Session, segment_id: int, code_id: int) -> list[CodeAssignment]:
    return list(
        session.scalars(
            select(CodeAssignment)
            .where(CodeAssignment.segment_id == segment_id, CodeAssignment.code_id == code_id)
            .order_by(CodeAssignment.id)
        )
    )


# ---------------------------------------------------------------- what every change writes


def _state(assignment: CodeAssignment) -> dict[str, object]:
    return {
        "segment_id": assignment.segment_id,
        "code": assignment.code.key,
        "origin": assignment.origin,
        "status": assignment.status,
    }


def _set_status(assignment: CodeAssignment, status: str, user: User) -> None:
    assignment.status = status
    assignment.user_id = user.id
    assignment.updated_at = utcnow()


def _decide(
    session: Session,
    user: User,
    segment_id: int,
    assignment: CodeAssignment | None,
    action: str,
    *,
    from_code: Code | None = None,
    to_code: Code | None = None,
    comment: str = "",
) -> None:
    session.add(
        ReviewDecision(
            user_id=user.id,
            segment_id=segment_id,
            code_assignment_id=assignment.id if assignment is not None else None,
            action=action,
            from_code_id=from_code.id if from_code else None,
            to_code_id=to_code.id if to_code else None,
            comment=comment.strip(),
        )
    )


def _mark_seen(session: Session, user: User, segment_ids: Iterable[int]) -> None:
    wanted = set(segment_ids)
    if not wanted:
        return
    now = utcnow()
    existing = {
        s.segment_id: s
        for s in session.scalars(
            select(SegmentSeen).where(SegmentSeen.user_id == user.id, SegmentSeen.segment_id.in_(wanted))
        )
    }
    for segment_id in sorted(wanted):
        if segment_id in existing:
            existing[segment_id].seen_at = now
        else:
            session.add(SegmentSeen(user_id=user.id, segment_id=segment_id, seen_at=now))


def _touch_findings(
    session: Session,
    actor: Actor,
    project: Project,
    segment_ids: Iterable[int],
    code_ids: Iterable[int],
    reason: str,
    delta: ReviewDelta,
    extra: Sequence[Finding] = (),
) -> tuple[int, ...]:
    """Record every finding the change moved; counted ones are updated by ``delta`` (exact, incremental)."""
    session.flush()
    findings = {f.id: f for f in findings_touched_by_codes(session, project.id, segment_ids, code_ids)}
    findings.update({f.id: f for f in extra})
    delta.lock(findings.values())  # no-op for those locked before the change; theme findings are only bumped
    for finding_id in sorted(findings):
        record_finding_change(session, actor, findings[finding_id], reason, recount=delta.recount)
    return tuple(sorted(findings))


# ---------------------------------------------------------------- the actions


def _apply(
    session: Session, actor: Actor, project: Project, user: User, assignment: CodeAssignment, action: str, comment: str
) -> tuple[bool, bool]:
    """Accept or reject one assignment; returns (changed, effective codes changed)."""
    status = "accepted" if action == "accept" else "rejected"
    if assignment.status == status:
        return False, False
    before = _state(assignment)
    counted_before = assignment.status != "rejected"
    _set_status(assignment, status, user)
    code = assignment.code
    _decide(
        session,
        user,
        assignment.segment_id or 0,
        assignment,
        action,
        from_code=code if action == "reject" else None,
        to_code=code if action == "accept" else None,
        comment=comment,
    )
    record(
        session,
        actor,
        f"review.{action}",
        "code_assignment",
        assignment.id,
        project_id=project.id,
        before=before,
        after={**_state(assignment), **({"comment": comment.strip()} if comment.strip() else {})},
    )
    return True, counted_before != (status != "rejected")


def _decide_one(
    session: Session, actor: Actor, project: Project, assignment_id: int, action: str, comment: str, *, human_only=False
) -> ReviewOutcome:
    user = reviewer(session, actor, project)
    assignment = _assignment(session, project, assignment_id)
    if human_only and assignment.origin != "human":
        raise BadInputError("Only a code a person added can be removed; reject a model suggestion instead")
    segment_id = assignment.segment_id or 0
    delta = ReviewDelta(session, project.id, [segment_id])  # locks and re-reads the segment and its codes
    if (assignment.status == "rejected") == (action == "accept"):  # this decision moves the counts
        delta.capture([assignment.code_id])
    changed, effective = _apply(session, actor, project, user, assignment, action, comment)
    _mark_seen(session, user, [segment_id])
    label = assignment.code.label
    verb = "accepted" if action == "accept" else ("removed" if human_only else "rejected")
    findings: tuple[int, ...] = ()
    if effective:
        findings = _touch_findings(
            session, actor, project, [segment_id], [assignment.code_id], f"code “{label}” {verb} on a segment", delta
        )
    message = f"Code “{label}” {verb}." if changed else f"Code “{label}” was already {assignment.status}."
    return ReviewOutcome(changed, message, (segment_id,), findings)


def accept(session: Session, actor: Actor, project: Project, assignment_id: int, *, comment: str = "") -> ReviewOutcome:
    """Accept a code on a segment (a model suggestion, or a code rejected earlier)."""
    return _decide_one(session, actor, project, assignment_id, "accept", comment)


def reject(session: Session, actor: Actor, project: Project, assignment_id: int, *, comment: str = "") -> ReviewOutcome:
    """Reject a code on a segment; the row stays, with status ``rejected``, so a re-run keeps the decision."""
    return _decide_one(session, actor, project, assignment_id, "reject", comment)


def remove_code(
    session: Session, actor: Actor, project: Project, assignment_id: int, *, comment: str = ""
) -> ReviewOutcome:
    """Take off a code a person added (its row becomes ``rejected``; decisions keep pointing at it)."""
    return _decide_one(session, actor, project, assignment_id, "reject", comment, human_only=True)


def _give_code(
    session: Session, actor: Actor, project: Project, user: User, segment_id: int, code: Code, audit_action: str
) -> tuple[CodeAssignment, bool]:
    """Make ``code`` accepted on the segment: update its row if it has one, else add a human row.
    Returns the row and whether the segment's effective codes changed."""
    rows = _rows_for(session, segment_id, code.id)
    if rows:
        counted_before = any(r.status != "rejected" for r in rows)
        for row in rows:
            if row.status != "accepted":
                before = _state(row)
                _set_status(row, "accepted", user)
                record(
                    session,
                    actor,
                    audit_action,
                    "code_assignment",
                    row.id,
                    project_id=project.id,
                    before=before,
                    after=_state(row),
                )
        return rows[0], not counted_before
    row = CodeAssignment(
        segment_id=segment_id, code_id=code.id, origin="human", user_id=user.id, status="accepted", code=code
    )
    session.add(row)
    session.flush()
    record(session, actor, audit_action, "code_assignment", row.id, project_id=project.id, after=_state(row))
    return row, True


def recode(
    session: Session, actor: Actor, project: Project, assignment_id: int, to_code: int | str, *, comment: str = ""
) -> ReviewOutcome:
    """Replace a code on a segment with another: the old row is rejected, the new code accepted (a new
    ``human`` row, or the segment's existing row for that code)."""
    user = reviewer(session, actor, project)
    old = _assignment(session, project, assignment_id)
    new_code = _code(session, project, to_code)
    if new_code.id == old.code_id:
        raise BadInputError(f"The segment already has “{new_code.label}”: choose a different code", field="to_code")
    segment_id = old.segment_id or 0
    delta = ReviewDelta(session, project.id, [segment_id])
    delta.capture([old.code_id, new_code.id])
    old_code = old.code
    before = _state(old)
    old_counted = old.status != "rejected"
    if old.status != "rejected":
        _set_status(old, "rejected", user)
    record(
        session,
        actor,
        "review.recode",
        "code_assignment",
        old.id,
        project_id=project.id,
        before=before,
        after={**_state(old), "to_code": new_code.key, **({"comment": comment.strip()} if comment.strip() else {})},
    )
    _, new_added = _give_code(session, actor, project, user, segment_id, new_code, "review.recode_to")
    _decide(session, user, segment_id, old, "recode", from_code=old_code, to_code=new_code, comment=comment)
    _mark_seen(session, user, [segment_id])
    changed_codes = ([old_code.id] if old_counted else []) + ([new_code.id] if new_added else [])
    findings = _touch_findings(
        session,
        actor,
        project,
        [segment_id],
        changed_codes,
        f"a segment recoded from “{old_code.label}” to “{new_code.label}”",
        delta,
    )
    return ReviewOutcome(True, f"Recoded from “{old_code.label}” to “{new_code.label}”.", (segment_id,), findings)


def add_code(
    session: Session, actor: Actor, project: Project, segment_id: int, code: int | str, *, comment: str = ""
) -> ReviewOutcome:
    """Add a code to a segment as a person's decision (``origin="human", status="accepted"``)."""
    user = reviewer(session, actor, project)
    _segment(session, project, segment_id)
    chosen = _code(session, project, code)
    delta = ReviewDelta(session, project.id, [segment_id])
    rows = _rows_for(session, segment_id, chosen.id)
    if rows and all(r.status == "accepted" for r in rows):
        _mark_seen(session, user, [segment_id])
        return ReviewOutcome(False, f"The segment already has “{chosen.label}”.", (segment_id,))
    delta.capture([chosen.id])
    row, added = _give_code(session, actor, project, user, segment_id, chosen, "review.add")
    _decide(session, user, segment_id, row, "add", to_code=chosen, comment=comment)
    _mark_seen(session, user, [segment_id])
    findings: tuple[int, ...] = ()
    if added:
        findings = _touch_findings(
            session, actor, project, [segment_id], [chosen.id], f"code “{chosen.label}” added to a segment", delta
        )
    return ReviewOutcome(True, f"Code “{chosen.label}” added.", (segment_id,), findings)


def set_stance(
    session: Session, actor: Actor, project: Project, segment_id: int, stance: int | str | None
) -> ReviewOutcome:
    """Set a segment's stance as a person's decision (``stance_origin="human"``, kept by a re-run).

    ``stance`` is a stance id or key of the project's framework; None or "" clears it. Findings that count
    the segment's codes, and emerging-theme findings of themes holding it, change with the stance split.
    """
    user = reviewer(session, actor, project)
    segment = _segment(session, project, segment_id)
    delta = ReviewDelta(session, project.id, [segment_id])
    chosen: Stance | None = None
    if stance not in (None, ""):
        if isinstance(stance, int):
            chosen = session.get(Stance, stance)
        else:
            chosen = session.scalar(
                select(Stance).where(Stance.framework_id == project.framework_id, Stance.key == stance)
            )
        if chosen is None or chosen.framework_id != project.framework_id:
            raise BadInputError(f"{stance!r} is not a stance of this project's framework", field="stance")
    _mark_seen(session, user, [segment_id])
    new_id = chosen.id if chosen else None
    label = chosen.label if chosen else "no stance"
    if segment.stance_id == new_id and (segment.stance_origin == "human" or new_id is None):
        return ReviewOutcome(False, f"The stance was already “{label}”.", (segment_id,))
    code_ids = session.scalars(
        select(CodeAssignment.code_id).where(
            CodeAssignment.segment_id == segment_id, CodeAssignment.status != "rejected"
        )
    ).all()
    delta.capture(code_ids)
    before = {"stance": segment.stance.key if segment.stance else None, "stance_origin": segment.stance_origin}
    segment.stance_id, segment.stance = new_id, chosen
    segment.stance_origin = "human" if chosen else None
    record(
        session,
        actor,
        "review.stance",
        "segment",
        segment.id,
        project_id=project.id,
        before=before,
        after={"stance": chosen.key if chosen else None, "stance_origin": segment.stance_origin},
    )
    theme_findings = session.scalars(
        select(Finding).where(
            Finding.project_id == project.id,
            Finding.kind == "emerging_theme",
            Finding.theme_id.in_(
                select(Theme.id)
                .join(theme_segment, theme_segment.c.theme_id == Theme.id)
                .where(theme_segment.c.segment_id == segment_id)
            ),
        )
    ).all()
    findings = _touch_findings(
        session, actor, project, [segment_id], code_ids, f"a segment's stance set to “{label}”", delta, theme_findings
    )
    return ReviewOutcome(True, f"Stance set to “{label}”.", (segment_id,), findings)


def bulk(
    session: Session, actor: Actor, project: Project, assignment_ids: Sequence[int], action: str, *, comment: str = ""
) -> ReviewOutcome:
    """Accept or reject many assignments at once; each gets its own decision and audit event, and each
    affected finding is recorded as changed once."""
    if action not in BULK_ACTIONS:
        raise BadInputError(f"choose {' or '.join(BULK_ACTIONS)}, not {action!r}", field="action")
    wanted = list(dict.fromkeys(assignment_ids))
    if not wanted:
        raise BadInputError("Select at least one code", field="assignment_id")
    user = reviewer(session, actor, project)
    assignments = [_assignment(session, project, aid) for aid in wanted]  # all checked before any change
    delta = ReviewDelta(session, project.id, {a.segment_id or 0 for a in assignments})
    delta.capture({a.code_id for a in assignments if (a.status == "rejected") == (action == "accept")})
    changed_segments: set[int] = set()
    changed_codes: set[int] = set()
    changed = 0
    for assignment in assignments:
        did, effective = _apply(session, actor, project, user, assignment, action, comment)
        changed += did
        if effective:
            changed_segments.add(assignment.segment_id or 0)
            changed_codes.add(assignment.code_id)
    segments = {a.segment_id or 0 for a in assignments}
    _mark_seen(session, user, segments)
    verb = "accepted" if action == "accept" else "rejected"
    findings = _touch_findings(
        session, actor, project, changed_segments, changed_codes, f"{changed} codes {verb} in bulk", delta
    )
    noun = "code" if changed == 1 else "codes"
    return ReviewOutcome(bool(changed), f"{changed} {noun} {verb}.", tuple(sorted(segments)), findings)


def mark_seen(session: Session, actor: Actor, project: Project, segment_ids: Iterable[int]) -> ReviewOutcome:
    """Mark segments as seen by the reviewer (the "unseen by me" filter). A personal mark, not audited."""
    user = reviewer(session, actor, project)
    wanted = set(segment_ids)
    if not wanted:
        raise BadInputError("There are no segments to mark as seen", field="segment_id")
    found = ids_in_project(session, project, wanted)
    if found != wanted:
        raise NotFoundError("some of those segments are not in this project")
    _mark_seen(session, user, found)
    noun = "segment" if len(found) == 1 else "segments"
    return ReviewOutcome(True, f"{len(found)} {noun} marked as seen.", tuple(sorted(found)))

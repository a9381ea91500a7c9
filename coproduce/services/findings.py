"""Changes to findings: the one place that bumps a finding's version, reopens it and tells its signers.

Whoever changes a finding (a reviewer recoding a segment, an editor renaming a theme, an analyst
editing a statement, a new analysis run) calls :func:`record_finding_change`. A signed-off finding
that changes is reopened: its sign-offs were given to an earlier version, so they no longer count,
and every signer gets an in-app notification saying what changed and who changed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.services.audit import Actor, record
from coproduce.store.models import (
    Finding,
    Notification,
    Response,
    Segment,
    SignOff,
    code_standard,
    utcnow,
)


def record_finding_change(
    session: Session,
    actor: Actor,
    finding: Finding,
    reason: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> bool:
    """Mark ``finding`` as changed by ``actor``; returns True when it was signed off and is now reopened.

    The caller has already made the change on the row (or on rows the finding counts). The version
    goes up here, so a person holding an older copy gets an optimistic-locking conflict, and any
    sign-off given to an earlier version stops counting.
    """
    was_signed = finding.status == "signed_off"
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

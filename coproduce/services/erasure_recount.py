"""Recount a project's findings after respondents were erased, reopening signed-off ones whose figures moved.

Question-and-code and standard findings are recounted by ``services.findings.refresh_figures`` (as
after a review decision). Question summaries and emerging themes, which review never changes, are
recounted here the way the analysis counts them (``pipeline.findings``), from what is left in the
database. Every finding that changed goes through ``record_finding_change``: its version moves, a
signed-off finding is reopened and its signers are told.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.pipeline.base import ResponseText
from coproduce.pipeline.findings import finding_statement, question_summary, respondent_figures
from coproduce.services.analysis import project_responses
from coproduce.services.audit import Actor
from coproduce.services.findings import (
    RECOUNTED_KINDS,
    _campaign_respondents,
    record_finding_change,
    refresh_figures,
)
from coproduce.store.models import (
    Finding,
    Project,
    Question,
    Response,
    Segment,
    Stance,
    Theme,
    finding_segment,
)


def recount_findings(
    session: Session, project: Project, actor: Actor, reason: str
) -> tuple[list[Finding], list[Finding]]:
    """Recount every finding of ``project``; returns (changed, reopened)."""
    session.flush()
    responses = project_responses(session, project.id)
    campaign = _campaign_respondents(session, project.id)
    numbers = dict(session.execute(select(Question.id, Question.number)).all())
    changed, reopened = [], []
    for finding in session.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.id)):
        old = copy.deepcopy(finding.figures or {})
        if finding.kind in RECOUNTED_KINDS:
            moved = bool(refresh_figures(session, [finding]))
        elif finding.kind == "question_summary":
            moved = _recount_summary(finding, numbers.get(finding.question_id), responses, campaign)
        else:
            moved = _recount_theme(session, finding, numbers.get(finding.question_id), responses, campaign)
        if not moved:
            continue
        was_signed = record_finding_change(
            session,
            actor,
            finding,
            reason,
            before={"respondents": old.get("respondents")},
            after={"respondents": (finding.figures or {}).get("respondents")},
        )
        changed.append(finding)
        if was_signed:
            reopened.append(finding)
    return changed, reopened


def _apply(finding: Finding, old: dict[str, Any], figures: dict[str, Any], statement: str) -> bool:
    """Store the new figures; a statement a person wrote is kept and marked for checking instead. Nothing
    changes when the figures did not (a theme renamed since the analysis keeps its statement)."""
    if figures == old:
        return False
    if old.get("statement_edited"):
        if (old.get("respondents"), old.get("base")) != (figures.get("respondents"), figures.get("base")):
            figures["statement_check"] = True
        statement = finding.statement
    finding.figures = figures
    finding.statement = statement
    return True


def _recount_summary(finding: Finding, number: int | None, responses: list[ResponseText], campaign: set[int]) -> bool:
    if number is None:
        return False
    summary = question_summary(responses, number, campaign)
    old = dict(finding.figures or {})
    return _apply(finding, old, {**old, **summary.figures}, summary.statement)


def _recount_theme(
    session: Session, finding: Finding, number: int | None, responses: list[ResponseText], campaign: set[int]
) -> bool:
    rows = session.execute(
        select(Segment.response_id, Segment.position, Response.respondent_id, Stance.key)
        .join(finding_segment, finding_segment.c.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .outerjoin(Stance, Segment.stance_id == Stance.id)
        .where(finding_segment.c.finding_id == finding.id)
    ).all()
    type_of = {r.respondent_id: r.respondent_type for r in responses}
    if number is None:
        base = set(type_of)
    else:
        base = {
            r.respondent_id for r in responses if r.question_number == number and (r.text.strip() or r.scale_answer)
        }
    stance_respondents: dict[str, set[int]] = defaultdict(set)
    for _, _, respondent, stance in rows:
        if stance:
            stance_respondents[stance].add(respondent)
    kept = {(response_id, position) for response_id, position, _, _ in rows}
    old = dict(finding.figures or {})
    figures: dict[str, Any] = {
        **old,
        **respondent_figures({r[2] for r in rows}, base, type_of, campaign, stance_respondents, segments=len(rows)),
        "quotes": [q for q in old.get("quotes", []) if tuple(q.get("segment", ())) in kept],
    }
    theme = session.get(Theme, finding.theme_id) if finding.theme_id else None
    statement = finding.statement
    if theme is not None:
        if "representative" in figures:
            figures["representative"] = theme.representative
        where = f"question {number}" if number is not None else "any question"
        statement = finding_statement(figures, f"an emerging theme, “{theme.label}”", where)
    return _apply(finding, old, figures, statement)

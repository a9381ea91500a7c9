"""Read-only queries behind the findings, notifications and audit pages. Plain data; nothing here writes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from coproduce.services import figures as fig
from coproduce.store.models import (
    AuditEvent,
    Code,
    Finding,
    Notification,
    Project,
    Question,
    Respondent,
    Response,
    ReviewDecision,
    Segment,
    SignOff,
    Stance,
    Standard,
    Theme,
    User,
    finding_segment,
)
from webui.queries import Page

KIND_LABELS = {
    "question_summary": "Answers to a question",
    "question_code": "Code",
    "standard": "National standard",
    "emerging_theme": "Emerging theme",
}
STATUS_LABELS = {"draft": "Draft", "in_review": "In review", "signed_off": "Signed off", "reopened": "Reopened"}
CONTEXT_CHARS = 300  # of a long response, this much is shown either side of the coded span


@dataclass(frozen=True)
class FindingRow:
    finding: Finding
    title: str
    question_number: int | None
    standard_key: str | None
    code_key: str | None
    total: fig.Count

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.finding.kind, self.finding.kind)


@dataclass(frozen=True)
class Filters:
    question: int | None = None
    standard: str | None = None
    code: str | None = None
    theme: int | None = None
    kind: str | None = None
    status: str | None = None

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v not in (None, "")}


class Lookups:
    """Labels of one project's framework and themes, read once per page."""

    def __init__(self, session: Session, project: Project):
        framework = project.framework
        self.questions = {q.id: q for q in framework.questions}
        self.standards = {s.id: s for s in framework.standards}
        self.codes = {c.id: c for c in framework.codes}
        self.stances = {s.key: s.label for s in framework.stances}
        self.themes = {t.id: t for t in session.scalars(select(Theme).where(Theme.project_id == project.id))}

    def row(self, finding: Finding) -> FindingRow:
        question = self.questions.get(finding.question_id or -1)
        standard = self.standards.get(finding.standard_id or -1)
        code = self.codes.get(finding.code_id or -1)
        theme = self.themes.get(finding.theme_id or -1)
        if finding.kind == "question_code" and code:
            title = code.label
        elif finding.kind == "emerging_theme" and theme:
            title = theme.label
        elif finding.kind == "standard" and standard:
            title = standard.label
        elif finding.kind == "question_summary" and question:
            title = f"Answers to question {question.number}"
        else:
            title = finding.key
        return FindingRow(
            finding,
            title,
            question.number if question else None,
            standard.key if standard else None,
            code.key if code else None,
            fig.total(finding.figures or {}),
        )


def findings(session: Session, project: Project, filters: Filters) -> tuple[Lookups, list[FindingRow]]:
    """The project's findings matching ``filters``, most respondents first."""
    look = Lookups(session, project)
    query = select(Finding).where(Finding.project_id == project.id)
    if filters.kind:
        query = query.where(Finding.kind == filters.kind)
    if filters.status:
        query = query.where(Finding.status == filters.status)
    if filters.question is not None:
        ids = [q.id for q in look.questions.values() if q.number == filters.question]
        query = query.where(Finding.question_id.in_(ids))
    if filters.standard:
        ids = [s.id for s in look.standards.values() if s.key == filters.standard]
        query = query.where(Finding.standard_id.in_(ids))
    if filters.code:
        ids = [c.id for c in look.codes.values() if c.key == filters.code]
        linked = [s.id for c in look.codes.values() if c.key == filters.code for s in c.standards]
        query = query.where(Finding.code_id.in_(ids) | Finding.standard_id.in_(linked))
    if filters.theme is not None:
        query = query.where(Finding.theme_id == filters.theme)
    rows = [look.row(f) for f in session.scalars(query.order_by(Finding.id))]
    rows.sort(key=lambda r: (-r.total.respondents, r.title.lower()))
    return look, rows


def finding(session: Session, project: Project, finding_id: int) -> Finding | None:
    return session.scalar(select(Finding).where(Finding.id == finding_id, Finding.project_id == project.id))


@dataclass(frozen=True)
class SupportingSegment:
    segment: Segment
    respondent_id: int
    respondent_type: str
    stance: str | None  # stance key
    before: str  # redacted text before the coded span (trimmed to CONTEXT_CHARS)
    span: str
    after: str


def _segments_query(finding: Finding) -> Select[Any]:
    # The finding's links first, as a materialised CTE: otherwise PostgreSQL may walk every segment of
    # the project in reading order, probing each for a link, to avoid a sort (180 ms for a finding with
    # no segments on a 225,000-segment project).
    linked = (
        select(finding_segment.c.segment_id)
        .where(finding_segment.c.finding_id == finding.id)
        .cte("linked")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(Segment, Response, Respondent.respondent_type, Stance.key)
        .join(linked, linked.c.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .outerjoin(Stance, Segment.stance_id == Stance.id)
    )


def segment_facets(session: Session, finding: Finding) -> tuple[list[str], list[str]]:
    """The respondent types and stances among the finding's segments (for the filter choices)."""
    rows = session.execute(
        _segments_query(finding).with_only_columns(Respondent.respondent_type, Stance.key).distinct()
    ).all()
    types = fig.ordered_types(t for t, _ in rows)
    stances = sorted({s for _, s in rows if s})
    return types, stances


def supporting_segments(
    session: Session, finding: Finding, respondent_type: str | None, stance: str | None, page: int, size: int
) -> Page[SupportingSegment]:
    """One page of the finding's segments, each inside its response's redacted text."""
    query = _segments_query(finding)
    if respondent_type:
        query = query.where(Respondent.respondent_type == respondent_type)
    if stance == "none":
        query = query.where(Segment.stance_id.is_(None))
    elif stance:
        query = query.where(Stance.key == stance)
    ids_query = query.with_only_columns(Segment.id)
    total = session.scalar(select(func.count()).select_from(ids_query.subquery())) or 0
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    # The page's ids first, sorting narrow rows; then those rows with their responses' texts. Sorting the
    # whole rows (every response text of a finding with 20,000 segments) cost PostgreSQL a quarter second.
    ids = list(
        session.scalars(ids_query.order_by(Segment.response_id, Segment.position).offset((page - 1) * size).limit(size))
    )
    found = {row[0].id: row for row in session.execute(query.where(Segment.id.in_(ids or [-1])))}
    rows = [found[i] for i in ids if i in found]
    items = []
    for segment, response, kind, stance_key in rows:
        text = response.redacted_text or ""
        start, end = max(0, min(segment.start, len(text))), max(0, min(segment.end, len(text)))
        before, span, after = text[:start], text[start:end], text[end:]
        if not span:  # offsets out of step with the text: show the segment's own (redacted) text
            before, span, after = "", segment.text, ""
        if len(before) > CONTEXT_CHARS:
            before = "…" + before[-CONTEXT_CHARS:]
        if len(after) > CONTEXT_CHARS:
            after = after[:CONTEXT_CHARS] + "…"
        items.append(SupportingSegment(segment, response.respondent_id, kind, stance_key, before, span, after))
    return Page(items, page, size, total)


# ---------------------------------------------------------------- audit


def audit_events(
    session: Session,
    project: Project,
    action: str | None,
    entity_type: str | None,
    actor: str | None,
    page: int,
    size: int,
) -> Page[AuditEvent]:
    """One page of the project's audit events, newest first."""
    query = select(AuditEvent).where(AuditEvent.project_id == project.id)
    if action:
        query = query.where(AuditEvent.action == action)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if actor:
        query = query.where(AuditEvent.actor_label == actor)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    items = session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).offset((page - 1) * size).limit(size)
    ).all()
    return Page(list(items), page, size, total)


def audit_facets(session: Session, project: Project) -> dict[str, list[str]]:
    """The actions, entity types and people that appear in the project's audit log."""

    def distinct(column: Any) -> list[str]:
        return list(
            session.scalars(select(column).where(AuditEvent.project_id == project.id).distinct().order_by(column))
        )

    return {
        "actions": distinct(AuditEvent.action),
        "entity_types": distinct(AuditEvent.entity_type),
        "actors": distinct(AuditEvent.actor_label),
    }


@dataclass(frozen=True)
class FindingHistory:
    events: list[AuditEvent]  # the finding's own events and those of its sign-offs, newest first
    signoffs: list[tuple[SignOff, str]]  # every signature ever given, with the signer's name, newest first
    decisions: list[tuple[ReviewDecision, str, str | None, str | None, int]]  # decision, who, from, to, response


def finding_history(session: Session, finding: Finding) -> FindingHistory:
    signoffs = list(
        session.execute(
            select(SignOff, User.display_name)
            .join(User, SignOff.user_id == User.id)
            .where(SignOff.finding_id == finding.id)
            .order_by(SignOff.created_at.desc(), SignOff.id.desc())
        ).all()
    )
    signoff_ids = [s.id for s, _ in signoffs]
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.project_id == finding.project_id,
                ((AuditEvent.entity_type == "finding") & (AuditEvent.entity_id == finding.id))
                | ((AuditEvent.entity_type == "sign_off") & AuditEvent.entity_id.in_(signoff_ids)),
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        )
    )
    codes = {c.id: c.label for c in session.scalars(select(Code))}
    segment_ids = select(finding_segment.c.segment_id).where(finding_segment.c.finding_id == finding.id)
    rows = session.execute(
        select(ReviewDecision, User.display_name, Segment.response_id)
        .join(User, ReviewDecision.user_id == User.id)
        .join(Segment, ReviewDecision.segment_id == Segment.id)
        .where(ReviewDecision.segment_id.in_(segment_ids))
        .order_by(ReviewDecision.created_at.desc(), ReviewDecision.id.desc())
    ).all()
    decisions = [
        (d, name, codes.get(d.from_code_id or -1), codes.get(d.to_code_id or -1), response_id)
        for d, name, response_id in rows
    ]
    return FindingHistory(events, [(s, n) for s, n in signoffs], decisions)


# ---------------------------------------------------------------- notifications


def notifications(session: Session, user: User, project: Project) -> list[Notification]:
    """The user's notifications in this project: unread first, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.project_id == project.id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())
        )
    )


def question_numbers(project: Project) -> list[Question]:
    return list(project.framework.questions)


def standards(project: Project) -> list[Standard]:
    return list(project.framework.standards)

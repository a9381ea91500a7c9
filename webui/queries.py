"""Read-only queries behind the project pages. They return plain data; nothing here writes.

Which fields a person may see is decided in the views with ``coproduce.services.access``;
these functions only fetch, always scoped to one project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from coproduce.store.models import Project, Question, Respondent, Response, SafeguardingFlag, Source

T = TypeVar("T")


@dataclass(frozen=True)
class QuestionSummary:
    question: Question
    responses: int
    scale_counts: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectSummary:
    sources: int
    respondents: int
    respondents_by_type: list[tuple[str, int]]
    questions: list[QuestionSummary]
    unmatched_responses: int
    open_flags: int


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def _in_project(project: Project) -> Select[Any]:
    """Responses of this project (a response belongs to a project through its respondent)."""
    return select(Response).join(Respondent).where(Respondent.project_id == project.id)


def project_summary(session: Session, project: Project) -> ProjectSummary:
    sources = session.scalar(select(func.count(Source.id)).where(Source.project_id == project.id)) or 0
    by_type = session.execute(
        select(Respondent.respondent_type, func.count(Respondent.id))
        .where(Respondent.project_id == project.id)
        .group_by(Respondent.respondent_type)
        .order_by(func.count(Respondent.id).desc(), Respondent.respondent_type)
    ).all()
    per_question = dict(
        session.execute(
            select(Response.question_id, func.count(Response.id))
            .join(Respondent)
            .where(Respondent.project_id == project.id)
            .group_by(Response.question_id)
        ).all()
    )
    scale_rows = session.execute(
        select(Response.question_id, Response.scale_answer, func.count(Response.id))
        .join(Respondent)
        .where(Respondent.project_id == project.id, Response.scale_answer.is_not(None))
        .group_by(Response.question_id, Response.scale_answer)
    ).all()
    scales: dict[int | None, dict[str, int]] = {}
    for question_id, answer, count in scale_rows:
        scales.setdefault(question_id, {})[answer] = count
    questions = [
        QuestionSummary(q, per_question.get(q.id, 0), _ordered_scale(q, scales.get(q.id, {})))
        for q in project.framework.questions
    ]
    open_flags = session.scalar(
        select(func.count(SafeguardingFlag.id))
        .join(Response)
        .join(Respondent)
        .where(Respondent.project_id == project.id, SafeguardingFlag.status == "open")
    )
    return ProjectSummary(
        sources=sources,
        respondents=sum(count for _, count in by_type),
        respondents_by_type=[(kind, count) for kind, count in by_type],
        questions=questions,
        unmatched_responses=per_question.get(None, 0),
        open_flags=open_flags or 0,
    )


def _ordered_scale(question: Question, counts: dict[str, int]) -> list[tuple[str, int]]:
    """The framework's options in order (zeros included), then any other answers found."""
    if not counts and question.answer_type == "open":
        return []
    ordered = [(str(option), counts.get(str(option), 0)) for option in question.options]
    known = {option for option, _ in ordered}
    ordered += sorted(((a, c) for a, c in counts.items() if a not in known), key=lambda item: -item[1])
    return ordered


def question_by_number(project: Project, number: int) -> Question | None:
    return next((q for q in project.framework.questions if q.number == number), None)


def question_responses(
    session: Session, project: Project, question: Question | None, page: int, size: int
) -> Page[Response]:
    """One page of a question's responses (``question=None``: those matched to no question)."""
    query = _in_project(project).where(
        Response.question_id.is_(None) if question is None else Response.question_id == question.id
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    last = max(1, math.ceil(total / size))
    page = min(max(page, 1), last)
    items = session.scalars(
        query.options(selectinload(Response.respondent)).order_by(Response.id).offset((page - 1) * size).limit(size)
    ).all()
    return Page(list(items), page, size, total)


def respondent(session: Session, project: Project, respondent_id: int) -> Respondent | None:
    return session.scalar(
        select(Respondent)
        .where(Respondent.id == respondent_id, Respondent.project_id == project.id)
        .options(selectinload(Respondent.responses).selectinload(Response.question))
    )


def response(session: Session, project: Project, response_id: int) -> Response | None:
    return session.scalar(
        _in_project(project)
        .where(Response.id == response_id)
        .options(selectinload(Response.flags), selectinload(Response.question))
    )


def sources(session: Session, project: Project) -> list[tuple[Source, int]]:
    """The project's imported files, newest first, each with how many respondents it brought."""
    counts = (
        select(Respondent.source_id, func.count(Respondent.id).label("n")).group_by(Respondent.source_id).subquery()
    )
    rows = session.execute(
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .where(Source.project_id == project.id)
        .order_by(Source.imported_at.desc(), Source.id.desc())
    ).all()
    return [(source, count) for source, count in rows]


def flags(session: Session, project: Project) -> list[SafeguardingFlag]:
    """Safeguarding flags, open ones first, then newest first."""
    return list(
        session.scalars(
            select(SafeguardingFlag)
            .join(Response)
            .join(Respondent)
            .where(Respondent.project_id == project.id)
            .options(selectinload(SafeguardingFlag.response))
            .order_by((SafeguardingFlag.status == "open").desc(), SafeguardingFlag.created_at.desc())
        )
    )

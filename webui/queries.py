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

from coproduce.services import figures as fig
from coproduce.store.models import (
    AnalysisRun,
    Campaign,
    Finding,
    Project,
    Question,
    Respondent,
    Response,
    SafeguardingFlag,
    Source,
    Standard,
    Theme,
    code_standard,
)

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


def responses_per_question(session: Session, project: Project) -> dict[int | None, int]:
    """How many responses each question has (``None``: matched to no question)."""
    return dict(
        session.execute(
            select(Response.question_id, func.count(Response.id))
            .join(Respondent)
            .where(Respondent.project_id == project.id)
            .group_by(Response.question_id)
        ).all()
    )


def _scale_question_ids(project: Project) -> list[int]:
    """The questions that can carry a scale answer: the importers place closed answers on a question's options."""
    return [q.id for q in project.framework.questions if q.options or q.answer_type != "open"]


def project_summary(
    session: Session, project: Project, per_question: dict[int | None, int] | None = None
) -> ProjectSummary:
    """Sources, respondents by type and responses per question (``per_question`` when already read)."""
    sources = session.scalar(select(func.count(Source.id)).where(Source.project_id == project.id)) or 0
    by_type = session.execute(
        select(Respondent.respondent_type, func.count(Respondent.id))
        .where(Respondent.project_id == project.id)
        .group_by(Respondent.respondent_type)
        .order_by(func.count(Respondent.id).desc(), Respondent.respondent_type)
    ).all()
    if per_question is None:
        per_question = responses_per_question(session, project)
    closed = _scale_question_ids(project)
    scale_rows = (
        session.execute(
            select(Response.question_id, Response.scale_answer, func.count(Response.id))
            .join(Respondent)
            .where(
                Respondent.project_id == project.id,
                Response.scale_answer.is_not(None),
                Response.question_id.in_(closed),
            )
            .group_by(Response.question_id, Response.scale_answer)
        ).all()
        if closed
        else []
    )
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
    return fig.ordered_scale(question.options, counts)


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


# ---------------------------------------------------------------- the analysis overview, read from stored findings

KIND_LABELS = {
    "question_summary": "Answers",
    "question_code": "Code",
    "emerging_theme": "Emerging theme",
    "standard": "National standard",
}


@dataclass(frozen=True)
class FindingFigures:
    """One stored finding with its figures read through ``coproduce.services.figures``."""

    id: int
    key: str
    kind: str
    title: str  # the code, theme or standard it is about
    statement: str
    status: str
    question_number: int | None
    figures: dict[str, Any]
    total: fig.Count
    without_campaigns: fig.Count
    by_type: dict[str, fig.Count]
    stance: fig.StanceSplit

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def stale(self) -> bool:
        return bool(self.figures.get("stale"))

    @property
    def quotes(self) -> list[dict[str, Any]]:
        return list(self.figures.get("quotes") or [])


@dataclass(frozen=True)
class ScaleRow:
    answer: str
    respondents: int
    without_campaigns: int


@dataclass(frozen=True)
class QuestionOverview:
    question: Question
    responses: int
    answered: fig.Count  # respondents who answered; base = everyone in the project
    answered_without_campaigns: int
    by_type: list[tuple[str, int]]
    scale: list[ScaleRow]
    summary: FindingFigures | None
    findings: list[FindingFigures]  # codes, then emerging themes; most respondents first

    @property
    def types(self) -> list[str]:
        """Respondent types counted in any of this question's findings (the columns of its table)."""
        return fig.ordered_types(kind for f in self.findings for kind in f.by_type)


@dataclass(frozen=True)
class StandardOverview:
    standard: Standard
    finding: FindingFigures | None
    codes: list[tuple[str, int | None]]  # linked code label -> respondents (None: not in the figures)


@dataclass(frozen=True)
class ProjectOverview:
    latest_run: AnalysisRun | None
    analysed: bool  # there are findings to show
    campaigns: int
    campaign_respondents: int
    questions: list[QuestionOverview]
    standards: list[StandardOverview]
    cross_question_themes: list[FindingFigures]
    stance_labels: dict[str, str]

    @property
    def cross_question_types(self) -> list[str]:
        return fig.ordered_types(k for f in self.cross_question_themes for k in f.by_type)

    @property
    def standard_types(self) -> list[str]:
        return fig.ordered_types(k for s in self.standards if s.finding for k in s.finding.by_type)

    def question(self, number: int) -> QuestionOverview | None:
        return next((q for q in self.questions if q.question.number == number), None)

    def reading_order(self) -> list[FindingFigures]:
        """Every finding once, question by question (answers to closed questions first), then the rest."""
        out: list[FindingFigures] = []
        for q in self.questions:
            if q.summary is not None and q.scale:
                out.append(q.summary)
            out.extend(q.findings)
        out.extend(self.cross_question_themes)
        out.extend(s.finding for s in self.standards if s.finding is not None)
        return out


def _finding_figures(finding: Finding, title: str, question_number: int | None) -> FindingFigures:
    figures = dict(finding.figures or {})
    return FindingFigures(
        id=finding.id,
        key=finding.key,
        kind=finding.kind,
        title=title,
        statement=finding.statement,
        status=finding.status,
        question_number=question_number,
        figures=figures,
        total=fig.total(figures),
        without_campaigns=fig.without_campaigns(figures),
        by_type=fig.by_type(figures),
        stance=fig.stance_split(figures.get("stance") or {}),
    )


def _answered_counts(
    session: Session, project: Project, question_ids: list[int]
) -> tuple[dict[int, dict[str, set[int]]], dict[tuple[int, str], list[int]]]:
    """From the responses themselves: who answered each of ``question_ids`` (by type), and each scale
    answer's respondents."""
    rows = session.execute(
        select(Response.question_id, Respondent.id, Respondent.respondent_type, Response.scale_answer)
        .join(Respondent)
        .where(
            Respondent.project_id == project.id,
            Response.question_id.in_(question_ids),
            (func.trim(func.coalesce(Response.redacted_text, "")) != "") | Response.scale_answer.is_not(None),
        )
    ).all()
    answered: dict[int, dict[str, set[int]]] = {}
    scales: dict[tuple[int, str], list[int]] = {}
    for question_id, respondent_id, kind, answer in rows:
        answered.setdefault(question_id, {}).setdefault(kind, set()).add(respondent_id)
        if answer:
            scales.setdefault((question_id, answer), []).append(respondent_id)
    return answered, scales


def project_overview(
    session: Session, project: Project, responses: dict[int | None, int] | None = None
) -> ProjectOverview:
    """Per question and per national standard, what the latest analysis found (from the stored findings).
    ``responses``: :func:`responses_per_question`, when already read."""
    framework = project.framework
    findings = list(session.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.id)))
    campaigns = list(session.scalars(select(Campaign).where(Campaign.project_id == project.id)))
    campaign = {int(r) for c in campaigns for r in c.respondent_ids}
    latest = session.scalar(
        select(AnalysisRun)
        .where(AnalysisRun.project_id == project.id)
        .order_by(AnalysisRun.started_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    )
    codes = {c.id: c for c in framework.codes}
    themes = dict(session.execute(select(Theme.id, Theme.label).where(Theme.project_id == project.id)).all())
    number_of = {q.id: q.number for q in framework.questions}
    total_respondents = (
        session.scalar(select(func.count(Respondent.id)).where(Respondent.project_id == project.id)) or 0
    )
    if responses is None:
        responses = responses_per_question(session, project)
    summarised = {f.question_id for f in findings if f.kind == "question_summary"}
    # Questions the analysis has not summarised yet are counted from the responses themselves.
    # Only those questions: on an analysed project they are the few nobody answered, and reading every
    # response to count them made the overview of a 50,000-response project take half a second.
    unsummarised = [q.id for q in framework.questions if q.id not in summarised and responses.get(q.id)]
    answered, scale_respondents = _answered_counts(session, project, unsummarised) if unsummarised else ({}, {})

    def title(f: Finding) -> str:
        if f.kind == "question_code" and f.code_id in codes:
            return codes[f.code_id].label
        if f.kind == "emerging_theme" and f.theme_id in themes:
            return themes[f.theme_id]
        if f.kind == "standard":
            return next((s.label for s in framework.standards if s.id == f.standard_id), f.key)
        if f.kind == "question_summary" and f.question_id in number_of:
            return f"Answers to question {number_of[f.question_id]}"
        return f.key

    read = [_finding_figures(f, title(f), number_of.get(f.question_id or -1)) for f in findings]
    by_rank = sorted(read, key=lambda f: (-f.total.respondents, f.title.lower()))
    questions = []
    for q in framework.questions:
        summary = next((f for f in read if f.kind == "question_summary" and f.question_number == q.number), None)
        if summary is not None:
            counts = {k: c.respondents for k, c in summary.by_type.items()}
            done, without = summary.total.respondents, summary.without_campaigns.respondents
            scale_all = dict(summary.figures.get("scale") or {})
            scale_without = dict(summary.figures.get("scale_without_campaigns") or {})
        else:  # not analysed yet: count from the responses
            groups = answered.get(q.id, {})
            counts = {k: len(v) for k, v in groups.items()}
            everyone = set().union(*groups.values()) if groups else set()
            done, without = len(everyone), len(everyone - campaign)
            mine = {a: ids for (qid, a), ids in scale_respondents.items() if qid == q.id}
            scale_all = {a: len(ids) for a, ids in mine.items()}
            scale_without = {a: len([r for r in ids if r not in campaign]) for a, ids in mine.items()}
        scale = []
        if scale_all or q.answer_type != "open":
            scale = [
                ScaleRow(answer, n, int(scale_without.get(answer, 0)))
                for answer, n in fig.ordered_scale(q.options, scale_all)
            ]
        questions.append(
            QuestionOverview(
                question=q,
                responses=responses.get(q.id, 0),
                answered=fig.Count(done, total_respondents),
                answered_without_campaigns=without,
                by_type=sorted(counts.items(), key=lambda kv: fig.type_order(kv[0])),
                scale=scale,
                summary=summary,
                findings=[f for f in by_rank if f.kind == "question_code" and f.question_number == q.number]
                + [f for f in by_rank if f.kind == "emerging_theme" and f.question_number == q.number],
            )
        )
    standards = []
    # Which codes each standard links, in one query (code.standards per code was a query per code).
    linked_codes: dict[int, set[int]] = {}
    for code_id, standard_id in session.execute(
        select(code_standard.c.code_id, code_standard.c.standard_id).where(
            code_standard.c.code_id.in_([c.id for c in framework.codes] or [-1])
        )
    ):
        linked_codes.setdefault(standard_id, set()).add(code_id)
    for standard in framework.standards:
        finding = next(
            (
                f
                for f, row in zip(read, findings, strict=True)
                if f.kind == "standard" and row.standard_id == standard.id
            ),
            None,
        )
        linked = [c for c in framework.codes if c.id in linked_codes.get(standard.id, ())]
        per_code = (finding.figures.get("codes") or {}) if finding else {}
        standards.append(
            StandardOverview(
                standard, finding, [(c.label, int(per_code[c.key]) if c.key in per_code else None) for c in linked]
            )
        )
    return ProjectOverview(
        latest_run=latest,
        analysed=bool(findings),
        campaigns=len(campaigns),
        campaign_respondents=len(campaign),
        questions=questions,
        standards=standards,
        cross_question_themes=[f for f in by_rank if f.kind == "emerging_theme" and f.question_number is None],
        stance_labels={s.key: s.label for s in framework.stances},
    )

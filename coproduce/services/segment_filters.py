"""Find a project's segments by question, code, theme, respondent, stance, scale answer, flag and more.

One filter (:class:`SegmentFilter`) shared by every page that lists segments: review, search, a
finding's supporting segments. It compiles to one SQL query scoped to the project; the page of
plain rows (:class:`SegmentRow`) is then filled with a fixed number of batched look-ups (codes,
themes, flags, seen marks), never one query per segment.

Typical use::

    flt = SegmentFilter(question=1, code="WAIT", status="suggested", unseen_by=user.id)
    page = filtered_segments(session, project, flt, page=1, size=25, viewer_id=user.id)
    for row in page.items:
        print(row.id, row.text, [c.code_key for c in row.codes])

Lower level, for callers that rank segments themselves (semantic search):
:func:`matching_segments` gives every matching (id, text) in a stable order and
:func:`segment_rows` builds the rows for any list of segment ids, in the order given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from coproduce.services.segment_cache import SegmentCache
from coproduce.store.models import (
    ASSIGNMENT_STATUSES,
    Code,
    CodeAssignment,
    CodingTask,
    Project,
    Question,
    Respondent,
    Response,
    SafeguardingFlag,
    Segment,
    SegmentSeen,
    Stance,
    Standard,
    Theme,
    code_standard,
    theme_segment,
)

CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters


@dataclass(frozen=True)
class SegmentFilter:
    """What to look for. Every field left as ``None`` matches everything; the fields combine with AND.

    - ``question``: the number of the question the segment's response answers.
    - ``standard`` / ``code``: the key of a standard or code of the project's framework; a segment
      matches when it carries a code (linked to that standard) whose status is ``status`` when given,
      otherwise any status but ``rejected`` (the codes the segment has now).
    - ``theme``: a theme id of this project that includes the segment.
    - ``respondent_type``: e.g. ``parent_carer``.
    - ``stance``: a stance key of the framework.
    - ``scale_answer``: the respondent gave this closed answer, to question number ``scale_question``
      when given, otherwise to any question.
    - ``flagged``: True for segments whose response carries a safeguarding flag, False for those whose
      response carries none.
    - ``status``: the segment has a code assignment with this status (``suggested``, ``accepted``,
      ``rejected``); combined with ``code``/``standard``, that code has it.
    - ``unseen_by``: a user id; only segments that person has not marked as seen.
    - ``text``: case-insensitive substring of the segment text (keyword search).
    - ``segment_ids``: only these segments.
    - ``hide_blind_for``: a user id; leaves out the segments of that person's unfinished blind-coding
      tasks, so that they code them without seeing the model's or anyone else's codes first.
    """

    question: int | None = None
    standard: str | None = None
    code: str | None = None
    theme: int | None = None
    respondent_type: str | None = None
    stance: str | None = None
    scale_answer: str | None = None
    scale_question: int | None = None
    flagged: bool | None = None
    status: str | None = None
    unseen_by: int | None = None
    text: str | None = None
    segment_ids: tuple[int, ...] | None = None
    hide_blind_for: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in ASSIGNMENT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ASSIGNMENT_STATUSES)}, not {self.status!r}")

    @property
    def active(self) -> bool:
        """Whether any field the person chose narrows the list (``unseen_by`` and ``text`` included)."""
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__ if name != "hide_blind_for")


@dataclass(frozen=True)
class CodeRow:
    assignment_id: int
    code_id: int
    code_key: str
    code_label: str
    status: str  # suggested | accepted | rejected
    origin: str  # model | human
    confidence: float | None


@dataclass(frozen=True)
class ThemeRow:
    id: int
    label: str


@dataclass(frozen=True)
class SegmentRow:
    id: int
    text: str  # redacted: segments are spans of the redacted text
    response_id: int
    respondent_id: int
    respondent_type: str
    question_number: int | None
    question_text: str | None
    stance_key: str | None
    stance_label: str | None
    stance_origin: str | None
    flagged: bool
    codes: tuple[CodeRow, ...] = ()  # every assignment on the segment, rejected ones included
    themes: tuple[ThemeRow, ...] = ()
    seen: bool | None = None  # by the viewer given to segment_rows; None when no viewer was given

    @property
    def current_codes(self) -> tuple[CodeRow, ...]:
        """The codes the segment carries now (suggested or accepted)."""
        return tuple(c for c in self.codes if c.status != "rejected")


@dataclass(frozen=True)
class SegmentPage:
    items: list[SegmentRow]
    number: int
    size: int
    total: int
    scores: dict[int, float] = field(default_factory=dict)  # segment id -> score, for ranked pages

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


@dataclass(frozen=True)
class FilterOptions:
    """The values each filter can take in this project, as (value, label) pairs for form selects."""

    questions: list[tuple[int, str]]
    standards: list[tuple[str, str]]
    codes: list[tuple[str, str]]
    themes: list[tuple[int, str]]
    respondent_types: list[str]
    stances: list[tuple[str, str]]
    scale_answers: list[tuple[int, str]]  # (question number, answer) found in the project
    statuses: tuple[str, ...] = ASSIGNMENT_STATUSES


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _query(project: Project, flt: SegmentFilter, *columns: Any) -> Select[Any]:
    """``columns`` of the project's segments matching ``flt``, in reading order."""
    fw = project.framework_id
    # The project's respondents as a subquery, not a join: joined, the planner starts from every
    # respondent of the project and sorts what it finds.
    respondents = select(Respondent.id).where(Respondent.project_id == project.id)
    if flt.respondent_type is not None:
        respondents = respondents.where(Respondent.respondent_type == flt.respondent_type)
    query = (
        select(*columns)
        .select_from(Segment)
        .join(Response, Segment.response_id == Response.id)
        .where(Response.respondent_id.in_(respondents))
    )
    if flt.question is not None:
        # One question: reading order is (response, position). The database walks the question's responses
        # by the response.question_id index (in id order) and each one's segments by (response_id, position),
        # so a page stops after its rows instead of sorting every segment of the question (50 ms -> 5 ms
        # for a page deep into a 56,000-segment question on SQLite).
        query = query.where(
            Response.question_id
            == select(Question.id).where(Question.framework_id == fw, Question.number == flt.question).scalar_subquery()
        )
    else:
        query = query.outerjoin(Question, Response.question_id == Question.id)
    if flt.stance is not None:
        query = query.where(
            Segment.stance_id.in_(select(Stance.id).where(Stance.framework_id == fw, Stance.key == flt.stance))
        )
    if flt.theme is not None:
        query = query.where(
            Segment.id.in_(
                select(theme_segment.c.segment_id)
                .join(Theme, Theme.id == theme_segment.c.theme_id)
                .where(Theme.id == flt.theme, Theme.project_id == project.id)
            )
        )
    if flt.code is not None or flt.standard is not None or flt.status is not None:
        coded = select(CodeAssignment.segment_id).where(CodeAssignment.segment_id.is_not(None))
        if flt.status is not None:
            coded = coded.where(CodeAssignment.status == flt.status)
        else:
            coded = coded.where(CodeAssignment.status != "rejected")
        if flt.code is not None:
            coded = coded.where(
                CodeAssignment.code_id.in_(select(Code.id).where(Code.framework_id == fw, Code.key == flt.code))
            )
        if flt.standard is not None:
            coded = coded.where(
                CodeAssignment.code_id.in_(
                    select(code_standard.c.code_id)
                    .join(Standard, Standard.id == code_standard.c.standard_id)
                    .where(Standard.framework_id == fw, Standard.key == flt.standard)
                )
            )
        query = query.where(Segment.id.in_(coded))
    if flt.scale_answer is not None:
        answered = aliased(Response)
        answers = select(answered.respondent_id).where(answered.scale_answer == flt.scale_answer)
        if flt.scale_question is not None:
            asked = aliased(Question)
            answers = answers.join(asked, answered.question_id == asked.id).where(asked.number == flt.scale_question)
        query = query.where(Response.respondent_id.in_(answers))
    if flt.flagged is not None:
        has_flag = exists().where(SafeguardingFlag.response_id == Response.id)
        query = query.where(has_flag if flt.flagged else ~has_flag)
    if flt.hide_blind_for is not None:
        query = query.where(
            ~exists().where(
                CodingTask.segment_id == Segment.id,
                CodingTask.user_id == flt.hide_blind_for,
                CodingTask.completed_at.is_(None),
            )
        )
    if flt.unseen_by is not None:
        query = query.where(~exists().where(SegmentSeen.segment_id == Segment.id, SegmentSeen.user_id == flt.unseen_by))
    if flt.text:
        query = query.where(Segment.text.icontains(flt.text, autoescape=True))
    if flt.segment_ids is not None:
        query = query.where(Segment.id.in_(flt.segment_ids or (-1,)))
    if flt.question is not None:
        return query.order_by(Response.id, Segment.position)
    return query.order_by(Question.number.is_(None), Question.number, Response.id, Segment.position)


def count_segments(session: Session, project: Project, flt: SegmentFilter) -> int:
    query = _query(project, flt, Segment.id).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def matching_segment_ids(session: Session, project: Project, flt: SegmentFilter) -> list[int]:
    """Every matching segment's id, in id order (no sort by reading order: on PostgreSQL, sorting a
    question's 56,000 segments that way was most of a search by meaning)."""
    return sorted(session.scalars(_query(project, flt, Segment.id).order_by(None)))


def matching_segments(session: Session, project: Project, flt: SegmentFilter) -> list[tuple[int, str]]:
    """Every matching segment as (id, text), in reading order (question, response, position)."""
    return [(sid, text) for sid, text in session.execute(_query(project, flt, Segment.id, Segment.text))]


def filtered_segments(
    session: Session,
    project: Project,
    flt: SegmentFilter,
    page: int = 1,
    size: int = 25,
    *,
    viewer_id: int | None = None,
    counts: SegmentCache | None = None,
) -> SegmentPage:
    """One page of matching segments as plain rows, with the total; a page past the end gives the last.

    ``viewer_id`` fills :attr:`SegmentRow.seen` for that person. ``counts`` (one per process) keeps the
    total of a question's segments between pages instead of counting them for every page.
    """
    if size < 1:
        raise ValueError("page size must be at least 1")
    if counts is not None:
        total = counts.count(session, project, flt, lambda f: count_segments(session, project, f))
    else:
        total = count_segments(session, project, flt)
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    ids = list(session.scalars(_query(project, flt, Segment.id).offset((page - 1) * size).limit(size)))
    return SegmentPage(segment_rows(session, project, ids, viewer_id=viewer_id), page, size, total)


def segment_rows(
    session: Session, project: Project, segment_ids: Sequence[int], *, viewer_id: int | None = None
) -> list[SegmentRow]:
    """Rows for ``segment_ids`` in the order given; ids outside the project are left out.

    Five queries per 500 ids whatever the number of segments: the segments with their response,
    respondent, question and stance; their code assignments; their themes; flags; seen marks.
    """
    wanted = list(dict.fromkeys(segment_ids))
    base: dict[int, dict[str, Any]] = {}
    codes: dict[int, list[CodeRow]] = {}
    themes: dict[int, list[ThemeRow]] = {}
    flagged: set[int] = set()
    seen: set[int] = set()
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(
                Segment.id,
                Segment.text,
                Segment.response_id,
                Segment.stance_origin,
                Response.respondent_id,
                Respondent.respondent_type,
                Question.number,
                Question.text,
                Stance.key,
                Stance.label,
            )
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .outerjoin(Question, Response.question_id == Question.id)
            .outerjoin(Stance, Segment.stance_id == Stance.id)
            .where(Segment.id.in_(chunk), Respondent.project_id == project.id)
        )
        for sid, text, response_id, origin, respondent_id, kind, number, qtext, skey, slabel in rows:
            base[sid] = {
                "id": sid,
                "text": text,
                "response_id": response_id,
                "respondent_id": respondent_id,
                "respondent_type": kind,
                "question_number": number,
                "question_text": qtext,
                "stance_key": skey,
                "stance_label": slabel,
                "stance_origin": origin,
            }
        found = [sid for sid in chunk if sid in base]
        if not found:
            continue
        for aid, sid, code_id, key, label, status, origin, confidence in session.execute(
            select(
                CodeAssignment.id,
                CodeAssignment.segment_id,
                CodeAssignment.code_id,
                Code.key,
                Code.label,
                CodeAssignment.status,
                CodeAssignment.origin,
                CodeAssignment.confidence,
            )
            .join(Code, CodeAssignment.code_id == Code.id)
            .where(CodeAssignment.segment_id.in_(found))
            .order_by(CodeAssignment.segment_id, CodeAssignment.confidence.is_(None), Code.key, CodeAssignment.id)
        ):
            codes.setdefault(sid, []).append(CodeRow(aid, code_id, key, label, status, origin, confidence))
        for sid, tid, label in session.execute(
            select(theme_segment.c.segment_id, Theme.id, Theme.label)
            .join(Theme, Theme.id == theme_segment.c.theme_id)
            .where(theme_segment.c.segment_id.in_(found), Theme.project_id == project.id)
            .order_by(Theme.label, Theme.id)
        ):
            themes.setdefault(sid, []).append(ThemeRow(tid, label))
        responses = {base[sid]["response_id"] for sid in found}
        flagged.update(
            session.scalars(select(SafeguardingFlag.response_id).where(SafeguardingFlag.response_id.in_(responses)))
        )
        if viewer_id is not None:
            seen.update(
                session.scalars(
                    select(SegmentSeen.segment_id).where(
                        SegmentSeen.user_id == viewer_id, SegmentSeen.segment_id.in_(found)
                    )
                )
            )
    return [
        SegmentRow(
            **base[sid],
            flagged=base[sid]["response_id"] in flagged,
            codes=tuple(codes.get(sid, ())),
            themes=tuple(themes.get(sid, ())),
            seen=(sid in seen) if viewer_id is not None else None,
        )
        for sid in wanted
        if sid in base
    ]


def filter_options(session: Session, project: Project) -> FilterOptions:
    """What the filter form offers: the framework's questions, standards, codes and stances, and the
    themes, respondent types and scale answers present in this project."""
    fw = project.framework_id
    questions = session.execute(select(Question.number, Question.text).where(Question.framework_id == fw)).all()
    standards = session.execute(select(Standard.key, Standard.label).where(Standard.framework_id == fw)).all()
    codes = session.execute(select(Code.key, Code.label).where(Code.framework_id == fw)).all()
    stances = session.execute(
        select(Stance.key, Stance.label).where(Stance.framework_id == fw).order_by(Stance.id)
    ).all()
    themes = session.execute(
        select(Theme.id, Theme.label).where(Theme.project_id == project.id).order_by(Theme.label, Theme.id)
    ).all()
    kinds = session.scalars(
        select(Respondent.respondent_type)
        .where(Respondent.project_id == project.id)
        .distinct()
        .order_by(Respondent.respondent_type)
    ).all()
    # Only questions with options can carry a scale answer (the importers place closed answers on a
    # question's options): on a project of open questions that skips reading every response (30 ms
    # on 50,000 responses).
    closed = session.execute(
        select(Question.id, Question.number, Question.options, Question.answer_type).where(Question.framework_id == fw)
    ).all()
    number_of = {qid: number for qid, number, options, kind in closed if options or kind != "open"}
    scale = (
        session.execute(
            select(Question.number, Response.scale_answer)
            .join(Question, Response.question_id == Question.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(
                Respondent.project_id == project.id,
                Response.scale_answer.is_not(None),
                Response.question_id.in_(list(number_of)),
            )
            .distinct()
        ).all()
        if number_of
        else []
    )
    return FilterOptions(
        questions=sorted((n, t) for n, t in questions),
        standards=sorted((k, label) for k, label in standards),
        codes=sorted(((k, label) for k, label in codes), key=lambda c: c[1].lower()),
        themes=[(i, label) for i, label in themes],
        respondent_types=list(kinds),
        stances=[(k, label) for k, label in stances],
        scale_answers=sorted((n, a) for n, a in scale),
    )


def ids_in_project(session: Session, project: Project, segment_ids: Iterable[int]) -> set[int]:
    """The given segment ids that belong to ``project``."""
    wanted = sorted(set(segment_ids))
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(session.scalars(_query(project, SegmentFilter(segment_ids=tuple(chunk)), Segment.id)))
    return found

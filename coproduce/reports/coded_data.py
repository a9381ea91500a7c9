"""Coded data for spreadsheets: one row per segment, one row per coding, and a summary per question.

Every row carries the respondent's attributes (never a name), the question, the segment's redacted
text, the codes in force (model suggestions nobody rejected, plus codes people accepted or added),
what the model suggested and what people decided, and the stance with who set it. Cells a
spreadsheet would run as a formula are neutralised (:func:`coproduce.services.exports.neutralise`).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.reports.data import STATUS_LABELS, ReportData
from coproduce.reports.people import Pseudonyms
from coproduce.services.exports import RESPONDENT_COLUMNS, neutralise
from coproduce.store.models import Code, CodeAssignment, Project, Question, Respondent, Response, Segment, Stance

SEGMENT_COLUMNS = (
    "segment_id",
    "response_id",
    "respondent_id",
    *RESPONDENT_COLUMNS,
    "in_campaign",
    "question_number",
    "question",
    "position",
    "start",
    "end",
    "text",
    "codes",
    "code_labels",
    "model_suggested",
    "accepted_by_people",
    "rejected_by_people",
    "added_by_people",
    "origin",
    "status",
    "stance",
    "stance_origin",
)
CODING_COLUMNS = (
    "segment_id",
    "question_number",
    "code",
    "code_label",
    "origin",
    "status",
    "in_force",
    "confidence",
    "analysis_run_id",
    "decided_by",
)
SUMMARY_COLUMNS = (
    "question_number",
    "measure",
    "item",
    "respondent_type",
    "respondents",
    "base",
    "share",
    "panel_status",
)


@dataclass(frozen=True)
class CodedData:
    segments: list[list[object]]
    codings: list[list[object]]
    summary: dict[int, list[list[object]]]  # question number -> rows
    questions: dict[int, str]


def _joined(items: Iterable[str]) -> str:
    return "; ".join(sorted(items))


def _origin_and_status(suggested: set[str], accepted: set[str], rejected: set[str], added: set[str]) -> tuple[str, str]:
    """One word each for the segment: who set its codes, and where review has got to."""
    if not (suggested or added):
        return "", "uncoded"
    origin = "model and human" if added and suggested else ("human" if added else "model")
    status = "reviewed" if accepted or rejected or added else "suggested"
    return origin, status


def load_coded_data(session: Session, project: Project, report: ReportData) -> CodedData:
    people = Pseudonyms.for_project(session, project)
    campaign = report.campaign_members
    codes = {
        c.id: (c.key, c.label) for c in session.scalars(select(Code).where(Code.framework_id == project.framework_id))
    }
    stances = dict(session.execute(select(Stance.id, Stance.key)).all())
    rows = session.execute(
        select(Segment, Response, Respondent, Question)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .outerjoin(Question, Response.question_id == Question.id)
        .where(Respondent.project_id == project.id)
        .order_by(Question.number, Respondent.id, Response.id, Segment.position)
    ).all()
    segment_rows = list(rows)
    by_segment: dict[int, list[CodeAssignment]] = defaultdict(list)
    ids = [s.id for s, *_ in segment_rows]
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        for a in session.scalars(
            select(CodeAssignment).where(CodeAssignment.segment_id.in_(chunk)).order_by(CodeAssignment.id)
        ):
            by_segment[a.segment_id or 0].append(a)

    segments: list[list[object]] = []
    codings: list[list[object]] = []
    for segment, response, respondent, question in segment_rows:
        suggested, accepted, rejected, added, in_force = set(), set(), set(), set(), set()
        for a in by_segment.get(segment.id, []):
            key = codes.get(a.code_id, (str(a.code_id), ""))[0]
            if a.origin == "model":
                suggested.add(key)
            elif a.status != "rejected":
                added.add(key)
            if a.status == "accepted" and a.origin == "model":
                accepted.add(key)
            if a.status == "rejected":
                rejected.add(key)
            live = a.status != "rejected"
            if live:
                in_force.add(key)
            codings.append(
                _clean(
                    [
                        segment.id,
                        question.number if question else None,
                        key,
                        codes.get(a.code_id, ("", ""))[1],
                        a.origin,
                        a.status,
                        live,
                        round(a.confidence, 4) if a.confidence is not None else None,
                        a.analysis_run_id,
                        people.name(a.user_id) if a.user_id else ("model" if a.origin == "model" else ""),
                    ]
                )
            )
        origin, status = _origin_and_status(suggested, accepted, rejected, added)
        labels = {key: label for key, label in codes.values()}
        segments.append(
            _clean(
                [
                    segment.id,
                    response.id,
                    respondent.id,
                    RESPONDENT_TYPES.get(respondent.respondent_type, respondent.respondent_type),
                    respondent.external_id,
                    respondent.age,
                    respondent.age_band,
                    respondent.setting,
                    respondent.communication_method,
                    respondent.area,
                    respondent.consent_to_quote,
                    respondent.id in campaign,
                    question.number if question else None,
                    question.text if question else None,
                    segment.position,
                    segment.start,
                    segment.end,
                    segment.text,
                    _joined(in_force),
                    _joined(labels.get(k, k) for k in in_force),
                    _joined(suggested),
                    _joined(accepted),
                    _joined(rejected),
                    _joined(added),
                    origin,
                    status,
                    stances.get(segment.stance_id) if segment.stance_id else None,
                    segment.stance_origin,
                ]
            )
        )
    return CodedData(segments, codings, _summary(report), {q.number: q.text for q in report.questions})


def _summary(report: ReportData) -> dict[int, list[list[object]]]:
    out: dict[int, list[list[object]]] = {}
    for q in report.questions:
        rows: list[list[object]] = [
            [q.number, "answered", "", "all", q.answered, q.answered, 1.0 if q.answered else 0.0, ""]
        ]
        rows += [
            [q.number, "answered", "", kind, n, q.answered, _share(n, q.answered), ""] for kind, n in q.by_type.items()
        ]
        total = sum(n for _, n in q.scale)
        rows += [[q.number, "scale answer", option, "all", n, total, _share(n, total), ""] for option, n in q.scale]
        for f in (*q.findings, *q.emerging):
            measure = "code" if f.kind == "question_code" else "emerging theme"
            status = STATUS_LABELS.get(f.signoff.status, f.signoff.status)
            rows.append(
                [q.number, measure, f.title, "all", f.total.respondents, f.total.base, round(f.total.share, 4), status]
            )
            c = f.without_campaigns
            rows.append(
                [q.number, measure, f.title, "all, without campaigns", c.respondents, c.base, round(c.share, 4), status]
            )
            for kind, c in f.by_type.items():
                rows.append([q.number, measure, f.title, kind, c.respondents, c.base, round(c.share, 4), status])
            for key, n in f.stance.items():
                rows.append(
                    [
                        q.number,
                        f"{measure} stance",
                        f"{f.title}: {key}",
                        "all",
                        n,
                        f.total.respondents,
                        _share(n, f.total.respondents),
                        status,
                    ]
                )
        out[q.number] = [_clean(r) for r in rows]
    return out


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _clean(row: Sequence[object]) -> list[object]:
    return [neutralise(v) for v in row]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # the BOM makes Excel read UTF-8
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def summary_rows(data: CodedData) -> list[list[object]]:
    return [row for number in sorted(data.summary) for row in data.summary[number]]


def write_xlsx(data: CodedData, report: ReportData, path: Path) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    about = workbook.create_sheet("About")
    for row in (
        ["Project", report.project_name],
        ["Framework", report.framework],
        ["Made", report.generated_at.isoformat(timespec="seconds") + "Z"],
        ["Respondents", report.respondents],
        ["Segments", len(data.segments)],
        ["Segments sheet", "One row per segment (a sentence or passage of an answer), redacted text, codes in force"],
        ["Codings sheet", "One row per code on a segment: suggested by the model or given by a person, and its status"],
        ["Q sheets", "Per question: who answered, scale answers, and every code and emerging theme with counts"],
        ["People", "Shown by role pseudonym, never by name"],
    ):
        about.append(_clean(row))
    sheet = workbook.create_sheet("Segments")
    sheet.append(list(SEGMENT_COLUMNS))
    for row in data.segments:
        sheet.append(row)
    sheet = workbook.create_sheet("Codings")
    sheet.append(list(CODING_COLUMNS))
    for row in data.codings:
        sheet.append(row)
    for number in sorted(data.summary):
        sheet = workbook.create_sheet(f"Q{number}")
        sheet.append(_clean([f"Question {number}", data.questions.get(number, "")]))
        sheet.append(list(SUMMARY_COLUMNS))
        for row in data.summary[number]:
            sheet.append(row)
    workbook.save(path)
    return path

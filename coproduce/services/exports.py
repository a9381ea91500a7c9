"""Export a project's responses as CSV or XLSX, redacted unless an admin asks for the originals.

Spreadsheet programs run a cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage
return as a formula, so such cells are prefixed with an apostrophe (OWASP's CSV injection advice).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.services.projects import get_project
from coproduce.store.db import transaction
from coproduce.store.models import Question, Respondent, Response, SafeguardingFlag, Source

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What is known of a respondent, in the order every export gives it.
RESPONDENT_COLUMNS = (
    "respondent_type",
    "external_id",
    "age",
    "age_band",
    "setting",
    "communication_method",
    "area",
    "consent_to_quote",
)
COLUMNS = (
    "response_id",
    "respondent_id",
    *RESPONDENT_COLUMNS,
    "question_number",
    "question",
    "scale_answer",
    "closed_answer",
    "text",
    "safeguarding_flags",
    "source_file",
)
FORMATS = ("csv", "xlsx")


def neutralise(value: object) -> object:
    """A cell value that no spreadsheet will execute."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class ExportReport:
    path: Path
    rows: int
    redacted: bool


def export_responses(
    factory: sessionmaker[Session], project_slug: str, path: Path, actor: Actor, *, original: bool = False
) -> ExportReport:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise BadInputError(f"cannot export to .{fmt}", file=path, hint="Name the file .csv or .xlsx")
    with transaction(factory) as session:
        project = get_project(session, project_slug)
        rows = list(_rows(session, project.id, original))
        if fmt == "csv":
            _write_csv(path, rows)
        else:
            _write_xlsx(path, rows)
        record(
            session,
            actor,
            "responses.export",
            "project",
            project.id,
            project_id=project.id,
            after={"file": path.name, "rows": len(rows), "original_text": original},
        )
    return ExportReport(path, len(rows), redacted=not original)


def _rows(session: Session, project_id: int, original: bool) -> Iterator[list[object]]:
    flags: dict[int, int] = {}
    for response_id in session.scalars(
        select(SafeguardingFlag.response_id).join(Response).join(Respondent).where(Respondent.project_id == project_id)
    ):
        flags[response_id] = flags.get(response_id, 0) + 1
    query = (
        select(Response, Respondent, Question, Source.filename)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .join(Source, Respondent.source_id == Source.id)
        .outerjoin(Question, Response.question_id == Question.id)
        .where(Respondent.project_id == project_id)
        .order_by(Respondent.id, Question.number, Response.id)
    )
    for response, respondent, question, filename in session.execute(query):
        yield [
            neutralise(v)
            for v in (
                response.id,
                respondent.id,
                respondent.respondent_type,
                respondent.external_id,
                respondent.age,
                respondent.age_band,
                respondent.setting,
                respondent.communication_method,
                respondent.area,
                respondent.consent_to_quote,
                question.number if question else None,
                question.text if question else None,
                response.scale_answer,
                response.closed_answer,
                response.original_text if original else response.redacted_text,
                flags.get(response.id, 0),
                filename,
            )
        ]


def _write_csv(path: Path, rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # the BOM makes Excel read UTF-8
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def _write_xlsx(path: Path, rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    workbook.save(path)

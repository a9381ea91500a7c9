"""Exports: redacted by default, originals on request and audited, formula injection neutralised."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.privacy.base import RedactionResult
from coproduce.services.audit import Actor
from coproduce.services.exports import COLUMNS, export_responses, neutralise
from coproduce.services.imports import import_file
from coproduce.services.projects import create_project
from coproduce.store.db import transaction
from coproduce.store.models import AuditEvent
from tests.conftest import GREEN_PAPER

ACTOR = Actor(label="test")
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTabbed", "\rReturn"]


class Upper:
    """A stand-in redactor whose output is easy to tell from the input."""

    def redact(self, text: str) -> RedactionResult:
        return RedactionResult(text, text.upper())


class NoFlags:
    def detect(self, text: str) -> list:
        return []


@pytest.fixture
def project(session_factory, settings, tmp_path):
    with transaction(session_factory) as session:
        slug = create_project(session, ACTOR, "P", load_framework(GREEN_PAPER)).slug
    path = tmp_path / "family.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["family id", "question", "feedback"])
        for i, text in enumerate([*HOSTILE, "plain words"], start=1):
            writer.writerow([f"F{i}", "1", text])
    import_file(session_factory, settings, slug, path, ACTOR, kind="family", privacy=lambda s: (Upper(), NoFlags()))
    return slug


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_starts_are_neutralised(value):
    assert neutralise(value) == "'" + value


def test_safe_values_are_left_alone():
    assert neutralise("plain") == "plain" and neutralise(3) == 3 and neutralise(None) is None


def test_csv_export_is_redacted_and_safe(session_factory, project, tmp_path):
    path = tmp_path / "out.csv"
    report = export_responses(session_factory, project, path, ACTOR)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert report.rows == len(rows) == 7 and list(rows[0]) == list(COLUMNS)
    texts = {r["text"] for r in rows}
    assert "PLAIN WORDS" in texts and "plain words" not in texts
    assert all(not t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts)


def test_xlsx_export_with_originals_is_audited(session_factory, project, tmp_path):
    path = tmp_path / "out.xlsx"
    export_responses(session_factory, project, path, ACTOR, original=True)
    sheet = load_workbook(path, read_only=True)["responses"]
    values = [row[COLUMNS.index("text")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "plain words" in values and '\'=HYPERLINK("http://x")' in values
    with session_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "responses.export"))
        assert event.after == {"file": "out.xlsx", "rows": 7, "original_text": True}


def test_unknown_format_is_refused(session_factory, project, tmp_path):
    with pytest.raises(BadInputError, match=r"\.pdf"):
        export_responses(session_factory, project, tmp_path / "out.pdf", ACTOR)

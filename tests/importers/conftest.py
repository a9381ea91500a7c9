"""Fixtures for importer tests: the green paper framework and small files built on the fly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "corpus" / "samples"

Q4 = (
    "What components of the EHCP should we consider reviewing or amending as we move to a standardised "
    "and digitised version?"
)
Q9 = (
    "To what extent do you agree or disagree that we should introduce a new mandatory SENCo NPQ to replace the NASENCo?"
)


@pytest.fixture(scope="session")
def green_paper() -> FrameworkSpec:
    return load_framework(ROOT / "corpus" / "frameworks" / "send-green-paper-2022.yaml")


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def microsoft_forms_xlsx(tmp_path: Path) -> Path:
    """A Microsoft Forms export as Forms writes it: one sheet, metadata first, one column per question."""
    started = dt.datetime(2022, 6, 1, 9, 30)
    return write_xlsx(
        tmp_path / "Green paper feedback(1-3).xlsx",
        [
            [
                "ID",
                "Start time",
                "Completion time",
                "Email",
                "Name",
                "Are you a...",
                Q9,
                "Please explain",
                Q4,
            ],
            [
                1,
                started,
                started,
                "anonymous",
                None,
                "Parent carer",
                "Agree",
                "Time to do the job.",
                "Clear plans",
            ],
            [2, started, started, "pat@example.org", "Pat Example", "SENCo", "strongly disagree", None, None],
            [
                3,
                started,
                started,
                "anonymous",
                None,
                "Parent carer",
                None,
                None,
                "Outcomes that matter to me",
            ],
        ],
    )

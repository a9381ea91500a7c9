"""Family feedback: free text with optional question, respondent id, type and consent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.base import Importer
from coproduce.importers.family import FamilyFeedbackImporter, FamilyImporter

from .conftest import SAMPLES, write_xlsx

SETTINGS = Settings()


def test_importer_protocol() -> None:
    assert FamilyImporter is FamilyFeedbackImporter
    importer: Importer = FamilyFeedbackImporter(SETTINGS)
    assert (importer.name, importer.suffixes) == ("family", (".csv", ".xlsx", ".jsonl"))


def test_sample_corpus(green_paper: FrameworkSpec) -> None:
    result = FamilyImporter(SETTINGS).read(SAMPLES / "family-feedback.jsonl", green_paper)
    assert (len(result.respondents), len(result.responses), result.rejected) == (24, 25, [])
    assert {r.respondent_type for r in result.respondents} == {"parent_carer"}
    first = result.respondents[0]
    assert (first.key, first.area, first.consent_to_quote) == ("FAM-001", "Northfield", True)
    assert first.attributes == {"event": "Coffee morning, March 2022", "child_age_band": "5-10"}
    questions = {r.location: r.question_number for r in result.responses}
    assert questions["line 2"] == 6  # "6"
    assert questions["line 4"] == 8  # by wording
    assert questions["line 6"] == 4  # "Question 4"
    assert questions["line 1"] is None  # "EHCP" names no question
    assert [r.location for r in result.responses if r.respondent_key == "FAM-002"] == ["line 2", "line 8"]


def test_csv_with_defaults_and_other_columns(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(
        "Comment,Question,Type,Can we quote,Email,Event\n"
        "The wait for OT was 70 weeks,Q1,,yes,someone@example.org,Drop-in\n"
        "Our SENCo is brilliant,,Professional,no,,\n"
        "I want to be asked,anything else you would like to say about the proposals,Young person,,,\n",
        encoding="utf-8",
    )
    result = FamilyImporter(SETTINGS).read(path, green_paper)
    assert [r.key for r in result.respondents] == ["row-2", "row-3", "row-4"]
    assert [r.respondent_type for r in result.respondents] == ["parent_carer", "professional", "young_person"]
    assert [r.consent_to_quote for r in result.respondents] == [True, False, None]
    assert result.respondents[0].attributes == {"Event": "Drop-in"}  # the email is never imported
    assert [r.question_number for r in result.responses] == [1, None, 22]


def test_unknown_respondent_type_is_kept_as_written(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text("feedback,respondent type\nhello there,Neighbour\n", encoding="utf-8")
    respondent = FamilyImporter(SETTINGS).read(path, green_paper).respondents[0]
    assert respondent.respondent_type == "other"
    assert respondent.attributes == {"respondent_type_as_written": "Neighbour"}


def test_missing_text_column(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text("id,area\n1,Northfield\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="there is no 'text' column") as info:
        FamilyImporter(SETTINGS).read(path, green_paper)
    assert info.value.field == "text"
    assert "feedback.csv, row 1" in str(info.value)
    assert "feedback" in (info.value.hint or "")


def test_duplicated_column(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text("Text,Area,text\na,b,c\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="appears twice") as info:
        FamilyImporter(SETTINGS).read(path, green_paper)
    assert info.value.field == "text"


def test_empty_feedback_is_rejected(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    lines = [{"text": "Fine"}, {"text": ""}, {"text": None}, {"text": "..."}]
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = FamilyImporter(SETTINGS).read(path, green_paper)
    assert len(result.responses) == 1
    assert [r.location for r in result.rejected] == ["line 2", "line 3", "line 4"]


def test_xlsx_feedback(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "feedback.xlsx",
        [
            ["Family ID", "Feedback", "Question"],
            ["F1", "Plans need specific provision", 4],
            ["F1", "And fast", None],
        ],
    )
    result = FamilyImporter(SETTINGS).read(path, green_paper)
    assert [r.key for r in result.respondents] == ["F1"]
    assert [(r.question_number, r.location) for r in result.responses] == [(4, "row 2"), (None, "row 3")]


def test_utf16_feedback(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_bytes("text\tarea\r\nTransition was handled brilliantly\tEastvale\r\n".encode("utf-16"))
    result = FamilyImporter(SETTINGS).read(path, green_paper)
    assert result.respondents[0].area == "Eastvale"


def test_oversize_feedback(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text('{"text": "x"}\n' * 100, encoding="utf-8")
    with pytest.raises(BadInputError, match="larger than") as info:
        FamilyImporter(Settings(max_file_bytes=200)).read(path, green_paper)
    assert "feedback.jsonl" in str(info.value)

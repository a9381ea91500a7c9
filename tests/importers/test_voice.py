"""Voice-of-the-child records: columns found by name, communication methods, ages, JSONL lines."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.base import COMMUNICATION_METHODS, Importer
from coproduce.importers.values import communication_method_of, respondent_type_for_age
from coproduce.importers.voice import VoiceImporter

from .conftest import SAMPLES, write_xlsx

SETTINGS = Settings()


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_importer_protocol() -> None:
    importer: Importer = VoiceImporter(SETTINGS)
    assert (importer.name, importer.suffixes) == ("voice", (".csv", ".xlsx", ".jsonl"))


def test_sample_corpus(green_paper: FrameworkSpec) -> None:
    result = VoiceImporter(SETTINGS).read(SAMPLES / "voice-of-the-child.csv", green_paper)
    assert (len(result.respondents), len(result.responses), result.rejected) == (25, 25, [])
    assert set(Counter(r.communication_method for r in result.respondents)) == set(COMMUNICATION_METHODS)
    ages = [r.age for r in result.respondents if r.age is not None]
    assert (min(ages), max(ages)) == (5, 19)
    types = {r.key: r.respondent_type for r in result.respondents}
    assert (types["Star"], types["Juniper"], types["Wren"], types["Moss"]) == (
        "child",
        "young_person",
        "child",  # age band 11-12
        "young_person",  # age band 13-15
    )
    star = result.respondents[0]
    assert (star.setting, star.recorded_by, star.consent_to_quote) == (
        "Mainstream primary (reception)",
        "Class teacher",
        True,
    )
    assert star.communication_method == "drawing_described"
    by_location = {r.location: r for r in result.responses}
    assert by_location["row 6"].question_number == 4
    assert by_location["row 23"].question_number == 1  # "Q1"
    assert by_location["row 2"].question_number is None


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Spoken", "spoken"),
        ("verbal", "spoken"),
        ("said in a group", "spoken"),
        ("Written", "written"),
        ("typed", "written"),
        ("Symbols/AAC", "symbols_aac"),
        ("symbols_aac", "symbols_aac"),
        ("AAC device", "symbols_aac"),
        ("Makaton", "symbols_aac"),
        ("PECS", "symbols_aac"),
        ("eye-gaze", "symbols_aac"),
        ("drawing", "drawing_described"),
        ("Drawing described by an adult", "drawing_described"),
        ("picture, described by TA", "drawing_described"),
        ("adult paraphrase", "adult_paraphrase"),
        ("Adult-recorded paraphrase", "adult_paraphrase"),
        ("observed by staff", "adult_paraphrase"),
        ("telepathy", None),
    ],
)
def test_communication_methods(written: str, key: str | None) -> None:
    assert communication_method_of(written) == key


@pytest.mark.parametrize(
    ("age", "band", "expected"),
    [
        (5, None, "child"),
        (12, None, "child"),
        (13, None, "young_person"),
        (25, None, "young_person"),
        (30, None, None),
        (None, "5-8", "child"),
        (None, "11-14", "child"),  # straddles 13: the more protective choice
        (None, "13-15", "young_person"),
        (None, "16 to 19", "young_person"),
        (None, "Under 11", "child"),
        (None, "18+", "young_person"),
        (None, "primary", None),
        (None, None, None),
    ],
)
def test_child_or_young_person(age: int | None, band: str | None, expected: str | None) -> None:
    assert respondent_type_for_age(age, band) == expected


def test_headers_matched_loosely_and_explicit_type_wins(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_text(
        "Child Pseudonym,AGE,Communication Method,What they said,Respondent_Type,Name,Favourite colour\n"
        "Kite,9,spoken,I like my teacher,Young person,Real Name,green\n",
        encoding="utf-8",
    )
    result = VoiceImporter(SETTINGS).read(path, green_paper)
    kite = result.respondents[0]
    assert (kite.key, kite.age, kite.communication_method) == ("Kite", 9, "spoken")
    assert kite.respondent_type == "young_person"  # the explicit column, not the age
    assert kite.attributes == {"Favourite colour": "green"}  # "Name" is personal data: never imported
    assert result.responses[0].text == "I like my teacher"


def test_unknown_communication_method(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_text("pseudonym,method,text\nA,spoken,hello\nB,semaphore,hi\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="'semaphore' is not a communication method") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert (info.value.row, info.value.field) == (3, "method")
    assert "voices.csv, row 3" in str(info.value)
    for label in COMMUNICATION_METHODS.values():
        assert label in str(info.value)


@pytest.mark.parametrize(("header", "missing"), [("pseudonym,age", "text"), ("age,text", "pseudonym")])
def test_missing_required_column(green_paper: FrameworkSpec, tmp_path: Path, header: str, missing: str) -> None:
    path = tmp_path / "voices.csv"
    path.write_text(f"{header}\n9,x\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=f"there is no '{missing}' column") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert (info.value.field, info.value.row) == (missing, 1)
    assert "voices.csv" in str(info.value)


def test_age_must_be_a_whole_number(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_text("pseudonym,age,text\nA,9,fine\nB,nine and a half,hi\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="not a whole number of years") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert (info.value.row, info.value.field) == (3, "age")


def test_empty_text_and_missing_pseudonym_are_rejected(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_text("pseudonym,text\nA,hello\nB,\n,words without an author\nC,-\n", encoding="utf-8")
    result = VoiceImporter(SETTINGS).read(path, green_paper)
    assert [r.key for r in result.respondents] == ["A"]
    assert [(r.location, r.reason.split(",")[0]) for r in result.rejected] == [
        ("row 3", "no words in the text"),
        ("row 4", "no pseudonym"),
        ("row 5", "no words in the text"),
    ]


def test_same_pseudonym_is_one_respondent_with_careful_consent(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "voices.jsonl",
        [
            {"pseudonym": "Kite", "age": 9, "consent": True, "text": "first"},
            {"pseudonym": "Kite", "setting": "Special school", "consent": False, "text": "second"},
            {"pseudonym": "Moth", "age": 15, "consent": "yes", "text": "third"},
        ],
    )
    result = VoiceImporter(SETTINGS).read(path, green_paper)
    kite, moth = result.respondents
    assert (kite.age, kite.setting, kite.consent_to_quote) == (9, "Special school", False)
    assert moth.respondent_type == "young_person"
    assert [(r.respondent_key, r.location) for r in result.responses] == [
        ("Kite", "line 1"),
        ("Kite", "line 2"),
        ("Moth", "line 3"),
    ]


def test_jsonl_bad_line_is_named(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.jsonl"
    path.write_text('{"pseudonym": "A", "text": "ok"}\n\n{"pseudonym": "B", "text": "oops"\n', encoding="utf-8")
    with pytest.raises(BadInputError, match="line 3 is not valid JSON") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert info.value.row == 3
    assert "voices.jsonl" in str(info.value)


def test_jsonl_line_that_is_not_an_object(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "voices.jsonl", [{"pseudonym": "A", "text": "ok"}, ["B", "list"]])
    with pytest.raises(BadInputError, match="line 2 is a JSON list, not an object"):
        VoiceImporter(SETTINGS).read(path, green_paper)


def test_jsonl_nested_value(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "voices.jsonl", [{"pseudonym": "A", "text": {"said": "hi"}}])
    with pytest.raises(BadInputError, match="must be text or a number") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert (info.value.row, info.value.field) == (1, "text")


def test_jsonl_stray_text_line(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.jsonl"
    path.write_text('{"pseudonym": "A", "text": "ok"}\n\n  x\n', encoding="utf-8")
    with pytest.raises(BadInputError, match="line 3 is not valid JSON"):
        VoiceImporter(SETTINGS).read(path, green_paper)


def test_blank_jsonl_is_empty(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.jsonl"
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(BadInputError, match="empty") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert "voices.jsonl" in str(info.value)


def test_xlsx_voice_file(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "voices.xlsx",
        [
            ["Pseudonym", "Age", "Communication method", "Recorded by", "Consent", "Text"],
            ["Wren", 11, "Symbols / AAC", "SALT", "Yes", "chose 'happy' and 'music'"],
        ],
    )
    result = VoiceImporter(SETTINGS).read(path, green_paper)
    wren = result.respondents[0]
    assert (wren.age, wren.communication_method, wren.recorded_by, wren.consent_to_quote) == (
        11,
        "symbols_aac",
        "SALT",
        True,
    )
    assert result.responses[0].location == "row 2"


def test_cp1252_voice_csv(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_bytes("pseudonym,text\r\nZoë,I don’t like the café\r\n".encode("cp1252"))
    result = VoiceImporter(SETTINGS).read(path, green_paper)
    assert (result.respondents[0].key, result.responses[0].text) == ("Zoë", "I don’t like the café")


def test_binary_file_named_csv(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "voices.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(BadInputError, match=r"named \.csv but holds a PNG image") as info:
        VoiceImporter(SETTINGS).read(path, green_paper)
    assert "voices.csv" in str(info.value)

"""Dataset readers on the real shared files (skipped without them) and on tiny files of the same layouts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from coproduce.errors import BadInputError
from coproduce.evaluation.datasets import align, read_fft_csv, read_segments, read_themefinder
from tests.conftest import GREEN_PAPER, SHARED

DATA = SHARED / "data"
needs_shared = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not present")

FFT_HEADER = [
    "Comment ID", "Trust", "Respondent ID", "Date", "Service type 1", "Service type 2", "FFT categorical answer",
    "FFT question", "FFT answer", "Person identifiable info?", "Comment sentiment", "Staff manner", "Parking",
]  # fmt: skip


def write_fft(path: Path, rows: list[list[str]], header: list[str] = FFT_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fft_row(text: str, staff: str = "", parking: str = "", sentiment: str = "1") -> list[str]:
    return ["c1", "T", "r1", "01/01/2022", "A&E", "", "1", "What was good?", text, "", sentiment, staff, parking]


@needs_shared
def test_fft_real_file():
    data = read_fft_csv(DATA / "nhs-fft" / "train.csv")
    assert len(data.framework.codes) == 50
    assert data.framework.codes[0].id == data.framework.codes[0].label == "Not assigned"
    assert 5000 < len(data.records) < 5581  # rows with an empty comment are skipped
    assert all(r.text for r in data.records)
    assert all(set(r.codes) <= set(data.code_ids) for r in data.records)
    assert any(r.meta.get("sentiment") == "5" for r in data.records)


def test_fft_synthetic(tmp_path):
    path = write_fft(
        tmp_path / "fft.csv",
        [fft_row("Kind staff", staff="1"), fft_row("", staff="1"), fft_row("No spaces to park", parking="1.0")],
    )
    data = read_fft_csv(path)
    assert [r.text for r in data.records] == ["Kind staff", "No spaces to park"]
    assert [set(r.codes) for r in data.records] == [{"Staff manner"}, {"Parking"}]
    assert data.records[0].group == "What was good?"


def test_fft_bad_cell_names_row_and_column(tmp_path):
    path = write_fft(tmp_path / "fft.csv", [fft_row("Fine", staff="1"), fft_row("Late", parking="yes please")])
    with pytest.raises(BadInputError) as caught:
        read_fft_csv(path)
    assert (caught.value.row, caught.value.field) == (3, "Parking")
    assert "fft.csv" in str(caught.value)


def test_fft_too_few_columns_and_short_rows(tmp_path):
    with pytest.raises(BadInputError, match="at least 12 columns"):
        read_fft_csv(write_fft(tmp_path / "narrow.csv", [["a", "b"]], header=["x", "y"]))
    with pytest.raises(BadInputError) as caught:
        read_fft_csv(write_fft(tmp_path / "short.csv", [fft_row("Fine")[:5]]))
    assert caught.value.row == 2


def test_align_adds_training_codes(tmp_path):
    train = read_fft_csv(write_fft(tmp_path / "a.csv", [fft_row("Kind", staff="1")]))
    header = [*FFT_HEADER[:-1], "Food"]
    test = read_fft_csv(write_fft(tmp_path / "b.csv", [fft_row("Cold food", parking="1")], header=header))
    assert align(train, test).code_ids == ["Staff manner", "Food", "Parking"]


@needs_shared
def test_themefinder_real_folder():
    questions = read_themefinder(DATA / "themefinder-gambling-xs")
    assert [q.name for q in questions] == ["question_part_1", "question_part_2"]
    first = questions[0]
    assert len(first.records) == 100
    assert first.framework.code("A").label == "Complete Ban Support"
    assert first.records[0].codes == {"A", "D", "E"}
    assert first.records[0].stance == "support"  # position AGREE
    assert {r.meta["position"] for r in first.records} == {"AGREE", "DISAGREE", "UNCLEAR"}
    assert all(r.stance is None for r in first.records if r.meta["position"] == "UNCLEAR")


def write_themefinder(root: Path, mapping_line: str = '{"response_id": 1, "labels": ["A"]}') -> Path:
    part = root / "inputs" / "question_part_1"
    gold = root / "outputs" / "mapping" / "2025-01-01" / "question_part_1"
    part.mkdir(parents=True)
    gold.mkdir(parents=True)
    (part / "question.json").write_text(json.dumps({"question_text": "Ban adverts?"}))
    (part / "responses.jsonl").write_text(
        '{"response_id": 1, "response": "Ban them."}\n{"response_id": 2, "response": "No."}\n'
    )
    themes = [{"topic_id": "A", "topic_label": "Ban", "topic_description": "Ban adverts."}]
    (gold / "themes.json").write_text(json.dumps(themes))
    (gold / "mapping.jsonl").write_text(mapping_line + '\n{"response_id": 2, "labels": []}\n')
    (gold / "sentiment.jsonl").write_text('{"response_id": 1, "position": "AGREE"}\n')
    return root


def test_themefinder_synthetic(tmp_path):
    (data,) = read_themefinder(write_themefinder(tmp_path / "tf"))
    assert [(r.text, set(r.codes), r.stance) for r in data.records] == [
        ("Ban them.", {"A"}, "support"),
        ("No.", set(), None),
    ]
    assert data.framework.name == "Ban adverts?"


def test_themefinder_malformed(tmp_path):
    root = write_themefinder(tmp_path / "tf", '{"response_id": 1, "labels": ["Q"]}')
    with pytest.raises(BadInputError) as caught:
        read_themefinder(root)
    assert (caught.value.row, caught.value.field) == (1, "labels")
    assert "mapping.jsonl" in str(caught.value)
    bad_json = write_themefinder(tmp_path / "tf2", "{not json")
    with pytest.raises(BadInputError, match="not valid JSON") as caught:
        read_themefinder(bad_json)
    assert caught.value.row == 1
    with pytest.raises(BadInputError, match="not a themefinder folder"):
        read_themefinder(tmp_path)


@needs_shared
def test_segments_real_file():
    data = read_segments(DATA / "send-seed-gold" / "segments.jsonl", GREEN_PAPER)
    assert len(data.records) == 159
    assert sum(len(r.codes) for r in data.records) == 300
    assert data.records[0].codes == {"STD"} and data.records[0].stance == "recommend"
    assert len({r.response for r in data.records}) == 22  # one answer per question


def test_segments_synthetic_and_malformed(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"text": "Train SENCos.", "codes": ["SCO"], "stance": "recommend", "respondent_type": "parent"}\n\n'
        '{"text": "Nothing else.", "codes": []}\n'
    )
    data = read_segments(good, GREEN_PAPER)
    assert [(set(r.codes), r.stance, r.respondent_type) for r in data.records] == [
        ({"SCO"}, "recommend", "parent"),
        (set(), None, None),
    ]
    for line, field in [
        ('{"text": "x", "codes": ["NOPE"]}', "codes"),
        ('{"text": "x", "codes": [], "stance": "angry"}', "stance"),
        ('{"codes": []}', "text"),
        ('{"text": "x", "codes": "SCO"}', "codes"),
    ]:
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"text": "fine", "codes": []}\n' + line + "\n")
        with pytest.raises(BadInputError) as caught:
            read_segments(bad, GREEN_PAPER)
        assert (caught.value.row, caught.value.field) == (2, field)
    with pytest.raises(BadInputError, match="file not found"):
        read_segments(tmp_path / "missing.jsonl", GREEN_PAPER)


def test_questions_reach_the_coder_from_each_layout(tmp_path):
    from coproduce.evaluation.harness import decisions, question_of

    row = fft_row("Kind staff", staff="1")
    row[7] = "What was\n good?"
    fft = write_fft(tmp_path / "fft.csv", [row])
    assert read_fft_csv(fft).records[0].group == "What was good?"  # whitespace collapsed
    lines = tmp_path / "segments.jsonl"
    lines.write_text(
        '{"text": "Train SENCos.", "codes": ["SCO"], "question": "Q7  training", "question_number": 7}\n'
        '{"text": "Fund it.", "codes": ["FUN"], "question_number": 3}\n'
        '{"text": "Nothing else.", "codes": []}\n'
    )
    data = read_segments(lines, GREEN_PAPER)
    assert [question_of(r) for r in data.records] == ["Q7 training", "q3", None]
    made = decisions(data.records, data.framework)
    assert {e.question for e in made} == {"Q7 training", "q3", None}
    assert {e.question for e in decisions(data.records, data.framework, use_questions=False)} == {None}

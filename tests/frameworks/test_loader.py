from pathlib import Path

import pytest
import yaml

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from tests.conftest import GREEN_PAPER, SHARED


def test_green_paper_framework_has_the_22_questions_and_the_codebook():
    f = load_framework(GREEN_PAPER)
    assert [q.number for q in f.questions] == list(range(1, 23))
    scale = [q.number for q in f.questions if q.answer_type == "scale"]
    assert scale == [6, 9, 10, 11, 13, 15, 16]
    assert f.question(7).answer_type == "yes-no"
    assert f.question(6).options[2] == "Neither agree nor disagree"
    assert len(f.codes) == 35 and len(f.groups) == 9 and len(f.standards) == 6 and len(f.stances) == 5
    assert f.code("JNT").label == "Joint working across education, health and care"
    assert f.code("ACC").standards == ("S4", "S6")


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared")
def test_the_plain_shared_codebook_loads_as_a_framework_without_questions():
    f = load_framework(SHARED / "frameworks" / "send-codebook.yaml")
    assert f.questions == () and len(f.codes) == 35


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "framework.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def minimal() -> dict:
    return {
        "name": "Test",
        "version": "1",
        "standards": [{"id": "S1", "label": "One"}],
        "questions": [{"number": 1, "text": "What?", "answer_type": "open"}],
        "groups": [{"id": "g", "label": "G", "codes": [{"id": "A", "label": "Alpha", "standards": ["S1"]}]}],
        "stances": [{"id": "support", "label": "Support"}],
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda d: d["groups"][0]["codes"].append({"id": "A", "label": "Again"}),
            "groups[0] (g).codes[1] (A).id",
            "duplicate code id",
        ),
        (
            lambda d: d["groups"][0]["codes"][0].update(standards=["S9"]),
            "groups[0] (g).codes[0] (A).standards",
            "unknown standard 'S9'",
        ),
        (lambda d: d["groups"][0]["codes"][0].pop("label"), "groups[0] (g).codes[0] (A).label", "missing"),
        (
            lambda d: d["questions"][0].update(answer_type="essay"),
            "questions[0] (question 1).answer_type",
            "unknown answer type",
        ),
        (lambda d: d["questions"][0].update(number="one"), "questions[0].number", "whole number"),
        (
            lambda d: d["questions"].append({"number": 1, "text": "Again?"}),
            "questions[1] (question 1).number",
            "duplicate question number",
        ),
        (lambda d: d.pop("groups"), "groups", "missing"),
        (lambda d: d["groups"][0].update(parent="nowhere"), "groups[0] (g).parent", "unknown parent group"),
    ],
)
def test_a_bad_framework_names_the_file_entry_and_field(tmp_path, change, field, message):
    data = minimal()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(BadInputError) as caught:
        load_framework(path)
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(path) in str(caught.value)


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "name: x\nversion: 1\ngroups: [\n  - oops: {\n")
    with pytest.raises(BadInputError) as caught:
        load_framework(path)
    assert caught.value.row is not None and "YAML" in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadInputError, match="not found"):
        load_framework(tmp_path / "nope.yaml")

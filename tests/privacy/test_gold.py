"""The labelled (fictional) gold sets: their offsets are exact, and the measured figures hold.

The thresholds sit a little below the figures measured on 2026-11-30 and written up in docs/privacy.md;
a change that makes redaction or flagging worse fails here.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from coproduce.privacy.base import PLACEHOLDER_TYPES
from coproduce.privacy.evaluate import (
    RedactionRecord,
    SafeguardingRecord,
    main,
    score_redaction,
    score_safeguarding,
)
from coproduce.privacy.redaction import PresidioRedactor
from coproduce.privacy.safeguarding import SafeguardingFlagger
from coproduce.privacy.safeguarding_cues import CATEGORIES

DATA = Path(__file__).parent / "data"

# Measured any-type recall 98.3%, per type: PERSON 95.5%, every other type 100%.
MIN_ANY_TYPE_RECALL = 0.95
MIN_RECALL = {
    "PERSON": 0.93,
    "EMAIL": 0.95,
    "PHONE": 0.95,
    "POSTCODE": 0.95,
    "ADDRESS": 0.95,
    "NHS_NUMBER": 0.95,
    "DATE_OF_BIRTH": 0.95,
    "SCHOOL": 0.95,
    "URL": 0.95,
}
MIN_ANY_TYPE_PRECISION = 0.95  # measured 97.5%
MIN_HELDOUT_ANY_TYPE_RECALL = 0.95  # measured 97.5% on the 40 held-out records

# Safeguarding, any flag per passage: dev recall 98.3%, precision 96.7%; held-out recall 76.7%,
# precision 71.9%.
MIN_DEV_FLAG_RECALL = 0.96
MIN_DEV_FLAG_PRECISION = 0.93
MIN_HELDOUT_FLAG_RECALL = 0.73
MIN_HELDOUT_FLAG_PRECISION = 0.65


def _build_gold():
    spec = importlib.util.spec_from_file_location("build_gold", DATA / "build_gold.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_gold_span_matches_its_text() -> None:
    with (DATA / "redaction_gold.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    for row in rows:
        for entity in row["entities"]:
            assert row["text"][entity["start"] : entity["end"]] == entity["text"], row["id"]
            assert entity["type"] in PLACEHOLDER_TYPES, row["id"]
        assert "{{" not in row["text"], row["id"]


def test_gold_files_are_built_from_their_sources() -> None:
    build = _build_gold()
    for name, records in (
        ("redaction_gold.jsonl", build.redaction_records()),
        ("safeguarding_gold.jsonl", build.safeguarding_records()),
    ):
        assert (DATA / name).read_text(encoding="utf-8") == build.as_jsonl(records), f"rerun build_gold.py: {name}"


def test_unmark_computes_offsets() -> None:
    text, entities = _build_gold().unmark("Hi {{PERSON|Jo}}, ring {{PHONE|07700 900123}}.")
    assert text == "Hi Jo, ring 07700 900123."
    assert [(e["type"], text[e["start"] : e["end"]]) for e in entities] == [("PERSON", "Jo"), ("PHONE", "07700 900123")]


def test_gold_sets_are_big_enough_and_varied(
    redaction_gold: list[RedactionRecord], safeguarding_gold: list[SafeguardingRecord]
) -> None:
    assert len(redaction_gold) >= 120
    assert len(safeguarding_gold) >= 80
    kinds = Counter(span.type for record in redaction_gold for span in record.entities)
    assert set(kinds) == set(PLACEHOLDER_TYPES)
    assert sum(not record.entities for record in redaction_gold) >= 40  # hard negatives
    labels = Counter(label for record in safeguarding_gold for label in record.categories)
    assert set(labels) == set(CATEGORIES)
    assert sum(not record.categories for record in safeguarding_gold) >= 40
    assert {record.split for record in redaction_gold} == {"dev", "heldout"}
    assert {record.split for record in safeguarding_gold} == {"dev", "heldout"}


def test_redaction_recall_and_precision(redactor: PresidioRedactor, redaction_gold: list[RedactionRecord]) -> None:
    scores = score_redaction(redactor, redaction_gold)
    assert scores["any_type"]["recall"] >= MIN_ANY_TYPE_RECALL, scores["missed"]
    assert scores["any_type"]["precision"] >= MIN_ANY_TYPE_PRECISION, scores["spurious"]
    for kind, minimum in MIN_RECALL.items():
        assert scores["per_type"][kind]["recall"] >= minimum, (kind, scores["missed"])
    heldout = score_redaction(redactor, [r for r in redaction_gold if r.split == "heldout"])
    assert heldout["any_type"]["recall"] >= MIN_HELDOUT_ANY_TYPE_RECALL, heldout["missed"]


def test_safeguarding_recall_and_precision(
    flagger: SafeguardingFlagger, safeguarding_gold: list[SafeguardingRecord]
) -> None:
    dev = score_safeguarding(flagger, [r for r in safeguarding_gold if r.split == "dev"])
    heldout = score_safeguarding(flagger, [r for r in safeguarding_gold if r.split == "heldout"])
    assert dev["recall"] >= MIN_DEV_FLAG_RECALL, dev["missed"]
    assert dev["precision"] >= MIN_DEV_FLAG_PRECISION, dev["false_flags"]
    assert heldout["recall"] >= MIN_HELDOUT_FLAG_RECALL, heldout["missed"]
    assert heldout["precision"] >= MIN_HELDOUT_FLAG_PRECISION, heldout["false_flags"]


def test_scores_on_a_tiny_hand_made_set(redactor: PresidioRedactor) -> None:
    from coproduce.privacy.evaluate import GoldSpan

    records = [
        RedactionRecord("a", "Ring 07700 900123 now.", [GoldSpan("PHONE", 5, 17)]),
        RedactionRecord("b", "No personal data.", []),
    ]
    scores = score_redaction(redactor, records)
    assert scores["per_type"]["PHONE"] == {
        "gold": 1,
        "found": 1,
        "predicted": 1,
        "correct": 1,
        "recall": 1.0,
        "precision": 1.0,
    }
    assert scores["any_type"]["recall"] == 1.0
    assert scores["missed"] == [] and scores["spurious"] == []


def test_evaluate_command_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["--redaction", str(DATA / "redaction_gold.jsonl"), "--safeguarding", str(DATA / "safeguarding_gold.jsonl")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "## Redaction: heldout" in out
    assert "| PERSON |" in out
    assert "## Safeguarding: heldout" in out

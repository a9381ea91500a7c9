"""Rebuild the gold JSONL files from their marked-up sources, so every offset is computed, never typed.

Run from the repository root:  .venv/bin/python tests/privacy/data/build_gold.py

redaction_gold.src:     voice|text with personal data marked {{TYPE|span}}
redaction_dev2.src:     the same, a first held-out set that was then used for tuning too
redaction_heldout.src:  the same, written after all tuning and never tuned on (split "heldout")
safeguarding_gold.src:  categories|voice|text, categories comma-separated or "-" for none
safeguarding_dev2.src, safeguarding_dev3.src: the same, earlier held-out sets that were then used for tuning too
safeguarding_heldout.src: the same, written after all tuning and never tuned on (split "heldout")

The .src files of split "dev" were used to tune the recognisers and the lexicon.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"\{\{([A-Z_]+)\|(.*?)\}\}")


def _source_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def unmark(marked: str) -> tuple[str, list[dict]]:
    """Strip {{TYPE|span}} marks, returning the plain text and the spans' exact offsets."""
    text_parts: list[str] = []
    entities: list[dict] = []
    position = 0
    cursor = 0
    for match in MARK.finditer(marked):
        before = marked[cursor : match.start()]
        text_parts.append(before)
        position += len(before)
        span = match.group(2)
        entities.append({"type": match.group(1), "start": position, "end": position + len(span), "text": span})
        text_parts.append(span)
        position += len(span)
        cursor = match.end()
    text_parts.append(marked[cursor:])
    return "".join(text_parts), entities


def redaction_records() -> list[dict]:
    """Every redaction source in one list; ``split`` says which records were used for tuning."""
    records = []
    for split, source, prefix in (
        ("dev", "redaction_gold.src", "r"),
        ("dev", "redaction_dev2.src", "d"),
        ("heldout", "redaction_heldout.src", "h"),
    ):
        for number, line in enumerate(_source_lines(HERE / source), start=1):
            voice, marked = line.split("|", 1)
            text, entities = unmark(marked)
            records.append(
                {"id": f"{prefix}{number:03d}", "split": split, "voice": voice, "text": text, "entities": entities}
            )
    return records


def safeguarding_records() -> list[dict]:
    records = []
    for split, source, prefix in (
        ("dev", "safeguarding_gold.src", "s"),
        ("dev", "safeguarding_dev2.src", "t"),
        ("dev", "safeguarding_dev3.src", "u"),
        ("heldout", "safeguarding_heldout.src", "h"),
    ):
        for number, line in enumerate(_source_lines(HERE / source), start=1):
            categories, voice, text = line.split("|", 2)
            labels = [] if categories == "-" else categories.split(",")
            records.append(
                {"id": f"{prefix}{number:03d}", "split": split, "voice": voice, "text": text, "categories": labels}
            )
    return records


def as_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


if __name__ == "__main__":
    for name, records in (
        ("redaction_gold.jsonl", redaction_records()),
        ("safeguarding_gold.jsonl", safeguarding_records()),
    ):
        (HERE / name).write_text(as_jsonl(records), encoding="utf-8")
        print(f"{name}: {len(records)} records")

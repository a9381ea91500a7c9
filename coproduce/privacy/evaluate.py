"""Measure the redactor and the safeguarding flagger against labelled (fictional) gold records.

Redaction is scored span by span. A gold span is *found* when a predicted span of the same type
overlaps at least half of it; it is *hidden* (any-type recall) when predicted spans of any type cover
at least half of it, because for privacy what matters is that the text was hidden, whatever its label.
A predicted span is *correct* when at least half of it lies on a gold span of the same type (any-type
precision: on any gold span).

Safeguarding is scored passage by passage: a passage with gold categories is caught when the flagger
raises any concern on it; per category, when it raises a concern of that category.

    python -m coproduce.privacy.evaluate [--redaction PATH] [--safeguarding PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from coproduce.privacy.base import PLACEHOLDER_TYPES, DetectedEntity, Redactor, SafeguardingDetector

OVERLAP = 0.5
DEFAULT_DATA = Path("tests/privacy/data")


@dataclass(frozen=True)
class GoldSpan:
    type: str
    start: int
    end: int


@dataclass
class RedactionRecord:
    id: str
    text: str
    entities: list[GoldSpan] = field(default_factory=list)
    split: str = "dev"


@dataclass
class SafeguardingRecord:
    id: str
    text: str
    categories: list[str] = field(default_factory=list)
    split: str = "dev"


def load_redaction_gold(path: Path) -> list[RedactionRecord]:
    return [
        RedactionRecord(
            id=row["id"],
            text=row["text"],
            entities=[GoldSpan(e["type"], e["start"], e["end"]) for e in row["entities"]],
            split=row.get("split", "dev"),
        )
        for row in _read_jsonl(path)
    ]


def load_safeguarding_gold(path: Path) -> list[SafeguardingRecord]:
    return [
        SafeguardingRecord(row["id"], row["text"], list(row["categories"]), row.get("split", "dev"))
        for row in _read_jsonl(path)
    ]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# --- redaction -------------------------------------------------------------------------------------


def score_redaction(redactor: Redactor, records: Sequence[RedactionRecord]) -> dict[str, Any]:
    """Per-type and overall span recall and precision, any-type recall and precision, and the misses."""
    texts = [record.text for record in records]
    redact_many = getattr(redactor, "redact_many", None)
    results = redact_many(texts) if redact_many else [redactor.redact(text) for text in texts]

    counts = {kind: {"gold": 0, "found": 0, "predicted": 0, "correct": 0} for kind in PLACEHOLDER_TYPES}
    hidden = any_correct = 0
    missed: list[dict[str, str]] = []
    spurious: list[dict[str, str]] = []
    for record, result in zip(records, results, strict=True):
        predicted = result.entities
        for gold in record.entities:
            tally = counts.setdefault(gold.type, {"gold": 0, "found": 0, "predicted": 0, "correct": 0})
            tally["gold"] += 1
            if any(p.type == gold.type and _overlap(p, gold) >= OVERLAP * _length(gold) for p in predicted):
                tally["found"] += 1
            if _covered(gold, predicted) >= OVERLAP * _length(gold):
                hidden += 1
            else:
                missed.append({"id": record.id, "type": gold.type, "text": record.text[gold.start : gold.end]})
        for pred in predicted:
            tally = counts.setdefault(pred.type, {"gold": 0, "found": 0, "predicted": 0, "correct": 0})
            tally["predicted"] += 1
            need = OVERLAP * _length(pred)
            if any(g.type == pred.type and _overlap(pred, g) >= need for g in record.entities):
                tally["correct"] += 1
            if sum(_overlap(pred, g) for g in record.entities) >= need:
                any_correct += 1
            else:
                spurious.append({"id": record.id, "type": pred.type, "text": record.text[pred.start : pred.end]})

    total = {key: sum(t[key] for t in counts.values()) for key in ("gold", "found", "predicted", "correct")}
    return {
        "records": len(records),
        "per_type": {kind: _with_rates(tally) for kind, tally in counts.items() if tally["gold"] or tally["predicted"]},
        "overall": _with_rates(total),
        "any_type": {
            "gold": total["gold"],
            "hidden": hidden,
            "recall": _ratio(hidden, total["gold"]),
            "predicted": total["predicted"],
            "correct": any_correct,
            "precision": _ratio(any_correct, total["predicted"]),
        },
        "missed": missed,
        "spurious": spurious,
    }


def _length(span: GoldSpan | DetectedEntity) -> int:
    return span.end - span.start


def _overlap(a: GoldSpan | DetectedEntity, b: GoldSpan | DetectedEntity) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _covered(gold: GoldSpan, predicted: Iterable[DetectedEntity]) -> int:
    """Characters of ``gold`` under any predicted span (predicted spans never overlap each other)."""
    return sum(_overlap(gold, p) for p in predicted)


def _with_rates(tally: dict[str, int]) -> dict[str, Any]:
    return {
        **tally,
        "recall": _ratio(tally["found"], tally["gold"]),
        "precision": _ratio(tally["correct"], tally["predicted"]),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- safeguarding ----------------------------------------------------------------------------------


def score_safeguarding(flagger: SafeguardingDetector, records: Sequence[SafeguardingRecord]) -> dict[str, Any]:
    """Passage-level recall and precision of any flag, per-category recall and precision, and the errors."""
    caught = flagged = positives = 0
    per_category: dict[str, dict[str, int]] = {}
    missed: list[dict[str, Any]] = []
    false_flags: list[dict[str, Any]] = []
    for record in records:
        raised = {concern.category for concern in flagger.detect(record.text)}
        gold = set(record.categories)
        positives += bool(gold)
        flagged += bool(raised)
        caught += bool(gold and raised)
        if gold and not raised:
            missed.append({"id": record.id, "categories": sorted(gold), "text": record.text})
        if raised and not gold:
            false_flags.append({"id": record.id, "categories": sorted(raised), "text": record.text})
        for category in gold | raised:
            tally = per_category.setdefault(category, {"gold": 0, "found": 0, "predicted": 0, "correct": 0})
            tally["gold"] += category in gold
            tally["predicted"] += category in raised
            tally["found"] += category in gold and category in raised
            tally["correct"] += category in gold and category in raised
    return {
        "records": len(records),
        "positives": positives,
        "negatives": len(records) - positives,
        "recall": _ratio(caught, positives),
        "precision": _ratio(caught, flagged),
        "per_category": {name: _with_rates(tally) for name, tally in sorted(per_category.items())},
        "missed": missed,
        "false_flags": false_flags,
    }


# --- command line ----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def format_redaction(scores: dict[str, Any], title: str) -> str:
    lines = [
        f"## Redaction: {title} ({scores['records']} records)",
        "",
        "| type | gold spans | recall | predicted | precision |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [(kind, t["gold"], t["recall"], t["predicted"], t["precision"]) for kind, t in scores["per_type"].items()]
    o, a = scores["overall"], scores["any_type"]
    rows.append(("**all (type must match)**", o["gold"], o["recall"], o["predicted"], o["precision"]))
    rows.append(("**all (any placeholder)**", a["gold"], a["recall"], a["predicted"], a["precision"]))
    lines += [
        f"| {name} | {gold} | {_percent(r)} | {predicted} | {_percent(p)} |" for name, gold, r, predicted, p in rows
    ]
    lines += [
        "",
        "Not hidden: " + (", ".join(f"{m['id']} {m['type']} {m['text']!r}" for m in scores["missed"]) or "none"),
    ]
    lines += [
        "Hidden but not personal data: "
        + (", ".join(f"{s['id']} {s['type']} {s['text']!r}" for s in scores["spurious"]) or "none")
    ]
    return "\n".join(lines)


def format_safeguarding(scores: dict[str, Any], title: str) -> str:
    lines = [
        f"## Safeguarding: {title} ({scores['records']} passages: {scores['positives']} disclosures, "
        f"{scores['negatives']} hard negatives)",
        "",
        f"Any flag: recall {_percent(scores['recall'])}, precision {_percent(scores['precision'])}",
        "",
        "| category | gold | recall | flagged | precision |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, t in scores["per_category"].items():
        lines.append(
            f"| {name} | {t['gold']} | {_percent(t['recall'])} | {t['predicted']} | {_percent(t['precision'])} |"
        )
    lines += ["", "Missed: " + (", ".join(f"{m['id']} {m['text']!r}" for m in scores["missed"]) or "none")]
    lines += [
        "False flags: "
        + (", ".join(f"{f['id']} {f['categories']} {f['text']!r}" for f in scores["false_flags"]) or "none")
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coproduce.privacy.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--redaction", type=Path, default=DEFAULT_DATA / "redaction_gold.jsonl")
    parser.add_argument("--safeguarding", type=Path, default=DEFAULT_DATA / "safeguarding_gold.jsonl")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument(
        "--no-similarity", action="store_true", help="score the safeguarding lexicon alone, without embeddings"
    )
    args = parser.parse_args(argv)

    # Imported here so that --help works without loading spaCy.
    from coproduce.privacy.redaction import PresidioRedactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    redactor = PresidioRedactor()
    records = load_redaction_gold(args.redaction)
    splits = sorted({record.split for record in records})
    redaction = {"all": score_redaction(redactor, records)}
    if len(splits) > 1:
        for split in splits:
            redaction[split] = score_redaction(redactor, [r for r in records if r.split == split])
    flagger = SafeguardingFlagger(similarity=not args.no_similarity)
    passages = load_safeguarding_gold(args.safeguarding)
    safeguarding = {"all": score_safeguarding(flagger, passages)}
    if len({p.split for p in passages}) > 1:
        for split in sorted({p.split for p in passages}):
            safeguarding[split] = score_safeguarding(flagger, [p for p in passages if p.split == split])

    if args.json:
        json.dump(
            {"date": date.today().isoformat(), "redaction": redaction, "safeguarding": safeguarding},
            sys.stdout,
            indent=2,
        )
        print()
        return 0
    print(f"Measured {date.today().isoformat()}\n")
    for title, scores in redaction.items():
        print(format_redaction(scores, title), end="\n\n")
    for title, scores in safeguarding.items():
        print(format_safeguarding(scores, title), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Decision rules shared by the coders: from per-code confidences to the codes a segment gets.

Every coder reports a confidence in [0, 1] per segment and code, scaled so that 0.5 is that code's decision
boundary (a supervised code's tuned threshold, a zero-shot code's similarity floor). That common scale lets a hybrid
coder mix sources per code and apply one rule: a code is assigned at 0.5 or above, at most ``max_codes`` per segment,
and optionally the best code is assigned anyway when nothing reaches 0.5 but it comes close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import CodeSuggestion, LabelledExample, SegmentText

BOUNDARY = 0.5


@dataclass(frozen=True)
class DecisionRule:
    max_codes: int = 3
    # When no code reaches the boundary, the best one is still assigned if its confidence is at least this
    # (None: never). Coding frames where nearly every segment carries a code benefit; open feedback may not.
    force_best_above: float | None = None


def select_codes(confidence: np.ndarray, rule: DecisionRule) -> np.ndarray:
    """Boolean segments x codes: at or above the boundary, the ``max_codes`` most confident, plus the forced best."""
    if confidence.size == 0:
        return np.zeros(confidence.shape, dtype=bool)
    chosen = confidence >= BOUNDARY
    rank = np.argsort(np.argsort(-confidence, axis=1, kind="stable"), axis=1, kind="stable")
    chosen &= rank < rule.max_codes
    if rule.force_best_above is not None:
        rows = np.flatnonzero(~chosen.any(axis=1))
        best = confidence[rows].argmax(axis=1)
        keep = confidence[rows, best] >= rule.force_best_above
        chosen[rows[keep], best[keep]] = True
    return chosen


def suggestions(
    segments: Sequence[SegmentText], framework: FrameworkSpec, confidence: np.ndarray, chosen: np.ndarray
) -> list[CodeSuggestion]:
    """One suggestion per chosen (segment, code), most confident first within a segment."""
    ids = [c.id for c in framework.codes]
    out = []
    for row, segment in enumerate(segments):
        columns = np.flatnonzero(chosen[row])
        for col in columns[np.argsort(-confidence[row, columns], kind="stable")]:
            out.append(CodeSuggestion(segment.key, ids[col], round(float(confidence[row, col]), 4)))
    return out


def around_boundary(values: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """Map probabilities to [0, 1] piecewise-linearly so that ``threshold`` lands on the boundary, 0.5."""
    values = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
    t = np.clip(np.broadcast_to(np.asarray(threshold, dtype=float), values.shape), 1e-6, 1 - 1e-6)
    return np.where(values < t, BOUNDARY * values / t, BOUNDARY + BOUNDARY * (values - t) / (1 - t))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


@dataclass
class DecisionTable:
    """Human decisions as counts per distinct text and code.

    Each decision is one segment's verdict on one code. A segment with any decision counts as reviewed, so the codes
    not accepted for it are negatives: a panel that accepts two codes for a segment is saying the others do not
    apply. The same text in many segments ("Nothing.") is one row that keeps its counts: ``accepted[t, c]`` segments
    accepted code c, out of ``reviews[t]`` segments (the most decisions made on any one code of that text). Common
    answers therefore keep their weight, and a text coded differently in different places keeps each code in
    proportion instead of collecting all of them.

    When decisions name the question their text answers, a row is a (question, text) pair: "Nothing." under two
    questions is two rows, each with its own codes. ``questions`` is None when no decision names one.
    """

    texts: list[str]
    accepted: np.ndarray  # float, texts x codes
    reviews: np.ndarray  # float, texts
    unknown_codes: set[str]
    questions: list[str | None] | None = None

    @classmethod
    def from_examples(cls, examples: Sequence[LabelledExample], framework: FrameworkSpec) -> DecisionTable:
        index = {c.id: i for i, c in enumerate(framework.codes)}
        rows: dict[tuple[str | None, str], int] = {}
        unknown: set[str] = set()
        cells: list[tuple[int, int, bool]] = []
        for example in examples:
            row = rows.setdefault((example.question, example.text), len(rows))
            if example.code not in index:
                unknown.add(example.code)
                continue
            cells.append((row, index[example.code], example.accepted))
        accepted = np.zeros((len(rows), len(index)), dtype=float)
        decided = np.zeros_like(accepted)
        for row, col, verdict in cells:
            decided[row, col] += 1
            accepted[row, col] += verdict
        reviews = np.maximum(decided.max(axis=1, initial=0.0), 1.0)
        questions = [q for q, _ in rows] if any(q is not None for q, _ in rows) else None
        return cls([t for _, t in rows], accepted, reviews, unknown, questions)

    @classmethod
    def from_labels(
        cls, texts: Sequence[str], labels: np.ndarray, questions: Sequence[str | None] | None = None
    ) -> DecisionTable:
        """One reviewed segment per text, with its accepted codes as a boolean row."""
        accepted = np.asarray(labels, dtype=float).reshape(len(texts), -1)
        return cls(list(texts), accepted, np.ones(len(texts)), set(), list(questions) if questions else None)

    def expanded(self) -> tuple[np.ndarray, np.ndarray]:
        """One row per reviewed segment: (index of its text, boolean codes).

        Which codes went together in the same segment is not recorded for repeated texts; the rows are rebuilt
        nested (the i-th review of a text carries every code accepted more than i times), which is exact for
        texts seen once and keeps each code's count for the rest.
        """
        counts = self.reviews.astype(int)
        rows = np.repeat(np.arange(len(self.texts)), counts)
        nth = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        return rows, self.accepted[rows] > nth[:, None]

"""Zero-shot coding: compare each segment with a few "prototype" texts per code, no human labels needed.

A code's prototypes are its label, its description, and "label: description"; its definition score is the mean
cosine similarity to them (the mean beat the max on both the SEND seed gold and themefinder's gambling set, because
a short label alone matches too loosely). Codes with worked examples add the best-matching example.

Raw similarities are not comparable between codes: a broadly worded code is close to everything. So each code's
scores are centred on its mean over the segments coded together (shrunk towards the overall mean for small batches),
and a code is assigned when its centred score clears an absolute floor AND lies within a margin of the segment's best
code, at most ``max_codes`` per segment. Defaults were measured on the SEND seed gold and the gambling set together
(see docs/evaluation.md); because of the centring, a segment's codes depend a little on the batch it is coded in.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence

import numpy as np

from coproduce.frameworks.model import CodeSpec, FrameworkSpec
from coproduce.pipeline.base import CodeSuggestion, Embedder, LabelledExample, SegmentText, StageResult, Unprocessed
from coproduce.pipeline.coding_rules import DecisionRule, select_codes, sigmoid, suggestions

# A catch-all code ("None of the above ... only use this if no other theme applies") competes only when no other
# code was chosen, as the codebook itself instructs.
CATCH_ALL = re.compile(r"\bonly (?:use|apply|assign)\b[^.]*\bif no other\b", re.IGNORECASE)


def prototype_texts(code: CodeSpec) -> list[str]:
    """The texts that stand for a code's definition: label, description and both together."""
    texts = [code.label, code.description]
    if code.label and code.description:
        texts.append(f"{code.label}: {code.description}")
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))


def is_catch_all(code: CodeSpec) -> bool:
    return bool(CATCH_ALL.search(code.description))


class ZeroShotCoder:
    """Codes segments by similarity to each code's label, description and examples.

    ``floor`` and ``margin`` are in units of centred cosine similarity; ``temperature`` only shapes the reported
    confidence (a monotone transform with 0.5 at the decision boundary, not a calibrated probability).
    """

    name = "zero-shot"

    def __init__(
        self,
        embed: Embedder | None = None,
        floor: float = 0.06,
        margin: float = 0.08,
        max_codes: int = 3,
        force_floor: float | None = 0.0,
        batch_prior: float = 20.0,
        temperature: float = 0.05,
    ):
        self.embed = embed
        self.floor = floor
        self.margin = margin
        self.max_codes = max_codes
        self.force_floor = force_floor
        self.batch_prior = batch_prior
        self.temperature = temperature
        self._prototypes: dict[tuple, list[np.ndarray]] = {}
        self.code_floors: dict[str, float] = {}  # raised floors for codes a panel has seen rarely (calibrate())
        self._fixed_centre: np.ndarray | None = None  # set only on copies made by for_partitions()

    def fit(self, framework: FrameworkSpec, examples: Sequence[LabelledExample], embed: Embedder) -> None:
        """Nothing to learn; keeps the embedder for the prototypes and embeds them once."""
        self.embed = embed
        self._code_vectors(framework)

    # --- scores -------------------------------------------------------------------------------------------------

    def _code_vectors(self, framework: FrameworkSpec) -> list[np.ndarray]:
        key = tuple((c.id, c.label, c.description, c.examples) for c in framework.codes)
        if key not in self._prototypes:
            if self.embed is None:
                raise RuntimeError("ZeroShotCoder needs an embedder: call fit() first or pass embed=")
            definitions = [prototype_texts(c) or [c.id] for c in framework.codes]
            examples = [[e for e in c.examples if e.strip()] for c in framework.codes]
            flat = [t for group in definitions + examples for t in group]
            vectors = self.embed.embed(flat) if flat else np.zeros((0, 0), dtype=np.float32)
            out, at = [], 0
            for group in definitions + examples:
                out.append(vectors[at : at + len(group)])
                at += len(group)
            self._prototypes[key] = out
        return self._prototypes[key]

    def similarities(self, vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Raw definition (and example) similarity, segments x codes."""
        parts = self._code_vectors(framework)
        n_codes = len(framework.codes)
        out = np.zeros((len(vectors), n_codes), dtype=float)
        for j in range(n_codes):
            definition = (vectors @ parts[j].T).mean(axis=1)
            examples = parts[n_codes + j]
            out[:, j] = definition if not len(examples) else 0.5 * definition + 0.5 * (vectors @ examples.T).max(axis=1)
        return out

    def centred(self, vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Similarities minus each code's (shrunk) mean over this batch of segments."""
        raw = self.similarities(vectors, framework)
        if not len(raw):
            return raw
        return raw - (self._fixed_centre if self._fixed_centre is not None else self._centre(raw))

    def _centre(self, raw: np.ndarray) -> np.ndarray:
        n = len(raw)
        return (n * raw.mean(axis=0) + self.batch_prior * raw.mean()) / (n + self.batch_prior)

    def for_partitions(self, vectors: np.ndarray, framework: FrameworkSpec) -> ZeroShotCoder:
        """A copy that codes any slice of ``vectors`` as this coder codes all of them together.

        Scores are centred on the batch coded together; coding in partitions (``pipeline.distributed``) would
        otherwise centre each partition on itself. The copy keeps the centre of the whole batch instead.
        """
        fixed = copy.copy(self)
        raw = self.similarities(vectors, framework)
        fixed._fixed_centre = self._centre(raw) if len(raw) else None
        return fixed

    def confidence(self, vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Segments x codes in [0, 1]; at least 0.5 exactly when a code clears both the floor and the margin."""
        scores = self.centred(vectors, framework)
        if not scores.size:
            return scores
        catch_all = np.array([is_catch_all(c) for c in framework.codes])
        ordinary = np.where(catch_all, -np.inf, scores)
        best = ordinary.max(axis=1, keepdims=True) if (~catch_all).any() else scores.max(axis=1, keepdims=True)
        floors = np.array([self.code_floors.get(c.id, self.floor) for c in framework.codes])
        above_floor = sigmoid((scores - floors) / self.temperature)
        near_best = sigmoid((scores - (best - self.margin)) / self.temperature)
        # Within the margin the confidence is the floor's alone; outside it, below the boundary in proportion.
        confidence = np.where(scores >= best - self.margin, above_floor, np.minimum(above_floor, near_best))
        if catch_all.any():
            # A catch-all code stays below the boundary wherever an ordinary code is chosen.
            taken = (np.where(catch_all, 0.0, confidence) >= 0.5).any(axis=1, keepdims=True)
            confidence = np.where(catch_all & taken, np.minimum(confidence, 0.49), confidence)
        return confidence

    def calibrate(self, vectors: np.ndarray, labels: np.ndarray, framework: FrameworkSpec, codes: np.ndarray) -> None:
        """Raise the floor of each code in ``codes`` so it is not suggested far more often than a panel accepted it.

        ``labels`` are the panel's decisions on the segments whose ``vectors`` are given. A code accepted for 2 of
        4,000 reviewed segments should not be suggested for hundreds, however close its label sounds: its floor
        becomes the similarity that only a (Laplace-smoothed) accepted share of those segments reaches.
        """
        self.code_floors = {}
        if not len(vectors):
            return
        scores = self.centred(vectors, framework)
        n = len(vectors)
        for j in np.flatnonzero(codes):
            share = (labels[:, j].sum() + 1) / (n + 2)
            floor = float(np.quantile(scores[:, j], 1 - share))
            if floor > self.floor:
                self.code_floors[framework.codes[j].id] = floor

    @property
    def rule(self) -> DecisionRule:
        forced = (
            None if self.force_floor is None else float(sigmoid((self.force_floor - self.floor) / self.temperature))
        )
        return DecisionRule(max_codes=self.max_codes, force_best_above=forced)

    def code(
        self,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> StageResult[CodeSuggestion]:
        """Suggest codes; the questions are not used (definitions do not depend on them)."""
        return code_with(
            segments, vectors, framework, self.confidence(vectors, framework) if len(segments) else None, self.rule
        )


def code_with(
    segments: Sequence[SegmentText],
    vectors: np.ndarray,
    framework: FrameworkSpec,
    confidence: np.ndarray | None,
    rule: DecisionRule,
) -> StageResult[CodeSuggestion]:
    """Apply ``rule`` to ``confidence``, reporting segments that could not be coded instead of dropping them."""
    if len(segments) != len(vectors):
        raise ValueError(f"{len(segments)} segments but {len(vectors)} vectors")
    if not framework.codes:
        return StageResult([], [Unprocessed(f"segment {s.key}", "the framework has no codes") for s in segments])
    if confidence is None or not len(segments):
        return StageResult([])
    empty = [i for i, s in enumerate(segments) if not s.text.strip()]
    confidence = confidence.copy()
    confidence[empty] = 0.0
    chosen = select_codes(confidence, rule)
    unprocessed = [Unprocessed(f"segment {segments[i].key}", "empty text") for i in empty]
    return StageResult(suggestions(segments, framework, confidence, chosen), unprocessed)

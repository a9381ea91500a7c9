"""One stance per segment (SEND: recommend, concern, experience, support, oppose), explainable first.

Zero-shot, a segment's stance comes from two things a reviewer can check: its similarity to each stance's label and
description, and plain-language cues ("should", "must", "needs to" for a recommendation; "we agree", "welcome" for
support; "disagree", "bad idea" for opposition; "my son", "we waited" for lived experience; "lack of", "failing" for
concern). Cues are keyed by stance id and only used when the framework has that stance.

Once a panel has set stances by hand, ``fit(texts, stances)`` trains a logistic regression on the same signals (the
embedding and the cue counts); its probabilities are blended with the zero-shot ones, trusting the model more as
the labelled set grows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from sklearn.linear_model import LogisticRegression

from coproduce.frameworks.model import FrameworkSpec, StanceSpec
from coproduce.pipeline.base import Embedder, SegmentText, StageResult, StanceSuggestion, Unprocessed

_I = re.IGNORECASE
CUES: dict[str, tuple[re.Pattern[str], ...]] = {
    "recommend": (
        re.compile(r"\b(should|must|ought to|needs? to|have to|has to|need to be|needs to be)\b", _I),
        re.compile(r"\b(we|i) (would )?(recommend|suggest|urge|propose|ask|call for|want|would like)\b", _I),
        re.compile(r"\b(it is|it's|this is) (essential|vital|crucial|important|imperative)\b", _I),
        re.compile(r"\bthere (should|must|needs to) be\b|\bwould (be better|help|benefit)\b", _I),
    ),
    "support": (
        re.compile(r"\b(we|i) (strongly |fully |broadly |would )?(agree|welcome|support|endorse)\b", _I),
        re.compile(r"\b(welcome[sd]?|agree with|in favou?r of)\b", _I),
        re.compile(
            r"\b(is|are|would be) (a )?(good|great|positive|sensible|welcome) (idea|step|move|proposal|change)\b", _I
        ),
        re.compile(r"^\W*(yes|agree|absolutely|definitely)\b", _I),
    ),
    "oppose": (
        re.compile(r"\b(we|i) (strongly |do not |don't )?(disagree|oppose|object to|reject)\b", _I),
        re.compile(r"\b(bad|terrible|poor) idea\b|\bwould be (excessive|a mistake|wrong|unfair|unworkable)\b", _I),
        re.compile(r"\b(do not|don't|cannot|can't) (agree|support|see how)\b|\bhow is .* going to help\b", _I),
        re.compile(r"^\W*(no|disagree|not at all)\b|\boverreach\b|\bnanny state\b", _I),
    ),
    "experience": (
        re.compile(
            r"\b(my|our) (son|daughter|child|children|kids?|family|grandson|granddaughter|brother|sister)\b", _I
        ),
        re.compile(
            r"\b(i|we|he|she|they) (was|were|had|went|waited|tried|found|felt|got|received|lost|moved|started)\b", _I
        ),
        re.compile(r"\b(last year|years ago|at the time|when (i|we|my|our) )\b", _I),
    ),
    "concern": (
        re.compile(
            r"\b(problem|issue|concern(s|ed)?|worr(y|ied|ies|ying)|risk|fail(s|ed|ing|ure)?|lack(s|ing)?|"
            r"insufficient|inadequate|struggl(e|es|ing)|delay(s|ed)?|unable|poor|harm(s|ful)?|damag(e|ing))\b",
            _I,
        ),
        re.compile(r"\b(not enough|too (long|few|little|many|often)|no one|nobody|no point)\b", _I),
        re.compile(r"\b(do|does|did|is|are|was|were|can|could|will)(n't| not)\b", _I),
    ),
}


CUE_STANCES = tuple(CUES)


@lru_cache(maxsize=65_536)
def _cue_hits(text: str) -> tuple[int, ...]:
    """For each stance of ``CUE_STANCES``, how many of its cue patterns ``text`` matches.

    Kept per text: a re-run after review classifies the same segments again, and the regular expressions
    were a fifth of its time (0.2 s of 1 s for 4,000 segments).
    """
    return tuple(sum(1 for pattern in CUES[stance] if pattern.search(text)) for stance in CUE_STANCES)


def cue_counts(texts: Sequence[str], stance_ids: Sequence[str]) -> np.ndarray:
    """Texts x stances: how many of each stance's cue patterns the text matches (0 for stances without cues)."""
    hits = np.array([_cue_hits(t) for t in texts], dtype=float).reshape(len(texts), len(CUE_STANCES))
    out = np.zeros((len(texts), len(stance_ids)), dtype=float)
    for j, stance in enumerate(stance_ids):
        if stance in CUES:
            out[:, j] = hits[:, CUE_STANCES.index(stance)]
    return out


def stance_prototypes(stance: StanceSpec) -> list[str]:
    texts = [stance.label, stance.description]
    if stance.label and stance.description:
        texts.append(f"{stance.label}: {stance.description}")
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip())) or [stance.id]


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class StanceClassifierModel:
    """Zero-shot stance by prototype similarity and cues; supervised once labelled stances are given to ``fit``.

    ``similarity_weight`` and ``cue_weight`` scale the two zero-shot signals before a softmax. Measured on the SEND
    seed gold and themefinder's gambling positions (docs/evaluation.md), MiniLM's similarity to a stance description
    says more about topic than stance and lowered accuracy at every weight tried, so it is off by default (0.0);
    where no cue fires, the framework's first stance is given, with low confidence. ``embed`` is needed only for
    ``fit`` and for stance prototypes; without one, the project's default sentence embedder is loaded when needed.
    """

    name = "stance"

    def __init__(
        self,
        embed: Embedder | None = None,
        seed: int = 0,
        similarity_weight: float = 0.0,
        cue_weight: float = 1.0,
        min_examples: int = 10,
        blend_examples: float = 40.0,
    ):
        self.embed = embed
        self.seed = seed
        self.similarity_weight = similarity_weight
        self.cue_weight = cue_weight
        self.min_examples = min_examples
        self.blend_examples = blend_examples
        self.trained_on = 0
        self._model: LogisticRegression | None = None
        self._prototypes: dict[tuple, list[np.ndarray]] = {}

    def _embedder(self) -> Embedder:
        if self.embed is None:
            from coproduce.pipeline.embed import SentenceEmbedder

            self.embed = SentenceEmbedder()
        return self.embed

    # --- zero-shot ----------------------------------------------------------------------------------------------

    def zero_shot_scores(self, texts: Sequence[str], vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Texts x stances: weighted prototype similarity (centred per segment) plus weighted cue counts."""
        stances = framework.stances
        scores = self.cue_weight * cue_counts(texts, [s.id for s in stances])
        if self.similarity_weight:
            key = tuple((s.id, s.label, s.description) for s in stances)
            if key not in self._prototypes:
                self._prototypes[key] = [self._embedder().embed(stance_prototypes(s)) for s in stances]
            similarity = np.column_stack([(vectors @ p.T).mean(axis=1) for p in self._prototypes[key]])
            scores += self.similarity_weight * (similarity - similarity.mean(axis=1, keepdims=True))
        # Ties (no cue at all, most often) go to the framework's first stance.
        return scores - 1e-6 * np.arange(len(stances))[None, :]

    # --- supervised ---------------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], stances: Sequence[str]) -> None:
        """Learn from stances a person set; too few (or a single stance) leaves the zero-shot classifier in charge."""
        if len(texts) != len(stances):
            raise ValueError(f"{len(texts)} texts but {len(stances)} stances")
        self._model = None
        self.trained_on = len(texts)
        if len(texts) < self.min_examples or len(set(stances)) < 2:
            return
        vectors = self._embedder().embed(list(texts))
        self._model = LogisticRegression(C=1.0, max_iter=2000, random_state=self.seed)
        self._model.fit(self._features(texts, vectors), list(stances))

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return np.hstack([vectors, cue_counts(texts, list(CUES))])

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Texts x framework stances, rows summing to 1."""
        zero_shot = _softmax(self.zero_shot_scores(texts, vectors, framework))
        if self._model is None:
            return zero_shot
        ids = [s.id for s in framework.stances]
        learned = np.zeros_like(zero_shot)
        predicted = self._model.predict_proba(self._features(texts, vectors))
        for k, stance in enumerate(self._model.classes_):
            if stance in ids:
                learned[:, ids.index(stance)] = predicted[:, k]
        learned /= np.maximum(learned.sum(axis=1, keepdims=True), 1e-12)
        trust = self.trained_on / (self.trained_on + self.blend_examples)
        return trust * learned + (1 - trust) * zero_shot

    def classify(
        self, segments: Sequence[SegmentText], vectors: np.ndarray, framework: FrameworkSpec
    ) -> StageResult[StanceSuggestion]:
        if len(segments) != len(vectors):
            raise ValueError(f"{len(segments)} segments but {len(vectors)} vectors")
        if not framework.stances:
            return StageResult([], [Unprocessed(f"segment {s.key}", "the framework has no stances") for s in segments])
        if not segments:
            return StageResult([])
        texts = [s.text for s in segments]
        probability = self.probabilities(texts, vectors, framework)
        best = probability.argmax(axis=1)
        items, unprocessed = [], []
        for row, segment in enumerate(segments):
            if not segment.text.strip():
                unprocessed.append(Unprocessed(f"segment {segment.key}", "empty text"))
                continue
            stance = framework.stances[best[row]].id
            items.append(StanceSuggestion(segment.key, stance, round(float(probability[row, best[row]]), 4)))
        return StageResult(items, unprocessed)

    def predict(self, texts: Sequence[str], vectors: np.ndarray, framework: FrameworkSpec) -> list[str]:
        """The most likely stance id per text (for evaluation)."""
        if not framework.stances:
            return []
        probability = self.probabilities(texts, vectors, framework)
        return [framework.stances[i].id for i in probability.argmax(axis=1)]

"""Supervised coding from a panel's decisions: one linear model per code over text and embedding features.

Features are word 1-2 gram and character 2-5 gram TF-IDF beside the MiniLM vector. A linear SVM per code (one
versus rest) measured best on the NHS FFT data, ahead of logistic regression on the same features and of separate
embedding and TF-IDF models averaged, and it trains in seconds on two cores (docs/evaluation.md has the figures).

Decision values become probabilities (Platt scaling) and then decisions at a threshold; both are fitted on
out-of-fold predictions from an inner cross-validation over the training decisions only, so nothing is tuned on the
segments being coded. The threshold is the one best for micro F1 over all codes; a code's own best threshold is
mixed in only as it gathers hundreds of positives (``shrink_positives``), because per-code thresholds chosen on few
positives measured worse. Codes with fewer than ``min_positives`` accepted segments have no model: the zero-shot
coder scores them. Below ``min_reviewed`` reviewed segments nothing is learnt at all: with 20 labelled responses per
question on the gambling set, models trained on so few lowered F1 well below zero-shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import CodeSuggestion, Embedder, LabelledExample, SegmentText, StageResult
from coproduce.pipeline.coding_rules import DecisionRule, DecisionTable, around_boundary, select_codes
from coproduce.pipeline.coding_zero_shot import ZeroShotCoder, code_with

THRESHOLD_GRID = np.round(np.arange(0.05, 0.91, 0.025), 3)
FORCE_GRID = (None, 0.1, 0.2, 0.3, 0.4)


@dataclass
class CodeModel:
    """One code's classifier: weights over the feature columns, Platt scaling and the decision threshold."""

    positives: int
    weights: np.ndarray
    bias: float
    slope: float
    intercept: float
    threshold: float


class Features:
    """Word and character TF-IDF (fitted on the training texts) beside the weighted embedding vector."""

    def __init__(self, embedding_weight: float = 1.0, char_ngrams: bool = True):
        self.embedding_weight = embedding_weight
        self.words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
        self.chars = (
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                min_df=3,
                sublinear_tf=True,
                max_features=30000,
                dtype=np.float32,
            )
            if char_ngrams
            else None
        )

    def fit(self, texts: Sequence[str]) -> Features:
        # With very few texts min_df would leave no vocabulary at all; fall back to every term.
        for vectorizer in (self.words, self.chars):
            if vectorizer is not None:
                if len(texts) < 20:
                    vectorizer.set_params(min_df=1)
                vectorizer.fit(texts)
        return self

    def transform(self, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        blocks = [self.words.transform(texts)]
        if self.chars is not None:
            blocks.append(self.chars.transform(texts))
        blocks.append(sparse.csr_matrix(np.asarray(vectors, dtype=np.float32) * self.embedding_weight))
        return sparse.hstack(blocks, format="csr")


def _svm(x: sparse.csr_matrix, y: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, float]:
    """Weights and bias of one code's linear SVM."""
    model = LinearSVC(C=c, random_state=seed, max_iter=5000).fit(x, y)
    return model.coef_.ravel().astype(np.float64), float(model.intercept_[0])


def _platt(decision: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept turning a code's SVM decision values into probabilities (Platt scaling)."""
    if y.all() or not y.any():
        return 1.0, 0.0
    model = LogisticRegression(C=100.0).fit(decision.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _f1(chosen: np.ndarray, y: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Micro F1 of boolean ``chosen`` (rows x codes [x thresholds]) against ``y`` (rows x codes), over ``axes``."""
    y = y.reshape(y.shape + (1,) * (chosen.ndim - 2))
    return 2 * (chosen & y).sum(axes) / np.maximum(chosen.sum(axes) + y.sum(axes), 1)


class SupervisedCoder:
    """Learns each code with enough accepted segments from the panel's decisions; zero-shot covers the rest.

    Deterministic: the inner folds and the SVM use ``random_state``.
    """

    name = "supervised"

    def __init__(
        self,
        embed: Embedder | None = None,
        zero_shot: ZeroShotCoder | None = None,
        min_positives: int = 5,
        min_reviewed: int = 50,
        c: float = 0.3,
        embedding_weight: float = 1.0,
        char_ngrams: bool = True,
        inner_folds: int = 3,
        shrink_positives: float = 1000.0,
        max_codes: int | None = None,
        random_state: int = 0,
    ):
        self.zero_shot = zero_shot or ZeroShotCoder(embed)
        self.min_positives = min_positives
        self.min_reviewed = min_reviewed
        self.c = c
        self.embedding_weight = embedding_weight
        self.char_ngrams = char_ngrams
        self.inner_folds = inner_folds
        self.shrink_positives = shrink_positives
        self.max_codes = max_codes
        self.random_state = random_state
        self.features: Features | None = None
        self.models: dict[str, CodeModel] = {}
        self.rule = self.zero_shot.rule
        self.trained_on = 0
        if embed is not None:
            self.zero_shot.embed = embed

    # --- training -----------------------------------------------------------------------------------------------

    def fit(self, framework: FrameworkSpec, examples: Sequence[LabelledExample], embed: Embedder) -> None:
        """Learn from human decisions (accepted or rejected text x code); see DecisionTable for how they are read."""
        self.zero_shot.fit(framework, [], embed)
        table = DecisionTable.from_examples(examples, framework)
        vectors = embed.embed(table.texts) if table.texts else np.zeros((0, 0), dtype=np.float32)
        self.fit_table(framework, table, vectors)

    def fit_table(self, framework: FrameworkSpec, table: DecisionTable, vectors: np.ndarray) -> None:
        """Learn from a table of decisions whose texts have the embedding ``vectors``."""
        self.models = {}
        self.features = None
        self.zero_shot.code_floors = {}
        self.rule = self.zero_shot.rule
        rows, labels = table.expanded()
        self.trained_on = len(rows)
        if len(rows) < self.min_reviewed:
            return  # too few decisions to learn from: zero-shot throughout (see min_reviewed)
        positives = labels.sum(axis=0)
        trainable = (positives >= self.min_positives) & (positives < len(rows))
        # Codes without a model are scored zero-shot, but no more often than the panel has accepted them.
        self.zero_shot.calibrate(vectors[rows] if len(rows) else vectors, labels, framework, ~trainable)
        columns = np.flatnonzero(trainable)
        if not len(columns):
            return
        self.features = Features(self.embedding_weight, self.char_ngrams).fit(table.texts)
        x = self.features.transform(table.texts, vectors)[rows]
        y = labels[:, columns]
        decision = self._out_of_fold(x, y)
        platt = [_platt(decision[:, k], y[:, k]) for k in range(len(columns))]
        probability = np.column_stack([_logistic(decision[:, k], *platt[k]) for k in range(len(columns))])
        thresholds = self._thresholds(probability, y)
        for k, j in enumerate(columns):
            coef, bias = _svm(x, y[:, k], self.c, self.random_state)
            self.models[framework.codes[j].id] = CodeModel(int(positives[j]), coef, bias, *platt[k], thresholds[k])
        self.rule = DecisionRule(
            max_codes=self.max_codes or _usual_most_codes(labels),
            force_best_above=_best_force(around_boundary(probability, thresholds[None, :]), y),
        )

    def _out_of_fold(self, x: sparse.csr_matrix, labels: np.ndarray) -> np.ndarray:
        """Decision values for every training segment from models that did not see it (inner cross-validation).

        Folds split segments, not distinct texts: a common answer then appears on both sides, as it will when the
        panel's reviewed segments are coded again beside new ones.
        """
        folds = KFold(n_splits=max(2, min(self.inner_folds, len(labels))), shuffle=True, random_state=self.random_state)
        out = np.zeros(labels.shape, dtype=float)
        for train, test in folds.split(labels):
            for k in range(labels.shape[1]):
                y = labels[train, k]
                if y.all() or not y.any():
                    out[test, k] = 1.0 if y.all() else -1.0
                    continue
                coef, bias = _svm(x[train], y, self.c, self.random_state)
                out[test, k] = x[test] @ coef + bias
        return out

    def _thresholds(self, probability: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each code's best F1 threshold, shrunk towards the best micro-F1 threshold over all codes by few positives."""
        chosen = probability[:, :, None] >= THRESHOLD_GRID[None, None, :]
        pooled = THRESHOLD_GRID[int(np.argmax(_f1(chosen, labels, (0, 1))))]
        own = THRESHOLD_GRID[np.argmax(_f1(chosen, labels, (0,)), axis=1)]
        positives = labels.sum(axis=0)
        trust = positives / (positives + self.shrink_positives)
        return trust * own + (1 - trust) * pooled

    # --- coding -------------------------------------------------------------------------------------------------

    def supervised_confidence(self, texts: Sequence[str], vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        """Segments x codes on the common scale (0.5 = the code's threshold); NaN where a code has no model."""
        out = np.full((len(texts), len(framework.codes)), np.nan)
        if self.features is None or not self.models or not len(texts):
            return out
        x = self.features.transform(texts, vectors)
        for j, code in enumerate(framework.codes):
            model = self.models.get(code.id)
            if model is not None:
                p = _logistic(x @ model.weights + model.bias, model.slope, model.intercept)
                out[:, j] = around_boundary(p, model.threshold)
        return out

    def confidence(self, texts: Sequence[str], vectors: np.ndarray, framework: FrameworkSpec) -> np.ndarray:
        supervised = self.supervised_confidence(texts, vectors, framework)
        missing = np.isnan(supervised).any(axis=0)
        if not missing.any():
            return supervised
        zero_shot = self.zero_shot.confidence(vectors, framework)
        return np.where(np.isnan(supervised), zero_shot, supervised)

    def code(
        self, segments: Sequence[SegmentText], vectors: np.ndarray, framework: FrameworkSpec
    ) -> StageResult[CodeSuggestion]:
        texts = [s.text for s in segments]
        confidence = self.confidence(texts, vectors, framework) if len(segments) else None
        return code_with(segments, vectors, framework, confidence, self.rule)


def _logistic(decision: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(slope * np.asarray(decision) + intercept, -30, 30)))


def _usual_most_codes(labels: np.ndarray) -> int:
    """The most codes a segment usually carries (99th percentile of the training decisions), at least 1."""
    counts = labels.sum(axis=1)
    return max(1, int(np.ceil(np.percentile(counts, 99)))) if len(counts) else 3


def _best_force(confidence: np.ndarray, labels: np.ndarray) -> float | None:
    """Whether (and from what confidence) to give a segment its best code when none clears its threshold."""
    best, best_f1 = None, -1.0
    for force in FORCE_GRID:
        chosen = select_codes(confidence, DecisionRule(max_codes=confidence.shape[1], force_best_above=force))
        f1 = float(_f1(chosen, labels, (0, 1)))
        if f1 > best_f1 + 1e-9:
            best, best_f1 = force, f1
    return best

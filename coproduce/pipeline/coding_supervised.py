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

Questions: a decision (``LabelledExample.question``) and a segment being coded (``code(..., questions=...)``) may say
which question the text answers. Decisions are then counted per (question, text), and when they span at least two
questions the coder also tries question columns (an indicator per question and question-tagged words, see
:class:`Features`) and keeps them only if the inner cross-validation scores them higher. Without questions, or
with a single one, nothing changes. On the NHS FFT data they raised 5-fold CV micro F1 from 0.749 to 0.759 ("Nothing."
is praise under "What could we do better?").
"""

from __future__ import annotations

import copy
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


def question_key(question: object) -> str | None:
    """A question as a feature key: whitespace collapsed and case folded, so the same question always matches."""
    if question is None:
        return None
    key = " ".join(str(question).split()).casefold()
    return key or None


class Features:
    """Word and character TF-IDF (fitted on the training texts) beside the weighted embedding vector.

    With ``question_weight`` and training texts from at least two questions, question columns follow: an indicator
    of each question, and word TF-IDF over question-tagged words ("q2:nothing"), so a model can learn that a word
    (or a short answer such as "Nothing.") means one thing under one question and another elsewhere. Texts with no
    question, or one not seen in training, get zeros there; without questions the columns are not built at all.
    """

    def __init__(self, embedding_weight: float = 1.0, char_ngrams: bool = True, question_weight: float = 0.0):
        self.embedding_weight = embedding_weight
        self.question_weight = question_weight
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
        self.question_index: dict[str, int] = {}
        self.question_words: TfidfVectorizer | None = None

    @property
    def uses_questions(self) -> bool:
        return bool(self.question_index)

    def fit(self, texts: Sequence[str], questions: Sequence[str | None] | None = None) -> Features:
        # With very few texts min_df would leave no vocabulary at all; fall back to every term.
        for vectorizer in (self.words, self.chars):
            if vectorizer is not None:
                if len(texts) < 20:
                    vectorizer.set_params(min_df=1)
                vectorizer.fit(texts)
        return self.fit_questions(texts, questions)

    def fit_questions(self, texts: Sequence[str], questions: Sequence[str | None] | None) -> Features:
        """Build the question columns (only with ``question_weight`` and at least two questions)."""
        self.question_index, self.question_words = {}, None
        keys = sorted({k for k in map(question_key, questions or ()) if k is not None})
        if self.question_weight and len(keys) >= 2:
            self.question_index = {k: i for i, k in enumerate(keys)}
            self.question_words = TfidfVectorizer(
                analyzer=str.split, min_df=2 if len(texts) >= 20 else 1, sublinear_tf=True, dtype=np.float32
            )
            self.question_words.fit(self._tagged(texts, questions))
        return self

    def _tagged(self, texts: Sequence[str], questions: Sequence[str | None] | None) -> list[str]:
        """Each text's words prefixed with its question's number ("q2:nothing"); empty when it has none."""
        analyse = self.words.build_analyzer()
        out = []
        for text, question in zip(texts, questions or [None] * len(texts), strict=True):
            number = self.question_index.get(question_key(question) or "")
            words = [w for w in analyse(text) if " " not in w] if number is not None else []
            out.append(" ".join(f"q{number}:{w}" for w in words))
        return out

    def transform(
        self, texts: Sequence[str], vectors: np.ndarray, questions: Sequence[str | None] | None = None
    ) -> sparse.csr_matrix:
        blocks = [self.words.transform(texts)]
        if self.chars is not None:
            blocks.append(self.chars.transform(texts))
        blocks.append(sparse.csr_matrix(np.asarray(vectors, dtype=np.float32) * self.embedding_weight))
        if self.question_words is not None:
            blocks.append(self.question_columns(texts, questions))
        return sparse.hstack(blocks, format="csr")

    def question_columns(self, texts: Sequence[str], questions: Sequence[str | None] | None) -> sparse.csr_matrix:
        """The question indicator and question-tagged word columns (empty without fitted question columns)."""
        if self.question_words is None:
            return sparse.csr_matrix((len(texts), 0), dtype=np.float32)
        indicator = sparse.lil_matrix((len(texts), len(self.question_index)), dtype=np.float32)
        for row, question in enumerate(questions or [None] * len(texts)):
            column = self.question_index.get(question_key(question) or "")
            if column is not None:
                indicator[row, column] = 1.0
        tagged = self.question_words.transform(self._tagged(texts, questions))
        return sparse.hstack([indicator.tocsr(), tagged], format="csr") * self.question_weight


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
        question_weight: float = 1.0,
        question_features: str = "auto",
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
        if question_features not in ("auto", "always", "never"):
            raise ValueError(f"question_features must be auto, always or never, not {question_features!r}")
        self.question_weight = question_weight
        self.question_features = question_features
        self.uses_questions = False
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
        self.uses_questions = False
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
        y = labels[:, columns]
        plain = Features(self.embedding_weight, self.char_ngrams).fit(table.texts)
        x_plain = plain.transform(table.texts, vectors)
        candidates = [] if self.question_features == "always" else [(plain, x_plain[rows])]
        if self.question_features != "never" and table.questions is not None:
            tagged = Features(self.embedding_weight, self.char_ngrams, self.question_weight)
            tagged.words, tagged.chars = plain.words, plain.chars
            if tagged.fit_questions(table.texts, table.questions).uses_questions:
                x_tagged = sparse.hstack([x_plain, tagged.question_columns(table.texts, table.questions)], "csr")
                candidates.append((tagged, x_tagged[rows]))
        if not candidates:
            candidates = [(plain, x_plain[rows])]
        # With question columns available, keep them only if the inner cross-validation scores them higher.
        best_f1 = -1.0
        for features, x_candidate in candidates:
            decision = self._out_of_fold(x_candidate, y)
            platt_candidate = [_platt(decision[:, k], y[:, k]) for k in range(len(columns))]
            probability_candidate = np.column_stack(
                [_logistic(decision[:, k], *platt_candidate[k]) for k in range(len(columns))]
            )
            thresholds_candidate = self._thresholds(probability_candidate, y)
            f1 = float(_f1(probability_candidate >= thresholds_candidate[None, :], y, (0, 1)))
            if f1 > best_f1 + 1e-9:
                best_f1 = f1
                self.features, x = features, x_candidate
                platt, probability, thresholds = platt_candidate, probability_candidate, thresholds_candidate
        self.uses_questions = self.features is not None and self.features.uses_questions
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

    def supervised_confidence(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Segments x codes on the common scale (0.5 = the code's threshold); NaN where a code has no model."""
        out = np.full((len(texts), len(framework.codes)), np.nan)
        if self.features is None or not self.models or not len(texts):
            return out
        x = self.features.transform(texts, vectors, questions)
        for j, code in enumerate(framework.codes):
            model = self.models.get(code.id)
            if model is not None:
                p = _logistic(x @ model.weights + model.bias, model.slope, model.intercept)
                out[:, j] = around_boundary(p, model.threshold)
        return out

    def confidence(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        supervised = self.supervised_confidence(texts, vectors, framework, questions)
        missing = np.isnan(supervised).any(axis=0)
        if not missing.any():
            return supervised
        zero_shot = self.zero_shot.confidence(vectors, framework)
        return np.where(np.isnan(supervised), zero_shot, supervised)

    def for_partitions(self, vectors: np.ndarray, framework: FrameworkSpec) -> SupervisedCoder:
        """A copy that codes any slice of ``vectors`` as this coder codes them all (see ZeroShotCoder's)."""
        fixed = copy.copy(self)
        fixed.zero_shot = self.zero_shot.for_partitions(vectors, framework)
        return fixed

    def code(
        self,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> StageResult[CodeSuggestion]:
        """Suggest codes; ``questions`` gives each segment's question (used only if training saw several)."""
        if questions is not None and len(questions) != len(segments):
            raise ValueError(f"{len(segments)} segments but {len(questions)} questions")
        texts = [s.text for s in segments]
        confidence = self.confidence(texts, vectors, framework, questions) if len(segments) else None
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

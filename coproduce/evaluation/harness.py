"""Evaluation modes: zero-shot, k-fold cross-validation, train on one file and score another, learning curves.

Every mode codes records through the coders' public ``fit``/``code`` path, exactly as the analysis service does, with
the human decisions a panel would have made (each gold code accepted; a record with no gold codes has every code
rejected). Folds and subsets are drawn with a fixed seed, so a re-run gives the same figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from coproduce.evaluation.datasets import Dataset, Record
from coproduce.evaluation.metrics import (
    CodingScores,
    Interval,
    coding_scores,
    response_level,
    stance_accuracy,
    to_matrix,
)
from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import Embedder, LabelledExample, SegmentText
from coproduce.pipeline.coding import HybridCoder, SupervisedCoder, ZeroShotCoder
from coproduce.pipeline.stance import StanceClassifierModel

CODERS = {"zero-shot": ZeroShotCoder, "supervised": SupervisedCoder, "hybrid": HybridCoder}
Progress = Callable[[str], None]


@dataclass
class Evaluation:
    dataset: str
    mode: str  # "zero-shot", "5-fold CV", "train/test", "20 labelled per question", "baseline: ..."
    coder: str
    scores: CodingScores
    response_scores: CodingScores | None = None
    stance: Interval | None = None
    seconds: float = 0.0
    labelled: int | None = None  # labelled records the coder learnt from (learning curves)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "mode": self.mode,
            "coder": self.coder,
            "labelled": self.labelled,
            "seconds": round(self.seconds, 1),
            "scores": self.scores.as_dict(),
            "response_scores": self.response_scores.as_dict() if self.response_scores else None,
            "stance_accuracy": self.stance.as_dict() if self.stance else None,
            "notes": self.notes,
        }


def make_coder(kind: str, embed: Embedder, seed: int = 0):  # type: ignore[no-untyped-def]
    if kind not in CODERS:
        raise ValueError(f"unknown coder {kind!r}; choose from {', '.join(CODERS)}")
    if kind == "hybrid":
        return HybridCoder(embed=embed, seed=seed)
    if kind == "supervised":
        return SupervisedCoder(embed=embed, random_state=seed)
    return ZeroShotCoder(embed=embed)


def question_of(record: Record) -> str | None:
    """The question a record answers (its ``group``), or None when its dataset does not say."""
    return record.group or None


def decisions(records: Sequence[Record], framework: FrameworkSpec, use_questions: bool = True) -> list[LabelledExample]:
    """What a panel that agreed with the gold labels would have recorded (on the question each record answers)."""
    out = []
    for record in records:
        question = question_of(record) if use_questions else None
        if record.codes:
            out.extend(LabelledExample(record.text, code, True, question) for code in sorted(record.codes))
        else:
            out.extend(LabelledExample(record.text, c.id, False, question) for c in framework.codes)
    return out


def predict(  # type: ignore[no-untyped-def]
    coder, records: Sequence[Record], vectors: np.ndarray, framework: FrameworkSpec, use_questions: bool = True
) -> np.ndarray:
    """Records x codes booleans from the coder's suggestions (given each record's question, when known)."""
    segments = [SegmentText(i, 0, 0, len(r.text), r.text) for i, r in enumerate(records)]
    index = {c.id: j for j, c in enumerate(framework.codes)}
    out = np.zeros((len(records), len(index)), dtype=bool)
    questions = [question_of(r) for r in records] if use_questions else None
    if questions is not None and not any(questions):
        questions = None
    for suggestion in coder.code(segments, vectors, framework, questions).items:
        out[suggestion.segment[0], index[suggestion.code]] = True
    return out


def fold_indices(n: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    """``folds`` disjoint test index sets from a seeded shuffle of the records."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[k::folds]) for k in range(folds)]


def score(
    dataset: Dataset,
    mode: str,
    coder: str,
    pred: np.ndarray,
    rows: np.ndarray | None = None,
    stances: Sequence[str | None] | None = None,
    seconds: float = 0.0,
    labelled: int | None = None,
) -> Evaluation:
    """Scores of ``pred`` against the gold codes of ``dataset.records[rows]`` (all records by default)."""
    rows = np.arange(len(dataset.records)) if rows is None else rows
    records = [dataset.records[i] for i in rows]
    gold = to_matrix([r.codes for r in records], dataset.code_ids)
    result = Evaluation(dataset.name, mode, coder, coding_scores(gold, pred, dataset.code_ids), seconds=seconds)
    result.labelled = labelled
    responses = [r.response for r in records]
    if all(responses) and len(set(responses)) < len(responses):
        g, p, _ = response_level(gold, pred, responses)
        result.response_scores = coding_scores(g, p, dataset.code_ids)
    if stances is not None and any(r.stance for r in records):
        result.stance = stance_accuracy([r.stance for r in records], stances)
    return result


def zero_shot(dataset: Dataset, embed: Embedder, stance: bool = True) -> Evaluation:
    started = time.perf_counter()
    vectors = embed.embed([r.text for r in dataset.records])
    coder = ZeroShotCoder(embed=embed)
    coder.fit(dataset.framework, [], embed)
    pred = predict(coder, dataset.records, vectors, dataset.framework)
    stances = _zero_shot_stances(dataset, vectors) if stance else None
    return score(dataset, "zero-shot", coder.name, pred, stances=stances, seconds=time.perf_counter() - started)


def _zero_shot_stances(dataset: Dataset, vectors: np.ndarray) -> list[str] | None:
    if not dataset.framework.stances or not any(r.stance for r in dataset.records):
        return None
    return StanceClassifierModel().predict([r.text for r in dataset.records], vectors, dataset.framework)


def cross_validate(
    dataset: Dataset,
    embed: Embedder,
    folds: int = 5,
    coder_kind: str = "hybrid",
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    """Out-of-fold predictions for every record, from coders trained on the other folds."""
    started = time.perf_counter()
    records = dataset.records
    vectors = embed.embed([r.text for r in records])
    pred = np.zeros((len(records), len(dataset.code_ids)), dtype=bool)
    stances: list[str | None] = [None] * len(records)
    has_stance = bool(dataset.framework.stances) and any(r.stance for r in records)
    for k, test in enumerate(fold_indices(len(records), folds, seed)):
        train = np.setdiff1d(np.arange(len(records)), test)
        coder = make_coder(coder_kind, embed, seed)
        coder.fit(dataset.framework, decisions([records[i] for i in train], dataset.framework), embed)
        pred[test] = predict(coder, [records[i] for i in test], vectors[test], dataset.framework)
        if has_stance:
            for i, s in zip(test, _trained_stances(dataset, train, test, vectors, embed, seed), strict=True):
                stances[i] = s
        if progress:
            progress(f"fold {k + 1}/{folds}")
    return score(
        dataset,
        f"{folds}-fold CV",
        coder_kind,
        pred,
        stances=stances if has_stance else None,
        seconds=time.perf_counter() - started,
    )


def _trained_stances(
    dataset: Dataset, train: np.ndarray, test: np.ndarray, vectors: np.ndarray, embed: Embedder, seed: int
) -> list[str]:
    labelled = [i for i in train if dataset.records[i].stance]
    model = StanceClassifierModel(embed=embed, seed=seed)
    model.fit([dataset.records[i].text for i in labelled], [dataset.records[i].stance or "" for i in labelled])
    return model.predict([dataset.records[i].text for i in test], vectors[test], dataset.framework)


def train_test(train: Dataset, test: Dataset, embed: Embedder, coder_kind: str = "hybrid", seed: int = 0) -> Evaluation:
    """Train on every record of ``train``; score ``test`` (both must share the label space of ``test``)."""
    started = time.perf_counter()
    coder = make_coder(coder_kind, embed, seed)
    coder.fit(test.framework, decisions(train.records, test.framework), embed)
    vectors = embed.embed([r.text for r in test.records])
    pred = predict(coder, test.records, vectors, test.framework)
    stances = None
    if test.framework.stances and any(r.stance for r in test.records):
        model = StanceClassifierModel(embed=embed, seed=seed)
        labelled = [r for r in train.records if r.stance]
        model.fit([r.text for r in labelled], [r.stance or "" for r in labelled])
        stances = model.predict([r.text for r in test.records], vectors, test.framework)
    result = score(test, "train/test", coder_kind, pred, stances=stances, seconds=time.perf_counter() - started)
    result.notes.append(f"trained on {train.name} ({len(train.records)} records)")
    return result


def learning_curve(
    dataset: Dataset,
    embed: Embedder,
    sizes: Sequence[int | None] = (0, 50, 200, 1000, None),
    folds: int = 5,
    coder_kind: str = "hybrid",
    seed: int = 0,
    progress: Progress | None = None,
) -> list[Evaluation]:
    """Scores against the number of labelled records: in each fold, the coder learns from a seeded random subset
    of the training records (None = all of them; 0 = zero-shot) and codes the held-out fold."""
    records = dataset.records
    vectors = embed.embed([r.text for r in records])
    splits = fold_indices(len(records), folds, seed)
    out = []
    for size in sizes:
        started = time.perf_counter()
        pred = np.zeros((len(records), len(dataset.code_ids)), dtype=bool)
        used = 0
        for k, test in enumerate(splits):
            train = np.setdiff1d(np.arange(len(records)), test)
            if size is not None and size < len(train):
                train = np.sort(np.random.default_rng(seed + k).choice(train, size, replace=False))
            used = len(train)
            coder = make_coder(coder_kind if size != 0 else "zero-shot", embed, seed)
            coder.fit(dataset.framework, decisions([records[i] for i in train], dataset.framework), embed)
            pred[test] = predict(coder, [records[i] for i in test], vectors[test], dataset.framework)
        label = "all" if size is None else str(size)
        out.append(score(dataset, f"learning curve: {label}", coder_kind, pred, seconds=time.perf_counter() - started))
        out[-1].labelled = used
        if progress:
            progress(f"{label} labelled")
    return out


def labelled_per_group(
    dataset: Dataset,
    embed: Embedder,
    per_group: int = 20,
    draws: int = 5,
    coder_kind: str = "hybrid",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A panel labels ``per_group`` records; the coder codes the rest. Repeated over ``draws`` disjoint draws.

    Returns pooled (gold, predicted, record index) rows over all draws, for scoring.
    """
    records = dataset.records
    vectors = embed.embed([r.text for r in records])
    gold_rows, pred_rows, index = [], [], []
    for labelled, rest in labelled_draws(len(records), per_group, draws, seed):
        coder = make_coder(coder_kind, embed, seed)
        coder.fit(dataset.framework, decisions([records[i] for i in labelled], dataset.framework), embed)
        pred_rows.append(predict(coder, [records[i] for i in rest], vectors[rest], dataset.framework))
        gold_rows.append(to_matrix([records[i].codes for i in rest], dataset.code_ids))
        index.extend(int(i) for i in rest)
    return np.vstack(gold_rows), np.vstack(pred_rows), index


def labelled_draws(n: int, per_group: int, draws: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(labelled, rest) record indices of up to ``draws`` disjoint seeded draws of ``per_group`` records each."""
    order = np.random.default_rng(seed).permutation(n)
    out = []
    for k in range(draws):
        labelled = order[k * per_group : (k + 1) * per_group]
        if len(labelled) < per_group:
            break
        out.append((labelled, np.setdiff1d(np.arange(n), labelled)))
    return out

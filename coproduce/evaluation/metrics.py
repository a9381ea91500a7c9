"""Multi-label coding scores and stance accuracy, with bootstrap intervals. Pure numpy.

Gold and predicted codes are boolean matrices (records x codes). Conventions, stated because libraries differ:

- micro F1 pools true positives, false positives and false negatives over every record and code;
- macro F1 averages per-code F1 over the codes that occur in the gold or the predictions of the scored records
  (a code absent from both has no F1 and would only dilute the mean);
- sample F1 averages each record's F1; a record with no gold codes and no predicted codes scores 1 (the coder
  agreed that nothing applies), and one with either side empty but not both scores 0.

Bootstrap intervals resample records with replacement (fixed seed), so they say how much a figure depends on which
records happened to be in the evaluation set; they say nothing about annotator disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": round(self.value, 4), "low": round(self.low, 4), "high": round(self.high, 4)}


@dataclass(frozen=True)
class CodeScore:
    code: str
    precision: float
    recall: float
    f1: float
    support: int  # gold records with the code
    predicted: int


@dataclass
class CodingScores:
    records: int
    micro_f1: Interval
    macro_f1: Interval
    sample_f1: Interval
    micro_precision: float
    micro_recall: float
    per_code: list[CodeScore] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "micro_f1": self.micro_f1.as_dict(),
            "macro_f1": self.macro_f1.as_dict(),
            "sample_f1": self.sample_f1.as_dict(),
            "micro_precision": round(self.micro_precision, 4),
            "micro_recall": round(self.micro_recall, 4),
            "per_code": [
                {
                    "code": c.code,
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                    "predicted": c.predicted,
                }
                for c in self.per_code
            ],
        }


def to_matrix(code_sets: Sequence[set[str] | frozenset[str]], code_ids: Sequence[str]) -> np.ndarray:
    """Records x codes booleans; codes outside ``code_ids`` are an error, not silently dropped."""
    index = {c: i for i, c in enumerate(code_ids)}
    out = np.zeros((len(code_sets), len(code_ids)), dtype=bool)
    for row, codes in enumerate(code_sets):
        for code in codes:
            if code not in index:
                raise KeyError(f"code {code!r} is not in the label space")
            out[row, index[code]] = True
    return out


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(np.shape(tp), dtype=float), where=denominator > 0)


def _counts(gold: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gold = np.asarray(gold, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gold.shape != pred.shape:
        raise ValueError(f"gold {gold.shape} and predictions {pred.shape} differ in shape")
    return (gold & pred).astype(float), (~gold & pred).astype(float), (gold & ~pred).astype(float)


def micro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    tp, fp, fn = _counts(gold, pred)
    return float(_f1(tp.sum(), fp.sum(), fn.sum()))


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    tp, fp, fn = _counts(gold, pred)
    tp, fp, fn = tp.sum(0), fp.sum(0), fn.sum(0)
    present = (tp + fp + fn) > 0
    return float(_f1(tp, fp, fn)[present].mean()) if present.any() else 1.0


def sample_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    return float(_sample_f1s(gold, pred).mean()) if len(gold) else 0.0


def _sample_f1s(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    tp, fp, fn = _counts(gold, pred)
    tp, fp, fn = tp.sum(1), fp.sum(1), fn.sum(1)
    both_empty = (tp + fp + fn) == 0
    return np.where(both_empty, 1.0, _f1(tp, fp, fn))


def per_code_scores(gold: np.ndarray, pred: np.ndarray, code_ids: Sequence[str]) -> list[CodeScore]:
    tp, fp, fn = _counts(gold, pred)
    tp, fp, fn = tp.sum(0), fp.sum(0), fn.sum(0)
    f1 = _f1(tp, fp, fn)
    out = []
    for i, code in enumerate(code_ids):
        precision = tp[i] / (tp[i] + fp[i]) if tp[i] + fp[i] else 0.0
        recall = tp[i] / (tp[i] + fn[i]) if tp[i] + fn[i] else 0.0
        out.append(
            CodeScore(code, float(precision), float(recall), float(f1[i]), int(tp[i] + fn[i]), int(tp[i] + fp[i]))
        )
    return out


def bootstrap_weights(n: int, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """How often each record is drawn in each resample (resamples x n): every statistic below is a weighted sum."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float) if n else np.zeros((resamples, 0))


def _interval(point: float, samples: np.ndarray) -> Interval:
    low, high = np.percentile(samples, [2.5, 97.5]) if len(samples) else (point, point)
    return Interval(point, float(min(low, point)), float(max(high, point)))


def coding_scores(
    gold: np.ndarray,
    pred: np.ndarray,
    code_ids: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> CodingScores:
    """Micro, macro and sample F1 with bootstrap 95% intervals, and per-code precision, recall and F1."""
    tp, fp, fn = _counts(gold, pred)
    n = len(tp)
    weights = bootstrap_weights(n, resamples, seed)
    # Per resample: pooled counts per code are weights @ per-record counts.
    btp, bfp, bfn = weights @ tp, weights @ fp, weights @ fn
    micro = _f1(btp.sum(1), bfp.sum(1), bfn.sum(1))
    present = (btp + bfp + bfn) > 0
    code_f1 = _f1(btp, bfp, bfn)
    macro = np.where(present.any(1), (code_f1 * present).sum(1) / np.maximum(present.sum(1), 1), 1.0)
    sample = weights @ _sample_f1s(gold, pred) / max(n, 1)
    total_tp, total_fp, total_fn = tp.sum(), fp.sum(), fn.sum()
    return CodingScores(
        records=n,
        micro_f1=_interval(micro_f1(gold, pred), micro),
        macro_f1=_interval(macro_f1(gold, pred), macro),
        sample_f1=_interval(sample_f1(gold, pred), sample),
        micro_precision=float(total_tp / (total_tp + total_fp)) if total_tp + total_fp else 0.0,
        micro_recall=float(total_tp / (total_tp + total_fn)) if total_tp + total_fn else 0.0,
        per_code=per_code_scores(gold, pred, code_ids),
    )


def response_level(
    gold: np.ndarray, pred: np.ndarray, responses: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Collapse segment rows into response rows: a response carries the union of its segments' codes."""
    keys = list(dict.fromkeys(responses))
    index = {k: i for i, k in enumerate(keys)}
    rows = np.array([index[r] for r in responses], dtype=int)
    g = np.zeros((len(keys), gold.shape[1]), dtype=bool)
    p = np.zeros_like(g)
    np.logical_or.at(g, rows, np.asarray(gold, dtype=bool))
    np.logical_or.at(p, rows, np.asarray(pred, dtype=bool))
    return g, p, keys


def stance_accuracy(
    gold: Sequence[str | None],
    pred: Sequence[str | None],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Share of records whose predicted stance equals the gold one; records without a gold stance are skipped."""
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g is not None]
    if not pairs:
        return Interval(0.0, 0.0, 0.0)
    hits = np.array([g == p for g, p in pairs], dtype=float)
    weights = bootstrap_weights(len(hits), resamples, seed)
    return _interval(float(hits.mean()), weights @ hits / len(hits))

"""Metrics against hand-computed examples, including empty predictions and empty gold."""

from __future__ import annotations

import numpy as np
import pytest

from coproduce.evaluation.metrics import (
    coding_scores,
    macro_f1,
    micro_f1,
    per_code_scores,
    response_level,
    sample_f1,
    stance_accuracy,
    to_matrix,
)

CODES = ["a", "b", "c"]


def m(*rows: set[str]) -> np.ndarray:
    return to_matrix(list(rows), CODES)


def test_hand_computed_example():
    gold = m({"a"}, {"a", "b"}, {"c"})
    pred = m({"a"}, {"a"}, {"b"})
    # tp = 2 (a, a), fp = 1 (b in row 3), fn = 2 (b in row 2, c in row 3): micro F1 = 4 / (4 + 1 + 2)
    assert micro_f1(gold, pred) == pytest.approx(4 / 7)
    # per code: a 1.0; b: tp 0 fp 1 fn 1 -> 0; c: tp 0 fn 1 -> 0
    assert macro_f1(gold, pred) == pytest.approx(1 / 3)
    # rows: 1.0, 2*1/(1+2) = 2/3, 0
    assert sample_f1(gold, pred) == pytest.approx((1 + 2 / 3 + 0) / 3)
    by_code = {s.code: s for s in per_code_scores(gold, pred, CODES)}
    assert (by_code["a"].precision, by_code["a"].recall, by_code["a"].support) == (1.0, 1.0, 2)
    assert (by_code["b"].precision, by_code["b"].recall, by_code["b"].predicted) == (0.0, 0.0, 1)


def test_empty_predictions_and_empty_gold():
    gold = m({"a"}, set())
    nothing = m(set(), set())
    assert micro_f1(gold, nothing) == 0.0
    # the record with no gold and no prediction agrees perfectly; the other scores 0
    assert sample_f1(gold, nothing) == pytest.approx(0.5)
    assert micro_f1(nothing, nothing) == 0.0
    assert sample_f1(nothing, nothing) == 1.0
    assert macro_f1(nothing, nothing) == 1.0  # no code present anywhere: nothing to get wrong
    # a code that is absent from gold and predictions is left out of the macro mean
    assert macro_f1(m({"a"}), m({"a"})) == 1.0


def test_unknown_code_and_shape_mismatch_are_errors():
    with pytest.raises(KeyError):
        to_matrix([{"z"}], CODES)
    with pytest.raises(ValueError):
        micro_f1(m({"a"}), m({"a"}, {"b"}))


def test_bootstrap_interval_contains_point_and_is_deterministic():
    rng = np.random.default_rng(3)
    gold = rng.random((60, 3)) < 0.4
    pred = gold ^ (rng.random((60, 3)) < 0.2)
    first = coding_scores(gold, pred, CODES, resamples=300)
    again = coding_scores(gold, pred, CODES, resamples=300)
    assert first.as_dict() == again.as_dict()
    for interval in (first.micro_f1, first.macro_f1, first.sample_f1):
        assert interval.low <= interval.value <= interval.high
        assert interval.high - interval.low > 0
    assert first.micro_f1.value == pytest.approx(micro_f1(gold, pred))


def test_response_level_takes_union_of_segments():
    gold = m({"a"}, {"b"}, {"c"})
    pred = m({"b"}, {"a"}, set())
    g, p, keys = response_level(gold, pred, ["r1", "r1", "r2"])
    assert keys == ["r1", "r2"]
    assert g.tolist() == [[True, True, False], [False, False, True]]
    assert p.tolist() == [[True, True, False], [False, False, False]]
    assert micro_f1(g, p) == pytest.approx(4 / 5)


def test_stance_accuracy_skips_records_without_gold():
    result = stance_accuracy(["recommend", None, "concern", "oppose"], ["recommend", "support", "support", "oppose"])
    assert result.value == pytest.approx(2 / 3)
    assert result.low <= result.value <= result.high
    assert stance_accuracy([None], ["x"]).value == 0.0

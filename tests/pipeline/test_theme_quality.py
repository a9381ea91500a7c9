"""Theme-set quality rules on hand-built themes: no topic model needed."""

from __future__ import annotations

import numpy as np
import pytest

from coproduce.pipeline.base import ThemeFound
from coproduce.pipeline.theme_quality import (
    QualitySettings,
    centroid,
    clean_themes,
    jaccard,
    min_respondents_needed,
)

RNG = np.random.default_rng(7)
DIRECTIONS = np.linalg.qr(RNG.normal(size=(64, 64)))[0]  # orthonormal: unrelated themes have cosine 0


def keys(response_ids: range) -> list[tuple[int, int]]:
    return [(r, 0) for r in response_ids]


def vectors_around(direction: np.ndarray, segments: list[tuple[int, int]], spread: float) -> dict:
    """Unit vectors scattered around one direction; ``spread`` sets how far."""
    out = {}
    for s in segments:
        v = direction + spread * RNG.normal(size=direction.shape) / np.sqrt(len(direction))
        out[s] = v / np.linalg.norm(v)
    return out


def theme(key: str, segments: list[tuple[int, int]], code: str | None = None, question: int | None = 6) -> ThemeFound:
    return ThemeFound(
        key=key,
        label=f"label {key}",
        keywords=[f"kw-{key}"],
        segments=segments,
        question_number=question,
        code=code,
        representative=f"rep {key}",
    )


def one_respondent_each(*vector_maps: dict) -> dict:
    return {s: s[0] for vm in vector_maps for s in vm}


def test_close_centroids_are_merged_keeping_the_coded_label() -> None:
    a, b, c = keys(range(0, 12)), keys(range(100, 110)), keys(range(200, 215))
    vector_of = {
        **vectors_around(DIRECTIONS[0], a, 0.3),
        **vectors_around(DIRECTIONS[0], b, 0.3),
        **vectors_around(DIRECTIONS[1], c, 0.3),
    }
    assert float(centroid(a, vector_of) @ centroid(b, vector_of)) >= 0.9
    themes = [theme("q6-t1", a), theme("q6-t2", b, code="WAI"), theme("q6-t3", c)]

    report = clean_themes(themes, vector_of, one_respondent_each(vector_of))

    assert [t.key for t in report.themes] == ["q6-t2", "q6-t3"]
    merged = report.themes[0]
    assert merged.code == "WAI" and merged.label == "label q6-t2"  # the coded theme is the better one
    assert set(merged.segments) == set(a) | set(b)
    assert merged.keywords == ["kw-q6-t2", "kw-q6-t1"]
    assert any(f.startswith("merged q6-t1 (centroid cosine") for f in merged.flags)
    assert [(m.kept, m.absorbed) for m in report.merges] == [("q6-t2", "q6-t1")]
    assert themes[1].segments == b and themes[1].flags == []  # inputs untouched


def test_distinct_themes_are_left_alone() -> None:
    a, b = keys(range(0, 12)), keys(range(100, 112))
    vector_of = {**vectors_around(DIRECTIONS[0], a, 0.3), **vectors_around(DIRECTIONS[1], b, 0.3)}
    report = clean_themes([theme("q6-t1", a), theme("q6-t2", b)], vector_of, one_respondent_each(vector_of))
    assert [t.key for t in report.themes] == ["q6-t1", "q6-t2"]
    assert report.merges == [] and all(t.flags == [] for t in report.themes)


def test_overlapping_segment_sets_are_merged_by_jaccard() -> None:
    a, b = keys(range(0, 20)), keys(range(3, 22))  # 17 shared of 22: Jaccard 0.77
    assert jaccard(a, b) == pytest.approx(17 / 22)
    vector_of = vectors_around(DIRECTIONS[2], sorted(set(a) | set(b)), 0.3)
    no_cosine_rule = QualitySettings(max_centroid_cosine=1.01)

    report = clean_themes(
        [theme("all-t1", a), theme("all-t2", b)], vector_of, one_respondent_each(vector_of), None, no_cosine_rule
    )

    assert len(report.themes) == 1
    assert report.themes[0].key == "all-t1"  # more segments
    assert "merged all-t2 (segment overlap Jaccard 0.77)" in report.themes[0].flags


def test_same_code_merges_within_a_question_only() -> None:
    a, b, c = keys(range(0, 10)), keys(range(100, 110)), keys(range(200, 210))
    vector_of = {
        **vectors_around(DIRECTIONS[3], a, 0.3),
        **vectors_around(DIRECTIONS[4], b, 0.3),
        **vectors_around(DIRECTIONS[5], c, 0.3),
    }
    themes = [theme("q6-t1", a, "SCO"), theme("q6-t2", b, "SCO"), theme("q9-t1", c, "SCO", question=9)]

    report = clean_themes(themes, vector_of, one_respondent_each(vector_of))

    assert sorted(t.key for t in report.themes) == ["q6-t1", "q9-t1"]
    assert "merged q6-t2 (same code SCO)" in report.themes[0].flags


def test_themes_with_too_few_respondents_are_flagged_not_dropped() -> None:
    small, large = keys(range(0, 12)), keys(range(100, 140))
    vector_of = {**vectors_around(DIRECTIONS[6], small, 0.3), **vectors_around(DIRECTIONS[7], large, 0.3)}
    respondent_of = {s: (1 if s[0] % 2 else 2) for s in small} | {s: s[0] for s in large}

    report = clean_themes([theme("q6-t1", small), theme("q6-t2", large)], vector_of, respondent_of)

    assert [t.key for t in report.themes] == ["q6-t1", "q6-t2"]
    assert report.themes[0].flags == ["too few respondents: 2 (needs 3)"]
    assert report.flagged == {"q6-t1": ["too few respondents: 2 (needs 3)"]}
    assert report.themes[1].flags == []


def test_respondent_floor_grows_with_the_question() -> None:
    assert min_respondents_needed(100, QualitySettings()) == 3
    assert min_respondents_needed(2000, QualitySettings()) == 10  # 0.5% of 2,000
    segments = keys(range(0, 8))
    vector_of = vectors_around(DIRECTIONS[8], segments, 0.3)
    report = clean_themes([theme("q6-t1", segments)], vector_of, one_respondent_each(vector_of), {6: 2000})
    assert report.themes[0].flags == ["too few respondents: 8 (needs 10)"]

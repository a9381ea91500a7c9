"""Reconciling a re-run's themes with the themes people edited."""

from __future__ import annotations

from coproduce.pipeline.base import ThemeFound
from coproduce.services.kept_themes import KeptTheme, reconcile


def found(
    key: str, segments: list[tuple[int, int]], question: int | None = 1, label: str = "model label"
) -> ThemeFound:
    return ThemeFound(key=key, label=label, keywords=["k"], segments=segments, question_number=question)


def kept(theme_id: int, key: str, segments: list[tuple[int, int]], **extra: object) -> KeptTheme:
    fields = {"label": f"edited {theme_id}", "question_number": 1, "code": None, "keywords": [], "representative": ""}
    return KeptTheme(id=theme_id, key=key, segments=segments, **(fields | extra))  # type: ignore[arg-type]


def test_nothing_kept_means_every_found_theme_is_new() -> None:
    themes = [found("q1-t0", [(1, 0)]), found("q1-t1", [(2, 0)])]
    result = reconcile(themes, [])
    assert result.new == themes
    assert result.for_findings == themes
    assert result.kept_ids == {}


def test_a_renamed_theme_is_not_recreated_and_its_findings_use_the_new_name() -> None:
    result = reconcile([found("q1-t0", [(1, 0), (2, 0)]), found("q1-t1", [(3, 0)])], [kept(7, "q1-t0", [(1, 0)])])
    assert [t.key for t in result.new] == ["q1-t1"]
    assert result.kept_ids == {"q1-t0": 7}
    first = result.for_findings[0]
    assert (first.key, first.label, first.segments) == ("q1-t0", "edited 7", [(1, 0)])  # as people left it


def test_a_merged_away_theme_does_not_come_back() -> None:
    target = kept(7, "q1-t0", [(1, 0), (3, 0)], absorbed_keys=["q1-t1"])
    result = reconcile([found("q1-t0", [(1, 0)]), found("q1-t1", [(3, 0)])], [target])
    assert result.new == []
    assert result.dropped == ["q1-t1"]
    assert [t.key for t in result.for_findings] == ["q1-t0"]


def test_renumbered_topics_are_matched_by_their_segments_within_a_question() -> None:
    edited = kept(7, "q1-t3", [(1, 0), (2, 0), (3, 0)])
    renumbered = found("q1-t0", [(1, 0), (2, 0)])  # Jaccard 2/3
    elsewhere = found("q2-t0", [(1, 0), (2, 0)], question=2)  # same segments, other question: never matched
    result = reconcile([renumbered, elsewhere], [edited])
    assert [t.key for t in result.new] == ["q2-t0"]
    assert result.for_findings[0].label == "edited 7"


def test_a_theme_people_made_keeps_a_finding_under_its_own_key() -> None:
    made = kept(9, "", [(5, 0)])
    result = reconcile([found("q1-t0", [(1, 0)])], [made])
    assert [t.key for t in result.for_findings] == ["q1-t0", "human-9"]
    assert result.kept_ids == {"human-9": 9}


def test_a_small_overlap_is_a_different_theme() -> None:
    result = reconcile([found("q1-t0", [(1, 0), (2, 0), (3, 0)])], [kept(7, "q1-t5", [(3, 0), (4, 0), (5, 0)])])
    assert [t.key for t in result.new] == ["q1-t0"]
    assert [t.key for t in result.for_findings] == ["q1-t0", "q1-t5"]

"""Segment vectors in memory: the same scores as embedding every candidate, read once, dropped with a new run."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coproduce.services.search import semantic_search
from coproduce.services.segment_cache import SegmentCache
from coproduce.services.segment_filters import SegmentFilter
from coproduce.services.segment_vectors import SegmentVectors
from coproduce.store.models import AnalysisRun, Project, Segment
from tests.services.conftest import Seed
from tests.services.conftest import seeded_project as project


class HashEmbedder:
    """Unit vectors drawn from each text's hash (stands in for MiniLM here: what is tested is the
    bookkeeping, not the model); counts the texts it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        rows = []
        for text in texts:
            rng = np.random.default_rng(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))
            v = rng.normal(size=8).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.vstack(rows) if rows else np.zeros((0, 8), dtype=np.float32)


def test_scores_equal_embedding_every_candidate_and_segments_are_read_once(db: Session, seed: Seed) -> None:
    vectors, embedder, p, cache = SegmentVectors(), HashEmbedder(), project(db), SegmentCache()
    for text in ("waiting for an assessment", "more help please"):
        kept = semantic_search(db, p, SegmentFilter(), text, embedder, 1, 10, vectors, cache)
        plain = semantic_search(db, p, SegmentFilter(), text, HashEmbedder(), 1, 10)
        assert [r.id for r in kept.items] == [r.id for r in plain.items]
        assert kept.scores == plain.scores
        assert kept.total == plain.total == 2
    # Two queries, and each segment's text once.
    assert len(embedder.texts) == 2 + 2
    assert vectors.held_segments(p.id) == 2


def test_a_new_run_drops_the_held_vectors(db: Session, seed: Seed) -> None:
    vectors, embedder, p = SegmentVectors(), HashEmbedder(), project(db)
    query = embedder.embed(["q"])[0]
    vectors.similarity(db, p.id, list(seed.segment_ids), query, embedder)
    db.add(AnalysisRun(project_id=p.id, config_hash="x" * 64, status="running"))
    db.flush()
    before = len(embedder.texts)
    vectors.similarity(db, p.id, [seed.segment_ids[0]], query, embedder)
    assert len(embedder.texts) == before + 1  # read and embedded again after the run
    assert vectors.held_segments(p.id) == 1


def test_order_follows_the_ids_asked_and_a_deleted_segment_scores_nothing(db: Session, seed: Seed) -> None:
    vectors, embedder, p = SegmentVectors(), HashEmbedder(), project(db)
    query = embedder.embed(["q"])[0]
    first, second = seed.segment_ids
    forward = vectors.similarity(db, p.id, [first, second], query, embedder)
    backward = vectors.similarity(db, p.id, [second, first], query, embedder)
    assert list(backward) == list(forward[::-1])
    db.execute(delete(Segment).where(Segment.id == second))
    db.flush()
    fresh = SegmentVectors()
    scores = fresh.similarity(db, p.id, [first, second], query, embedder)
    assert np.isfinite(scores[0]) and scores[1] == -np.inf


def test_the_least_recently_searched_project_is_dropped_first(db: Session, seed: Seed) -> None:
    vectors, embedder, p = SegmentVectors(max_projects=1), HashEmbedder(), project(db)
    other = db.scalars(select(Project).where(Project.slug == seed.other_project_slug)).one()
    theirs = Segment(response_id=seed.other_response_id, position=0, start=0, end=5, text="other")
    db.add(theirs)
    db.flush()
    query = embedder.embed(["q"])[0]
    vectors.similarity(db, p.id, list(seed.segment_ids), query, embedder)
    assert vectors.held_segments(p.id) == 2
    vectors.similarity(db, other.id, [theirs.id], query, embedder)
    assert (vectors.held_segments(p.id), vectors.held_segments(other.id)) == (0, 1)
    with pytest.raises(ValueError):
        SegmentVectors(max_projects=0)

"""Search a project's segments: keyword (a case-insensitive substring, through ``SegmentFilter.text``) or
semantic (segments ranked by cosine similarity to the query's sentence embedding).

Semantic search embeds with a :class:`~coproduce.pipeline.embed.SentenceEmbedder`; segment vectors come
from its cache (the analysis filled it), and a segment missing from the cache is embedded and cached.
The query is embedded first, so a missing model package fails before any other work
(:class:`~coproduce.errors.ModelMissingError` names the package to install).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from coproduce.services.segment_filters import (
    SegmentFilter,
    SegmentPage,
    filtered_segments,
    matching_segments,
    segment_rows,
)
from coproduce.store.models import Project


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


def keyword_search(
    session: Session, project: Project, flt: SegmentFilter, query: str, page: int = 1, size: int = 25
) -> SegmentPage:
    """Segments containing ``query`` (any case) and matching ``flt``, in reading order."""
    return filtered_segments(session, project, replace(flt, text=query.strip() or None), page, size)


def semantic_search(
    session: Session,
    project: Project,
    flt: SegmentFilter,
    query: str,
    embedder: Embedder,
    page: int = 1,
    size: int = 25,
) -> SegmentPage:
    """Every segment matching ``flt``, most similar to ``query`` first; ``scores`` holds the cosines
    (vectors are L2-normalised, so a dot product) of the segments on the page."""
    query_vector = embedder.embed([query.strip()])[0]
    candidates = matching_segments(session, project, flt)
    total = len(candidates)
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    if not candidates:
        return SegmentPage([], page, size, 0)
    vectors = embedder.embed([text for _, text in candidates])
    similarity = vectors @ query_vector
    order = np.argsort(-similarity, kind="stable")[(page - 1) * size : page * size]
    ids = [candidates[i][0] for i in order]
    scores = {candidates[i][0]: round(float(similarity[i]), 4) for i in order}
    return SegmentPage(segment_rows(session, project, ids), page, size, total, scores)

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

from coproduce.services.segment_cache import SegmentCache
from coproduce.services.segment_filters import (
    SegmentFilter,
    SegmentPage,
    filtered_segments,
    matching_segment_ids,
    matching_segments,
    segment_rows,
)
from coproduce.services.segment_vectors import SegmentVectors
from coproduce.store.models import Project


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


def keyword_search(
    session: Session,
    project: Project,
    flt: SegmentFilter,
    query: str,
    page: int = 1,
    size: int = 25,
    counts: SegmentCache | None = None,
) -> SegmentPage:
    """Segments containing ``query`` (any case) and matching ``flt``, in reading order; ``counts`` keeps
    the total between pages (see :mod:`coproduce.services.segment_cache`)."""
    return filtered_segments(session, project, replace(flt, text=query.strip() or None), page, size, counts=counts)


def semantic_search(
    session: Session,
    project: Project,
    flt: SegmentFilter,
    query: str,
    embedder: Embedder,
    page: int = 1,
    size: int = 25,
    vectors: SegmentVectors | None = None,
    cache: SegmentCache | None = None,
) -> SegmentPage:
    """Every segment matching ``flt``, most similar to ``query`` first; ``scores`` holds the cosines
    (vectors are L2-normalised, so a dot product) of the segments on the page. ``vectors`` (one per
    process) keeps segment vectors in memory between searches; without it each search reads them all;
    ``cache`` keeps the candidates' ids (see :mod:`coproduce.services.segment_cache`)."""
    query_vector = embedder.embed([query.strip()])[0]
    if vectors is not None:
        if cache is not None:
            ids = cache.ids(session, project, flt, lambda f: matching_segment_ids(session, project, f))
        else:
            ids = matching_segment_ids(session, project, flt)
        similarity = vectors.similarity(session, project.id, ids, query_vector, embedder) if ids else None
    else:
        candidates = matching_segments(session, project, flt)
        ids = [sid for sid, _ in candidates]
        similarity = embedder.embed([text for _, text in candidates]) @ query_vector if candidates else None
    total = len(ids)
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    if similarity is None:
        return SegmentPage([], page, size, 0)
    order = np.argsort(-similarity, kind="stable")[(page - 1) * size : page * size]
    order = [i for i in order if np.isfinite(similarity[i])]
    scores = {ids[i]: round(float(similarity[i]), 4) for i in order}
    return SegmentPage(segment_rows(session, project, [ids[i] for i in order]), page, size, total, scores)

"""Segment vectors held in memory, per project, for search by meaning.

Without it, every search by meaning read the text of every candidate segment, hashed each one and looked
its vector up in the embedding cache file: on a 50,000-response project (56,000 segments a question)
that was a third of a second of one core per search. :class:`SegmentVectors` keeps, per project, the
vectors of the segments searched so far in one matrix with their sorted ids, so a search reads only the
candidates' ids, picks their rows and takes one matrix product.

Why the ids can be trusted: a segment's text never changes after it is written; segments are made only
by an analysis run (which may delete a project's segments and write new ones, and a database may then
give a new segment the id of a deleted one). So a project's vectors are dropped whenever its latest
analysis run changes (a new run, or the latest run changing status), read with one indexed query per
search. Erased segments simply stop being candidates.

One object per process (the web app keeps one in ``app.extensions``); thread-safe. Memory is 1.5 KB per
segment with MiniLM (384 float32), so about 340 MB for the 225,000 segments of a 50,000-response
project; ``max_projects`` bounds how many projects are held (least recently searched dropped first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.store.models import AnalysisRun, Segment

CHUNK = 500


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class _Held:
    stamp: tuple[Any, ...]
    ids: np.ndarray  # sorted segment ids
    matrix: np.ndarray  # row i is the vector of ids[i]


def run_stamp(session: Session, project_id: int) -> tuple[Any, ...]:
    """What identifies the project's current segments: its latest analysis run's id, status and end."""
    row = session.execute(
        select(AnalysisRun.id, AnalysisRun.status, AnalysisRun.finished_at)
        .where(AnalysisRun.project_id == project_id)
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    ).first()
    return tuple(row) if row is not None else ()


class SegmentVectors:
    def __init__(self, max_projects: int = 4) -> None:
        if max_projects < 1:
            raise ValueError("max_projects must be at least 1")
        self.max_projects = max_projects
        self._lock = threading.Lock()
        self._held: OrderedDict[int, _Held] = OrderedDict()

    def similarity(
        self, session: Session, project_id: int, segment_ids: Sequence[int], query: np.ndarray, embedder: Embedder
    ) -> np.ndarray:
        """The dot product of ``query`` with each segment's vector, in the order of ``segment_ids``
        (cosines, as the vectors are L2-normalised). Segments not held yet are read and embedded through
        ``embedder`` (its cache first) and kept."""
        wanted = np.asarray(segment_ids, dtype=np.int64)
        if wanted.size == 0:
            return np.zeros(0, dtype=np.float32)
        stamp = run_stamp(session, project_id)
        with self._lock:
            held = self._held.get(project_id)
            if held is None or held.stamp != stamp:
                held = _Held(stamp, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
            self._held[project_id] = held
            self._held.move_to_end(project_id)
            while len(self._held) > self.max_projects:
                self._held.popitem(last=False)
            rows = _rows_of(held.ids, wanted)
            missing = wanted[rows < 0]
        if missing.size:
            # Outside the lock: reading and embedding can take a while the first time a question is searched.
            added = _vectors(session, np.unique(missing), embedder)
            with self._lock:
                held = self._held.get(project_id)
                if held is None or held.stamp != stamp:  # dropped meanwhile: search with what was read
                    held = _Held(stamp, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
                    self._held[project_id] = held
                _add(held, *added)
                rows = _rows_of(held.ids, wanted)
                matrix = held.matrix
        else:
            matrix = held.matrix
        if (rows < 0).any():  # a candidate deleted between the filter and the read: it scores nothing
            scores = np.full(wanted.size, -np.inf, dtype=np.float32)
            found = rows >= 0
            scores[found] = matrix[rows[found]] @ query
            return scores
        return matrix[rows] @ query

    def held_segments(self, project_id: int) -> int:
        """How many of the project's segment vectors are in memory (for tests and diagnostics)."""
        with self._lock:
            held = self._held.get(project_id)
            return 0 if held is None else int(held.ids.size)


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Each wanted id's row in ``ids`` (sorted), or -1."""
    if ids.size == 0:
        return np.full(wanted.size, -1, dtype=np.int64)
    at = np.searchsorted(ids, wanted)
    at_clipped = np.minimum(at, ids.size - 1)
    return np.where(ids[at_clipped] == wanted, at_clipped, -1)


def _vectors(session: Session, ids: np.ndarray, embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """The ids found and their vectors (embedder cache first, model for the rest)."""
    found: list[int] = []
    texts: list[str] = []
    id_list = [int(i) for i in ids]
    for start in range(0, len(id_list), CHUNK):
        chunk = id_list[start : start + CHUNK]
        for sid, text in session.execute(select(Segment.id, Segment.text).where(Segment.id.in_(chunk))):
            found.append(sid)
            texts.append(text)
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.asarray(found, dtype=np.int64), np.asarray(embedder.embed(texts), dtype=np.float32)


def _add(held: _Held, ids: np.ndarray, vectors: np.ndarray) -> None:
    if ids.size == 0:
        return
    new = _rows_of(held.ids, ids) < 0  # another thread may have added some meanwhile
    ids, vectors = ids[new], vectors[new]
    if ids.size == 0:
        return
    all_ids = np.concatenate([held.ids, ids])
    matrix = vectors if held.matrix.size == 0 else np.concatenate([held.matrix, vectors])
    order = np.argsort(all_ids, kind="stable")
    held.ids, held.matrix = all_ids[order], np.ascontiguousarray(matrix[order])

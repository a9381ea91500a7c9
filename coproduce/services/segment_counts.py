"""Counts of a question's segments kept between requests: the review queue's "N segments match".

Counting a question's segments walks all of them (56,000 on a 50,000-response project: 35 ms of a
core on SQLite), and the review queue shows that count on every page a reviewer opens. What such a
count depends on changes rarely: segments are made only by an analysis run, and they go only when
respondents are erased (by hand or by retention). So :class:`SegmentCounts` keeps the count of a filter
on *question only* (the queue's usual view), checked against :func:`content_stamp` on every use:

- the latest analysis run (id, status, end): a run that rewrote segments;
- the project's respondents (number, highest id) and sources (highest id): an erasure, retention or
  import.

A reviewer's unfinished blind-coding tasks hide segments from them; when the viewer has any, the count
is made afresh. Filters on anything a review action changes (status, stance, codes, seen marks, flags,
themes) are never cached. One object per process (the web app keeps one in ``app.extensions``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from coproduce.services.segment_vectors import run_stamp
from coproduce.store.models import CodingTask, Project, Respondent, Source

# The SegmentFilter fields a count may be cached for; hide_blind_for is handled apart.
CACHEABLE = frozenset({"question", "hide_blind_for"})


def content_stamp(session: Session, project_id: int) -> tuple[Any, ...]:
    """What changes whenever the project's segments can have changed (see the module's docstring)."""
    respondents = session.execute(
        select(func.count(Respondent.id), func.max(Respondent.id)).where(Respondent.project_id == project_id)
    ).one()
    source = session.scalar(select(func.max(Source.id)).where(Source.project_id == project_id))
    return (*run_stamp(session, project_id), *respondents, source)


class SegmentCounts:
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._counts: OrderedDict[tuple[int, Any], tuple[tuple[Any, ...], int]] = OrderedDict()

    def count(self, session: Session, project: Project, flt: Any, count: Callable[[Any], int]) -> int:
        """``count(flt)``, or the count kept from an earlier call when nothing it depends on changed."""
        used = {f.name for f in fields(flt) if getattr(flt, f.name) is not None}
        if not used <= CACHEABLE:
            return count(flt)
        if flt.hide_blind_for is not None:
            if _has_open_tasks(session, project.id, flt.hide_blind_for):
                return count(flt)
            flt = replace(flt, hide_blind_for=None)  # hides nothing: the same count as without it
        stamp = content_stamp(session, project.id)
        key = (project.id, flt)
        with self._lock:
            kept = self._counts.get(key)
            if kept is not None and kept[0] == stamp:
                self._counts.move_to_end(key)
                return kept[1]
        value = count(flt)
        with self._lock:
            self._counts[key] = (stamp, value)
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_entries:
                self._counts.popitem(last=False)
        return value


def _has_open_tasks(session: Session, project_id: int, user_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    CodingTask.project_id == project_id,
                    CodingTask.user_id == user_id,
                    CodingTask.completed_at.is_(None),
                )
            )
        )
    )

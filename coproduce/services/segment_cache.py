"""Counts and id lists of a question's segments kept between requests.

Counting a question's segments walks all of them (56,000 on a 50,000-response project: 35 ms of a
core on SQLite), and the review queue shows that count ("N segments match") on every page a reviewer
opens; a search by meaning needs every candidate's id (110 ms on PostgreSQL). What these depend on
changes rarely: segments are made only by an analysis run, and they go only when respondents are
erased (by hand or by retention). So :class:`SegmentCache` keeps the count and the ids of a filter on
question and keyword only (the queue's usual view, paging through a keyword search, a search by
meaning within a question), checked against :func:`content_stamp` on every use:

- the latest analysis run (id, status, end): a run that rewrote segments;
- the project's respondents (number, highest id) and sources (highest id): an erasure, retention or
  import.

A reviewer's unfinished blind-coding tasks hide segments from them; when the viewer has any, the count
or ids are made afresh. Filters on anything a review action changes (status, stance, codes, seen
marks, flags, themes) are never cached. One object per process (the web app keeps one in
``app.extensions``); an id list takes 8 bytes a segment.
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

# The SegmentFilter fields a count may be cached for; hide_blind_for is handled apart. A segment's text
# never changes, so a keyword's count holds as long as the segments do (paging through the results of a
# search counts once).
CACHEABLE = frozenset({"question", "text", "hide_blind_for"})


def content_stamp(session: Session, project_id: int) -> tuple[Any, ...]:
    """What changes whenever the project's segments can have changed (see the module's docstring)."""
    respondents = session.execute(
        select(func.count(Respondent.id), func.max(Respondent.id)).where(Respondent.project_id == project_id)
    ).one()
    source = session.scalar(select(func.max(Source.id)).where(Source.project_id == project_id))
    return (*run_stamp(session, project_id), *respondents, source)


class SegmentCache:
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, int, Any], tuple[tuple[Any, ...], Any]] = OrderedDict()

    def count(self, session: Session, project: Project, flt: Any, count: Callable[[Any], int]) -> int:
        """``count(flt)``, or the count kept from an earlier call when nothing it depends on changed."""
        return self._kept_or_made("count", session, project, flt, count)

    def ids(self, session: Session, project: Project, flt: Any, ids: Callable[[Any], list[int]]) -> list[int]:
        """``ids(flt)`` (a list the caller must not change), kept like :meth:`count`."""
        return self._kept_or_made("ids", session, project, flt, ids)

    def _kept_or_made(self, kind: str, session: Session, project: Project, flt: Any, make: Callable[[Any], Any]) -> Any:
        used = {f.name for f in fields(flt) if getattr(flt, f.name) is not None}
        if not used <= CACHEABLE:
            return make(flt)
        if flt.hide_blind_for is not None:
            if _has_open_tasks(session, project.id, flt.hide_blind_for):
                return make(flt)
            flt = replace(flt, hide_blind_for=None)  # hides nothing: the same result as without it
        stamp = content_stamp(session, project.id)
        key = (kind, project.id, flt)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == stamp:
                self._kept.move_to_end(key)
                return kept[1]
        value = make(flt)
        with self._lock:
            self._kept[key] = (stamp, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)
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

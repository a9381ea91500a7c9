"""Kept counts of a question's segments: served while nothing they depend on changed, made afresh otherwise."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coproduce.services.segment_cache import SegmentCache, content_stamp
from coproduce.services.segment_filters import SegmentFilter, count_segments, filtered_segments, matching_segment_ids
from coproduce.store.models import AnalysisRun, CodingTask, Project, Respondent, Response, Segment, Source, User
from tests.services.conftest import Seed
from tests.services.conftest import seeded_project as project
from tests.webui import conftest as web

make_user = web.make_user


class Counting:
    """The real count, remembering how often it was asked."""

    def __init__(self, db: Session, project: Project) -> None:
        self.db, self.project, self.calls = db, project, 0

    def __call__(self, flt: SegmentFilter) -> int:
        self.calls += 1
        return count_segments(self.db, self.project, flt)


def test_a_question_count_is_kept_until_the_segments_can_have_changed(db: Session, seed: Seed) -> None:
    counts, p = SegmentCache(), project(db)
    counting = Counting(db, p)
    question = SegmentFilter(question=1)
    assert counts.count(db, p, question, counting) == 2
    assert counts.count(db, p, question, counting) == 2
    assert counting.calls == 1

    # A new analysis run may have rewritten the segments: counted again.
    db.add(AnalysisRun(project_id=p.id, config_hash="x" * 64, status="running"))
    db.flush()
    assert counts.count(db, p, question, counting) == 2
    assert counting.calls == 2

    # A respondent erased (here: deleted with their segments): counted again, and the new figure is right.
    gone = seed.segment_ids[1]
    respondent = respondent_of(db, gone)
    db.execute(delete(Segment).where(Segment.id == gone))
    db.execute(delete(Respondent).where(Respondent.id == respondent))
    db.flush()
    assert counts.count(db, p, question, counting) == 1
    assert counting.calls == 3


def respondent_of(db: Session, segment_id: int) -> int:
    return db.scalars(
        select(Response.respondent_id).join(Segment, Segment.response_id == Response.id).where(Segment.id == segment_id)
    ).one()


def test_an_import_changes_the_stamp(db: Session, seed: Seed) -> None:
    p = project(db)
    before = content_stamp(db, p.id)
    db.add(Source(project_id=p.id, filename="more.csv", sha256="f" * 64, size_bytes=10, importer="survey"))
    db.flush()
    assert content_stamp(db, p.id) != before


def test_filters_a_review_action_changes_are_never_kept(db: Session, seed: Seed) -> None:
    counts, p = SegmentCache(), project(db)
    counting = Counting(db, p)
    for flt in (
        SegmentFilter(question=1, status="suggested"),
        SegmentFilter(question=1, stance="concern"),
        SegmentFilter(code=seed.code_keys[0]),
        SegmentFilter(question=1, unseen_by=1),
        SegmentFilter(theme=seed.theme_id),
    ):
        counts.count(db, p, flt, counting)
        counts.count(db, p, flt, counting)
    assert counting.calls == 10


def test_open_blind_coding_tasks_are_counted_afresh(db: Session, seed: Seed, make_user: Callable[[str], str]) -> None:
    counts, p = SegmentCache(), project(db)
    counting = Counting(db, p)
    user = db.scalars(select(User).where(User.email == make_user("parent_carer"))).one()
    hidden = SegmentFilter(question=1, hide_blind_for=user.id)
    assert counts.count(db, p, hidden, counting) == 2
    assert counts.count(db, p, hidden, counting) == 2
    assert counting.calls == 1  # no tasks: the same count as without hiding, kept
    db.add(CodingTask(project_id=p.id, sample_key="s1", segment_id=seed.segment_ids[0], user_id=user.id))
    db.flush()
    assert counts.count(db, p, hidden, counting) == 1
    assert counts.count(db, p, hidden, counting) == 1
    assert counting.calls == 3


def test_pages_with_kept_counts_equal_pages_without(db: Session, seed: Seed) -> None:
    counts, p = SegmentCache(), project(db)
    for flt in (SegmentFilter(question=1), SegmentFilter(question=2), SegmentFilter(question=1, status="accepted")):
        for page in (1, 2):
            kept = filtered_segments(db, p, flt, page, 1, counts=counts)
            fresh = filtered_segments(db, p, flt, page, 1)
            assert (kept.total, kept.number, [r.id for r in kept.items]) == (
                fresh.total,
                fresh.number,
                [r.id for r in fresh.items],
            )


def test_id_lists_are_kept_like_counts(db: Session, seed: Seed) -> None:
    cache, p = SegmentCache(), project(db)
    asked: list[SegmentFilter] = []

    def ids(flt: SegmentFilter) -> list[int]:
        asked.append(flt)
        return matching_segment_ids(db, p, flt)

    question = SegmentFilter(question=1)
    assert cache.ids(db, p, question, ids) == sorted(seed.segment_ids)
    assert cache.ids(db, p, question, ids) == sorted(seed.segment_ids)
    assert cache.count(db, p, question, lambda f: 99) == 99  # counts and ids are kept apart
    assert len(asked) == 1
    db.add(AnalysisRun(project_id=p.id, config_hash="x" * 64, status="running"))
    db.flush()
    cache.ids(db, p, question, ids)
    assert len(asked) == 2

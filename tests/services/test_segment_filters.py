"""Segment filters: each field narrows the list, the rows carry what review needs, one project only, no N+1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from coproduce.services.segment_filters import (
    SegmentFilter,
    filter_options,
    filtered_segments,
    ids_in_project,
    matching_segments,
    segment_rows,
)
from coproduce.store.models import (
    CodeAssignment,
    CodingTask,
    Response,
    Segment,
    SegmentSeen,
    User,
    utcnow,
)
from tests.services.conftest import Seed
from tests.services.conftest import seeded_project as project
from tests.webui import conftest as web


def ids(db: Session, seed: Seed, **fields: object) -> list[int]:
    page = filtered_segments(db, project(db), SegmentFilter(**fields), 1, 50)  # type: ignore[arg-type]
    return [row.id for row in page.items]


def test_without_a_filter_every_segment_of_the_project_in_reading_order(db: Session, seed: Seed) -> None:
    page = filtered_segments(db, project(db), SegmentFilter(), 1, 10)
    assert page.total == 2
    assert [row.id for row in page.items] == list(seed.segment_ids)
    first, second = page.items
    assert first.text == web.REDACTED
    assert (first.question_number, first.respondent_type, first.stance_key) == (1, "parent_carer", "concern")
    assert first.question_text == "What has worked well for your family?"
    assert first.flagged and not second.flagged
    assert [(c.assignment_id, c.code_key, c.status, c.origin, c.confidence) for c in first.codes] == [
        (seed.assignment_ids[0], "WAIT", "suggested", "model", 0.8)
    ]
    assert [t.id for t in first.themes] == [seed.theme_id]
    assert second.themes == ()
    assert first.seen is None  # no viewer given


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"question": 1}, (0, 1)),
        ({"question": 2}, ()),
        ({"code": "WAIT"}, (0,)),
        ({"code": "MORE"}, (1,)),
        ({"standard": "S1"}, (0,)),
        ({"respondent_type": "professional"}, (1,)),
        ({"respondent_type": "young_person"}, ()),
        ({"stance": "concern"}, (0, 1)),
        ({"stance": "recommend"}, ()),
        ({"scale_answer": "Agree"}, (0,)),  # respondent 1 agreed on question 2
        ({"scale_answer": "Disagree"}, (1,)),
        ({"scale_answer": "Agree", "scale_question": 2}, (0,)),
        ({"scale_answer": "Agree", "scale_question": 1}, ()),
        ({"flagged": True}, (0,)),
        ({"flagged": False}, (1,)),
        ({"status": "suggested"}, (0, 1)),
        ({"status": "accepted"}, ()),
        ({"text": "WAITED two"}, (0,)),
        ({"text": "%"}, ()),  # a LIKE wildcard is a plain character here
        ({"code": "WAIT", "respondent_type": "professional"}, ()),
    ],
)
def test_each_filter_narrows_the_list(db: Session, seed: Seed, fields: dict, expected: tuple[int, ...]) -> None:
    assert ids(db, seed, **fields) == [seed.segment_ids[i] for i in expected]


def test_theme_filter(db: Session, seed: Seed) -> None:
    assert ids(db, seed, theme=seed.theme_id) == [seed.segment_ids[0]]
    assert ids(db, seed, theme=seed.theme_id + 999) == []


def test_code_filter_follows_the_assignment_status(db: Session, seed: Seed) -> None:
    db.get(CodeAssignment, seed.assignment_ids[0]).status = "rejected"
    db.flush()
    assert ids(db, seed, code="WAIT") == []  # a rejected code is not on the segment any more
    assert ids(db, seed, code="WAIT", status="rejected") == [seed.segment_ids[0]]
    assert ids(db, seed, standard="S1", status="rejected") == [seed.segment_ids[0]]


def test_unseen_by_a_person(db: Session, seed: Seed) -> None:
    user = User(email="seer@example.org", display_name="Seer", password_hash="x")
    db.add(user)
    db.flush()
    assert ids(db, seed, unseen_by=user.id) == list(seed.segment_ids)
    db.add(SegmentSeen(user_id=user.id, segment_id=seed.segment_ids[0]))
    db.flush()
    assert ids(db, seed, unseen_by=user.id) == [seed.segment_ids[1]]
    rows = filtered_segments(db, project(db), SegmentFilter(), 1, 10, viewer_id=user.id).items
    assert [row.seen for row in rows] == [True, False]


def test_a_coders_unfinished_blind_tasks_are_hidden_from_them_only(db: Session, seed: Seed) -> None:
    coder = User(email="blind@example.org", display_name="Blind coder", password_hash="x")
    other = User(email="other@example.org", display_name="Other", password_hash="x")
    db.add_all([coder, other])
    db.flush()
    task = CodingTask(project_id=project(db).id, sample_key="s1", segment_id=seed.segment_ids[0], user_id=coder.id)
    db.add(task)
    db.flush()
    assert ids(db, seed, hide_blind_for=coder.id) == [seed.segment_ids[1]]
    assert ids(db, seed, hide_blind_for=other.id) == list(seed.segment_ids)
    assert not SegmentFilter(hide_blind_for=coder.id).active  # not a filter the person chose
    task.completed_at = utcnow()
    db.flush()
    assert ids(db, seed, hide_blind_for=coder.id) == list(seed.segment_ids)


def test_pages_and_a_page_past_the_end(db: Session, seed: Seed) -> None:
    second = filtered_segments(db, project(db), SegmentFilter(), 2, 1)
    assert (second.number, second.pages, second.total) == (2, 2, 2)
    assert [r.id for r in second.items] == [seed.segment_ids[1]]
    assert filtered_segments(db, project(db), SegmentFilter(), 99, 1).number == 2
    empty = filtered_segments(db, project(db), SegmentFilter(question=2), 3, 1)
    assert (empty.number, empty.total, empty.items) == (1, 0, [])


def test_only_the_projects_own_segments(db: Session, seed: Seed) -> None:
    foreign = Segment(response_id=seed.other_response_id, position=0, start=0, end=9, text="Elsewhere")
    db.add(foreign)
    db.flush()
    assert foreign.id not in ids(db, seed)
    assert ids(db, seed, text="Elsewhere") == []
    assert segment_rows(db, project(db), [foreign.id, seed.segment_ids[0]]) == segment_rows(
        db, project(db), [seed.segment_ids[0]]
    )
    assert ids_in_project(db, project(db), [foreign.id, *seed.segment_ids]) == set(seed.segment_ids)
    assert [i for i, _ in matching_segments(db, project(db, "hidden-project"), SegmentFilter())] == [foreign.id]


def test_segment_rows_keep_the_order_given(db: Session, seed: Seed) -> None:
    backwards = list(reversed(seed.segment_ids))
    assert [r.id for r in segment_rows(db, project(db), backwards)] == backwards


def test_status_must_be_known() -> None:
    with pytest.raises(ValueError, match="status"):
        SegmentFilter(status="maybe")


@contextmanager
def counting(db: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(db: Session, seed: Seed) -> None:
    response = db.get(Response, seed.personal_response_id)
    extra = [Segment(response_id=response.id, position=i, start=0, end=3, text=f"more {i}") for i in range(1, 31)]
    db.add_all(extra)
    db.flush()
    db.add_all(CodeAssignment(segment_id=s.id, code_id=1, origin="model", confidence=0.5) for s in extra)
    db.flush()
    the_project = project(db)
    with counting(db) as small:
        filtered_segments(db, the_project, SegmentFilter(), 1, 1, viewer_id=1)
    with counting(db) as large:
        page = filtered_segments(db, the_project, SegmentFilter(), 1, 32, viewer_id=1)
    assert len(page.items) == 32
    assert len(large) == len(small) <= 7


def test_filter_options(db: Session, seed: Seed) -> None:
    options = filter_options(db, project(db))
    assert [n for n, _ in options.questions] == [1, 2]
    assert [k for k, _ in options.codes] == ["MORE", "WAIT"]
    assert options.standards == [("S1", "Timely assessment")]
    assert options.themes == [(seed.theme_id, "Long waits for assessment")]
    assert options.respondent_types == ["parent_carer", "professional", "young_person"]
    assert [k for k, _ in options.stances] == ["recommend", "concern", "experience"]
    assert options.scale_answers == [(2, "Agree"), (2, "Disagree"), (2, "Strongly unsure")]
    assert options.statuses == ("suggested", "accepted", "rejected")

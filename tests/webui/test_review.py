"""The review queue: what it shows, its filters (unseen by me included), every action with post/redirect/get
back to the same filtered page, errors on the form, and respondent text kept as text."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import AuditEvent, CodeAssignment, ReviewDecision, Segment, SegmentSeen
from tests.webui.conftest import HOSTILE, PERSONAL, REDACTED, Seed

Login = Callable[[str], FlaskClient]


def url(seed: Seed, tail: str = "") -> str:
    return f"/projects/{seed.project_slug}/review{tail}"


def page_of(client: FlaskClient, address: str) -> str:
    response = client.get(address)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_queue_shows_segments_with_their_codes_and_actions(login_as: Login, seed: Seed) -> None:
    page = page_of(login_as("young_person"), url(seed))
    assert "Review segments" in page
    assert REDACTED in page and PERSONAL not in page
    assert "2 segments match" in page
    assert "Waiting times" in page and "80%" in page and "60%" in page
    assert f'id="accept-{seed.assignment_ids[0]}"' in page
    assert f'id="reject-{seed.assignment_ids[0]}"' in page
    assert f'id="to-code-{seed.assignment_ids[0]}"' in page
    assert f'id="add-code-{seed.segment_ids[0]}"' in page and f'id="stance-{seed.segment_ids[0]}"' in page
    assert f'id="select-{seed.assignment_ids[0]}"' in page and 'form="bulk-form"' in page
    assert "Accept selected" in page and "Reject selected" in page
    assert "Only segments I have not seen" in page
    assert "Keyboard shortcuts" in page and "<kbd>j or ↓</kbd>" in page
    assert 'src="/static/review.js"' in page
    assert "Long waits for assessment" in page  # the theme
    assert "Not seen by you" in page and "Safeguarding flag" in page


def test_observers_may_not_open_review(login_as: Login, seed: Seed) -> None:
    assert login_as("observer").get(url(seed)).status_code == 403


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("?code=WAIT", 0, 1),
        ("?code=MORE", 1, 0),
        ("?respondent_type=professional", 1, 0),
        ("?flag=yes", 0, 1),
        ("?scale=2%3AAgree", 0, 1),
        ("?scale=%3ADisagree", 1, 0),
        ("?theme={theme}", 0, 1),
        ("?standard=S1", 0, 1),
    ],
)
def test_filters(login_as: Login, seed: Seed, query: str, shown: int, hidden: int) -> None:
    page = page_of(login_as("analyst"), url(seed, query.format(theme=seed.theme_id)))
    assert f'id="segment-{seed.segment_ids[shown]}"' in page
    assert f'id="segment-{seed.segment_ids[hidden]}"' not in page
    assert "1 segment matches" in page


def test_unknown_filter_values_are_ignored(login_as: Login, seed: Seed) -> None:
    page = page_of(login_as("analyst"), url(seed, "?code=NOPE&question=x&theme=99999&scale=Agree&status=maybe"))
    assert "2 segments match" in page


def test_unseen_by_me(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    client = login_as("parent_carer")
    response = client.post(url(seed, "/seen"), data={"segment_id": [seed.segment_ids[0]], "return_to": "unseen=1"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"unseen": ["1"]}
    page = page_of(client, response.headers["Location"])
    assert "1 segment marked as seen." in page
    assert f'id="segment-{seed.segment_ids[0]}"' not in page
    assert f'id="segment-{seed.segment_ids[1]}"' in page
    # Someone else has seen nothing yet.
    with session_factory() as session:
        assert session.scalars(select(SegmentSeen.segment_id)).all() == [seed.segment_ids[0]]


def test_accept_redirects_back_to_the_filtered_page_at_the_segment(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as("professional")
    response = client.post(
        url(seed, "/decide"),
        data={"assignment_id": seed.assignment_ids[0], "decision": "accept", "return_to": "code=WAIT&page=1"},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == url(seed)
    assert parse_qs(location.query) == {"code": ["WAIT"]}
    assert location.fragment == f"segment-{seed.segment_ids[0]}"
    page = page_of(client, response.headers["Location"])
    assert "Code “Waiting times” accepted." in page
    assert "govuk-notification-banner--success" in page
    with session_factory() as session:
        assert session.get(CodeAssignment, seed.assignment_ids[0]).status == "accepted"
        assert session.scalars(select(ReviewDecision.action)).all() == ["accept"]
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "review.accept")).all()
        assert session.scalars(select(SegmentSeen.segment_id)).all() == [seed.segment_ids[0]]


def test_return_to_keeps_only_known_filters(login_as: Login, seed: Seed) -> None:
    response = login_as("analyst").post(
        url(seed, "/decide"),
        data={
            "assignment_id": seed.assignment_ids[0],
            "decision": "reject",
            "return_to": "next=https://evil.example&code=WAIT",
        },
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location and urlsplit(location).path == url(seed)


def test_recode_add_code_and_stance(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    client = login_as("analyst")
    recoded = client.post(url(seed, "/recode"), data={"assignment_id": seed.assignment_ids[0], "to_code": "MORE"})
    assert recoded.status_code == 302
    assert "Recoded from “Waiting times” to “More support”." in page_of(client, recoded.headers["Location"])
    added = client.post(url(seed, "/add-code"), data={"segment_id": seed.segment_ids[1], "code": "WAIT"})
    assert urlsplit(added.headers["Location"]).fragment == f"segment-{seed.segment_ids[1]}"
    stance = client.post(url(seed, "/stance"), data={"segment_id": seed.segment_ids[1], "stance": "recommend"})
    assert "Stance set to “Recommend”." in page_of(client, stance.headers["Location"])
    with session_factory() as session:
        rows = session.scalars(select(CodeAssignment).order_by(CodeAssignment.id)).all()
        assert [(r.segment_id, r.code.key, r.origin, r.status) for r in rows] == [
            (seed.segment_ids[0], "WAIT", "model", "rejected"),
            (seed.segment_ids[1], "MORE", "model", "suggested"),
            (seed.segment_ids[0], "MORE", "human", "accepted"),
            (seed.segment_ids[1], "WAIT", "human", "accepted"),
        ]
        segment = session.get(Segment, seed.segment_ids[1])
        assert (segment.stance.key, segment.stance_origin) == ("recommend", "human")
        assert session.scalars(select(ReviewDecision.action).order_by(ReviewDecision.id)).all() == ["recode", "add"]


def test_bulk(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    client = login_as("admin")
    response = client.post(
        url(seed, "/bulk"), data={"assignment_id": list(seed.assignment_ids), "action": "reject", "return_to": ""}
    )
    assert response.status_code == 302
    assert "2 codes rejected." in page_of(client, response.headers["Location"])
    with session_factory() as session:
        assert {session.get(CodeAssignment, i).status for i in seed.assignment_ids} == {"rejected"}


def test_bulk_without_a_selection_shows_an_error(login_as: Login, seed: Seed) -> None:
    response = login_as("analyst").post(url(seed, "/bulk"), data={"action": "accept", "return_to": "code=WAIT"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and 'href="#bulk-actions"' in page
    assert "Select at least one code" in page
    assert "1 segment matches" in page  # the same filtered page


def test_recode_errors_show_on_the_form(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    client = login_as("analyst")
    field = f"to-code-{seed.assignment_ids[0]}"
    empty = client.post(url(seed, "/recode"), data={"assignment_id": seed.assignment_ids[0], "to_code": ""})
    assert empty.status_code == 400
    page = empty.get_data(as_text=True)
    assert f'href="#{field}"' in page and "Select the code to recode to" in page
    assert f'id="{field}-error"' in page
    unknown = client.post(url(seed, "/recode"), data={"assignment_id": seed.assignment_ids[0], "to_code": "ELSE"})
    assert unknown.status_code == 400
    assert "not a code of this project" in unknown.get_data(as_text=True)
    with session_factory() as session:
        assert session.get(CodeAssignment, seed.assignment_ids[0]).status == "suggested"
        assert session.scalars(select(ReviewDecision)).all() == []


def test_another_projects_rows_are_not_found(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        segment = Segment(response_id=seed.other_response_id, position=0, start=0, end=9, text="Elsewhere")
        session.add(segment)
        session.flush()
        row = CodeAssignment(segment_id=segment.id, code_id=1, origin="model")
        session.add(row)
        session.flush()
        foreign_segment, foreign_row = segment.id, row.id
    client = login_as("admin")
    assert (
        client.post(url(seed, "/decide"), data={"assignment_id": foreign_row, "decision": "accept"}).status_code == 404
    )
    assert (
        client.post(url(seed, "/stance"), data={"segment_id": foreign_segment, "stance": "concern"}).status_code == 404
    )
    assert client.post(url(seed, "/decide"), data={"assignment_id": "x", "decision": "accept"}).status_code == 400
    assert "Elsewhere" not in page_of(client, url(seed))


def test_hostile_text_is_shown_as_text(login_as: Login, seed: Seed, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        session.add(Segment(response_id=seed.hostile_response_id, position=0, start=0, end=len(HOSTILE), text=HOSTILE))
    page = page_of(login_as("young_person"), url(seed, "?respondent_type=young_person"))
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_pages(login_as: Login, seed: Seed) -> None:
    client = login_as("analyst")  # the test app shows two segments a page
    with_filter = page_of(client, url(seed, "?question=1&page=2"))
    assert "2 segments match" in with_filter
    response = client.post(
        url(seed, "/decide"),
        data={"assignment_id": seed.assignment_ids[1], "decision": "accept", "return_to": "question=1&page=2"},
    )
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"question": ["1"], "page": ["2"]}

"""Agreement pages: drawing a sample, blind coding (no model codes, nobody else's task) and the figures."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import AuditEvent, Code, CodingTask, ReviewDecision, User
from tests.webui.conftest import PASSWORD, PERSONAL, Seed


def p(seed: Seed, tail: str = "") -> str:
    return f"/projects/{seed.project_slug}{tail}"


def _user_id(session_factory: sessionmaker[Session], email: str) -> int:
    with session_factory() as session:
        return session.scalar(select(User.id).where(User.email == email))


def _switch(client: FlaskClient, make_user: Callable[[str], str], grant: str) -> FlaskClient:
    client.post("/sign-out")
    assert client.post("/sign-in", data={"email": make_user(grant), "password": PASSWORD}).status_code == 302
    return client


def _draw(
    client: FlaskClient, make_user: Callable[[str], str], seed: Seed, session_factory: sessionmaker[Session]
) -> tuple[int, int]:
    coders = [_user_id(session_factory, make_user(g)) for g in ("parent_carer", "young_person")]
    response = client.post(
        p(seed, "/agreement/samples"), data={"size": "2", "seed": "5", "coders": [str(c) for c in coders]}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return coders[0], coders[1]


def _tasks(session_factory: sessionmaker[Session], user_id: int) -> list[int]:
    with session_factory() as session:
        return list(session.scalars(select(CodingTask.id).where(CodingTask.user_id == user_id).order_by(CodingTask.id)))


def test_staff_page_has_captioned_tables_and_the_draw_form(
    login_as: Callable[[str], FlaskClient], make_user: Callable[[str], str], seed: Seed
) -> None:
    make_user("parent_carer")
    make_user("professional")
    page = login_as("analyst").get(p(seed, "/agreement")).get_data(as_text=True)
    assert "Krippendorff’s alpha (nominal) per code and overall" in page
    assert "Model against panel: precision, recall and F1 per code and overall" in page
    assert "No sample has been drawn yet." in page
    assert 'id="draw-form"' in page
    assert "parent_carer (Parent carer)" in page and "professional (Professional)" in page
    assert "Not defined" in page  # nothing coded yet: alpha is undefined, not 1


def test_drawing_a_sample_assigns_tasks_and_is_audited(
    login_as: Callable[[str], FlaskClient],
    make_user: Callable[[str], str],
    seed: Seed,
    session_factory: sessionmaker[Session],
) -> None:
    client = login_as("admin")
    pat, yan = _draw(client, make_user, seed, session_factory)
    assert len(_tasks(session_factory, pat)) == len(_tasks(session_factory, yan)) == 2
    page = client.get(p(seed, "/agreement")).get_data(as_text=True)
    assert "sample-1" in page and "parent_carer: 0 of 2 coded" in page
    with session_factory() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.draw_sample")).one()


def test_drawing_with_one_coder_is_refused_with_an_error_summary(
    login_as: Callable[[str], FlaskClient], make_user: Callable[[str], str], seed: Seed, session_factory
) -> None:
    client = login_as("admin")
    only = _user_id(session_factory, make_user("parent_carer"))
    response = client.post(p(seed, "/agreement/samples"), data={"size": "1", "seed": "1", "coders": [str(only)]})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and 'href="#coders"' in page and "at least 2 panel members" in page
    response = client.post(p(seed, "/agreement/samples"), data={"size": "lots", "seed": "1"})
    assert "Enter the sample size as a whole number" in response.get_data(as_text=True)


def test_blind_coding_flow_shows_no_model_codes_and_moves_to_the_next_task(
    login_as: Callable[[str], FlaskClient],
    make_user: Callable[[str], str],
    seed: Seed,
    session_factory: sessionmaker[Session],
) -> None:
    client = login_as("admin")
    pat, _yan = _draw(client, make_user, seed, session_factory)
    first, second = _tasks(session_factory, pat)
    with session_factory() as session:
        wait = session.scalar(select(Code.id).where(Code.key == "WAIT"))

    _switch(client, make_user, "parent_carer")
    listing = client.get(p(seed, "/blind-coding")).get_data(as_text=True)
    assert "To code (2)" in listing and 'id="start-coding"' in listing
    page = client.get(p(seed, f"/blind-coding/{first}")).get_data(as_text=True)
    assert "Waiting times" in page and "More support" in page  # every framework code is offered
    assert not re.search(r"<input[^>]*checked", page)  # nothing pre-ticked: the model's WAIT is not shown
    for hint in ("0.8", "onfidence", "uggest", "model"):
        assert hint not in page
    assert PERSONAL not in page

    response = client.post(p(seed, "/blind-coding"), data={"task_id": str(first), "codes": [str(wait)]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/blind-coding/{second}")
    response = client.post(p(seed, "/blind-coding"), data={"task_id": str(second)})  # none of these apply
    assert response.status_code == 302 and response.headers["Location"].endswith("/blind-coding")
    assert "Nothing left to code" in client.get(p(seed, "/blind-coding/next")).get_data(as_text=True)
    again = client.post(p(seed, "/blind-coding"), data={"task_id": str(first)})
    assert again.status_code == 400 and "already coded" in again.get_data(as_text=True)

    # The other coder sees the same segment without the first coder's choice.
    _switch(client, make_user, "young_person")
    theirs = client.get(p(seed, "/blind-coding/next")).get_data(as_text=True)
    assert "Code a segment" in theirs and not re.search(r"<input[^>]*checked", theirs)
    with session_factory() as session:
        rows = session.scalars(select(ReviewDecision).where(ReviewDecision.user_id == pat)).all()
        assert [(r.to_code_id, r.blind, r.action) for r in rows] == [(wait, True, "add")]
        assert {
            t.completed_at is not None for t in session.scalars(select(CodingTask).where(CodingTask.user_id == pat))
        } == {True}


def test_another_coders_task_is_refused(
    login_as: Callable[[str], FlaskClient],
    make_user: Callable[[str], str],
    seed: Seed,
    session_factory: sessionmaker[Session],
) -> None:
    client = login_as("admin")
    pat, _yan = _draw(client, make_user, seed, session_factory)
    task = _tasks(session_factory, pat)[0]
    _switch(client, make_user, "young_person")
    assert client.get(p(seed, f"/blind-coding/{task}")).status_code == 404
    response = client.post(p(seed, "/blind-coding"), data={"task_id": str(task)})
    assert response.status_code == 400
    assert "not one of yours to code" in response.get_data(as_text=True)
    with session_factory() as session:
        assert session.scalars(select(ReviewDecision)).all() == []
        assert session.get(CodingTask, task).completed_at is None
    # A professional who was not chosen has nothing to do.
    _switch(client, make_user, "professional")
    assert "You have nothing waiting to code." in client.get(p(seed, "/blind-coding")).get_data(as_text=True)


def test_agreement_figures_after_both_coders_finish(
    login_as: Callable[[str], FlaskClient],
    make_user: Callable[[str], str],
    seed: Seed,
    session_factory: sessionmaker[Session],
) -> None:
    client = login_as("admin")
    pat, yan = _draw(client, make_user, seed, session_factory)
    with session_factory() as session:
        wait = session.scalar(select(Code.id).where(Code.key == "WAIT"))
    for grant, user_id in (("parent_carer", pat), ("young_person", yan)):
        _switch(client, make_user, grant)
        for number, task in enumerate(_tasks(session_factory, user_id)):
            client.post(p(seed, "/blind-coding"), data={"task_id": str(task), "codes": [str(wait)] if number else []})
    _switch(client, make_user, "admin")
    page = client.get(p(seed, "/agreement?sample=sample-1")).get_data(as_text=True)
    assert "Sample sample-1 only" in page
    assert "1.000" in page  # WAIT: both coders agree on both segments
    assert "2 coders have finished" in page
    assert client.get(p(seed, "/agreement?sample=nope")).status_code == 404

"""Easy read: the per-person switch (POST with CSRF, a class on <body>) and the one-finding-per-page walk."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import Finding
from tests.webui.conftest import PERSONAL, Seed


def body_classes(page: str) -> str:
    return re.search(r'<body class="([^"]*)"', page).group(1)


def walk(seed: Seed, position: int | None = None) -> str:
    base = f"/projects/{seed.project_slug}/easy-read"
    return base if position is None else f"{base}/{position}"


def test_toggle_turns_easy_read_on_and_off(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as("young_person")
    overview = f"/projects/{seed.project_slug}"
    page = client.get(overview).get_data(as_text=True)
    assert "app-easy-read" not in body_classes(page)
    assert 'id="easy-read-toggle"' in page and "Turn on easy read" in page
    response = client.post("/easy-read", data={"easy_read": "on", "next": overview})
    assert response.status_code == 302
    assert response.headers["Location"] == overview
    page = client.get(overview).get_data(as_text=True)
    assert "app-easy-read" in body_classes(page)
    assert "Turn off easy read" in page
    assert 'name="easy_read" value="off"' in page
    # Every page carries it, not only the easy-read ones.
    assert "app-easy-read" in body_classes(client.get("/projects/").get_data(as_text=True))
    client.post("/easy-read", data={"easy_read": "off", "next": overview})
    assert "app-easy-read" not in body_classes(client.get(overview).get_data(as_text=True))


def test_toggle_goes_back_only_to_this_site(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("parent_carer")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/easy-read", data={"easy_read": "on", "next": target})
        assert response.headers["Location"] == "/", target
    # Without a next field, the page the form was on (same site only).
    response = client.post("/easy-read", data={"easy_read": "on"}, headers={"Referer": "http://localhost/projects/"})
    assert response.headers["Location"] == "/projects/"
    response = client.post("/easy-read", data={"easy_read": "on"}, headers={"Referer": "http://evil.example/x"})
    assert response.headers["Location"] == "/"


def test_toggle_refuses_other_values(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("parent_carer")
    assert client.post("/easy-read", data={"easy_read": "maybe"}).status_code == 400


def test_toggle_needs_a_csrf_token(app: Flask, login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("young_person")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/easy-read", data={"easy_read": "on"})
    assert response.status_code == 400
    assert "app-easy-read" not in body_classes(client.get("/projects/").get_data(as_text=True))
    page = client.get("/projects/").get_data(as_text=True)
    token = re.search(r'id="easy-read-toggle">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert token, "the toggle form carries a CSRF token"
    response = client.post("/easy-read", data={"easy_read": "on", "csrf_token": token.group(1), "next": "/projects/"})
    assert response.status_code == 302
    assert "app-easy-read" in body_classes(client.get("/projects/").get_data(as_text=True))


def test_start_page_lists_every_finding(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("young_person").get(walk(seed)).get_data(as_text=True)
    assert "What people told us" in page
    assert "There are 4 things to read." in page
    assert f'href="{walk(seed, 1)}"' in page and 'id="easy-read-start"' in page
    for n in range(1, 5):
        assert f'href="{walk(seed, n)}"' in page


def test_one_finding_per_page_with_previous_and_next(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as("young_person")
    first = client.get(walk(seed, 1)).get_data(as_text=True)
    assert "Finding 1 of 4" in first
    assert first.count("<h1") == 1 and "Waiting times</h1>" in first
    assert 'id="easy-read-previous"' not in first
    assert re.search(rf'<a href="{walk(seed, 2)}"[^>]*class="govuk-button[^"]*"[^>]*id="easy-read-next"', first, re.S)
    middle = client.get(walk(seed, 2)).get_data(as_text=True)
    assert "Finding 2 of 4" in middle
    assert (
        f'href="{walk(seed, 1)}"' in middle
        and 'id="easy-read-previous"' in middle
        and re.search(r">\s*Previous<span", middle)
    )
    assert 'id="easy-read-next"' in middle
    last = client.get(walk(seed, 4)).get_data(as_text=True)
    assert "Finding 4 of 4" in last and "Timely assessment</h1>" in last
    assert 'id="easy-read-next"' not in last and 'id="easy-read-finish"' in last
    for outside in (0, 5):
        assert client.get(walk(seed, outside)).status_code == 404


def test_plain_words_numbers_as_n_out_of_m_and_icons_with_text(
    login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    page = login_as("parent_carer").get(walk(seed, 1)).get_data(as_text=True)
    lines = re.findall(r"<li>\s*<svg class=\"app-icon\"(.*?)</svg><span>(.*?)</span></li>", page, re.S)
    texts = [text for _, text in lines]
    assert "1 out of 3 people talked about this." in texts
    assert "1 out of 1 parent carer talked about this." in texts
    assert "1 out of 1 of them said something is wrong or worrying." in texts
    assert all('aria-hidden="true"' in svg and 'focusable="false"' in svg for svg, _ in lines)
    assert all(text.strip() for _, text in lines)  # never an icon alone
    main = page[page.index('id="main-content"') :]
    assert "respondent" not in main.lower().replace("app-respondent-text", "")
    assert "stance" not in main.lower()


def test_the_scale_question_reads_as_answers(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("young_person").get(walk(seed, 3)).get_data(as_text=True)
    assert "Question 2 was: “Do you agree with the proposal?”" in page
    assert "2 out of 4 people chose “Agree”." in page
    assert "Leaving them out, 3 people answered." in page


@pytest.mark.parametrize("grant", ["young_person", "observer", "professional"])
def test_panel_members_see_redacted_quotes_only(grant: str, login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as(grant).get(walk(seed, 1)).get_data(as_text=True)
    assert "What people said" in page
    assert "A parent carer said:" in page
    assert "My daughter [PERSON] waited two years" in page
    assert PERSONAL not in page


def test_nothing_to_read_yet(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        session.execute(delete(Finding))
    client = login_as("young_person")
    assert "There is nothing to read yet." in client.get(walk(seed)).get_data(as_text=True)
    assert client.get(walk(seed, 1)).status_code == 404

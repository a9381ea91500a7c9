"""What the pages show, how they are protected, and that hostile text stays text."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import HOSTILE, Seed

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize("url", ["/sign-in", "/no-such-page", "/static/app.css"])
def test_security_headers_on_every_response(client: FlaskClient, url: str) -> None:
    with client.get(url) as response:  # closes the file a static response holds open
        pass
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_the_only_inline_script_carries_this_responses_nonce(client: FlaskClient) -> None:
    response = client.get("/sign-in")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", page):
        assert f'nonce="{nonce}"' in tag or 'src="/static/' in tag, tag
    assert client.get("/sign-in").headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]


def test_pages_are_not_cached_but_static_files_may_be(client: FlaskClient) -> None:
    assert client.get("/sign-in").headers["Cache-Control"] == "no-store"
    with client.get("/static/app.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, make_user: Callable[[str], str]) -> None:
    from tests.webui.conftest import PASSWORD

    response = client.post("/sign-in", data={"email": make_user("analyst"), "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_hostile_text_is_escaped(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as("admin")
    for url in (
        f"/projects/{seed.project_slug}/questions/1",
        f"/projects/{seed.project_slug}/responses/{seed.hostile_response_id}",
    ):
        page = client.get(url).get_data(as_text=True)
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_post_without_a_csrf_token_is_refused(
    app: Flask, login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())]
    assert posts, "expected at least sign-in and sign-out"
    for rule in posts:
        # Any value will do for the other URL parts: the token check comes before the view.
        values = {arg: seed.project_slug if arg == "slug" else 1 for arg in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        response = client.post(url, data={"email": "x@example.org", "password": "y"})
        assert response.status_code == 400, rule.rule
    assert client.get("/projects/").status_code == 200  # the refused sign-out changed nothing


def test_projects_list(login_as: Callable[[str], FlaskClient]) -> None:
    page = login_as("observer").get("/projects/").get_data(as_text=True)
    assert "<title>Your projects - coproduce</title>" in page
    assert "SEND review" in page
    assert "Observer" in page


def test_overview(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("analyst").get(f"/projects/{seed.project_slug}").get_data(as_text=True)
    assert "<title>Overview - SEND review - coproduce</title>" in page
    assert 'href="#main-content"' in page
    assert 'class="govuk-breadcrumbs' in page
    assert "SEND consultation, version 1.0" in page
    assert "Parent carer" in page
    # Responses per question, each linking to its responses.
    assert f'href="/projects/{seed.project_slug}/questions/1">1. What has worked well' in page
    # The scale table lists the framework's options in order, zeros included, then other answers.
    scale = page[page.index("Answers to question 2") :]
    order = [scale.index(answer) for answer in ("Agree", "Neither agree nor disagree", "Disagree", "Strongly unsure")]
    assert order == sorted(order)
    # Analysts are not safeguarding leads: no flag count.
    assert "Safeguarding flags" not in page


def test_overview_shows_open_flags_to_admins(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("admin").get(f"/projects/{seed.project_slug}").get_data(as_text=True)
    assert "1 open" in page


def test_question_responses_are_paginated(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as("professional")
    first = client.get(f"/projects/{seed.project_slug}/questions/1").get_data(as_text=True)
    assert "<title>Question 1 (page 1 of 2) - SEND review - coproduce</title>" in first
    assert "<caption" in first and 'scope="col"' in first
    assert 'rel="next"' in first
    second = client.get(f"/projects/{seed.project_slug}/questions/1?page=2").get_data(as_text=True)
    assert "More help" in second and "More help" not in first
    beyond = client.get(f"/projects/{seed.project_slug}/questions/1?page=99").get_data(as_text=True)
    assert "More help" in beyond  # clamped to the last page


def test_unknown_question_is_404(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    assert login_as("analyst").get(f"/projects/{seed.project_slug}/questions/9").status_code == 404


def test_unmatched_responses_page(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("analyst").get(f"/projects/{seed.project_slug}/questions/unmatched").get_data(as_text=True)
    assert "There are no responses here yet." in page


def test_sources_page(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("analyst").get(f"/projects/{seed.project_slug}/sources").get_data(as_text=True)
    assert "returns.csv" in page
    assert "cli:tester" in page
    assert f'<code title="{"ab" * 32}">{"ab" * 6}</code>' in page
    assert "<details" in page and "row 7: no answer text" in page


def test_error_pages_are_styled(client: FlaskClient) -> None:
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "<title>Page not found - coproduce</title>" in page
    assert 'class="govuk-heading-l">Page not found</h1>' in page


def test_server_errors_get_a_page_not_a_traceback(app: Flask, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in page
    assert "secret detail" not in page

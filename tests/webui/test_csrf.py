"""Every POST route refuses a request without a CSRF token, whoever sends it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import PASSWORD, Seed
from tests.webui.routes import ROUTES

POSTS = sorted((endpoint, method) for endpoint, method in ROUTES if method != "GET")


def _token(client: FlaskClient, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def admin_with_csrf(app: Flask, client: FlaskClient, make_user: Callable[[str], str]) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = True
    email = make_user("admin")
    token = _token(client, "/sign-in")
    assert client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def test_there_are_post_routes_to_check() -> None:
    assert POSTS, "the route table lists no POST routes"


@pytest.mark.parametrize(("endpoint", "method"), POSTS)
def test_post_without_csrf_token_fails(endpoint: str, method: str, admin_with_csrf: FlaskClient, seed: Seed) -> None:
    route = ROUTES[endpoint, method]
    data = {k: v for k, v in route.data(seed).items() if k != "csrf_token"}
    response = admin_with_csrf.open(route.url(seed), method=method, data=data)
    assert response.status_code == 400, (endpoint, response.status_code)
    assert "Your form could not be sent" in response.get_data(as_text=True)


def test_sign_out_is_refused_without_a_token_too(admin_with_csrf: FlaskClient) -> None:
    assert admin_with_csrf.post("/sign-out").status_code == 400

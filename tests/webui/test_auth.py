"""Signing in and out: generic failures, throttling, session fixation, CSRF on sign-out, audit."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import AuditEvent
from tests.webui.conftest import PASSWORD
from webui.auth import SIGN_IN_FAILED, TOO_MANY_ATTEMPTS, safe_next


def csrf_token(client: FlaskClient, url: str = "/sign-in") -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def actions(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_sign_in_page_has_labelled_inputs(client: FlaskClient) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    assert "<title>Sign in - coproduce</title>" in page
    assert '<label class="govuk-label" for="email">' in page
    assert '<label class="govuk-label" for="password">' in page
    assert 'autocomplete="current-password"' in page


def test_pages_need_sign_in(client: FlaskClient, seed) -> None:
    response = client.get(f"/projects/{seed.project_slug}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_sign_in_and_out(
    client: FlaskClient, make_user: Callable[[str], str], session_factory: sessionmaker[Session]
) -> None:
    email = make_user("analyst")
    response = client.post("/sign-in", data={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/projects/").status_code == 200

    response = client.post("/sign-out")
    assert response.status_code == 302
    assert client.get("/projects/").status_code == 302  # back to sign-in
    assert "You have signed out." in client.get("/sign-in").get_data(as_text=True)
    assert actions(session_factory)[-2:] == ["auth.login", "auth.logout"]


def test_sign_in_goes_to_next_only_when_it_is_on_this_site(
    client: FlaskClient, make_user: Callable[[str], str], seed
) -> None:
    email = make_user("analyst")
    target = f"/projects/{seed.project_slug}"
    response = client.post(f"/sign-in?next={target}", data={"email": email, "password": PASSWORD})
    assert response.headers["Location"] == target
    assert safe_next("https://evil.example/") is None
    assert safe_next("//evil.example/") is None
    assert safe_next("/\\evil.example/") is None
    assert safe_next("javascript:alert(1)") is None


def test_failure_message_is_the_same_whether_or_not_the_account_exists(
    client: FlaskClient, make_user: Callable[[str], str], session_factory: sessionmaker[Session]
) -> None:
    email = make_user("analyst")
    wrong_password = client.post("/sign-in", data={"email": email, "password": "not the password"})
    no_account = client.post("/sign-in", data={"email": "nobody@example.org", "password": "whatever1234"})
    for response in (wrong_password, no_account):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert SIGN_IN_FAILED in page
        assert "<title>Error: Sign in - coproduce</title>" in page
    assert actions(session_factory)[-2:] == ["auth.login_failed", "auth.login_failed"]


def test_password_typed_as_email_is_not_kept_in_the_audit_log(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    client.post("/sign-in", data={"email": "hunter2-secret", "password": "x"})
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert event.after == {"email": "(not an email address)"}


def test_empty_fields_are_reported_against_each_field(client: FlaskClient) -> None:
    page = client.post("/sign-in", data={"email": "", "password": ""}).get_data(as_text=True)
    assert 'href="#email">Enter your email address</a>' in page
    assert 'href="#password">Enter your password</a>' in page


def test_failed_sign_ins_per_account_are_throttled(
    app: Flask, client: FlaskClient, make_user: Callable[[str], str], session_factory: sessionmaker[Session]
) -> None:
    email = make_user("analyst")
    limit = app.extensions["coproduce.settings"].login_attempts_per_minute
    for attempt in range(limit):
        # Each attempt from a different address, so only the per-account count can trip.
        environ = {"REMOTE_ADDR": f"10.0.0.{attempt + 1}"}
        response = client.post("/sign-in", data={"email": email, "password": "wrong"}, environ_base=environ)
        assert SIGN_IN_FAILED in response.get_data(as_text=True)
    # Even the right password is refused now, with a message to wait.
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.1.1"}
    )
    assert response.status_code == 429
    assert TOO_MANY_ATTEMPTS in response.get_data(as_text=True)
    assert "Wait a minute" in TOO_MANY_ATTEMPTS
    assert actions(session_factory)[-1] == "auth.login_throttled"


def test_failed_sign_ins_per_address_are_throttled(
    app: Flask, client: FlaskClient, make_user: Callable[[str], str]
) -> None:
    email = make_user("analyst")
    limit = app.extensions["coproduce.settings"].login_attempts_per_minute
    for attempt in range(limit):
        client.post("/sign-in", data={"email": f"guess{attempt}@example.org", "password": "wrong"})
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 429
    # Another address is not held back by this one's failures.
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert response.status_code == 302


def test_sign_in_starts_a_fresh_session(client: FlaskClient, make_user: Callable[[str], str]) -> None:
    email = make_user("analyst")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post("/sign-in", data={"email": email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_sign_out_needs_post_and_a_csrf_token(app: Flask, login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("analyst")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/sign-out").status_code == 405
    refused = client.post("/sign-out")
    assert refused.status_code == 400
    assert "Your form could not be sent" in refused.get_data(as_text=True)
    assert client.get("/projects/").status_code == 200  # still signed in

    token = csrf_token(client, "/projects/")
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/projects/").status_code == 302


def test_sign_in_with_csrf_on(app: Flask, client: FlaskClient, make_user: Callable[[str], str]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    email = make_user("analyst")
    assert client.post("/sign-in", data={"email": email, "password": PASSWORD}).status_code == 400
    token = csrf_token(client)
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_inactive_users_are_signed_out(
    login_as: Callable[[str], FlaskClient], session_factory: sessionmaker[Session]
) -> None:
    from coproduce.store.models import User

    client = login_as("analyst")
    with session_factory() as session, session.begin():
        session.scalars(select(User).where(User.email == "analyst@example.org")).one().is_active = False
    assert client.get("/projects/").status_code == 302

"""Every response carries the security headers (OWASP Secure Headers Project), the session cookie is
Secure/HttpOnly/SameSite and expires, and HSTS is sent when the app is served behind HTTPS.

The table walks every route in ``tests/webui/routes.py`` (GET and POST) plus the pages outside a
project, the error pages, static files and a report download.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.http import parse_cookie

from coproduce.config import Settings
from tests.webui.conftest import PASSWORD, Seed
from tests.webui.routes import ROUTES
from webui import create_app

# Pages and files that are the same for everyone may be cached; everything else must not be.
CACHEABLE = ("/static/", "/assets/")


def check_headers(url: str, response, *, https: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """What is wrong with one response's headers (empty when all is well)."""
    h = response.headers
    problems = []
    csp = h.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part for part in (d.strip() for d in csp.split(";")) if part}
    want_directives = {
        "default-src": "default-src 'self'",
        "object-src": "object-src 'none'",
        "base-uri": "base-uri 'none'",
        "frame-ancestors": "frame-ancestors 'none'",
        "form-action": "form-action 'self'",
        "style-src": "style-src 'self'",
    }
    for name, value in want_directives.items():
        if directives.get(name) != value:
            problems.append(f"CSP {name}: {directives.get(name)!r}")
    script = directives.get("script-src", "")
    if not script.startswith("script-src 'self' 'nonce-") or "unsafe" in csp or "*" in csp:
        problems.append(f"CSP script-src not strict: {script!r}")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Permitted-Cross-Domain-Policies": "none",
    }
    for name, value in expected.items():
        if h.get(name) != value:
            problems.append(f"{name}: {h.get(name)!r}")
    permissions = h.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        if feature not in permissions:
            problems.append(f"Permissions-Policy lacks {feature}")
    cache = h.get("Cache-Control", "")
    if not url.startswith(CACHEABLE) and cache != "no-store":
        problems.append(f"Cache-Control: {cache!r}")
    hsts = h.get("Strict-Transport-Security")
    if https and (hsts is None or "max-age=31536000" not in hsts):
        problems.append(f"Strict-Transport-Security: {hsts!r}")
    if not https and hsts is not None:
        problems.append("Strict-Transport-Security sent over plain HTTP")
    if https and "upgrade-insecure-requests" not in directives:
        problems.append("CSP lacks upgrade-insecure-requests behind HTTPS")
    return [f"{url} ({response.status_code}): {p}" for p in problems]


def walk(client: FlaskClient, seed: Seed, *, https: bool) -> tuple[list[str], set[int]]:
    problems: list[str] = []
    statuses: set[int] = set()
    requests = [(route.url(seed), method, route.data(seed)) for (_e, method), route in ROUTES.items()]
    requests += [
        ("/", "GET", {}),
        ("/projects/", "GET", {}),
        ("/projects/no-such-project", "GET", {}),  # 404 page
        (f"/projects/{seed.project_slug}/findings/sign-off-rule", "DELETE", {}),  # 405 page
        ("/static/app.css", "GET", {}),
        ("/static/no-such-file.css", "GET", {}),
    ]
    base = {"base_url": "https://localhost"} if https else {}
    for url, method, data in requests:
        response = client.open(url, method=method, data=data, **base)
        statuses.add(response.status_code)
        problems += check_headers(url, response, https=https)
        response.close()
    return problems, statuses


@pytest.fixture
def report_file(settings: Settings, seed: Seed) -> Iterator[None]:
    """The report the route table downloads, so the download (an attachment) is checked too."""
    folder = settings.instance_dir / "reports" / seed.project_slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{seed.project_slug}-codebook.qdc").write_text("<CodeBook/>", encoding="utf-8")
    yield


def test_every_route_error_page_static_file_and_download_has_the_headers(
    login_as: Callable[[str], FlaskClient], seed: Seed, report_file: None
) -> None:
    client = login_as("admin")
    problems, statuses = walk(client, seed, https=False)
    assert problems == []
    assert {200, 302, 404, 405} <= statuses
    with client.get(ROUTES["reports.download", "GET"].url(seed)) as download:
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["Cache-Control"] == "no-store"


def test_signed_out_pages_have_the_headers(client: FlaskClient, seed: Seed) -> None:
    problems = []
    for url in ("/sign-in", "/", f"/projects/{seed.project_slug}", "/no-such-page"):
        problems += check_headers(url, client.get(url))
    assert problems == []


def test_the_server_error_page_has_the_headers(app: Flask, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", broken)
    response = client.get("/broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in page and "Traceback" not in page and "boom" not in page
    assert check_headers("/broken", response) == []


def test_the_too_large_page_has_the_headers_and_no_traceback(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1_000
    response = client.post("/sign-in", data={"email": "a@example.org", "password": "x" * 5_000})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is too big" in page and "Traceback" not in page
    assert check_headers("/sign-in", response) == []


@pytest.fixture
def https_app(settings: Settings, engine: Engine) -> Iterator[Flask]:
    app = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False, "PAGE_SIZE": 2},
        settings=settings.with_overrides(secure_cookies=True, session_lifetime_minutes=30),
    )
    yield app
    app.extensions["coproduce.engine"].dispose()


def _sign_in(client: FlaskClient, make_user: Callable[[str], str], grant: str, **base: str):  # type: ignore[no-untyped-def]
    return client.post("/sign-in", data={"email": make_user(grant), "password": PASSWORD}, **base)


def test_behind_https_every_route_sends_hsts_and_a_host_only_secure_cookie(
    https_app: Flask, make_user: Callable[[str], str], seed: Seed, report_file: None
) -> None:
    client = https_app.test_client()
    signed_in = _sign_in(client, make_user, "admin", base_url="https://localhost")
    assert signed_in.status_code == 302
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("__Host-coproduce_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Expires="):
        assert flag in cookie, cookie
    assert "Domain=" not in cookie  # __Host- cookies belong to this host only
    problems, _ = walk(client, seed, https=True)
    assert problems == []


def test_session_cookie_flags_over_http(client: FlaskClient, make_user: Callable[[str], str], seed: Seed) -> None:
    response = _sign_in(client, make_user, "analyst")
    cookie = response.headers["Set-Cookie"]
    name = next(iter(parse_cookie(cookie)))
    assert name == "coproduce_session"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # the secure_cookies setting is off: plain HTTP on one machine


def test_a_session_expires_after_the_lifetime_without_requests(
    https_app: Flask, make_user: Callable[[str], str], seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert https_app.permanent_session_lifetime == timedelta(minutes=30)
    client = https_app.test_client()
    base = {"base_url": "https://localhost"}
    assert _sign_in(client, make_user, "admin", **base).status_code == 302
    overview = f"/projects/{seed.project_slug}"
    assert client.get(overview, **base).status_code == 200
    real_time = time.time
    with monkeypatch.context() as later:  # 29 minutes later: still signed in, and the clock starts again
        later.setattr(time, "time", lambda: real_time() + 29 * 60)
        assert client.get(overview, **base).status_code == 200
    with monkeypatch.context() as later:  # 31 minutes after that last request: signed out
        later.setattr(time, "time", lambda: real_time() + 60 * 60)
        response = client.get(overview, **base)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]

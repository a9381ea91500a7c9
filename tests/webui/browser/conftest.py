"""Browser fixtures: Debian's chromium driven by Playwright against a live server on a free port.

Every page a test opens is watched: a console error or an uncaught page error fails the test, and
:func:`check_accessibility` runs axe-core and fails on any serious or critical violation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from werkzeug.serving import make_server

from coproduce.config import Settings
from webui import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
BLOCKING_IMPACTS = ("serious", "critical")

# Werkzeug's development server leaves a static file's iterator to the garbage collector when the
# browser drops the connection mid-response (it closes it on every other path), so Python warns
# about the unclosed file. That is the test server's doing, never the app's: ignore exactly that.
DEV_SERVER_WARNINGS = [
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io\.BufferedReader name='[^']*/webui/static/:ResourceWarning"),
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <_io\.FileIO name='[^']*/webui/static/:pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh, which installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(settings: Settings, engine: object) -> Iterator[Flask]:
    """The real configuration: CSRF on, normal page size."""
    app = create_app({"TESTING": True}, settings=settings)
    yield app
    app.extensions["coproduce.engine"].dispose()


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@dataclass
class Watched:
    """Everything the browser complained about while a test ran."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    watched = Watched()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"page error on {page.url}: {exc}"))
    yield page
    context.close()
    assert watched.errors == [], "the browser reported errors:\n" + "\n".join(watched.errors)


def check_accessibility(page: Page, where: str = "") -> None:
    """Run axe-core on the current page; fail on serious or critical violations, naming each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    lines = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in bad]
    assert not bad, f"accessibility violations on {where or page.url}:\n" + "\n".join(lines)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/projects/**")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in**")

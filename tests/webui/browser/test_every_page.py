"""Every project page in the route table, opened in a real browser by an admin and by a young
person on the panel: no console errors, no serious or critical axe-core violations."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.webui.browser.conftest import DEV_SERVER_WARNINGS, check_accessibility, sign_in
from tests.webui.conftest import PASSWORD, Seed
from tests.webui.routes import ROUTES

pytestmark = [pytest.mark.browser, pytest.mark.slow, *DEV_SERVER_WARNINGS]


@pytest.mark.parametrize("grant", ["admin", "young_person"])
def test_every_page_is_accessible(grant: str, page: Page, make_user: Callable[[str], str], seed: Seed) -> None:
    sign_in(page, make_user(grant), PASSWORD)
    check_accessibility(page, "the projects list")
    opened = 0
    for (endpoint, method), route in sorted(ROUTES.items()):
        if method != "GET" or route.policy.get(grant) != 200:
            continue
        fetched = page.request.get(route.url(seed))
        assert fetched.status == 200, (endpoint, fetched.status)
        if not fetched.headers.get("content-type", "").startswith("text/html"):
            continue  # e.g. the JSON progress feed: not a page
        response = page.goto(route.url(seed))
        assert response is not None and response.status == 200, (endpoint, response and response.status)
        check_accessibility(page, endpoint)
        opened += 1
    assert opened >= 4


def test_sign_in_page_is_accessible(page: Page) -> None:
    page.goto("/sign-in")
    check_accessibility(page, "sign in")
    page.get_by_role("button", name="Sign in").click()  # an empty form shows the error summary
    check_accessibility(page, "sign in with errors")


def test_easy_read_by_keyboard(page: Page, make_user: Callable[[str], str], seed: Seed) -> None:
    """A young person turns easy read on and walks the findings with the keyboard alone."""
    sign_in(page, make_user("young_person"), PASSWORD)
    page.goto(f"/projects/{seed.project_slug}/easy-read/1")
    page.locator("#easy-read-button").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "app-easy-read" in (page.locator("body").get_attribute("class") or "")
    check_accessibility(page, "easy read, first finding")
    next_link = page.get_by_role("button", name=re.compile("^Next"))
    next_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/easy-read/2")
    assert "app-easy-read" in (page.locator("body").get_attribute("class") or "")
    check_accessibility(page, "easy read, second finding")

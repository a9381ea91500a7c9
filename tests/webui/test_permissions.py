"""The page x grant table, walked for every grant; and who may see original text."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from coproduce.services import access
from tests.webui.conftest import FLAG_REASON, GRANTS, PERSONAL, REJECTED_CONTENT, Seed
from tests.webui.routes import ROUTES

URLS: dict[str, Callable[[Seed], str]] = {e: r.url for (e, m), r in ROUTES.items() if m == "GET"}


def without_tokens(page: str) -> str:
    """A page with its per-response nonce and CSRF token blanked out."""
    page = re.sub(r'nonce="[^"]+"', 'nonce=""', page)
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)


def expected_status(endpoint: str, grant: str) -> int:
    """What PAGE_GRANTS says a user holding ``grant`` gets."""
    held = {
        "outsider": set(),
        "site_admin": {access.SITE_ADMIN},
        "safeguarding_lead": {"professional", access.SAFEGUARDING_LEAD},
    }.get(grant, {grant})
    if not held:
        return 404
    return 200 if held & access.PAGE_GRANTS[endpoint] else 403


def test_every_project_route_is_in_the_table(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if "<slug>" in rule.rule
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert routes == set(ROUTES)
    assert {endpoint for endpoint, _ in routes} == set(access.PAGE_GRANTS)


def test_the_table_says_what_the_policy_says() -> None:
    for (endpoint, method), route in ROUTES.items():
        for grant, status in route.policy.items():
            assert expected_status(endpoint, grant) == status, (endpoint, method, grant)


@pytest.mark.parametrize("grant", GRANTS)
def test_each_grant_gets_what_the_table_says(grant: str, login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as(grant)
    got, want = {}, {}
    # Pages first, then actions: an action may change what a page shows, never who may see it.
    for (endpoint, method), route in sorted(ROUTES.items(), key=lambda item: item[0][1] != "GET"):
        if method == "GET":
            got[endpoint, method] = client.get(route.url(seed)).status_code
            want[endpoint, method] = expected_status(endpoint, grant)
        else:
            status = client.open(route.url(seed), method=method, data=route.data(seed)).status_code
            got[endpoint, method] = status if status in (403, 404) else 200
            want[endpoint, method] = expected_status(endpoint, grant)
            assert status < 500, (endpoint, method, status)
    assert got == want


@pytest.mark.parametrize("grant", GRANTS)
def test_nobody_here_sees_a_project_they_do_not_belong_to(
    grant: str, login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as(grant)
    hidden = f"/projects/{seed.other_project_slug}"
    missing = "/projects/no-such-project"
    expected = 200 if grant == "site_admin" else 404
    assert client.get(hidden).status_code == expected
    assert client.get(missing).status_code == 404
    if grant != "site_admin":
        # The same page, byte for byte, whether the project exists or not.
        assert without_tokens(client.get(hidden).get_data(as_text=True)) == without_tokens(
            client.get(missing).get_data(as_text=True)
        )
        assert "Hidden project" not in client.get("/projects/").get_data(as_text=True)


def test_pages_of_one_project_never_show_another_projects_rows(
    login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as("admin")
    url = f"/projects/{seed.project_slug}/responses/{seed.other_response_id}"
    assert client.get(url).status_code == 404


PANEL_AND_OBSERVERS = ("parent_carer", "young_person", "professional", "observer", "safeguarding_lead")


@pytest.mark.parametrize("grant", [*PANEL_AND_OBSERVERS, "analyst"])
def test_only_redacted_text_for_everyone_but_admins(
    grant: str, login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as(grant)
    for endpoint, url in URLS.items():
        response = client.get(url(seed))
        page = response.get_data(as_text=True)
        assert PERSONAL not in page, endpoint
        assert REJECTED_CONTENT not in page, endpoint
        if endpoint in ("projects.response", "projects.question_responses"):
            assert "My daughter [PERSON] waited" in page


@pytest.mark.parametrize("grant", ["admin", "site_admin"])
def test_admins_see_original_text(grant: str, login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as(grant)
    response_page = client.get(URLS["projects.response"](seed)).get_data(as_text=True)
    assert PERSONAL in response_page
    assert "Original text" in response_page
    assert REJECTED_CONTENT in client.get(URLS["projects.sources"](seed)).get_data(as_text=True)
    # The responses list keeps to redacted text even for admins.
    assert PERSONAL not in client.get(URLS["projects.question_responses"](seed)).get_data(as_text=True)


def test_safeguarding_lead_sees_flags_but_not_original_text(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("safeguarding_lead").get(URLS["projects.flags"](seed)).get_data(as_text=True)
    assert FLAG_REASON in page
    assert "My daughter [PERSON] waited" in page
    assert PERSONAL not in page


def test_panel_members_see_no_identifying_respondent_details(
    login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as("young_person")
    page = client.get(URLS["projects.respondent"](seed)).get_data(as_text=True)
    assert "Identifier in the source file" not in page
    assert "row 2" not in client.get(URLS["projects.response"](seed)).get_data(as_text=True)


def test_overview_links_only_to_pages_the_user_may_open(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("parent_carer").get(URLS["projects.overview"](seed)).get_data(as_text=True)
    assert "/sources" not in page
    assert "/safeguarding" not in page
    assert "Safeguarding flags" not in page

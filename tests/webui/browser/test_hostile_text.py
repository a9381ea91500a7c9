"""In a real browser, pages full of hostile response text run none of it, and a 6,000-character word
does not make the page scroll sideways. A script that ran would call ``pwned()`` (recorded below);
one the CSP blocked would log a console error, which the ``page`` fixture fails on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from tests.webui.browser.conftest import DEV_SERVER_WARNINGS, sign_in
from tests.webui.conftest import PASSWORD, Seed
from tests.webui.hostile import seed_hostile_analysis, write_corpus

pytestmark = [pytest.mark.browser, pytest.mark.slow, *DEV_SERVER_WARNINGS]

RECORD_CALLS = "window.__pwned = []; window.pwned = (n) => window.__pwned.push(n); window.alert = window.pwned;"


def test_hostile_text_runs_no_script(
    page: Page,
    make_user: Callable[[str], str],
    seed: Seed,
    settings: Settings,
    session_factory: sessionmaker[Session],
    embedder,
    tmp_path: Path,
) -> None:
    from coproduce.privacy.redaction import get_redactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    corpus = write_corpus(tmp_path / "hostile.jsonl")
    import_file(
        session_factory,
        settings,
        seed.project_slug,
        corpus,
        Actor.cli(),
        kind="family",
        privacy=lambda s: (get_redactor(s), SafeguardingFlagger(embedder=embedder)),
    )
    hostile = seed_hostile_analysis(session_factory, seed.project_slug, corpus.name)
    page.add_init_script(RECORD_CALLS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, make_user("admin"), PASSWORD)
    p = f"/projects/{seed.project_slug}"
    for url in (
        f"{p}/questions/1",  # all 23 answers (page size 25), the 6,000-character word among them
        f"{p}/findings/{hostile.finding_id}",
        f"{p}/themes/{hostile.theme_id}",
        f"{p}/search?q=pwned",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned") == [], url
        assert page.locator("iframe, object, embed, main img, main svg[onload]").count() == 0, url
        assert page.get_by_text("<script>pwned(1)</script>").count() >= 1, url  # shown, as text
        if "/questions/" in url:
            assert page.get_by_text("ok" * 3000).count() == 1
        wider = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wider <= 0, f"{url} scrolls sideways by {wider}px"
    assert dialogs == []

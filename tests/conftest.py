"""Shared fixtures: settings pointing at a temporary instance folder, and a migrated database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store.db import make_engine, make_session_factory
from coproduce.store.schema import upgrade
from tests.dbtarget import database_settings, export_database_url

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = ROOT / "corpus" / "samples" / "forum-submission-send-green-paper-2022.txt"
GREEN_PAPER = ROOT / "corpus" / "frameworks" / "send-green-paper-2022.yaml"


# A developer's own database must never be touched by a test's command-line call; tests that need a
# database export their own URL (tests/dbtarget.py).
os.environ.pop("COPRODUCE_DATABASE_URL", None)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's database (SQLite, or PostgreSQL with COPRODUCE_TEST_DATABASE=postgresql); the CLI sees it too."""
    settings = database_settings(request, tmp_path)
    export_database_url(monkeypatch, settings)
    return settings


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty, un-migrated database (``<tmp_path>/instance`` on SQLite), exported for the command line."""
    settings = database_settings(request, tmp_path, migrated=False)
    export_database_url(monkeypatch, settings)
    return settings


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def embedder():
    """The real MiniLM model behind one in-memory cache for the whole session: each text is embedded once."""
    from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder

    return SentenceEmbedder(cache=EmbeddingCache())


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An empty, un-migrated PostgreSQL database of its own, whatever database the suite runs on (for tests
    that need PostgreSQL itself, marked ``postgres``); skipped when no server is named."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = os.environ.get("COPRODUCE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("COPRODUCE_TEST_POSTGRES_URL is not set (scripts/test.sh sets it when a server answers)")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"coproduce_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(url).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()

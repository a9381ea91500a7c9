"""Shared fixtures: settings pointing at a temporary instance folder, and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store.db import make_engine, make_session_factory
from coproduce.store.schema import upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = ROOT / "corpus" / "samples" / "forum-submission-send-green-paper-2022.txt"
GREEN_PAPER = ROOT / "corpus" / "frameworks" / "send-green-paper-2022.yaml"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(instance_dir=tmp_path / "instance")


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

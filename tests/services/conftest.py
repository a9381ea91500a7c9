"""Fixtures shared by the service tests: the web UI's seeded project, and a session on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import Project
from tests.webui import conftest as web

seed = web.seed  # the seeded project: a finished analysis with findings, assignments and users
Seed = web.Seed


@pytest.fixture
def db(session_factory: sessionmaker[Session], seed: Seed) -> Iterator[Session]:
    """A session on the seeded database."""
    with session_factory() as session:
        yield session


def seeded_project(db: Session, slug: str = "send-review") -> Project:
    return db.scalars(select(Project).where(Project.slug == slug)).one()

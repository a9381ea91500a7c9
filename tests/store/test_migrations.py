"""Upgrading an empty database with the shipped migrations gives exactly the models' schema.

Each test runs on the database under test (SQLite, or PostgreSQL with COPRODUCE_TEST_DATABASE=postgresql:
tests/dbtarget.py); the ``postgres``-marked test also checks PostgreSQL during the SQLite pass."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from coproduce.store.models import AuditEvent, Base
from coproduce.store.schema import current_revision, downgrade, head_revision, include_object, upgrade
from tests.dbtarget import empty_database_url


def assert_schema_matches_models(engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(engine) == head_revision()


@pytest.fixture
def empty_engine(request, tmp_path):
    """An empty database on the database under test, with no migration applied."""
    engine = create_engine(empty_database_url(request, tmp_path))
    yield engine
    engine.dispose()


def test_upgrade_gives_the_models_schema(empty_engine):
    engine = empty_engine
    upgrade(engine)
    assert_schema_matches_models(engine)
    upgrade(engine)  # a second upgrade is a no-op
    assert_schema_matches_models(engine)


@pytest.mark.postgres
def test_postgres_upgrade_gives_the_models_schema(postgres_engine):
    upgrade(postgres_engine)
    assert_schema_matches_models(postgres_engine)


@pytest.mark.postgres
def test_postgres_keyword_search_gets_a_trigram_index_that_downgrade_removes(postgres_engine):
    with postgres_engine.connect() as c:
        if not c.scalar(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")):
            pytest.skip("pg_trgm is not installed on this server (the migration then leaves the index out)")
    upgrade(postgres_engine)
    find = text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_segment_text_trgm'")
    with postgres_engine.connect() as c:
        assert "gin (text gin_trgm_ops)" in c.scalar(find)
        c.execute(text("SET enable_seqscan = off"))  # an empty table: make the planner show it would use the index
        plan = "\n".join(c.scalars(text("EXPLAIN SELECT id FROM segment WHERE text ILIKE '%wait%'")))
        assert "ix_segment_text_trgm" in plan
    downgrade(postgres_engine, "0005")
    with postgres_engine.connect() as c:
        assert c.scalar(find) is None
    upgrade(postgres_engine)


def test_audit_events_cannot_be_changed_or_deleted(session):
    from coproduce.store.db import AuditLogIsAppendOnly

    event = AuditEvent(actor_label="test", action="x", entity_type="thing", entity_id=1)
    session.add(event)
    session.commit()
    event.action = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        session.commit()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        session.commit()


def test_upgrading_a_database_with_rows_keeps_them(empty_engine):
    engine = empty_engine
    upgrade(engine, "0001")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO framework (name, version, description, provenance, created_at) "
                "VALUES ('F', '1', '', '{}', '2026-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO project (slug, name, description, framework_id, signoff_rule, created_at) "
                "VALUES ('p', 'P', '', 1, '{}', '2026-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO theme (project_id, label, description, keywords, origin, version) "
                "VALUES (1, 'Waiting', '', '[]', 'human', 1)"
            )
        )
    upgrade(engine)
    with engine.connect() as c:
        label, key, flags = c.execute(text("SELECT label, key, flags FROM theme")).one()
    # SQLite hands JSON back as text, PostgreSQL's driver as the parsed value.
    assert (label, key, json.loads(flags) if isinstance(flags, str) else flags) == ("Waiting", "", [])
    assert_schema_matches_models(engine)


def test_every_migration_downgrades_cleanly(empty_engine):
    engine = empty_engine
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert_schema_matches_models(engine)

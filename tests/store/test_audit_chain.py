"""The audit hash chain: a clean log verifies; edits, deletions, insertions and reordering by raw SQL are caught."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from typer.testing import CliRunner

from coproduce.cli import app
from coproduce.services.audit import Actor, record
from coproduce.services.audit_verify import verify_chain
from coproduce.store.db import make_engine, make_session_factory, transaction
from coproduce.store.schema import upgrade

ACTOR = Actor(label="alice@example.org")


def _write_events(factory, n: int = 5) -> list[int]:
    ids = []
    for i in range(n):
        with transaction(factory) as session:
            event = record(
                session, ACTOR, f"thing.change{i}", "thing", i, before={"n": i}, after={"n": i + 1, "k": [i]}
            )
            session.flush()
            ids.append(event.id)
    return ids


def _verify(engine):
    with engine.connect() as connection:
        return verify_chain(connection)


def _raw(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def test_a_clean_log_verifies(engine, session_factory):
    ids = _write_events(session_factory)
    report = _verify(engine)
    assert report.ok, report.summary()
    assert report.events == len(ids)
    with engine.connect() as c:
        last = c.execute(text("SELECT chain_hash FROM audit_event ORDER BY id DESC LIMIT 1")).scalar()
    assert report.head_hash == last and len(last) == 64


def test_several_events_in_one_transaction_chain_in_order(engine, session_factory):
    with transaction(session_factory) as session:
        for i in range(4):
            record(session, ACTOR, "bulk", "thing", i, after={"i": i})
    _write_events(session_factory, 2)
    assert _verify(engine).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor_label", "mallory@example.org"), ("action", "thing.delete"), ("created_at", "2020-01-01 00:00:00")],
)
def test_editing_a_field_is_detected(engine, session_factory, column, value):
    ids = _write_events(session_factory)
    _raw(engine, f"UPDATE audit_event SET {column} = :value WHERE id = :id", value=value, id=ids[2])
    report = _verify(engine)
    assert not report.ok
    assert (report.problem.event_id, report.problem.kind) == (ids[2], "edited")


def test_editing_a_payload_is_detected(engine, session_factory):
    ids = _write_events(session_factory)
    _raw(engine, """UPDATE audit_event SET "after" = '{"n": 99}' WHERE id = :id""", id=ids[1])
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[1], "edited")
    assert "payload" in report.problem.detail


def test_deleting_a_middle_event_is_detected(engine, session_factory):
    ids = _write_events(session_factory)
    _raw(engine, "DELETE FROM audit_event WHERE id = :id", id=ids[2])
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[3], "deleted")


def test_deleting_the_last_event_is_detected(engine, session_factory):
    ids = _write_events(session_factory)
    _raw(engine, "DELETE FROM audit_event WHERE id = :id", id=ids[-1])
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[-1], "deleted")


def test_inserting_a_forged_event_is_detected(engine, session_factory):
    ids = _write_events(session_factory)
    _raw(
        engine,
        "INSERT INTO audit_event (id, actor_label, action, entity_type, created_at) "
        "VALUES (:id, 'mallory', 'forged', 'thing', '2026-01-01 00:00:00')",
        id=ids[-1] + 1,
    )
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[-1] + 1, "inserted")


def test_inserting_a_forged_event_with_copied_hashes_is_detected(engine, session_factory):
    """A forged row carrying the hashes of a real event is still not in the chain."""
    ids = _write_events(session_factory)
    _raw(
        engine,
        "INSERT INTO audit_event (id, actor_label, action, entity_type, created_at, payload_digest, prev_hash, "
        "chain_hash) SELECT :new, 'mallory', 'forged', 'thing', created_at, payload_digest, prev_hash, chain_hash "
        "FROM audit_event WHERE id = :copied",
        new=ids[-1] + 1,
        copied=ids[-1],
    )
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[-1] + 1, "inserted")


def test_appending_an_event_that_links_correctly_is_detected_by_the_head(engine, session_factory):
    """Someone who computes a valid hash for a new last event still does not move the chain head."""
    from coproduce.store.audit_chain import event_hash, payload_digest

    ids = _write_events(session_factory)
    with engine.connect() as c:
        last = c.execute(text("SELECT chain_hash FROM audit_event WHERE id = :id"), {"id": ids[-1]}).scalar()
    from datetime import datetime

    when = datetime(2026, 1, 1)
    digest = payload_digest(None, None)
    forged = event_hash(
        last,
        event_id=ids[-1] + 1,
        project_id=None,
        actor_id=None,
        actor_label="mallory",
        action="forged",
        entity_type="thing",
        entity_id=None,
        created_at=when,
        digest=digest,
    )
    _raw(
        engine,
        "INSERT INTO audit_event (id, actor_label, action, entity_type, created_at, payload_digest, prev_hash, "
        "chain_hash) VALUES (:id, 'mallory', 'forged', 'thing', :when, :digest, :prev, :hash)",
        id=ids[-1] + 1,
        when=when,
        digest=digest,
        prev=last,
        hash=forged,
    )
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[-1] + 1, "inserted")


def test_reordering_events_is_detected(engine, session_factory):
    ids = _write_events(session_factory)
    _raw(engine, "UPDATE audit_event SET id = -1 WHERE id = :id", id=ids[1])
    _raw(engine, "UPDATE audit_event SET id = :to WHERE id = :id", to=ids[1], id=ids[2])
    _raw(engine, "UPDATE audit_event SET id = :to WHERE id = -1", to=ids[2])
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[1], "reordered")


def test_blanking_a_payload_by_hand_is_detected(engine, session_factory):
    """Only erasure may blank a payload, and its event lists the ones it blanked."""
    ids = _write_events(session_factory)
    _raw(
        engine,
        """UPDATE audit_event SET "after" = NULL, payload_erased_at = '2026-01-01 00:00:00' WHERE id = :id""",
        id=ids[0],
    )
    report = _verify(engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[0], "edited")


def test_concurrent_writers_never_fork_the_chain(settings, engine, session_factory):
    """Two threads, each with its own connection, record events at once: one chain, in id order."""
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with transaction(session_factory) as session:
                    record(session, Actor(label=name), "concurrent", "thing", i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = _verify(engine)
    assert report.ok, report.summary()
    assert report.events == 30


def test_the_migration_chains_events_written_before_it(empty_database):
    engine = make_engine(empty_database)
    upgrade(engine, "0004")
    # Rows as version 0004 wrote them (no chain columns), typed so both databases take them.
    old_events = sa.table(
        "audit_event",
        sa.column("actor_label", sa.String),
        sa.column("action", sa.String),
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.Integer),
        sa.column("after", sa.JSON),
        sa.column("created_at", sa.DateTime),
    )
    with engine.begin() as c:
        c.execute(
            sa.insert(old_events),
            [
                {
                    "actor_label": "cli:old",
                    "action": "old.thing",
                    "entity_type": "thing",
                    "entity_id": i,
                    "after": {"n": i, "t": [1, 2]},
                    "created_at": datetime(2026, 1, i + 1, 10),
                }
                for i in range(3)
            ],
        )
    upgrade(engine)
    assert _verify(engine).ok
    _write_events(make_session_factory(engine), 2)  # new events link onto the backfilled chain
    report = _verify(engine)
    assert report.ok and report.events == 5
    engine.dispose()


def test_audit_verify_command_exit_codes(settings, engine, session_factory):
    ids = _write_events(session_factory)
    runner = CliRunner()
    args = ["audit", "verify", "--instance", str(settings.instance_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Audit log intact: 5 events" in result.output
    _raw(engine, "DELETE FROM audit_event WHERE id = :id", id=ids[2])
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert f"event {ids[3]}: deleted" in result.output


@pytest.mark.postgres
def test_postgres_chain_tamper_and_concurrency(postgres_engine):
    upgrade(postgres_engine)
    factory = make_session_factory(postgres_engine)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with transaction(factory) as session:
                    record(session, Actor(label=name), "concurrent", "thing", i, after={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = _verify(postgres_engine)
    assert report.ok, report.summary()
    assert report.events == 45
    with postgres_engine.connect() as c:
        ids = list(c.execute(text("SELECT id FROM audit_event ORDER BY id")).scalars())
    _raw(postgres_engine, "DELETE FROM audit_event WHERE id = :id", id=ids[10])
    report = _verify(postgres_engine)
    assert (report.problem.event_id, report.problem.kind) == (ids[11], "deleted")

"""Engines and sessions, and the guard that keeps the audit log append-only."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store import audit_chain  # noqa: F401  (registers the hash-chain hooks)
from coproduce.store.models import AuditEvent


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


# Every engine make_engine made that is still referenced, so a command can close its connections when it ends.
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    _engines.add(engine)
    return engine


def dispose_engines() -> None:
    """Close the pooled connections of every engine made so far (the CLI calls this when a command ends).

    A PostgreSQL connection left to the garbage collector is never closed cleanly; the engines stay usable.
    """
    for engine in list(_engines):
        engine.dispose()


# SQLite transactions. By default a session reads without a transaction (pysqlite's default), so reads
# hold no snapshot and run beside the writer in WAL mode, and pysqlite begins a deferred transaction just
# before the first INSERT/UPDATE/DELETE; ``transaction()`` keeps that, because units of work nest (a job
# submitted inside a request's transaction). A read-modify-write section takes the write lock up front
# instead: ``lock_for_write`` (review decisions) or a session from ``writing_session``, whose every
# transaction begins with ``BEGIN IMMEDIATE`` (emitted from SQLAlchemy's "begin" event with pysqlite's own
# transaction handling switched off: SQLAlchemy's pysqlite recipe "Serializable isolation / Savepoints /
# Transactional DDL"). Either waits up to busy_timeout for the lock, so it is never a reader that later
# fails to become a writer (SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT, which the busy timeout does not retry).
WRITE_TRANSACTION = {"sqlite_begin": "IMMEDIATE"}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        # WAL: readers never wait for the writer, nor the writer for readers. Kept in the file once set.
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    dbapi_connection = connection.connection.dbapi_connection
    if mode == "IMMEDIATE":
        dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN of its own
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif mode == "DEFERRED":
        dbapi_connection.isolation_level = ""  # pysqlite's default: BEGIN before the first write
    else:
        raise ValueError(f"sqlite_begin must be DEFERRED or IMMEDIATE, not {mode!r}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def lock_for_write(session: Session) -> None:
    """Take SQLite's write lock now, before reads that a write will depend on (no-op on PostgreSQL, whose
    callers lock rows with ``SELECT ... FOR UPDATE``, and when this transaction already writes).

    For a read-modify-write section inside a session that reads without a transaction (pysqlite's default):
    ``BEGIN IMMEDIATE`` waits for the lock up to busy_timeout, and every read after it sees the latest
    commit and cannot be overtaken before this transaction commits."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def writing_session(factory: sessionmaker[Session]) -> Session:
    """A session whose every transaction takes SQLite's write lock when it begins (``BEGIN IMMEDIATE``).

    For a unit of work whose reads decide its writes and that opens no other unit of work inside it (one
    would wait for this one's lock); the option is ignored on PostgreSQL, where row locks do this job."""
    bind = factory.kw["bind"]
    return factory(bind=bind.execution_options(**WRITE_TRANSACTION))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits if the block finishes, rolls everything back if it raises.

    Deferred on SQLite (the write lock is taken at the first write, or by :func:`lock_for_write`), not
    ``BEGIN IMMEDIATE``: units of work nest here (a job submitted inside a request's transaction, progress
    written inside a job's), and an inner unit on another connection would wait for the outer one's lock."""
    with factory() as session, session.begin():
        yield session


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly(f"audit event {obj.id} cannot be changed or deleted")

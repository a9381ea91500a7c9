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
    _engines.add(engine)
    return engine


def dispose_engines() -> None:
    """Close the pooled connections of every engine made so far (the CLI calls this when a command ends).

    A PostgreSQL connection left to the garbage collector is never closed cleanly; the engines stay usable.
    """
    for engine in list(_engines):
        engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits if the block finishes, rolls everything back if it raises."""
    with factory() as session, session.begin():
        yield session


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly(f"audit event {obj.id} cannot be changed or deleted")

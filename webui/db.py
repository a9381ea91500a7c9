"""The database for the web UI: one engine per app, one session per request (closed at teardown)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store.db import make_engine, make_session_factory


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings)
    app.extensions["coproduce.engine"] = engine
    app.extensions["coproduce.session_factory"] = make_session_factory(engine)
    app.teardown_appcontext(close_session)


def engine() -> Engine:
    return current_app.extensions["coproduce.engine"]


def get_session() -> Session:
    """This request's session, opened on first use.

    On SQLite it reads without holding a transaction (pysqlite's default), so requests read beside the
    writer in WAL mode; a write begins the transaction at its first INSERT/UPDATE/DELETE, and a service
    that reads in order to write takes the write lock first (``store.db.lock_for_write``, e.g. review
    decisions), so the lock is held for the write, not for the whole request."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["coproduce.session_factory"]
        g.db_session = factory()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back anything a failed request left uncommitted

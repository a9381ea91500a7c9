"""Which database the tests run on: a SQLite file per test (the default) or a fresh PostgreSQL database per test.

``COPRODUCE_TEST_DATABASE=postgresql`` puts every test that gets a database on its own, empty PostgreSQL
database on the server named by ``COPRODUCE_TEST_POSTGRES_URL`` (an admin connection; default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). The migrations run once per pytest session into a
template database; each test then gets ``CREATE DATABASE <name> TEMPLATE <template>`` (tens of milliseconds)
and the database is dropped, with any connection left to it, when the test's fixture scope ends. A test that
checks the migrations themselves asks for ``migrated=False`` and gets an empty database instead.

Every test database goes through :func:`database_settings` (or :func:`empty_database_url`), so nothing
silently stays on SQLite. Command-line and live-server tests get the same database through the
``COPRODUCE_DATABASE_URL`` environment variable (see :func:`export_database_url`).
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from coproduce.config import Settings

DATABASES = ("sqlite", "postgresql")
TEST_DATABASE = (os.environ.get("COPRODUCE_TEST_DATABASE") or "sqlite").strip().lower()
if TEST_DATABASE not in DATABASES:
    raise RuntimeError(f"COPRODUCE_TEST_DATABASE={TEST_DATABASE!r}: use one of {', '.join(DATABASES)}")
ON_POSTGRES = TEST_DATABASE == "postgresql"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Databases this module made whose session died before dropping them are removed after this long; the
# age is in the name, so a concurrent pytest session's databases (younger) are never touched.
STALE_AFTER_SECONDS = 6 * 3600
_NAME = re.compile(r"^coproduce_t(\d+)_")

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="checks the SQLite file itself; the suite runs on PostgreSQL")


def admin_url() -> str:
    return os.environ.get("COPRODUCE_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL


class PostgresServer:
    """Creates, copies and drops the test databases over one admin connection URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.prefix = f"coproduce_t{int(time.time())}_{os.getpid()}_"
        self._numbers = itertools.count()
        self._template: str | None = None
        # DROP DATABASE can take seconds (it waits for the checkpointer); a background thread does it so a
        # test's teardown does not wait. close() waits for every drop to finish.
        self._to_drop: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_queued, name="test-database-dropper", daemon=True)
        self._dropper.start()

    def _run(self, sql: str, **params: Any) -> list[Any]:
        with self.admin.connect() as connection:
            result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _new_name(self) -> str:
        return f"{self.prefix}{next(self._numbers)}"

    def _create(self, name: str, template: str) -> None:
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_later(self, name: str) -> None:
        """Drop ``name`` in the background; its connections are ended by the drop (``WITH (FORCE)``)."""
        self._to_drop.put(name)

    def _drop_queued(self) -> None:
        while (name := self._to_drop.get()) is not None:
            try:
                self.drop(name)
            except Exception as exc:  # a failed drop must not stop the thread: say which database it left
                print(f"tests/dbtarget.py: could not drop test database {name}: {exc}")

    def template(self) -> str:
        """The migrated template, made on first use in this session."""
        if self._template is None:
            from coproduce.store.schema import upgrade

            self._drop_stale()
            name = f"{self.prefix}template"
            self._create(name, "template0")
            engine = create_engine(self.url_of(name), poolclass=NullPool)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            self._template = name
        return self._template

    def create(self, *, migrated: bool) -> str:
        name = self._new_name()
        self._create(name, self.template() if migrated else "template0")
        return name

    def copy(self, source: str) -> str:
        """A new database with everything in ``source``; its open connections are closed first."""
        self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()",
            name=source,
        )
        name = self._new_name()
        self._create(name, source)
        return name

    def _drop_stale(self) -> None:
        now = time.time()
        for (name,) in self._run("SELECT datname FROM pg_database WHERE datname LIKE 'coproduce\\_t%'"):
            match = _NAME.match(name)
            if match and now - int(match.group(1)) > STALE_AFTER_SECONDS:
                self.drop(name)

    def close(self) -> None:
        self._to_drop.put(None)
        self._dropper.join()
        if self._template is not None:
            self.drop(self._template)
            self._template = None
        self.admin.dispose()


_server: PostgresServer | None = None


def server() -> PostgresServer:
    global _server
    if _server is None:
        _server = PostgresServer(admin_url())
        atexit.register(_server.close)
    return _server


def _database_name(url: str) -> str:
    name = make_url(url).database
    assert name, url
    return name


def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty (un-migrated) database for one fixture scope, on the database under test."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    name = server().create(migrated=False)
    request.addfinalizer(lambda: server().drop_later(name))
    return server().url_of(name)


def database_settings(
    request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool = True, **overrides: Any
) -> Settings:
    """Settings whose database is private to the requesting fixture's scope, on the database under test.

    On SQLite the database is ``<tmp_path>/instance/coproduce.sqlite`` (created empty on first use). On
    PostgreSQL it is a fresh database, already migrated unless ``migrated=False``; callers still run
    ``upgrade`` (a no-op there), so the same test code serves both.
    """
    if ON_POSTGRES and "database_url" not in overrides:
        name = server().create(migrated=migrated)
        request.addfinalizer(lambda: server().drop_later(name))
        overrides["database_url"] = server().url_of(name)
    return Settings(instance_dir=tmp_path / "instance", **overrides)


def copy_database(request: pytest.FixtureRequest, source: Settings, source_engine: Engine, tmp_path: Path) -> Settings:
    """A private copy of ``source``'s database, for a test that changes a shared, prepared database.

    ``source_engine`` is disposed first: a database cannot be copied while connections to it are open.
    """
    source_engine.dispose()
    settings = Settings(instance_dir=tmp_path / "instance")
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    if not ON_POSTGRES:
        shutil.copy(source.instance_dir / "coproduce.sqlite", settings.instance_dir / "coproduce.sqlite")
        return settings
    name = server().copy(_database_name(source.resolved_database_url))
    request.addfinalizer(lambda: server().drop_later(name))
    return settings.with_overrides(database_url=server().url_of(name))


def export_database_url(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Point the command line and ``Settings.from_env`` at ``settings``' database (when it is not the default)."""
    if settings.database_url:
        monkeypatch.setenv("COPRODUCE_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("COPRODUCE_DATABASE_URL", raising=False)


def database_exists(settings: Settings) -> bool:
    """Whether ``settings``' database has been created (the SQLite file, or the PostgreSQL database)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).exists()
    rows = server()._run("SELECT 1 FROM pg_database WHERE datname = :name", name=_database_name(url))
    return bool(rows)

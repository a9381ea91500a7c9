"""Backup and restore: a round trip gives every table row for row and the instance files byte for byte,
and the audit log still verifies; corrupt archives, other schema revisions and full databases are refused."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from coproduce.cli import app
from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.pipeline.embed import CACHE_FILENAME, EmbeddingCache
from coproduce.services.audit import Actor, record
from coproduce.services.backup import backup, restore, table_rows, tables
from coproduce.services.erasure import erase_respondent
from coproduce.services.import_uploads import save_upload
from coproduce.store.db import make_engine, make_session_factory, transaction
from coproduce.store.models import Finding
from tests.dbtarget import database_settings
from tests.webui.conftest import ORIGINAL, Seed, seed  # noqa: F401  (the seeded project)

ACTOR = Actor(label="cli:admin")


@pytest.fixture
def analysed(seed: Seed, settings: Settings, session_factory) -> Seed:  # noqa: F811
    """The seeded project with audit history (one respondent erased), an embedding cache, a secret key
    and a pending upload."""
    with transaction(session_factory) as session:
        finding = session.get(Finding, seed.finding_ids[0])
        for i in range(3):
            record(session, ACTOR, "finding.note", "finding", finding.id, project_id=finding.project_id, after={"i": i})
        record(session, ACTOR, "note", "thing", 1, project_id=finding.project_id, after={"quote": ORIGINAL})
    erase_respondent(session_factory, settings, seed.project_slug, "R2", ACTOR, apply=True)
    cache = EmbeddingCache(settings.instance_dir / CACHE_FILENAME)
    cache.put_many({f"k{i}": np.full(384, i, dtype=np.float32) for i in range(5)})
    cache.close()
    (settings.instance_dir / "secret_key").write_text("s3cret-key-for-tests")
    save_upload(settings, seed.project_slug, "waiting.csv", io.BytesIO(b"id,answer\nR5,Pending answer\n"))
    return seed


def _all_rows(engine) -> dict[str, list[dict]]:
    with engine.connect() as connection:
        return {t.name: list(table_rows(connection, t)) for t in tables()}


def _files(instance: Path) -> dict[str, bytes]:
    return {
        p.relative_to(instance).as_posix(): p.read_bytes()
        for p in instance.rglob("*")
        if p.is_file() and p.suffix not in (".sqlite", ".gz") and not p.name.endswith((".sqlite-wal", ".sqlite-shm"))
    }  # the WAL and shared-memory files belong to a live SQLite database, not to the instance's own files


def _cache(instance: Path) -> list[tuple]:
    """The embedding cache's content (the file's header counters differ in a consistent copy)."""
    db = sqlite3.connect(instance / CACHE_FILENAME)
    try:
        return db.execute("SELECT key, vector FROM vectors ORDER BY key").fetchall()
    finally:
        db.close()


def _fresh(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> tuple[Settings, object]:
    """An empty instance on the database under test (restore creates the schema)."""
    settings = database_settings(request, tmp_path / name, migrated=False)
    engine = make_engine(settings)
    request.addfinalizer(engine.dispose)
    return settings, engine


def test_round_trip_into_a_fresh_instance(analysed, settings, engine, tmp_path, request):
    archive = tmp_path / "backup.tar.gz"
    report = backup(settings, engine, archive)
    assert report.rows["audit_event"] >= 5 and "secret_key" in report.files
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["schema_revision"] and manifest["members"]["instance/secret_key"]["sha256"]

    target_settings, target = _fresh(request, tmp_path, "restored")
    restored = restore(target_settings, target, archive)
    assert restored.chain.ok, restored.chain.summary()
    assert _all_rows(target) == _all_rows(engine)
    assert _files(target_settings.instance_dir) == _files(settings.instance_dir)
    assert _cache(target_settings.instance_dir) == _cache(settings.instance_dir) != []
    assert (target_settings.instance_dir / "secret_key").stat().st_mode & 0o777 == 0o600

    # Writing after a restore links onto the restored chain (and ids continue after the restored ones).
    factory = make_session_factory(target)
    with transaction(factory) as session:
        record(session, ACTOR, "after.restore", "thing", 1)
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["audit", "verify", "--instance", str(target_settings.instance_dir)]
        + (["--database-url", target_settings.database_url] if target_settings.database_url else []),
    )
    assert result.exit_code == 0, result.output


def test_restore_refuses_a_database_that_is_not_empty(analysed, settings, engine, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    backup(settings, engine, archive)
    with pytest.raises(BadInputError, match="the database is not empty"):
        restore(settings, engine, archive)
    before = _all_rows(engine)
    with transaction(make_session_factory(engine)) as session:
        record(session, ACTOR, "later", "thing", 2)
    report = restore(settings, engine, archive, force=True)  # back to the state of the backup
    assert report.replaced and report.chain.ok
    assert _all_rows(engine) == before


def _rewrite(archive: Path, target: Path, change) -> None:  # type: ignore[no-untyped-def]
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    change(members)
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_restore_refuses_corrupt_archives_and_other_revisions(analysed, settings, engine, tmp_path, request):
    archive = tmp_path / "backup.tar.gz"
    backup(settings, engine, archive)
    target_settings, target = _fresh(request, tmp_path, "restored")

    def tamper_rows(members):  # type: ignore[no-untyped-def]
        members["database/respondent.jsonl"] = members["database/respondent.jsonl"].replace(b"R3", b"R9")

    tampered = tmp_path / "tampered.tar.gz"
    _rewrite(archive, tampered, tamper_rows)
    with pytest.raises(BadInputError, match=r"database/respondent\.jsonl in the backup does not match its checksum"):
        restore(target_settings, target, tampered)

    def old_revision(members):  # type: ignore[no-untyped-def]
        manifest = json.loads(members["manifest.json"])
        manifest["schema_revision"] = "0003"
        members["manifest.json"] = json.dumps(manifest).encode()

    old = tmp_path / "old.tar.gz"
    _rewrite(archive, old, old_revision)
    with pytest.raises(BadInputError, match="made at schema revision 0003"):
        restore(target_settings, target, old)

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BadInputError, match="corrupt"):
        restore(target_settings, target, truncated)
    not_a_backup = tmp_path / "notes.tar.gz"
    _rewrite(archive, not_a_backup, lambda m: m.pop("manifest.json"))
    with pytest.raises(BadInputError, match=r"no manifest\.json"):
        restore(target_settings, target, not_a_backup)
    assert inspect(target).get_table_names() == []  # a refused restore has not even made the schema


def test_backup_and_restore_commands(analysed, settings, engine, tmp_path, request):
    archive = tmp_path / "cli.tar.gz"
    runner = CliRunner()
    result = runner.invoke(app, ["backup", "--to", str(archive), "--instance", str(settings.instance_dir)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    target, _ = _fresh(request, tmp_path, "cli-restored")
    into = ["--instance", str(target.instance_dir)] + (
        ["--database-url", target.database_url] if target.database_url else []
    )
    result = runner.invoke(app, ["restore", "--from", str(archive), *into])
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output
    result = runner.invoke(app, ["restore", "--from", str(archive), *into])
    assert result.exit_code != 0


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back(analysed, settings, engine, postgres_engine, tmp_path, request):
    archive = tmp_path / "from-sqlite.tar.gz"
    backup(settings, engine, archive)
    pg_settings = Settings(instance_dir=tmp_path / "pg")
    report = restore(pg_settings, postgres_engine, archive)
    assert report.chain.ok, report.chain.summary()
    assert _all_rows(postgres_engine) == _all_rows(engine)
    with transaction(make_session_factory(postgres_engine)) as session:  # sequences moved past restored ids
        record(session, ACTOR, "on.postgres", "thing", 1)

    again = tmp_path / "from-postgres.tar.gz"
    backup(pg_settings, postgres_engine, again)
    back_settings, back = _fresh(request, tmp_path, "back")
    report = restore(back_settings, back, again)
    assert report.chain.ok, report.chain.summary()
    assert _all_rows(back) == _all_rows(postgres_engine)

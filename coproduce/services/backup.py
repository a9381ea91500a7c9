"""Back up and restore a coproduce instance: the database and the instance files, in one checked archive.

The archive is a gzipped tar holding ``manifest.json`` (format, schema revision, row counts, the
audit chain head and the sha256 of every other member), ``database/<table>.jsonl`` (one JSON
object per row, tables in foreign-key order) and ``instance/...`` (the embedding cache, the web
secret key and pending uploads). The database dump is logical and dialect-neutral, so a backup of
PostgreSQL restores into SQLite and the other way round. It is consistent: SQLite is first copied
with its online backup API and dumped from the copy; PostgreSQL is read in one repeatable-read
transaction. Restore checks every member's checksum and the schema revision before it writes
anything, writes into an empty database only (unless forced), all in one transaction, and keeps
ids and audit hashes as they were, so ``coproduce audit verify`` passes afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Integer, Table, create_engine, delete, func, insert, select, text

from coproduce import __version__
from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.services.audit_verify import ChainReport, verify_chain
from coproduce.store.models import AuditChainHead, Base
from coproduce.store.schema import current_revision, head_revision, upgrade

FORMAT = 1
MANIFEST = "manifest.json"
SECRET_KEY_FILE = "secret_key"  # as webui.security keeps it
CACHE_FILE = "embeddings.sqlite"
INSERT_BATCH = 500


@dataclass
class BackupReport:
    path: Path
    rows: dict[str, int]
    files: list[str]
    bytes: int

    def summary(self) -> str:
        return (
            f"Backed up {sum(self.rows.values())} rows in {len(self.rows)} tables and {len(self.files)} instance "
            f"files to {self.path} ({self.bytes / 1_000_000:.1f} MB)."
        )


@dataclass
class RestoreReport:
    rows: dict[str, int]
    files: list[str]
    chain: ChainReport
    replaced: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"Restored {sum(self.rows.values())} rows in {len(self.rows)} tables and {len(self.files)} files."]
        if self.replaced:
            lines.append(f"Replaced {sum(self.replaced.values())} rows that were there before (--force).")
        lines.append(self.chain.summary())
        return "\n".join(lines)


def tables() -> list[Table]:
    """Every table of the models, parents before children."""
    return list(Base.metadata.sorted_tables)


def table_rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """A table's rows in primary-key order, as plain dicts."""
    order = list(table.primary_key.columns) or list(table.columns)
    for row in connection.execute(select(table).order_by(*order)):
        yield dict(row._mapping)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    for column in table.columns:
        value = row.get(column.name)
        if isinstance(column.type, DateTime) and isinstance(value, str):
            row[column.name] = datetime.fromisoformat(value)
    return row


# ---------------------------------------------------------------- backup


def backup(settings: Settings, engine: Engine, target: Path) -> BackupReport:
    """Write the archive to ``target`` (written beside it and renamed, so a failed backup leaves nothing)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coproduce-backup-") as tmp:
        work = Path(tmp)
        members: dict[str, dict[str, Any]] = {}
        rows, revision, chain = _dump_database(engine, work, members)
        files = _copy_instance_files(settings, work, members, exclude=target)
        manifest = {
            "format": FORMAT,
            "app": "coproduce",
            "version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema_revision": revision,
            "source_dialect": engine.dialect.name,
            "tables": [{"name": name, "rows": n} for name, n in rows.items()],
            "audit_chain_head": chain,
            "members": members,
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            for name in members:
                archive.add(work / name, arcname=name, recursive=False)
        os.replace(partial, target)
    return BackupReport(target, rows, files, target.stat().st_size)


def _dump_database(engine: Engine, work: Path, members: dict[str, dict[str, Any]]) -> tuple[dict[str, int], str, str]:
    revision = current_revision(engine)
    if revision != head_revision():
        raise BadInputError(
            f"the database is at schema revision {revision}, this coproduce expects {head_revision()}",
            hint="Run `coproduce db upgrade` first",
        )
    if engine.dialect.name == "sqlite":
        snapshot = work / "snapshot.sqlite"
        _sqlite_copy(Path(engine.url.database or ""), snapshot)
        source = create_engine(f"sqlite:///{snapshot}")
        try:
            with source.connect() as connection:
                rows, chain = _dump_tables(connection, work, members)
        finally:
            source.dispose()
        snapshot.unlink()
    else:
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with connection, connection.begin():  # one snapshot of every table
            rows, chain = _dump_tables(connection, work, members)
    return rows, str(revision), chain


def _dump_tables(connection: Connection, work: Path, members: dict[str, dict[str, Any]]) -> tuple[dict[str, int], str]:
    (work / "database").mkdir()
    rows: dict[str, int] = {}
    for table in tables():
        name = f"database/{table.name}.jsonl"
        count = 0
        with (work / name).open("w", encoding="utf-8") as out:
            for row in table_rows(connection, table):
                out.write(json.dumps(row, default=_encode, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        rows[table.name] = count
        members[name] = _describe(work / name)
    head = AuditChainHead.__table__
    chain = connection.execute(select(head.c.last_hash)).scalar() or ""
    return rows, chain


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file (the online backup API copies a snapshot, even mid-write)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _copy_instance_files(
    settings: Settings, work: Path, members: dict[str, dict[str, Any]], exclude: Path
) -> list[str]:
    instance = Path(settings.instance_dir)
    files: list[str] = []
    (work / "instance").mkdir()
    cache = instance / CACHE_FILE
    if cache.is_file():
        _sqlite_copy(cache, work / "instance" / CACHE_FILE)
        files.append(CACHE_FILE)
    secret = instance / SECRET_KEY_FILE
    if secret.is_file():
        shutil.copy2(secret, work / "instance" / SECRET_KEY_FILE)
        files.append(SECRET_KEY_FILE)
    uploads = instance / "uploads"
    if uploads.is_dir():
        for path in sorted(p for p in uploads.rglob("*") if p.is_file()):
            if path.resolve() == exclude.resolve():
                continue
            relative = path.relative_to(instance).as_posix()
            (work / "instance" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, work / "instance" / relative)
            files.append(relative)
    for relative in files:
        members[f"instance/{relative}"] = _describe(work / "instance" / relative)
    return files


def _describe(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- restore


def restore(settings: Settings, engine: Engine, source: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive ``source`` into ``engine``'s database and ``settings.instance_dir``."""
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="coproduce-restore-") as tmp:
        work = Path(tmp)
        manifest = _unpack_checked(source, work)
        upgrade(engine)
        with engine.begin() as connection:
            replaced = _existing_rows(connection)
            if replaced and not force:
                listed = ", ".join(f"{name} ({n})" for name, n in replaced.items())
                raise BadInputError(
                    f"the database is not empty: {listed}",
                    file=source,
                    hint="Restore into a new, empty database, or pass --force to replace everything in it",
                )
            for table in reversed(tables()):
                connection.execute(delete(table))
            rows = _load_tables(connection, work, manifest)
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection)
        files = _restore_instance_files(settings, work, manifest)
    with engine.connect() as connection:
        chain = verify_chain(connection)
    return RestoreReport(rows=rows, files=files, chain=chain, replaced=replaced)


def _unpack_checked(source: Path, work: Path) -> dict[str, Any]:
    """Read the manifest, extract the members it names and check each one's size and sha256."""
    if not source.is_file():
        raise BadInputError("the backup file does not exist", file=source)
    try:
        with tarfile.open(source, "r:gz") as archive:
            manifest = _read_manifest(archive, source)
            for name, expected in manifest["members"].items():
                _extract_member(archive, name, work, source)
                path = work / name
                if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
                    raise BadInputError(
                        f"{name} in the backup does not match its checksum: the archive is corrupt",
                        file=source,
                        hint="Use another copy of the backup",
                    )
    except (tarfile.TarError, EOFError, OSError, KeyError, ValueError, TypeError) as exc:
        raise BadInputError(
            f"the backup cannot be read ({exc.__class__.__name__}: {exc}): it is corrupt or not a coproduce backup",
            file=source,
            hint="Use another copy of the backup",
        ) from exc
    expected_revision = head_revision()
    if manifest.get("schema_revision") != expected_revision:
        raise BadInputError(
            f"the backup was made at schema revision {manifest.get('schema_revision')}, but this coproduce "
            f"is at revision {expected_revision}",
            file=source,
            hint="Restore it with the coproduce version that made it, then upgrade that database",
        )
    return manifest


def _read_manifest(archive: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BadInputError("the file has no manifest.json: it is not a coproduce backup", file=source)
    manifest = json.loads(member.read().decode("utf-8"))
    if manifest.get("app") != "coproduce" or manifest.get("format") != FORMAT:
        raise BadInputError(
            f"this is not a coproduce backup of format {FORMAT} (app {manifest.get('app')!r}, "
            f"format {manifest.get('format')!r})",
            file=source,
        )
    return manifest


def _extract_member(archive: tarfile.TarFile, name: str, work: Path, source: Path) -> None:
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or ".." in parts or parts[0] not in ("database", "instance"):
        raise BadInputError(f"the backup names an unsafe path {name!r}", file=source)
    member = archive.getmember(name)
    if not member.isfile():
        raise BadInputError(f"{name} in the backup is not a regular file", file=source)
    data = archive.extractfile(member)
    if data is None:
        raise BadInputError(f"{name} in the backup cannot be read", file=source)
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        shutil.copyfileobj(data, out)


def _existing_rows(connection: Connection) -> dict[str, int]:
    """Rows already in the database; the chain head of an empty log (made by the migration) does not count."""
    found = {}
    for table in tables():
        n = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if table.name == AuditChainHead.__tablename__:
            n = connection.execute(select(func.count()).select_from(table).where(table.c.events > 0)).scalar_one()
        if n:
            found[table.name] = n
    return found


def _load_tables(connection: Connection, work: Path, manifest: dict[str, Any]) -> dict[str, int]:
    known = {t.name: t for t in tables()}
    rows: dict[str, int] = {}
    for entry in manifest["tables"]:
        table = known.get(entry["name"])
        if table is None:
            raise BadInputError(f"the backup has a table {entry['name']!r} this coproduce does not know")
        count = 0
        batch: list[dict[str, Any]] = []
        with (work / "database" / f"{table.name}.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                batch.append(_decode(table, json.loads(line)))
                if len(batch) >= INSERT_BATCH:
                    connection.execute(insert(table), batch)  # Core: the audit hooks do not re-chain restored rows
                    count += len(batch)
                    batch = []
        if batch:
            connection.execute(insert(table), batch)
            count += len(batch)
        if count != entry["rows"]:
            raise BadInputError(f"the backup's {table.name} has {count} rows, its manifest says {entry['rows']}")
        rows[table.name] = count
    return rows


def _reset_sequences(connection: Connection) -> None:
    """Explicit ids do not move PostgreSQL's sequences: set each to the largest id restored."""
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer) or pk[0].autoincrement is False:
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": pk[0].name}
        ).scalar()
        if sequence:
            connection.execute(
                text(f'SELECT setval(:seq, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), 0) + 1, false)'),
                {"seq": sequence},
            )


def _restore_instance_files(settings: Settings, work: Path, manifest: dict[str, Any]) -> list[str]:
    instance = Path(settings.instance_dir)
    instance.mkdir(parents=True, exist_ok=True)
    names = [n.removeprefix("instance/") for n in manifest["members"] if n.startswith("instance/")]
    if any(n.startswith("uploads/") for n in names) and (instance / "uploads").is_dir():
        shutil.rmtree(instance / "uploads")
    for name in names:
        target = instance / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / "instance" / name, target)
        if name == SECRET_KEY_FILE:
            target.chmod(0o600)
    return names

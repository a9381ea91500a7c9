"""Shared pieces for the property-based ("fuzz") tests: settings, byte mutators and the one assertion.

Every fuzz test states the same contract: reading arbitrary or damaged input either succeeds or
raises :class:`BadInputError` whose message names the file; anything else is a bug. The example
count is modest so the default suite stays fast and repeatable (``derandomize=True``: CI sees
the same examples every run); set ``COPRODUCE_FUZZ_EXAMPLES=2000`` for a longer local hunt.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.errors import BadInputError

EXAMPLES = int(os.environ.get("COPRODUCE_FUZZ_EXAMPLES", "30"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)

T = TypeVar("T")

# Bytes that break parsers in interesting ways: BOMs, NULs, quotes, delimiters, line ends, high bytes.
AWKWARD_BYTES = [
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b'"',
    b",",
    b";",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x85",
    b"\xe2\x80\xa8",
    b"\xc3",
    b"\xff",
    b"=cmd|' /C calc'!A0",
    b"\\",
    b"{",
    b"}",
    b"<",
    b">",
    b"&",
]


@contextmanager
def file_with(name: str, data: bytes) -> Iterator[Path]:
    """A fresh temporary file called ``name`` holding ``data`` (hypothesis examples cannot share tmp_path)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


def bad_input_only(call: Callable[[], T], *paths: Path | str) -> T | None:
    """Run ``call``; the only failure allowed is a BadInputError that names one of ``paths``."""
    try:
        return call()
    except BadInputError as exc:
        names = [path.name if isinstance(path, Path) else str(path) for path in paths]
        assert any(name in str(exc) for name in names), f"the error does not name the file: {exc}"
        assert exc.message, "the error has no message"
        return None


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, max_edits: int = 6) -> bytes:
    """``seed`` with a few structure-blind edits: flips, awkward insertions, deletions, truncation, repeats."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        if not data:
            data.extend(draw(st.binary(min_size=1, max_size=16)))
            continue
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["flip", "insert", "awkward", "delete", "truncate", "repeat"]))
        if edit == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif edit == "awkward":
            data[at:at] = draw(st.sampled_from(AWKWARD_BYTES))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif edit == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 256))] * draw(st.integers(2, 20))
    return bytes(data)


@st.composite
def mutated_zip(draw: st.DrawFn, seed: bytes) -> bytes:
    """An Office file (zip) damaged the way real ones are: a part's XML edited, dropped or the zip itself cut."""
    how = draw(st.sampled_from(["member", "drop", "raw"]))
    if how == "raw":
        return draw(mutated(seed))
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    names = sorted(parts)
    victim = draw(st.sampled_from(names))
    if how == "drop":
        del parts[victim]
    else:
        parts[victim] = draw(mutated(parts[victim]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            if name in parts:
                archive.writestr(name, parts[name])
    return out.getvalue()


def assert_is_bad_input(exc: BaseException, path: Path) -> None:
    """For tests that expect refusal: the error is ours and names the file."""
    assert isinstance(exc, BadInputError), f"{type(exc).__name__}: {exc}"
    assert path.name in str(exc)


def overlong_values(session: Session) -> list[str]:
    """Every stored string longer than its column allows. SQLite does not enforce ``String(n)``;
    PostgreSQL does, so a value that only fits on SQLite is a crash waiting for production."""
    from coproduce.store.models import Base

    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            length = getattr(column.type, "length", None)
            if isinstance(column.type, String) and length:
                count = session.scalar(select(func.count()).select_from(table).where(func.length(column) > length))
                if count:
                    found.append(f"{table.name}.{column.name} (String({length})): {count} value(s) too long")
    return found


def row_counts(session: Session) -> dict[str, int]:
    """Rows in every table, to show that a refused input wrote nothing anywhere."""
    from coproduce.store.models import Base

    return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


@contextmanager
def fresh_database() -> Iterator[sessionmaker[Session]]:
    """An empty in-memory SQLite database with every table, for one hypothesis example.

    Built from the models (``create_all``), which tests/store/test_migrations.py keeps equal to the
    migrated schema; a migration per example would cost far more than the example itself.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import StaticPool

    from coproduce.store.db import make_session_factory
    from coproduce.store.models import Base

    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()

"""Property tests for ``import_file`` into a real (migrated SQLite) database: all or nothing.

Damaged and generated files of every kind go through the whole import. A refused file must be
refused with a BadInputError that names it and must leave every table exactly as it was; an
accepted one must write all of it (one source, its respondents and responses, one audit event),
and every value it writes must fit its column, as PostgreSQL will insist.
The privacy step uses a pass-through redactor and no safeguarding flags, so no model is loaded.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.privacy.base import RedactionResult
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from coproduce.services.projects import create_project
from coproduce.store.db import transaction
from tests.conftest import GREEN_PAPER, SEED
from tests.fuzzing import file_with, fuzz_settings, mutated, overlong_values, row_counts

pytestmark = pytest.mark.fuzz

ACTOR = Actor(label="fuzz")
SAMPLES = Path(__file__).resolve().parents[2] / "corpus" / "samples"
DATA = Path(__file__).resolve().parents[1] / "importers" / "data"
# (kind, file name, seed): the seed submission is cut to a few questions to keep each example quick.
SEEDS = [
    ("freeform", "submission.txt", lambda: "\n".join(SEED.read_text(encoding="utf-8").split("\n")[:8]).encode()),
    ("survey", "citizen-space.csv", lambda: (DATA / "citizen-space.csv").read_bytes()),
    ("survey", "surveymonkey.csv", lambda: (DATA / "surveymonkey.csv").read_bytes()),
    ("voice", "voice.csv", lambda: (SAMPLES / "voice-of-the-child.csv").read_bytes()),
    ("family", "family.jsonl", lambda: (SAMPLES / "family-feedback.jsonl").read_bytes()),
]
_unique = itertools.count()
# Cells long enough to overflow the String(n) columns respondents and closed answers are stored in.
LONG = ["x" * 260, "Parent carer " * 30, "9 " * 40]


class PassThrough:
    def redact(self, text: str) -> RedactionResult:
        return RedactionResult(text, text)


class NoFlags:
    def detect(self, text: str) -> list:  # type: ignore[type-arg]
        return []


@functools.cache
def seed(index: int) -> bytes:
    return SEEDS[index][2]()


def with_long_cell(draw: st.DrawFn, name: str, data: bytes) -> bytes:
    """``data`` with one value (an id, an age band, a setting, a tick-box answer ...) made very long."""
    long = draw(st.sampled_from(LONG))
    if name.endswith(".jsonl"):
        records = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        record = draw(st.sampled_from(records))
        record[draw(st.sampled_from(sorted(record)))] = long  # sampled_from: every key equally likely
        return "\n".join(json.dumps(r) for r in records).encode("utf-8")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    first_answer_row = 2 if "surveymonkey" in name else 1
    row = draw(st.integers(first_answer_row, len(rows) - 1))
    rows[row][draw(st.sampled_from(range(len(rows[row]))))] = long
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


@st.composite
def damaged_files(draw: st.DrawFn) -> tuple[str, str, bytes]:
    index = draw(st.integers(0, len(SEEDS) - 1))
    kind, name, _ = SEEDS[index]
    data = seed(index)
    how = draw(st.sampled_from(["as is", "mutated", "long cell"]))
    if how == "mutated":
        data = draw(mutated(data, max_edits=4))
    elif how == "long cell" and kind != "freeform":
        data = with_long_cell(draw, name, data)
    # Every example is a new file to the database: the same bytes would be "already imported".
    return kind, name, data + f"\n\n{next(_unique)}".encode() * (kind == "freeform")


@pytest.fixture
def project(session_factory: sessionmaker[Session]) -> str:
    with transaction(session_factory) as session:
        return create_project(session, ACTOR, "Fuzzed imports", load_framework(GREEN_PAPER)).slug


@fuzz_settings
@given(case=damaged_files())
def test_an_import_is_all_or_nothing(
    session_factory: sessionmaker[Session], settings: Settings, project: str, case: tuple[str, str, bytes]
) -> None:
    kind, name, data = case
    with session_factory() as session:
        before = row_counts(session)
    with file_with(name, data) as path:
        try:
            report = import_file(
                session_factory, settings, project, path, ACTOR, kind=kind, privacy=lambda s: (PassThrough(), NoFlags())
            )
        except BadInputError as exc:
            assert name in str(exc) or "column mapping" in str(exc), f"the error does not name the file: {exc}"
            with session_factory() as session:
                assert row_counts(session) == before, "a refused file changed the database"
            return
    with session_factory() as session:
        after = row_counts(session)
        assert overlong_values(session) == []
    if report.already_imported:
        assert after == before
        return
    assert report.responses > 0
    expected = dict(before)
    expected["source"] += 1
    expected["respondent"] += report.respondents
    expected["response"] += report.responses
    expected["audit_event"] += 1
    changed = {table: (before[table], after[table]) for table in after if after[table] != before[table]}
    assert after == expected, f"unexpected writes: {changed}"


def test_the_seeds_import(session_factory: sessionmaker[Session], settings: Settings, project: str) -> None:
    """The undamaged seeds import, so refusals in the property test come from the damage."""
    for index, (kind, name, _) in enumerate(SEEDS):
        with file_with(name, seed(index)) as path:
            report = import_file(
                session_factory, settings, project, path, ACTOR, kind=kind, privacy=lambda s: (PassThrough(), NoFlags())
            )
        assert report.responses > 0, name


def long_value_cases() -> list[tuple[int, str]]:
    """(seed, column) for every column of every table seed: each gets a long value in turn."""
    cases = []
    for index, (kind, name, _) in enumerate(SEEDS):
        if kind == "freeform":
            continue
        if name.endswith(".jsonl"):
            columns = sorted(json.loads(seed(index).decode("utf-8").splitlines()[0]))
        else:
            columns = next(csv.reader(io.StringIO(seed(index).decode("utf-8-sig"))))
        cases.extend((index, column) for column in dict.fromkeys(columns))
    return cases


def test_a_long_value_in_any_column_is_stored_whole_or_refused(
    session_factory: sessionmaker[Session], settings: Settings, project: str
) -> None:
    """Each column of each table seed in turn gets a value longer than any String(n) column (one database)."""
    long = "Parent carer " * 30
    refused = 0
    for index, column in long_value_cases():
        kind, name, _ = SEEDS[index]
        if name.endswith(".jsonl"):
            records = [json.loads(line) for line in seed(index).decode("utf-8").splitlines() if line.strip()]
            records[0][column] = long
            data = "\n".join(json.dumps(r) for r in records).encode("utf-8")
        else:
            rows = list(csv.reader(io.StringIO(seed(index).decode("utf-8-sig"))))
            first = 2 if "surveymonkey" in name else 1
            rows[first][rows[0].index(column)] = long
            out = io.StringIO()
            csv.writer(out).writerows(rows)
            data = out.getvalue().encode("utf-8")
        with session_factory() as session:
            before = row_counts(session)
        with file_with(name, data) as path:
            try:
                import_file(
                    session_factory,
                    settings,
                    project,
                    path,
                    ACTOR,
                    kind=kind,
                    privacy=lambda s: (PassThrough(), NoFlags()),
                )
            except BadInputError as exc:
                refused += 1
                assert name in str(exc), str(exc)
                with session_factory() as session:
                    assert row_counts(session) == before, (name, column)
                continue
        with session_factory() as session:
            assert overlong_values(session) == [], (name, column)
    assert refused, "no long value was refused: the check is not being exercised"

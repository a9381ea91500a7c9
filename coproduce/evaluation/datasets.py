"""Readers for the evaluation datasets: each gives plain records plus the framework that is their label space.

Three layouts are read, each from any folder or file of that layout (held-back test files are scored the same way):

- NHS Friends and Family Test CSV: column 9 is the comment, columns 12 onwards are one-hot codes named by the header.
- themefinder evaluation folder: ``inputs/question_part_N`` and ``outputs/mapping/<date>/question_part_N``, one
  label space (themes as label + description) per question.
- segment JSONL: one coded sentence per line, with code ids from a framework YAML.

Every problem is a :class:`~coproduce.errors.BadInputError` naming the file, the row (or line) and the field.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import CodeSpec, FrameworkSpec, StanceSpec

FFT_TEXT_COLUMN = 8  # "FFT answer", the ninth column
FFT_FIRST_CODE_COLUMN = 11  # codes start at the twelfth column
FFT_TRUE = {"1", "1.0", "true", "yes"}
FFT_FALSE = {"", "0", "0.0", "false", "no"}

# themefinder positions, as stances of the SEND framework: agreeing with the question's proposal is support.
# UNCLEAR carries no position and is left out of stance scoring.
THEMEFINDER_POSITIONS = {"AGREE": "support", "DISAGREE": "oppose"}


@dataclass(frozen=True)
class Record:
    """One coded unit of text: a comment, a response, or a sentence of a response."""

    text: str
    codes: frozenset[str]
    stance: str | None = None
    respondent_type: str | None = None
    group: str = ""  # the question it answers: a label space, a fold boundary, a table row
    response: str = ""  # records with the same response id are segments of one response
    record_id: str = ""
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Dataset:
    name: str
    records: list[Record]
    framework: FrameworkSpec
    source: Path | None = None

    @property
    def code_ids(self) -> list[str]:
        return [c.id for c in self.framework.codes]


def _fail(message: str, file: Path, row: int | None = None, field: str | None = None, hint: str | None = None):
    return BadInputError(message, file=file, row=row, field=field, hint=hint)


def _open_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fail("file not found", path, hint="Check the path") from None
    except UnicodeDecodeError:
        raise _fail("file is not UTF-8 text", path, hint="Save it as UTF-8") from None


# --- NHS FFT -----------------------------------------------------------------------------------------------------


def read_fft_csv(path: str | Path) -> Dataset:
    """A CSV in the NHS FFT layout. Rows with an empty comment are skipped; a code's header is its id and label."""
    path = Path(path)
    rows = list(csv.reader(_open_text(path).splitlines(keepends=True)))
    if not rows:
        raise _fail("the file is empty", path, hint="Expected a header row and coded comments")
    header = [h.strip() for h in rows[0]]
    if len(header) <= FFT_FIRST_CODE_COLUMN:
        raise _fail(
            f"expected at least {FFT_FIRST_CODE_COLUMN + 1} columns, found {len(header)}",
            path,
            row=1,
            hint="Column 9 is the comment and columns 12 onwards are the codes",
        )
    names = header[FFT_FIRST_CODE_COLUMN:]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise _fail("a code column has no name", path, row=1, hint="Every column from 12 on needs a header")
        if name in seen:
            raise _fail(f"code column {name!r} appears twice", path, row=1, field=name)
        seen.add(name)
    sentiment_at = header.index("Comment sentiment") if "Comment sentiment" in header else None
    question_at = header.index("FFT question") if "FFT question" in header else None
    id_at = header.index("Comment ID") if "Comment ID" in header else None
    respondent_at = header.index("Respondent ID") if "Respondent ID" in header else None

    records: list[Record] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise _fail(f"expected {len(header)} cells, found {len(row)}", path, row=number)
        text = row[FFT_TEXT_COLUMN].strip()
        if not text:
            continue
        codes = set()
        for name, cell in zip(names, row[FFT_FIRST_CODE_COLUMN:], strict=True):
            value = cell.strip().lower()
            if value in FFT_TRUE:
                codes.add(name)
            elif value not in FFT_FALSE:
                raise _fail(f"expected 1 or empty, found {cell!r}", path, row=number, field=name)
        # Each comment is a whole answer to one question; a respondent's answers to different questions are not
        # segments of one response, so the respondent goes in meta rather than in ``response``.
        meta = {}
        if sentiment_at is not None and row[sentiment_at].strip():
            meta["sentiment"] = row[sentiment_at].strip()
        if respondent_at is not None and row[respondent_at].strip():
            meta["respondent"] = row[respondent_at].strip()
        records.append(
            Record(
                text=text,
                codes=frozenset(codes),
                group=" ".join(row[question_at].split()) if question_at is not None else "",
                record_id=row[id_at].strip() if id_at is not None else f"row {number}",
                meta=meta,
            )
        )
    framework = FrameworkSpec(
        name=f"FFT codes ({path.name})",
        version="1",
        codes=tuple(CodeSpec(id=name, label=name, group="fft") for name in names),
    )
    return Dataset(name=path.stem, records=records, framework=framework, source=path)


# --- themefinder ---------------------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for number, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(f"not valid JSON ({exc.msg})", path, row=number) from None
        if not isinstance(value, dict):
            raise _fail(f"expected a JSON object, found {type(value).__name__}", path, row=number)
        out.append((number, value))
    return out


def _field(value: dict[str, Any], key: str, path: Path, row: int | None, kind: type | tuple[type, ...]) -> Any:
    if key not in value or value[key] is None:
        raise _fail("is missing", path, row=row, field=key)
    if not isinstance(value[key], kind):
        raise _fail(f"has the wrong type ({type(value[key]).__name__})", path, row=row, field=key)
    return value[key]


def _themefinder_framework(path: Path, question: str) -> FrameworkSpec:
    try:
        themes = json.loads(_open_text(path))
    except json.JSONDecodeError as exc:
        raise _fail(f"not valid JSON ({exc.msg})", path, row=exc.lineno) from None
    if not isinstance(themes, list) or not themes:
        raise _fail("expected a non-empty list of themes", path)
    codes = []
    for number, theme in enumerate(themes, start=1):
        if not isinstance(theme, dict):
            raise _fail("expected a theme object", path, row=number)
        codes.append(
            CodeSpec(
                id=str(_field(theme, "topic_id", path, number, (str, int))),
                label=str(_field(theme, "topic_label", path, number, str)).strip(),
                description=str(theme.get("topic_description") or "").strip(),
                group="themes",
            )
        )
    if len({c.id for c in codes}) != len(codes):
        raise _fail("theme ids are not unique", path, field="topic_id")
    return FrameworkSpec(
        name=question,
        version="1",
        codes=tuple(codes),
        stances=(
            StanceSpec("support", "Agree", "Agrees with the proposal in the question."),
            StanceSpec("oppose", "Disagree", "Disagrees with the proposal in the question."),
        ),
    )


def read_themefinder(folder: str | Path, mapping_date: str | None = None) -> list[Dataset]:
    """One dataset per ``question_part_N`` of a themefinder evaluation folder, each with its own themes.

    The gold mapping is read from ``outputs/mapping/<date>/``: the named date, or the latest one present.
    """
    folder = Path(folder)
    inputs = folder / "inputs"
    mapping_root = folder / "outputs" / "mapping"
    if not inputs.is_dir() or not mapping_root.is_dir():
        raise _fail("not a themefinder folder", folder, hint="Expected inputs/ and outputs/mapping/ inside it")
    dates = sorted(p.name for p in mapping_root.iterdir() if p.is_dir())
    if mapping_date is not None and mapping_date not in dates:
        raise _fail(f"no mapping for {mapping_date!r}", mapping_root, hint=f"Found: {', '.join(dates) or 'none'}")
    if not dates:
        raise _fail("no dated mapping folder", mapping_root)
    outputs = mapping_root / (mapping_date or dates[-1])
    parts = sorted(
        (p for p in inputs.iterdir() if p.is_dir() and p.name.startswith("question_part_")),
        key=lambda p: (len(p.name), p.name),
    )
    if not parts:
        raise _fail("no question_part_N folders", inputs)
    return [_themefinder_question(part, outputs / part.name) for part in parts]


def _themefinder_question(part: Path, gold: Path) -> Dataset:
    question_file = part / "question.json"
    try:
        question = json.loads(_open_text(question_file))
    except json.JSONDecodeError as exc:
        raise _fail(f"not valid JSON ({exc.msg})", question_file, row=exc.lineno) from None
    if not isinstance(question, dict):
        raise _fail("expected a JSON object", question_file)
    question_text = str(_field(question, "question_text", question_file, None, str))
    framework = _themefinder_framework(gold / "themes.json", question_text)
    known = {c.id for c in framework.codes}

    labels: dict[str, frozenset[str]] = {}
    mapping_file = gold / "mapping.jsonl"
    for number, row in _jsonl(mapping_file):
        rid = str(_field(row, "response_id", mapping_file, number, (str, int)))
        ids = _field(row, "labels", mapping_file, number, list)
        unknown = [str(i) for i in ids if str(i) not in known]
        if unknown:
            raise _fail(f"unknown theme ids {unknown}", mapping_file, row=number, field="labels")
        labels[rid] = frozenset(str(i) for i in ids)
    positions = _optional_column(gold / "sentiment.jsonl", "position")
    detail = _optional_column(gold / "detail_detection.jsonl", "evidence_rich")

    records = []
    responses_file = part / "responses.jsonl"
    for number, row in _jsonl(responses_file):
        rid = str(_field(row, "response_id", responses_file, number, (str, int)))
        text = str(_field(row, "response", responses_file, number, str)).strip()
        if rid not in labels:
            raise _fail(f"response {rid} has no gold mapping in {mapping_file}", responses_file, row=number)
        if not text:
            continue
        meta = {"question": part.name}
        if rid in positions:
            meta["position"] = positions[rid]
        if rid in detail:
            meta["evidence_rich"] = detail[rid]
        records.append(
            Record(
                text=text,
                codes=labels[rid],
                stance=THEMEFINDER_POSITIONS.get(positions.get(rid, "")),
                group=part.name,
                response=f"{part.name}/{rid}",
                record_id=rid,
                meta=meta,
            )
        )
    return Dataset(name=part.name, records=records, framework=framework, source=part)


def _optional_column(path: Path, key: str) -> dict[str, str]:
    if not path.exists():
        return {}
    return {
        str(_field(row, "response_id", path, number, (str, int))): str(_field(row, key, path, number, str))
        for number, row in _jsonl(path)
    }


# --- segment JSONL ---------------------------------------------------------------------------------------------------


def read_segments(path: str | Path, framework: FrameworkSpec | str | Path) -> Dataset:
    """A JSONL file of coded segments (``text``, ``codes`` and optionally ``stance``, ``respondent_type``, ...).

    The question a segment answers is its ``question`` field when present (any text or number), else
    ``question_number`` ("q3"); it becomes the record's ``group`` and is passed to the coder.
    Segments that share ``response_id`` (or, failing that, ``respondent_id`` and ``question_number``) are one
    response, for response-level scores.
    """
    path = Path(path)
    spec = framework if isinstance(framework, FrameworkSpec) else load_framework(framework)
    codes = {c.id for c in spec.codes}
    stances = {s.id for s in spec.stances}
    records = []
    for number, row in _jsonl(path):
        text = str(_field(row, "text", path, number, str)).strip()
        if not text:
            raise _fail("is empty", path, row=number, field="text")
        given = _field(row, "codes", path, number, list)
        unknown = [str(c) for c in given if str(c) not in codes]
        if unknown:
            raise _fail(
                f"unknown code ids {unknown} for framework {spec.name!r}",
                path,
                row=number,
                field="codes",
                hint="Use the ids of the framework's codes, or pass --framework",
            )
        stance = row.get("stance")
        if stance is not None and (not isinstance(stance, str) or stance not in stances):
            raise _fail(f"unknown stance {stance!r}", path, row=number, field="stance")
        question = row.get("question_number")
        respondent = row.get("respondent_id")
        response = row.get("response_id")
        if response is None:
            response = f"{respondent if respondent is not None else ''}/q{question if question is not None else ''}"
        records.append(
            Record(
                text=text,
                codes=frozenset(str(c) for c in given),
                stance=stance,
                respondent_type=str(row["respondent_type"]) if row.get("respondent_type") else None,
                group=_segment_question(row, question),
                response=str(response),
                record_id=f"{path.name}:{number}",
            )
        )
    return Dataset(name=path.stem, records=records, framework=spec, source=path)


def _segment_question(row: dict[str, Any], number: object) -> str:
    named = row.get("question")
    if named is not None and not isinstance(named, dict | list) and str(named).strip():
        return " ".join(str(named).split())
    return f"q{number}" if number is not None else ""


def align(train: Dataset, test: Dataset) -> Dataset:
    """``test`` with a label space that also holds every code of ``train`` (codes a test file lacks score as absent)."""
    known = {c.id for c in test.framework.codes}
    extra = tuple(c for c in train.framework.codes if c.id not in known)
    if not extra:
        return test
    framework = replace(test.framework, codes=test.framework.codes + extra)
    return Dataset(test.name, test.records, framework, test.source)

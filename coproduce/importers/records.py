"""One record per row (.csv, .xlsx) or per line (.jsonl), with columns found by name.

Voice-of-the-child and family-feedback files are kept by hand in many shapes; the columns
are recognised case-insensitively with a few synonyms, and whatever is left over becomes
respondent attributes, except personal data, which is never imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.base import ImportedRespondent, ImportResult
from coproduce.importers.dialects import is_personal_data
from coproduce.importers.files import decode_text, read_checked
from coproduce.importers.tabular import read_table
from coproduce.importers.values import simple_key

RECORD_SUFFIXES = (".csv", ".xlsx", ".jsonl")


@dataclass
class Record:
    number: int  # spreadsheet row, or JSONL line
    location: str  # "row 5" or "line 5"
    values: dict[str, str]  # column name as the file writes it -> cell text ("" when empty)


@dataclass
class RecordFile:
    path: Path
    columns: list[str]
    records: list[Record]
    header_row: int | None  # 1 for spreadsheets; None for JSONL, which has no header


def read_records(path: Path, settings: Settings) -> RecordFile:
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, settings)
    table = read_table(path, settings, header_rows=1)
    columns = table.columns
    records = [
        Record(row.number, f"row {row.number}", dict(zip(columns, row.cells, strict=True))) for row in table.rows
    ]
    return RecordFile(path, columns, records, header_row=1)


def find_columns(source: RecordFile, synonyms: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> dict[str, str]:
    """Map each field name to the file's column for it; a missing required field stops the import.

    ``synonyms`` lists, per field, the accepted column names in order of preference, written
    as :func:`simple_key` gives them ("communication method", not "Communication_Method").
    """
    by_key: dict[str, str] = {}
    for column in source.columns:
        by_key.setdefault(simple_key(column), column)
    found: dict[str, str] = {}
    taken: set[str] = set()
    for name, names in synonyms.items():
        for key in (simple_key(name), *names):
            column = by_key.get(key)
            if column is not None and column not in taken:
                found[name] = column
                taken.add(column)
                break
    for name in required:
        if name not in found:
            accepted = ", ".join(dict.fromkeys((name, *synonyms[name])))
            raise BadInputError(
                f"there is no {name!r} column",
                file=source.path,
                row=source.header_row,
                field=name,
                hint=f"Name one column {name!r} (also accepted: {accepted})",
            )
    return found


def other_attributes(record: Record, used: set[str]) -> dict[str, str]:
    """The record's remaining non-empty values, minus personal data such as names and emails."""
    return {
        column: value
        for column, value in record.values.items()
        if value and column not in used and not is_personal_data(column)
    }


def merge_respondent(kept: ImportedRespondent, new: ImportedRespondent) -> None:
    """Fold a later record about the same person into the first one.

    Gaps are filled from the later record. Consent to quote takes the most careful answer:
    a "no" anywhere means no, and an unclear answer beats a "yes".
    """
    for name in ("age", "age_band", "setting", "communication_method", "recorded_by", "area", "external_id"):
        if getattr(kept, name) is None:
            setattr(kept, name, getattr(new, name))
    if kept.respondent_type == "unknown":
        kept.respondent_type = new.respondent_type
    order = {False: 0, None: 1, True: 2}
    kept.consent_to_quote = min(kept.consent_to_quote, new.consent_to_quote, key=order.__getitem__)
    for name, value in new.attributes.items():
        kept.attributes.setdefault(name, value)


def _read_jsonl(path: Path, settings: Settings) -> RecordFile:
    text = decode_text(read_checked(path, settings), path)
    columns: dict[str, None] = {}
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                f"line {number} is not valid JSON ({exc.msg} at character {exc.colno})",
                file=path,
                row=number,
                hint='Each line must be one complete JSON object, such as {"pseudonym": "Star", "text": "..."}',
            ) from exc
        except RecursionError:  # found by fuzzing: "[[[[..." thousands deep
            raise BadInputError(
                f"line {number} nests lists or objects too deeply to read",
                file=path,
                row=number,
                hint='Write each record as one flat object: {"pseudonym": "Star", "text": "..."}',
            ) from None
        except ValueError as exc:  # found by fuzzing: a number longer than Python will convert (4,300 digits)
            raise BadInputError(
                f"line {number} holds a number with more digits than can be read",
                file=path,
                row=number,
                hint="Write very long numbers as text, in quotes",
            ) from exc
        if not isinstance(data, dict):
            raise BadInputError(
                f"line {number} is a JSON {type(data).__name__}, not an object",
                file=path,
                row=number,
                hint='Write each record as an object in braces: {"text": "..."}',
            )
        values = {str(key): _json_value(value, path, number, str(key)) for key, value in data.items()}
        columns.update(dict.fromkeys(values))
        records.append(Record(number, f"line {number}", values))
    if not records:
        raise BadInputError("the file has no records", file=path, hint="Write one JSON object per line")
    for record in records:
        for column in columns:
            record.values.setdefault(column, "")
    return RecordFile(path, list(columns), records, header_row=None)


def _json_value(value: object, path: Path, line: int, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value).replace("\r\n", "\n").strip()
    raise BadInputError(
        f"the value of {key!r} on line {line} is a {type(value).__name__}; it must be text or a number",
        file=path,
        row=line,
        field=key,
        hint="Write lists or nested objects as plain text",
    )


def field_value(record: Record, columns: dict[str, str], name: str) -> str:
    """The record's value for field ``name`` ("" when the file has no such column)."""
    column = columns.get(name)
    return record.values.get(column, "") if column else ""


def add_respondent(result: ImportResult, seen: dict[str, ImportedRespondent], respondent: ImportedRespondent) -> None:
    """Add ``respondent`` to ``result``, or fold it into the one already there with the same key."""
    if respondent.key in seen:
        merge_respondent(seen[respondent.key], respondent)
    else:
        seen[respondent.key] = respondent
        result.respondents.append(respondent)

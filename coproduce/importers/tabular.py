"""Read a .csv or .xlsx into a plain table of strings, refusing shapes we cannot trust.

Row numbers are the ones a spreadsheet shows (the first header row is row 1), so an error
message can send the user straight to the cell. Cells are always strings; an empty cell is "".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.files import ZIP_PART_ERRORS, check_zip_container, decode_text, read_checked

TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx")
_DELIMITERS = (",", ";", "\t")
_SNIFF_RECORDS = 20
_SURVEYMONKEY_SUBHEADERS = {"response", "open-ended response", "other (please specify)"}


@dataclass
class TableRow:
    number: int  # as a spreadsheet shows it; header rows count
    cells: list[str]


@dataclass
class Table:
    path: Path
    header_rows: list[list[str]]
    rows: list[TableRow]

    @property
    def columns(self) -> list[str]:
        """One name per column: the header rows' distinct parts joined with " / "."""
        return [column_name(parts) for parts in self.column_parts]

    @property
    def column_parts(self) -> list[list[str]]:
        """Each column's header cells, top to bottom, with upper rows' gaps filled from the left.

        Survey tools write a question once above all its sub-columns (like merged cells);
        filling gaps gives every sub-column its question.
        """
        filled = [_fill_right(row) for row in self.header_rows[:-1]] + self.header_rows[-1:]
        return [[row[i] for row in filled] for i in range(len(self.header_rows[0]))]


def column_name(parts: list[str]) -> str:
    distinct: list[str] = []
    for part in parts:
        if part and part not in distinct:
            distinct.append(part)
    return " / ".join(distinct)


def normalise_header(text: str) -> str:
    """Header text compared for sameness: whitespace collapsed, case ignored."""
    return " ".join(text.split()).casefold()


def read_rows(path: Path, settings: Settings) -> list[TableRow]:
    """Every row of the file (blank rows included) as strings, numbered from 1."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise BadInputError(
            f"cannot read {suffix or 'files without a suffix'} as a table",
            file=path,
            hint="Save the spreadsheet as .xlsx or .csv and import that",
        )
    data = read_checked(path, settings)
    if suffix == ".xlsx":
        return _read_xlsx(path, data, settings)
    return _read_csv(path, decode_text(data, path))


def read_table(path: Path, settings: Settings, header_rows: int | None = None) -> Table:
    """Read ``path`` with ``header_rows`` rows of column names (``None``: recognise them)."""
    path = Path(path)
    raw = read_rows(path, settings)
    if not raw or not any(raw[0].cells):
        raise BadInputError(
            "the first row is empty, so there are no column names",
            file=path,
            row=1,
            hint="Put the column names in row 1 (delete any title rows above them)",
        )
    count = guess_header_rows([r.cells for r in raw[:3]]) if header_rows is None else header_rows
    if count < 1 or len(raw) < count:
        raise BadInputError(f"expected {count} header rows but the file has {len(raw)} rows", file=path, row=len(raw))
    is_csv = path.suffix.lower() != ".xlsx"
    # A CSV's header says exactly how many fields every row has; a spreadsheet pads with blanks.
    width = max((len(r.cells) if is_csv else _width(r.cells)) for r in raw[:count])
    for row in raw:
        _check_width(path, row, width, strict=is_csv and any(row.cells))
    headers = [_pad(r.cells, width) for r in raw[:count]]
    headers[0][0] = headers[0][0].lstrip("\ufeff")
    rows = [TableRow(r.number, _pad(r.cells, width)) for r in raw[count:] if any(r.cells)]
    table = Table(path, headers, rows)
    _check_columns(table)
    if not rows:
        raise BadInputError(
            f"the file has column names but no rows of answers below row {count}",
            file=path,
            hint="Check that you exported the responses, not just the questions",
        )
    return table


def guess_header_rows(first_rows: list[list[str]]) -> int:
    """How many header rows a survey export starts with: Qualtrics 3, SurveyMonkey 2, else 1."""
    if len(first_rows) >= 3 and any(c.startswith('{"ImportId"') for c in first_rows[2]):
        return 3
    if len(first_rows) >= 2:
        top, second = first_rows[0], first_rows[1]
        subheaders = {normalise_header(c) for c in second} & _SURVEYMONKEY_SUBHEADERS
        # A SurveyMonkey question spans several columns: its text appears once, then blanks.
        gaps = any(not t and s for t, s in zip(top, second, strict=False))
        if subheaders and (gaps or normalise_header(top[0]) == "respondent id"):
            return 2
    return 1


def _check_width(path: Path, row: TableRow, width: int, *, strict: bool) -> None:
    actual = len(row.cells) if strict else _width(row.cells)
    if actual > width or (strict and actual < width):
        raise BadInputError(
            f"this row has {actual} cells but the header has {width} columns",
            file=path,
            row=row.number,
            hint="Check for a stray comma, delimiter or unquoted line break in this row, "
            "or a value typed to the right of the last column",
        )


def _check_columns(table: Table) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(table.columns):
        if not name:
            if any(row.cells[index] for row in table.rows):
                raise BadInputError(
                    "this column has answers but no name",
                    file=table.path,
                    row=1,
                    field=f"column {column_letter(index)}",
                    hint="Type a name for the column in the header row",
                )
            continue
        key = normalise_header(name)
        if key in seen:
            raise BadInputError(
                f"the column name {name!r} appears twice (columns {column_letter(seen[key])} "
                f"and {column_letter(index)})",
                file=table.path,
                row=len(table.header_rows),
                field=name,
                hint="Rename one of the two columns so each name is different",
            )
        seen[key] = index


def column_letter(index: int) -> str:
    """Spreadsheet letter for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_csv(path: Path, text: str) -> list[TableRow]:
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[TableRow] = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append(TableRow(number, [_clean(c) for c in cells]))
    except csv.Error as exc:
        raise BadInputError(
            f"this row cannot be read as CSV ({exc})",
            file=path,
            row=len(rows) + 1,
            hint="Check the quotation marks in this row; a quoted value must end with a closing quote",
        ) from exc
    return rows


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the same, largest number of fields."""
    best, best_score = ",", (False, 1)
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        counts = []
        try:
            for cells in reader:
                if cells:
                    counts.append(len(cells))
                if len(counts) >= _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if not counts:
            continue
        score = (len(set(counts)) == 1, counts[0])
        if counts[0] > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _read_xlsx(path: Path, data: bytes, settings: Settings) -> list[TableRow]:
    import openpyxl
    from lxml import etree
    from openpyxl.utils.exceptions import InvalidFileException

    check_zip_container(path, data, settings)
    try:
        # openpyxl warns about styles and data validation it ignores; none of that affects values.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                # Some tools write a wrong size into the sheet; reading without it reads every cell.
                sheet.reset_dimensions()
                # min_row=1 makes openpyxl yield blank rows too, so numbers match the spreadsheet.
                return [
                    TableRow(number, [_cell_text(v) for v in values])
                    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
                ]
            finally:
                book.close()
    except (
        InvalidFileException,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        ElementTree.ParseError,  # a part's XML edited or cut short (found by fuzzing)
        etree.LxmlError,  # the same, when openpyxl parses with lxml
        *ZIP_PART_ERRORS,
    ) as exc:
        raise BadInputError(
            f"not a valid .xlsx file ({exc})",
            file=path,
            hint="Open it in Excel and save it again as .xlsx, or export it as .csv",
        ) from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return _clean(str(value))


def _clean(text: str) -> str:
    return re.sub(r"\r\n?", "\n", text).strip()


def _width(cells: list[str]) -> int:
    """Cells up to the last non-empty one (spreadsheets often carry empty cells to the right)."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _pad(cells: list[str], width: int) -> list[str]:
    return (cells + [""] * width)[:width]


def _fill_right(row: list[str]) -> list[str]:
    filled, last = [], ""
    for cell in row:
        last = cell or last
        filled.append(last)
    return filled

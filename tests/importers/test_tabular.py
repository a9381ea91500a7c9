"""Reading .csv and .xlsx into tables, and refusing shapes that would misplace answers."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.tabular import column_letter, guess_header_rows, read_table

from .conftest import DATA, write_xlsx

SETTINGS = Settings()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", 'ID,Comment\r\n1,"two\r\nlines"\r\n\r\n2, padded \r\n')
    table = read_table(path, SETTINGS)
    assert table.columns == ["ID", "Comment"]
    assert [(r.number, r.cells) for r in table.rows] == [(2, ["1", "two\nlines"]), (4, ["2", "padded"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([["ID", "Area", "Comment"], ["1", "Northfield", "a, b; c"]])
    table = read_table(write(tmp_path, "t.csv", buffer.getvalue()), SETTINGS)
    assert table.rows[0].cells == ["1", "Northfield", "a, b; c"]


def test_utf8_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", codecs.BOM_UTF8 + "ID,Comment\n1,café\n".encode())
    table = read_table(path, SETTINGS)
    assert table.columns[0] == "ID"
    assert table.rows[0].cells[1] == "café"


def test_cp1252_csv_from_excel(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "ID;Comment\r\n1;The school’s café\r\n".encode("cp1252"))
    assert read_table(path, SETTINGS).rows[0].cells == ["1", "The school’s café"]


def test_utf16_tab_separated_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "ID\tComment\r\n1\tRéunion\r\n".encode("utf-16"))
    assert read_table(path, SETTINGS).rows[0].cells == ["1", "Réunion"]


def test_ragged_csv_row_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", "ID,Comment\n1,fine\n2,too,many\n")
    with pytest.raises(BadInputError, match="3 cells but the header has 2 columns") as info:
        read_table(path, SETTINGS)
    assert info.value.row == 3
    assert "ragged.csv, row 3" in str(info.value)


def test_short_csv_row_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "short.csv", "ID,Area,Comment\n1,North,fine\n2\n")
    with pytest.raises(BadInputError, match="1 cells") as info:
        read_table(path, SETTINGS)
    assert info.value.row == 3


def test_unclosed_quote_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "quote.csv", 'ID,Comment\n1,"fine"\n2,"never "closed\n')
    with pytest.raises(BadInputError, match="quot") as info:
        read_table(path, SETTINGS)
    assert info.value.row == 3


def test_duplicated_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "ID,Local  area,local area\n1,a,b\n")
    with pytest.raises(BadInputError, match="appears twice") as info:
        read_table(path, SETTINGS)
    assert info.value.field == "local area"
    assert "columns B and C" in str(info.value)
    assert "dup.csv, row 1" in str(info.value)


def test_missing_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "noheader.csv", ",,\n1,2,3\n")
    with pytest.raises(BadInputError, match="no column names") as info:
        read_table(path, SETTINGS)
    assert info.value.row == 1


def test_column_with_answers_but_no_name(tmp_path: Path) -> None:
    path = write(tmp_path, "unnamed.csv", "ID,,Comment\n1,x,y\n")
    with pytest.raises(BadInputError, match="no name") as info:
        read_table(path, SETTINGS)
    assert info.value.field == "column B"


def test_no_data_rows_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "headeronly.csv", "ID,Comment\n\n,\n")
    with pytest.raises(BadInputError, match="no rows of answers") as info:
        read_table(path, SETTINGS)
    assert "headeronly.csv" in str(info.value)


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"cannot read \.xls"):
        read_table(write(tmp_path, "old.xls", b"x"), SETTINGS)


def test_xlsx_values_become_text(tmp_path: Path) -> None:
    import datetime as dt

    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["ID", "When", "Age", "Comment", None], [1, dt.datetime(2022, 6, 1, 9, 30), 9.0, " Fine ", None]],
    )
    table = read_table(path, SETTINGS)
    assert table.columns == ["ID", "When", "Age", "Comment"]
    assert table.rows[0].cells == ["1", "2022-06-01 09:30:00", "9", "Fine"]


def test_xlsx_keeps_spreadsheet_row_numbers_across_blank_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", [["ID", "Comment"], [1, "a"], [None, None], [2, "b"]])
    assert [r.number for r in read_table(path, SETTINGS).rows] == [2, 4]


def test_xlsx_short_rows_are_padded(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", [["ID", "Area", "Comment"], [1]])
    assert read_table(path, SETTINGS).rows[0].cells == ["1", "", ""]


def test_xlsx_value_beyond_the_last_column_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "wide.xlsx", [["ID", "Comment"], [1, "a"], [2, "b", "stray note"]])
    with pytest.raises(BadInputError, match="3 cells but the header has 2") as info:
        read_table(path, SETTINGS)
    assert "wide.xlsx, row 3" in str(info.value)


def test_xlsx_duplicated_column(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dup.xlsx", [["ID", "Area", "AREA "], [1, "a", "b"]])
    with pytest.raises(BadInputError, match="appears twice") as info:
        read_table(path, SETTINGS)
    assert "dup.xlsx" in str(info.value)


def test_zip_bomb_xlsx_is_refused_before_openpyxl_reads_it(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(20 * 1024 * 1024))
    with pytest.raises(BadInputError, match="would unpack") as info:
        read_table(path, Settings(max_unzipped_bytes=10 * 1024 * 1024))
    assert "bomb.xlsx" in str(info.value)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "notabook.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(BadInputError, match=r"a zip archive but not a \.xlsx document") as info:
        read_table(path, SETTINGS)
    assert "notabook.xlsx" in str(info.value)


def test_binary_named_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(BadInputError, match=r"named \.csv but holds a PNG image"):
        read_table(path, SETTINGS)


def test_oversize_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "ID,Comment\n" + "1,words\n" * 200)
    with pytest.raises(BadInputError, match="larger than") as info:
        read_table(path, Settings(max_file_bytes=500))
    assert "big.csv" in str(info.value)


def test_surveymonkey_header_rows_are_recognised_and_joined() -> None:
    table = read_table(DATA / "surveymonkey.csv", SETTINGS)
    assert len(table.header_rows) == 2
    assert table.columns[9] == "Which of these best describes you? / Response"
    assert table.columns[10] == "Which of these best describes you? / Other (please specify)"
    assert table.rows[0].number == 3


def test_qualtrics_has_three_header_rows() -> None:
    table = read_table(DATA / "qualtrics.csv", SETTINGS)
    assert len(table.header_rows) == 3
    assert table.rows[0].number == 4


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["ID", "Comment"], ["1", "Response"]], 1),
        ([["Respondent ID", "Q"], ["", "Response"]], 2),
        ([["Q1"], ["Text"], ['{"ImportId":"QID1"}']], 3),
    ],
)
def test_guess_header_rows(rows: list[list[str]], expected: int) -> None:
    assert guess_header_rows(rows) == expected


@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letter(index: int, letter: str) -> None:
    assert column_letter(index) == letter

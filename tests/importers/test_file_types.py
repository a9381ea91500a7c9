"""File types are read from the content, not the name; zip-bomb limits hold on every zip-based
format (.docx, .xlsx and a .qdpx codebook); stored text loses control and direction-override characters."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.files import clean_text, read_checked
from coproduce.reports.refi_import import read_codebook

SETTINGS = Settings()
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
ELF_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def zipped(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def real_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("What has worked well for your family?")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def real_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["id", "comment"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(tmp_path: Path, name: str, data: bytes, settings: Settings = SETTINGS) -> str:
    path = write(tmp_path, name, data)
    with pytest.raises(BadInputError) as info:
        read_checked(path, settings)
    assert name in str(info.value)  # the error names the file
    return info.value.message


def test_genuine_files_of_every_type_pass(tmp_path: Path) -> None:
    for name, data in (
        ("a.docx", real_docx()),
        ("a.xlsx", real_xlsx()),
        ("a.pdf", b"%PDF-1.7\n%...\n"),
        ("a.csv", b"id,comment\n1,hello\n"),
        ("a.txt", b"Mz. Patel said it worked.\n"),
        ("a.jsonl", b'{"text": "hello"}\n'),
        ("a.csv", "\ufeffid,comment\n".encode("utf-16")),  # UTF-16 with a BOM is text too
    ):
        assert read_checked(write(tmp_path, name, data), SETTINGS) == data


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("survey.csv", zipped({"xl/workbook.xml": b"<workbook/>"}), "named .csv but holds a zip archive"),
        ("survey.csv", WINDOWS_PROGRAM, "named .csv but holds a Windows program"),
        ("notes.txt", ELF_PROGRAM, "named .txt but holds a program (ELF)"),
        ("voices.jsonl", b"%PDF-1.4\n", "named .jsonl but holds a PDF"),
        ("survey.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "an old Office file"),
        ("survey.xlsx", b"id,comment\n1,hello\n", "named .xlsx but holds something else"),
        ("survey.xlsx", b"%PDF-1.4\n", "named .xlsx but holds a PDF"),
        ("submission.docx", zipped({"hello.txt": b"hello"}), "a zip archive but not a .docx document"),
        ("survey.xlsx", real_docx(), "a zip archive but not a .xlsx document"),
        ("submission.pdf", WINDOWS_PROGRAM, "named .pdf but holds a Windows program, not a PDF"),
        ("submission.pdf", b"<html><script>alert(1)</script></html>", "named .pdf but holds something else"),
    ],
)
def test_content_that_does_not_match_the_name_is_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    assert message in refused(tmp_path, name, data)


def test_office_files_with_macros_or_activex_are_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(real_docx())) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    macro = {**parts, "word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}
    assert "contains macros or ActiveX controls (word/vbaProject.bin)" in refused(tmp_path, "m.docx", zipped(macro))
    types = parts["[Content_Types].xml"].replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )
    assert b"macroEnabled" in types
    docm = {**parts, "[Content_Types].xml": types}
    assert "contains macros" in refused(tmp_path, "renamed-docm.docx", zipped(docm))
    activex = {**parts, "word/activeX/activeX1.bin": b"\x00"}
    assert "ActiveX" in refused(tmp_path, "x.docx", zipped(activex))
    with zipfile.ZipFile(io.BytesIO(real_xlsx())) as archive:
        book = {n: archive.read(n) for n in archive.namelist()}
    assert "contains macros" in refused(tmp_path, "m.xlsx", zipped({**book, "xl/vbaProject.bin": b"macro"}))


BOMB_PART = b"\x00" * (4 * 1024 * 1024)  # 4 MB of zeros deflates about 1000 times


@pytest.mark.parametrize(("name", "folder"), [("bomb.docx", "word"), ("bomb.xlsx", "xl")])
def test_zip_bombs_are_refused_by_ratio_and_by_total_size(tmp_path: Path, name: str, folder: str) -> None:
    bomb = zipped({f"{folder}/document.xml": BOMB_PART})
    assert "possible zip bomb" in refused(tmp_path, name, bomb)
    # Stored (not compressed), the ratio is 1: the total unpacked size is the limit that holds.
    stored = zipped({f"{folder}/a.xml": b"a" * 6000, f"{folder}/b.xml": b"b" * 6000}, zipfile.ZIP_STORED)
    small = SETTINGS.with_overrides(max_unzipped_bytes=10_000)
    assert "would unpack to" in refused(tmp_path, name, stored, small)


def test_a_qdpx_codebook_is_held_to_the_same_zip_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "bomb.qdpx", zipped({"project.qde": b"<" + BOMB_PART}))
    with pytest.raises(BadInputError, match="possible zip bomb"):
        read_codebook(path)
    monkeypatch.setenv("COPRODUCE_MAX_UNZIPPED_BYTES", "1000")
    small = write(tmp_path, "big.qdpx", zipped({"project.qde": b"<Project>" + b" " * 2000 + b"</Project>"}))
    with pytest.raises(BadInputError, match="would unpack to"):
        read_codebook(small)


def test_clean_text_removes_nul_controls_and_direction_overrides() -> None:
    hostile = "a\x00b\x1bc\x7fd\u202eevil\u202c \u2066iso\u2069 \u200fmark\r\nnext\rline\tend"
    assert clean_text(hostile) == "abcdevil iso \u200fmark\nnext\nline\tend"

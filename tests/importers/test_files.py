"""Safe file reading: every way an upload can be unusable, built as a real small file."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.files import check_zip_container, decode_text, read_checked, sha256_of

SETTINGS = Settings()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_read_checked_returns_the_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.csv", b"a,b\n1,2\n")
    assert read_checked(path, SETTINGS) == b"a,b\n1,2\n"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist") as info:
        read_checked(tmp_path / "nowhere.csv", SETTINGS)
    assert "nowhere.csv" in str(info.value)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="folder") as info:
        read_checked(tmp_path, SETTINGS)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("data", [b"", b"  \r\n\t", codecs.BOM_UTF8 + b"\n", codecs.BOM_UTF16_LE + b"\n\x00"])
def test_empty_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "empty.csv", data)
    with pytest.raises(BadInputError, match="empty") as info:
        read_checked(path, SETTINGS)
    assert "empty.csv" in str(info.value)
    assert info.value.hint


def test_oversize_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.csv", b"x" * 2000)

    def never_read(self: Path) -> bytes:
        raise AssertionError("an oversize file must not be read")

    monkeypatch.setattr(Path, "read_bytes", never_read)
    with pytest.raises(BadInputError, match="larger than the 1,000 bytes limit") as info:
        read_checked(path, Settings(max_file_bytes=1000))
    assert "big.csv" in str(info.value)
    assert "max_file_bytes" in str(info.value)


def test_sha256_of() -> None:
    assert sha256_of(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_utf8_with_and_without_bom() -> None:
    text = "Question 1,“Waiting” for an EHCP café\r\n"
    assert decode_text(text.encode("utf-8"), Path("a.csv")) == "Question 1,“Waiting” for an EHCP café\n"
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8"), Path("a.csv")).startswith("Question 1")


def test_cp1252_with_accent_and_curly_apostrophe() -> None:
    data = "Café, the school’s SENCo\r\n".encode("cp1252")
    assert b"\x92" in data  # really Windows-1252, not Latin-1 or UTF-8
    assert decode_text(data, Path("a.csv")) == "Café, the school’s SENCo\n"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_or_without_bom(codec: str) -> None:
    data = "Respondent,Answer\r\n1,Élodie’s plan\r\n".encode(codec)
    assert decode_text(data, Path("a.csv")) == "Respondent,Answer\n1,Élodie’s plan\n"


def test_utf16_le_with_bom_from_file(tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", codecs.BOM_UTF16_LE + "ID\tText\r\n1\tYes\r\n".encode("utf-16-le"))
    assert decode_text(read_checked(path, SETTINGS), path) == "ID\tText\n1\tYes\n"


def test_undecodable_as_cp1252_falls_back_to_a_guess() -> None:
    # 0x81 and 0x8d are undefined in Windows-1252, so this cannot be read by the fixed rules.
    data = "Le café de l’école est fermé. ".encode("latin-1", errors="replace") * 20 + b"\x81\x8d"
    assert "caf" in decode_text(data, Path("a.csv"))


def test_no_break_spaces_are_kept() -> None:
    text = "Question 3\u00a0: oui\u202f!\n"
    assert decode_text(text.encode("utf-8"), Path("a.txt")) == text


def test_lone_carriage_returns_become_newlines() -> None:
    assert decode_text(b"a\rb\r\nc", Path("a.txt")) == "a\nb\nc"


def test_png_named_csv_is_refused(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
    path = write(tmp_path, "picture.csv", png + bytes(range(256)) * 4)
    with pytest.raises(BadInputError, match=r"named \.csv but holds a PNG image") as info:
        decode_text(read_checked(path, SETTINGS), path)
    assert "picture.csv" in str(info.value)
    # Without a known signature, the binary check still refuses it.
    with pytest.raises(BadInputError, match="binary file"):
        decode_text(png[8:] + bytes(range(256)) * 4, path)


def test_control_characters_without_nuls_are_refused() -> None:
    data = bytes(range(1, 32)) * 10 + b"some text"
    with pytest.raises(BadInputError, match="binary file"):
        decode_text(data, Path("odd.csv"))


def test_zip_named_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "really-a-zip.csv"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "hello " * 100)
    with pytest.raises(BadInputError, match="binary file"):
        decode_text(path.read_bytes(), path)


def make_zip(path: Path, members: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path.read_bytes()


def test_normal_zip_passes(tmp_path: Path) -> None:
    path = tmp_path / "fine.xlsx"
    data = make_zip(path, {"[Content_Types].xml": b"<Types/>" * 10, "xl/workbook.xml": b"<workbook/>"})
    check_zip_container(path, data, SETTINGS)


def test_not_a_zip(tmp_path: Path) -> None:
    path = write(tmp_path, "report.docx", b"this is plain text pretending to be Word")
    with pytest.raises(BadInputError, match=r"not a valid \.docx file") as info:
        check_zip_container(path, path.read_bytes(), SETTINGS)
    assert "report.docx" in str(info.value)


def test_zip_bomb_total_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    data = make_zip(path, {"xl/worksheets/sheet1.xml": bytes(20 * 1024 * 1024)})
    settings = Settings(max_unzipped_bytes=10 * 1024 * 1024)
    with pytest.raises(BadInputError, match=r"would unpack to 20\.0 MB") as info:
        check_zip_container(path, data, settings)
    assert "bomb.xlsx" in str(info.value)


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    data = make_zip(path, {"xl/worksheets/sheet1.xml": bytes(5 * 1024 * 1024)})
    with pytest.raises(BadInputError, match="zip bomb") as info:
        check_zip_container(path, data, SETTINGS)
    assert "sheet1.xml" in str(info.value)


def test_small_members_may_compress_well(tmp_path: Path) -> None:
    path = tmp_path / "tiny.xlsx"
    data = make_zip(path, {"xl/sharedStrings.xml": bytes(500_000)})
    check_zip_container(path, data, SETTINGS)


def test_too_many_members(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(10_001):
            archive.writestr(f"m{i}", b"")
    with pytest.raises(BadInputError, match="10001 parts"):
        check_zip_container(path, path.read_bytes(), SETTINGS)

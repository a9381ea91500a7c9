"""Safe reading of uploaded files: size limits, zip-bomb checks and text decoding.

Every importer reads its file through here, so the same checks and the same wording of
errors apply whether the file is a survey export, a Word document or a JSONL of children's words.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
import zlib
from pathlib import Path

from charset_normalizer import from_bytes

from coproduce.config import Settings
from coproduce.errors import BadInputError

# Members smaller than this may compress very well (an empty sheet of XML) without being a bomb.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024
_MAX_ZIP_MEMBERS = 10_000
# Share of control characters above which decoded "text" is taken to be a binary file.
_MAX_CONTROL_SHARE = 0.10
# C0 and C1 control characters other than the whitespace ones, and lone surrogates.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BLANK_BYTES = frozenset(b" \t\r\n\x0b\x0c\x00")
# What reading a damaged part of a zip raises: a bad local header or CRC (BadZipFile), broken deflate
# data (zlib.error), a part cut short (EOFError), an offset before the start (ValueError), an unknown
# compression method (NotImplementedError), an encrypted part (RuntimeError). Found by fuzzing.
ZIP_PART_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
    RuntimeError,
)
_ZIP = "a zip archive (such as an .xlsx or .docx file)"
# The first bytes of file types people might send by mistake (or on purpose).
_SIGNATURES = (
    (b"PK\x03\x04", _ZIP),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls or .doc)"),
    (b"%PDF-", "a PDF"),
    (b"\x7fELF", "a program (ELF)"),
    (b"\xcf\xfa\xed\xfe", "a program (Mach-O)"),
    (b"\xfe\xed\xfa", "a program (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "a program (Mach-O or Java class)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)
# The folder every genuine package of each Office type has its parts in.
_ZIP_PARTS = {".docx": "word/", ".xlsx": "xl/"}
_TEXT_SUFFIXES = (".txt", ".csv", ".jsonl", ".json", ".tsv")


def read_checked(path: Path, settings: Settings) -> bytes:
    """Return the bytes of ``path`` after refusing missing, empty and oversized files."""
    path = Path(path)
    if not path.exists():
        raise BadInputError("the file does not exist", file=path, hint="Check the file name and folder, then try again")
    if not path.is_file():
        raise BadInputError(
            "this is a folder, not a file", file=path, hint="Choose one file inside the folder to import"
        )
    size = path.stat().st_size
    # Checked before reading, so an enormous file is never loaded into memory.
    if size > settings.max_file_bytes:
        raise BadInputError(
            f"the file is {_megabytes(size)}, larger than the {_megabytes(settings.max_file_bytes)} limit",
            file=path,
            hint="Split the file into smaller parts, or raise the max_file_bytes setting",
        )
    data = path.read_bytes()
    if _is_blank(data):
        raise BadInputError(
            "the file is empty",
            file=path,
            hint="Check that the export finished and saved; re-export the file and import it again",
        )
    check_content_type(path, data, settings)
    return data


def check_content_type(path: Path, data: bytes, settings: Settings) -> None:
    """Refuse a file whose bytes are not what its name says: the type is read from the content, not
    trusted from the extension. A .csv that is a zip, an .xlsx that is not one, a .pdf that is a
    program, and Office files carrying macros or ActiveX controls are all refused before any parsing."""
    suffix = Path(path).suffix.lower()
    found = _signature(data)
    if suffix in _ZIP_PARTS:
        if found != _ZIP:
            raise BadInputError(
                f"the file is named {suffix} but holds {found or 'something else'}, not an Office document",
                file=path,
                hint=f"Open it in Word or Excel and save it as {suffix}, or give the file its right extension",
            )
        check_zip_container(path, data, settings)
        _check_office_parts(path, data, suffix)
    elif suffix == ".pdf":
        if b"%PDF-" not in data[:1024]:
            raise BadInputError(
                f"the file is named .pdf but holds {found or 'something else'}, not a PDF",
                file=path,
                hint="Export the document to PDF again, or give the file its right extension",
            )
    elif suffix in _TEXT_SUFFIXES and found:
        raise BadInputError(
            f"the file is named {suffix} but holds {found}, not text",
            file=path,
            hint=f"Give the file its right extension, or export it again as {suffix}",
        )


def _signature(data: bytes) -> str:
    """What the first bytes say a file is ('' for anything not recognised, such as text)."""
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return what
    # "MZ" alone could start a line of text; a Windows program has binary bytes right after it.
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        return "a Windows program"
    return ""


def _check_office_parts(path: Path, data: bytes, suffix: str) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        lowered = [name.lower() for name in names]
        if not any(name.startswith(_ZIP_PARTS[suffix]) for name in lowered):
            raise BadInputError(
                f"the file is a zip archive but not a {suffix} document (it has no {_ZIP_PARTS[suffix]} parts)",
                file=path,
                hint=f"Open it in Word or Excel and save it as {suffix}",
            )
        macro = next((n for n in names if n.lower().endswith("vbaproject.bin") or "/activex/" in f"/{n.lower()}"), None)
        listed = next((i for i in archive.infolist() if i.filename.lower() == "[content_types].xml"), None)
        # The content types list is a few kilobytes; a huge one is not read (and is no Office file).
        try:
            types = archive.read(listed) if listed is not None and listed.file_size < _RATIO_CHECK_MIN_BYTES else b""
        except ZIP_PART_ERRORS as exc:
            raise damaged_office_file(path, exc) from exc
    if macro or b"macroenabled" in types.lower():
        raise BadInputError(
            f"the {suffix} file contains macros or ActiveX controls" + (f" ({macro})" if macro else ""),
            file=path,
            hint=f"Save a copy without macros (as a plain {suffix}) and import that",
        )


def damaged_office_file(path: Path, exc: BaseException) -> BadInputError:
    """The error for a .docx/.xlsx whose zip or XML inside is damaged (cut short, edited, corrupted)."""
    kind = Path(path).suffix.lower() or "Office"
    return BadInputError(
        f"the {kind} file is damaged and cannot be read ({type(exc).__name__}: {exc})",
        file=path,
        hint=f"Open it in Word or Excel and save it again as {kind}, or export it as .csv or .txt",
    )


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``; recorded with every import so a file can be recognised again."""
    return hashlib.sha256(data).hexdigest()


def check_zip_container(path: Path, data: bytes, settings: Settings) -> None:
    """Refuse a .docx/.xlsx that is not a zip, or whose contents would unpack to something huge.

    Sizes come from the zip's central directory. That is enough: Python's ``zipfile`` (used by
    openpyxl and python-docx) never inflates a member beyond the size the directory declares.
    """
    kind = Path(path).suffix.lower() or "Office"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise BadInputError(
            f"not a valid {kind} file ({exc})",
            file=path,
            hint=f"Open it in Word or Excel and save it again as {kind}, or export it as .csv",
        ) from exc
    if len(members) > _MAX_ZIP_MEMBERS:
        raise BadInputError(
            f"the {kind} file holds {len(members)} parts, more than {_MAX_ZIP_MEMBERS}",
            file=path,
            hint="This is not a normal document; save it again from Word or Excel",
        )
    total = sum(member.file_size for member in members)
    if total > settings.max_unzipped_bytes:
        raise BadInputError(
            f"the {kind} file would unpack to {_megabytes(total)}, more than the "
            f"{_megabytes(settings.max_unzipped_bytes)} limit",
            file=path,
            hint="Split the document into smaller files, or raise the max_unzipped_bytes setting",
        )
    for member in members:
        if member.file_size <= _RATIO_CHECK_MIN_BYTES:
            continue
        ratio = member.file_size / member.compress_size if member.compress_size else float("inf")
        if ratio > settings.max_zip_ratio:
            raise BadInputError(
                f"part {member.filename!r} of the {kind} file is compressed {ratio:.0f} times, "
                f"more than the limit of {settings.max_zip_ratio} (a possible zip bomb)",
                file=path,
                hint="Save the document again from Word or Excel, or raise the max_zip_ratio setting",
            )


def clean_text(text: str) -> str:
    """Text as it is stored: control characters other than tab and newline removed (a NUL cannot be
    stored in PostgreSQL, written to .docx/.xlsx XML, or shown), and so are the direction overrides,
    embeddings and isolates (U+202A-U+202E, U+2066-U+2069), which can make text on a page or in a
    report read differently from what was stored ("Trojan Source"). Direction marks (U+200E/F) stay."""
    return _UNSAFE_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode_text(data: bytes, path: Path) -> str:
    """Decode a text file however it was saved, with line endings normalised to ``\\n``.

    The rules are deterministic so the same file always reads the same way: a byte-order mark
    wins; then valid UTF-8; then UTF-16 recognised by its NUL bytes; then Windows-1252 (what
    Excel on Windows writes); only then a charset_normalizer guess. No-break spaces (U+00A0,
    U+202F) are kept: the free-form importer uses them to recognise French-style punctuation.
    """
    text = _decode(data, path)
    if text.startswith("\ufeff"):
        text = text[1:]
    if _control_share(text) > _MAX_CONTROL_SHARE:
        raise _binary_error(path)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, path: Path) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig", path)
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _strict(data, "utf-32", path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", path)
    if b"\x00" not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        guess = from_bytes(data).best()
        if guess is None:
            raise BadInputError(
                "the text encoding could not be recognised",
                file=path,
                hint="Save the file again as 'CSV UTF-8' (Excel) or UTF-8 text, then import it again",
            )
        return str(guess)
    codec = _utf16_without_bom(data)
    if codec is None:
        raise _binary_error(path)
    return _strict(data, codec, path)


def _utf16_without_bom(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16 from where its NULs fall: mostly-ASCII text has one per character."""
    if len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    even_nuls, odd_nuls = even.count(0), odd.count(0)
    if odd_nuls >= 0.3 * half and even_nuls <= 0.05 * half:
        return "utf-16-le"
    if even_nuls >= 0.3 * half and odd_nuls <= 0.05 * half:
        return "utf-16-be"
    return None


def _strict(data: bytes, codec: str, path: Path) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"the file says it is {codec.upper()} but byte {exc.start + 1} is not valid {codec.upper()}",
            file=path,
            hint="Save the file again as 'CSV UTF-8' (Excel) or UTF-8 text, then import it again",
        ) from exc


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    return (len(text) - len(_CONTROL_CHARACTERS.sub("", text))) / len(text)


def _binary_error(path: Path) -> BadInputError:
    return BadInputError(
        "looks like a binary file, not text",
        file=path,
        hint="Check you chose the right file; spreadsheets must be saved as .csv or .xlsx",
    )


def _is_blank(data: bytes) -> bool:
    for bom in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return all(byte in _BLANK_BYTES for byte in data)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / (1024 * 1024):.1f} MB"

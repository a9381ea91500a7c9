"""Property tests for every importer: random and damaged files fail only with a clear BadInputError.

Two kinds of input: bytes with no structure at all, and real files (the seed submission, the survey
exports in ``data/``, the voice and family samples) damaged in ways that happen: edited cells and
headers, other encodings and BOMs, NULs, huge fields, formulas, odd cell types, merged and empty
sheets, Office files with a part cut or corrupted, broken PDFs, JSON that is too deep or too big.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.base import ImportResult
from coproduce.importers.family import FamilyFeedbackImporter
from coproduce.importers.freeform import FreeformImporter
from coproduce.importers.mapping import ColumnMapping
from coproduce.importers.survey import SurveyImporter, guess_mapping
from coproduce.importers.voice import VoiceImporter
from tests.conftest import GREEN_PAPER, SEED
from tests.fuzzing import bad_input_only, file_with, fuzz_settings, mutated, mutated_zip
from tests.importers.pdfmaker import write_text_pdf

pytestmark = pytest.mark.fuzz

DATA = Path(__file__).resolve().parent / "data"
SAMPLES = Path(__file__).resolve().parents[2] / "corpus" / "samples"
SURVEY_SAMPLES = [*sorted(DATA.glob("*.csv")), SAMPLES / "survey-citizen-space-send.csv"]
# Small limits so a huge field or a bomb meets them quickly.
SEED_QUESTIONS, SEED_LINES = 5, 12
SETTINGS = Settings(max_file_bytes=2_000_000, max_unzipped_bytes=20_000_000)


@functools.cache
def framework() -> FrameworkSpec:
    return load_framework(GREEN_PAPER)


@functools.cache
def first_questions() -> FrameworkSpec:
    """The green paper cut to its first questions: free-form matching costs time per question and line."""
    return dataclasses.replace(framework(), questions=framework().questions[:SEED_QUESTIONS])


@functools.cache
def seed_lines() -> list[str]:
    """The seed submission up to the answer of its last question in ``first_questions()``."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    return lines[:SEED_LINES]


def importers() -> dict[str, object]:
    return {
        "freeform": FreeformImporter(SETTINGS),
        "survey": SurveyImporter(None, SETTINGS),
        "voice": VoiceImporter(SETTINGS),
        "family": FamilyFeedbackImporter(SETTINGS),
    }


def read_only_bad_input(kind: str, name: str, data: bytes) -> ImportResult | None:
    importer = importers()[kind]
    with file_with(name, data) as path:
        spec = first_questions() if kind == "freeform" else framework()
        result = bad_input_only(lambda: importer.read(path, spec), path)  # type: ignore[attr-defined]
    if result is not None:
        keys = {r.key for r in result.respondents}
        assert all(r.respondent_key in keys for r in result.responses)
    return result


KIND_SUFFIXES = [
    ("freeform", ".txt"),
    ("freeform", ".docx"),
    ("freeform", ".pdf"),
    ("survey", ".csv"),
    ("survey", ".tsv"),
    ("survey", ".xlsx"),
    ("voice", ".csv"),
    ("voice", ".xlsx"),
    ("voice", ".jsonl"),
    ("family", ".jsonl"),
]


@pytest.mark.parametrize(("kind", "suffix"), KIND_SUFFIXES)
@fuzz_settings
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_read_or_refused_clearly(kind: str, suffix: str, data: bytes) -> None:
    read_only_bad_input(kind, f"upload{suffix}", data)


# ---------------------------------------------------------------- text files, damaged


@functools.cache
def seed_bytes() -> bytes:
    return "\n".join(seed_lines()).encode("utf-8")


@fuzz_settings
@given(data=st.data())
def test_damaged_text_submission(data: st.DataObject) -> None:
    read_only_bad_input("freeform", "submission.txt", data.draw(mutated(seed_bytes())))


@pytest.mark.parametrize("sample", SURVEY_SAMPLES, ids=lambda p: p.stem)
@fuzz_settings
@given(data=st.data())
def test_damaged_survey_export(sample: Path, data: st.DataObject) -> None:
    read_only_bad_input("survey", sample.name, data.draw(mutated(sample.read_bytes())))


@pytest.mark.parametrize(
    ("kind", "sample"),
    [("voice", SAMPLES / "voice-of-the-child.csv"), ("family", SAMPLES / "family-feedback.jsonl")],
    ids=["voice-csv", "family-jsonl"],
)
@fuzz_settings
@given(data=st.data())
def test_damaged_record_file(kind: str, sample: Path, data: st.DataObject) -> None:
    read_only_bad_input(kind, sample.name, data.draw(mutated(sample.read_bytes())))


# ---------------------------------------------------------------- CSV built cell by cell

FORMULAS = ["=SUM(A1:A9)", '=HYPERLINK("http://x")', "+1+1", "-2", "@cmd", "=cmd|' /C calc'!A0"]
cell_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [*FORMULAS, "", "Agree", "Strongly disagree", "Parent carer", "Yes", "9", "11-15", "Spoken", "-", "\x00"]
    ),
    st.text(alphabet='ab ,"\n\r;', max_size=20),
    st.integers(10_000, 140_000).map(lambda n: "x" * n),  # up to beyond csv's field size limit
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "cp1252", "latin-1"]


def survey_headers(sample: Path) -> list[str]:
    with sample.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle))


@st.composite
def csv_files(draw: st.DrawFn, headers: list[list[str]]) -> bytes:
    header = list(draw(st.sampled_from(headers)))
    if draw(st.booleans()) and header:  # a header edited, blanked or duplicated
        at = draw(st.integers(0, len(header) - 1))
        header[at] = draw(st.sampled_from(["", header[0], header[at].upper(), draw(cell_text)]))
    rows = draw(
        st.lists(
            st.lists(cell_text, min_size=max(0, len(header) - 2), max_size=len(header) + 2),
            max_size=6,
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([",", ";", "\t"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(ENCODINGS))
    return out.getvalue().encode(encoding, errors="replace")


def all_headers() -> list[list[str]]:
    return [survey_headers(p) for p in SURVEY_SAMPLES] + [
        survey_headers(SAMPLES / "voice-of-the-child.csv"),
        ["id", "respondent_type", "area", "question", "consent", "text"],
    ]


@pytest.mark.parametrize("kind", ["survey", "voice", "family"])
@fuzz_settings
@given(data=st.data())
def test_generated_csv(kind: str, data: st.DataObject) -> None:
    read_only_bad_input(kind, "export.csv", data.draw(csv_files(all_headers())))


# ---------------------------------------------------------------- XLSX built cell by cell, and broken

xlsx_value = st.one_of(
    st.none(),
    cell_text.filter(lambda t: len(t) < 32_000),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.times(),
)


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if draw(st.booleans()):  # the answers on a later sheet, the first one empty
        sheet = book.create_sheet("Responses")
    header = draw(st.sampled_from(all_headers()))
    if draw(st.integers(0, 4)):
        sheet.append(header)
    for row in draw(st.lists(st.lists(xlsx_value, max_size=len(header) + 2), max_size=5)):
        try:
            sheet.append(row)
        except openpyxl.utils.exceptions.IllegalCharacterError:
            sheet.append([None for _ in row])  # openpyxl refuses to write control characters at all
    if draw(st.booleans()) and sheet.max_row > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=2, end_column=min(3, max(1, sheet.max_column)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@functools.cache
def seed_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    with (DATA / "citizen-space.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["survey", "voice", "family"])
@fuzz_settings
@given(data=st.data())
def test_generated_xlsx(kind: str, data: st.DataObject) -> None:
    read_only_bad_input(kind, "export.xlsx", data.draw(xlsx_files()))


@fuzz_settings
@given(data=st.data())
def test_broken_xlsx(data: st.DataObject) -> None:
    read_only_bad_input("survey", "export.xlsx", data.draw(mutated_zip(seed_xlsx())))


# ---------------------------------------------------------------- Word and PDF submissions, broken


@functools.cache
def seed_docx() -> bytes:
    import docx

    document = docx.Document()
    lines = seed_lines()
    for line in lines[:-1]:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=1)
    table.rows[0].cells[0].text = lines[-1]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@functools.cache
def seed_pdf() -> bytes:
    with file_with("seed.pdf", b"") as path:
        write_text_pdf(path, seed_lines())
        return path.read_bytes()


@fuzz_settings
@given(data=st.data())
def test_broken_docx(data: st.DataObject) -> None:
    read_only_bad_input("freeform", "submission.docx", data.draw(mutated_zip(seed_docx())))


@fuzz_settings
@given(data=st.data())
def test_broken_pdf(data: st.DataObject) -> None:
    read_only_bad_input("freeform", "submission.pdf", data.draw(mutated(seed_pdf(), max_edits=4)))


def pdf_of(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF holding ``objects`` (numbered from 1) with a correct cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


# Objects that have crashed PDF readers: cycles, deep nesting, filters without a decoder, absurd lengths.
PDF_OBJECTS = [
    b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
    b"<< /Type /Pages /Kids 7 /Count 1 >>",
    b"[" * 3000 + b"]" * 3000,
    b"<< /A " * 2000 + b">>" * 2000,
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /Type /Font /Subtype /Type0 /DescendantFonts [3 0 R] /Encoding 3 0 R /ToUnicode 3 0 R >>",
    b"<< /Length 10 /Filter /FlateDecode >>\nstream\n0123456789\nendstream",
    b"<< /Length 10 /Filter /JBIG2Decode >>\nstream\n0123456789\nendstream",
    b"<< /Length 10 /Filter [/ASCII85Decode /LZWDecode /RunLengthDecode] >>\nstream\n0123456789\nendstream",
    b"<< /Length 99999999999 >>\nstream\nBT (hi) Tj ET\nendstream",
    b"<< /Length 13 >>\nstream\nBT /F1 9 Tf (What key factors) Tj ET\nendstream",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
    b"<< /Type /Page /Parent 2 0 R /Contents [4 0 R 4 0 R] /Resources 5 0 R >>",
    b"42",
    b"null",
]


@st.composite
def hostile_pdfs(draw: st.DrawFn) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    objects += draw(st.lists(st.sampled_from(PDF_OBJECTS), min_size=1, max_size=5))
    return pdf_of(objects, root=draw(st.sampled_from([1, 1, 1, 2, 9])))


@fuzz_settings
@given(data=hostile_pdfs())
def test_hostile_pdf(data: bytes) -> None:
    read_only_bad_input("freeform", "submission.pdf", data)


# ---------------------------------------------------------------- JSONL with awkward values

json_value = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
awkward_line = st.sampled_from(
    [
        "[" * 5000 + "]" * 5000,  # deeper than the JSON parser can recurse
        '{"text": ' + "9" * 5000 + "}",  # more digits than Python turns into an int by default
        '{"text": NaN, "pseudonym": Infinity}',
        '{"text": "a\\ud800b", "pseudonym": "x"}',  # a lone surrogate
        '{"text": "fine", "pseudonym": "x", "text": "again"}',
        '{"text": 1e999, "pseudonym": "x"}',
    ]
)


@pytest.mark.parametrize("kind", ["voice", "family"])
@fuzz_settings
@given(
    records=st.lists(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["pseudonym", "text", "age", "consent", "question", "communication_method", "id"]),
                json_value,
            ).map(json.dumps),
            json_value.map(json.dumps),
            awkward_line,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_generated_jsonl(kind: str, records: list[str]) -> None:
    read_only_bad_input(kind, "records.jsonl", "\n".join(records).encode("utf-8", errors="surrogatepass"))


# ---------------------------------------------------------------- column mappings (YAML)


@functools.cache
def seed_mapping() -> str:
    return guess_mapping(DATA / "surveymonkey.csv", framework(), SETTINGS).to_yaml()


def yaml_bombs_list() -> list[str]:
    return [
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}]\n"
            for i in range(9)
        )
        + "dialect: *j\n",
        "dialect: " + "[" * 5000 + "]" * 5000 + "\n",
        "columns:\n" + "".join(f"{'  ' * i}- \n" for i in range(3000)),
        "!!python/object/apply:os.system ['true']",
        "dialect: generic\nheader_rows: 1\ncolumns: [{column: A, header: x, kind: ignore}]\n" * 2,
    ]


yaml_bombs = st.sampled_from(yaml_bombs_list())


@fuzz_settings
@given(data=st.data())
def test_column_mapping_yaml(data: st.DataObject) -> None:
    text = data.draw(
        st.one_of(
            mutated(seed_mapping().encode("utf-8")).map(lambda b: b.decode("utf-8", errors="replace")),
            json_value.map(lambda v: json.dumps({"dialect": "generic", "header_rows": 1, "columns": v})),
            json_value.map(json.dumps),
            yaml_bombs,
        )
    )
    with file_with("mapping.yaml", text.encode("utf-8", errors="surrogatepass")) as path:
        mapping = bad_input_only(lambda: ColumnMapping.from_yaml(path), path)
        if mapping is not None:  # whatever mapping loads, using it is read or refused clearly
            sample = DATA / "surveymonkey.csv"
            bad_input_only(lambda: SurveyImporter(mapping, SETTINGS).read(sample, framework()), path, sample)


@pytest.mark.parametrize(
    ("kind", "name", "seed"),
    [
        ("freeform", "seed.txt", seed_bytes),
        ("freeform", "seed.docx", seed_docx),
        ("freeform", "seed.pdf", seed_pdf),
        ("survey", "seed.xlsx", seed_xlsx),
    ],
)
def test_the_seeds_are_good_files(kind: str, name: str, seed: object) -> None:
    """Mutations start from files that import cleanly, so a refusal is caused by the damage."""
    result = read_only_bad_input(kind, name, seed())  # type: ignore[operator]
    assert result is not None and result.responses
    if kind == "freeform":
        assert [r.question_number for r in result.responses] == list(range(1, SEED_QUESTIONS + 1))


def rezipped(seed: bytes, part: str, content: bytes | None = None, corrupt_deflate: bool = False) -> bytes:
    """``seed`` (a zip) with ``part`` replaced by ``content``, or its compressed bytes scrambled."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seed)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, content if content is not None and info.filename == part else data)
    data = bytearray(out.getvalue())
    if corrupt_deflate:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            info = archive.getinfo(part)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start : start + 8] = b"\xff" * 8  # invalid deflate block header
    return bytes(data)


# Inputs that crashed a reader before it was fixed; each must now be refused with BadInputError.
KNOWN_CRASHERS = [
    ("family", "deep.jsonl", lambda: b"[" * 5000 + b"]" * 5000),  # RecursionError in json
    ("family", "digits.jsonl", lambda: b'{"text": ' + b"9" * 5000 + b"}"),  # ValueError: int digits limit
    ("survey", "types.xlsx", lambda: rezipped(seed_xlsx(), "[Content_Types].xml", b"not xml")),  # XMLSyntaxError
    ("survey", "deflate.xlsx", lambda: rezipped(seed_xlsx(), "xl/workbook.xml", corrupt_deflate=True)),  # zlib.error
    ("freeform", "document.docx", lambda: rezipped(seed_docx(), "word/document.xml", b"<w:document")),
    ("freeform", "deflate.docx", lambda: rezipped(seed_docx(), "word/document.xml", corrupt_deflate=True)),
    ("freeform", "deep.pdf", lambda: pdf_of([b"<< /Type /Catalog /Pages 2 0 R >>", PDF_OBJECTS[3]])),  # Recursion
    (
        "freeform",
        "jbig2.pdf",
        lambda: pdf_of(
            [b"<< /Type /Catalog /Pages 2 0 R >>", PDF_OBJECTS[1], PDF_OBJECTS[5], PDF_OBJECTS[8], PDF_OBJECTS[12]]
        ),
    ),  # DependencyError
    (
        "freeform",
        "length.pdf",
        lambda: pdf_of(
            [b"<< /Type /Catalog /Pages 2 0 R >>", PDF_OBJECTS[1], PDF_OBJECTS[5], PDF_OBJECTS[10], PDF_OBJECTS[12]]
        ),
    ),  # LimitReachedError
]


@pytest.mark.parametrize(("kind", "name", "make"), KNOWN_CRASHERS, ids=[c[1] for c in KNOWN_CRASHERS])
def test_known_crashers_are_refused_clearly(kind: str, name: str, make: object) -> None:
    with file_with(name, make()) as path, pytest.raises(BadInputError) as caught:  # type: ignore[operator]
        importers()[kind].read(path, first_questions())  # type: ignore[attr-defined]
    assert name in str(caught.value)


def test_a_mapping_yaml_bomb_is_refused_clearly() -> None:
    with file_with("mapping.yaml", yaml_bombs_list()[0].encode()) as path, pytest.raises(BadInputError) as caught:
        ColumnMapping.from_yaml(path)
    assert "mapping.yaml" in str(caught.value) and "expands to more than" in str(caught.value)

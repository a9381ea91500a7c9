"""Every format, generated from the analysed demo project: present, readable, and showing what it must."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile

import pypdfium2 as pdfium
import pytest
from docx import Document
from lxml import html as lxml_html
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from coproduce.reports import FORMAT_FILES, FORMATS, file_names, generate, is_report_file, parse_formats
from coproduce.reports.data import load_report
from coproduce.reports.html import render_report
from coproduce.services.audit import Actor
from coproduce.services.demo import DEMO_SLUG
from coproduce.services.easy_read import JARGON, MAX_WORDS
from coproduce.services.projects import get_project
from coproduce.store.models import AuditEvent, Finding, Respondent, Response, Segment
from tests.reports.conftest import DISSENT, WE_DID

pytestmark = pytest.mark.slow


def test_every_format_is_written(generated):  # type: ignore[no-untyped-def]
    expected = {name for fmt in FORMATS for name in FORMAT_FILES[fmt]}
    assert set(generated.files) == expected
    for path in generated.files.values():
        assert path.stat().st_size > 1000, path.name
    assert not list(generated.folder.glob(".*")), "no partial files are left behind"
    with generated.project.factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.create")).one()
        assert event.after["formats"] == list(FORMATS) and len(event.after["files"]) == len(expected)


@pytest.mark.parametrize("name,min_pages", [("report.pdf", 20), ("evidence-pack.pdf", 2), ("easy-read.pdf", 2)])
def test_pdf_pages_are_not_blank(generated, name, min_pages):  # type: ignore[no-untyped-def]
    pdf = pdfium.PdfDocument(str(generated.files[name]))
    try:
        assert len(pdf) >= min_pages
        for index in sorted({0, 1, len(pdf) // 2, len(pdf) - 1}):
            image = pdf[index].render(scale=0.5).to_pil().convert("L")
            dark = sum(image.histogram()[:128])
            assert dark > 0.002 * image.width * image.height, f"page {index + 1} of {name} is blank"
        text = pdf[0].get_textpage().get_text_range()
        assert "SEND green paper demo" in text
    finally:
        pdf.close()


def test_report_html_has_every_section_charts_with_alt_text_and_tables(generated):  # type: ignore[no-untyped-def]
    doc = lxml_html.fromstring(generated.files["report.html"].read_text(encoding="utf-8"))
    for section in ("summary", "questions", "standards", "emerging", "method", "signoff"):
        assert doc.get_element_by_id(section) is not None
    images = doc.xpath("//img")
    assert len(images) >= 10
    for img in images:
        assert img.get("src").startswith("data:image/png;base64,"), "nothing is fetched"
        assert img.get("alt", "").startswith("Bar chart:")
        figure = img.getparent()
        assert figure.xpath("./table/caption"), "every chart has its data table beside it"
    assert not doc.xpath("//*[@src and not(starts-with(@src, 'data:'))]")
    assert not doc.xpath("//link[@href]") and not doc.xpath("//script")
    text = doc.text_content()
    assert "Krippendorff" in text and "Configuration hash" in text and "all-MiniLM" in text
    assert DISSENT in text, "dissent is shown"
    assert "Young person 1" in text and "Carol" not in text and "@demo.coproduce.local" not in text


def test_report_headings_are_in_order(generated):  # type: ignore[no-untyped-def]
    doc = lxml_html.fromstring(generated.files["report.html"].read_text(encoding="utf-8"))
    levels = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4")]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), "no heading level is skipped"


def test_word_report_has_headings_tables_and_described_charts(generated):  # type: ignore[no-untyped-def]
    doc = Document(str(generated.files["report.docx"]))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert {"Summary", "Question by question", "By national standard", "Method", "Sign-off by the panel"} <= set(
        headings
    )
    assert any(h.startswith("Question 6:") for h in headings)
    assert len(doc.tables) > 50
    descriptions = [s._inline.docPr.get("descr") for s in doc.inline_shapes]
    assert descriptions and all(d and d.startswith("Bar chart:") for d in descriptions)
    assert any(DISSENT in p.text for p in doc.paragraphs)


def test_evidence_pack_shows_changes_timeline_dissent_and_you_said_we_did(generated):  # type: ignore[no-untyped-def]
    doc = lxml_html.fromstring(generated.files["evidence-pack.html"].read_text(encoding="utf-8"))
    text = doc.text_content()
    for heading in (
        "Who took part",
        "What the panel changed",
        "Review and sign-off timeline",
        "Dissent",
        "You said, we did",
    ):
        assert heading in text
    assert DISSENT in text and WE_DID in text
    assert "Sign-offs given" in text and "Codes rejected" in text and "Segments coded blind" in text
    assert "Gwen" not in text and "Carol" not in text, "people are shown by role, never by name"


def test_easy_read_is_short_sentences(generated):  # type: ignore[no-untyped-def]
    doc = lxml_html.fromstring(generated.files["easy-read.html"].read_text(encoding="utf-8"))
    lines = [p.text_content() for p in doc.xpath("//p[@class='line']")]
    assert len(lines) > 30
    ours = [line for line in lines if not line.startswith(("We did:", "We asked:"))]  # those are people's words
    long = [line for line in ours if len(line.split()) > MAX_WORDS]
    assert not long, long[:3]
    assert all(line.rstrip().endswith((".", "?", "!")) for line in lines)
    assert not [line for line in ours if any(word in line.lower() for word in JARGON)]
    assert f"We did: {WE_DID}" in lines


def test_coded_data_has_one_row_per_segment_and_a_sheet_per_question(generated):  # type: ignore[no-untyped-def]
    with generated.project.factory() as session:
        segments = session.scalar(select(func.count(Segment.id)))
    workbook = load_workbook(generated.files["coded-data.xlsx"], read_only=True)
    assert workbook.sheetnames[:3] == ["About", "Segments", "Codings"]
    assert {f"Q{n}" for n in range(1, 23)} <= set(workbook.sheetnames)
    rows = list(workbook["Segments"].iter_rows(values_only=True))
    assert len(rows) == segments + 1
    header = rows[0]
    for column in ("respondent_type", "question_number", "codes", "stance", "origin", "status", "text"):
        assert column in header
    statuses = {row[header.index("status")] for row in rows[1:]}
    assert "reviewed" in statuses and "suggested" in statuses
    with generated.files["coded-segments.csv"].open(encoding="utf-8-sig", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == segments + 1
    q6 = list(workbook["Q6"].iter_rows(values_only=True))
    assert q6[0][0] == "Question 6" and any(row[1] == "code" for row in q6[2:])
    workbook.close()


def test_formula_injection_is_neutralised(own_copy, tmp_path):  # type: ignore[no-untyped-def]
    hostile = ['=HYPERLINK("http://evil")', "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]
    with own_copy.factory() as session, session.begin():
        ids = session.scalars(select(Segment.id).order_by(Segment.id).limit(len(hostile))).all()
        for segment_id, text in zip(ids, hostile, strict=True):
            session.execute(update(Segment).where(Segment.id == segment_id).values(text=text))
        session.execute(update(Respondent).values(area="=1+1"))
    result = generate(own_copy.factory, DEMO_SLUG, tmp_path, Actor(label="test"), ["xlsx", "csv"])
    book = load_workbook(next(p for p in result.files if p.suffix == ".xlsx"), read_only=True)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row]
    book.close()
    csv_cells = [
        c
        for p in result.files
        if p.suffix == ".csv"
        for row in csv.reader(io.StringIO(p.read_bytes().decode("utf-8-sig"), newline=""))
        for c in row
    ]
    for found in (cells, csv_cells):
        texts = [c for c in found if isinstance(c, str)]
        assert not [c for c in texts if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and c != "-")]
        for text in hostile:
            assert "'" + text in texts
        assert "'=1+1" in texts


def test_only_consented_redacted_quotes_are_printed(own_copy):  # type: ignore[no-untyped-def]
    with own_copy.factory() as session:
        project = get_project(session, DEMO_SLUG)
        before = load_report(session, project)
        quoted = {q.text for f in before.all_findings() for q in f.quotes}
        assert quoted
        originals = [
            original
            for original, redacted in session.execute(select(Response.original_text, Response.redacted_text))
            if original and original != redacted
        ]
        assert originals, "the demo corpus has personal data that was redacted"
    with own_copy.factory() as session, session.begin():
        session.execute(update(Respondent).values(consent_to_quote=False))
    with own_copy.factory() as session:
        after = load_report(session, get_project(session, DEMO_SLUG))
        page = render_report(after, {})
    assert not [f for f in after.all_findings() if f.quotes], "withdrawn consent removes every quote"
    assert "<blockquote>" not in page
    before_page = render_report(before, {})
    assert before_page.count("<blockquote>") == sum(len(f.quotes) for f in before.all_findings())
    assert not [t for t in originals if t in before_page], "original (unredacted) text is never printed"


def test_signed_off_finding_and_its_approvals(generated):  # type: ignore[no-untyped-def]
    with generated.project.factory() as session:
        project = get_project(session, DEMO_SLUG)
        data = load_report(session, project)
        status = session.scalar(select(Finding.status).where(Finding.key == generated.project.signed_key))
    signed = next(f for f in data.all_findings() if f.key == generated.project.signed_key)
    assert status == "signed_off" and signed.signoff.met
    assert sorted(s.role for s in signed.signoff.approvals) == ["parent_carer", "professional", "young_person"]
    dissented = next(f for f in data.all_findings() if f.key == generated.project.dissent_key)
    assert [d.comment for d in dissented.signoff.dissents] == [DISSENT] and not dissented.signoff.met


def test_file_names_and_formats():
    assert parse_formats(None) == FORMATS == parse_formats(["all"])
    assert parse_formats(["PDF", "html"]) == ("html", "pdf")
    with pytest.raises(Exception, match="unknown report format"):
        parse_formats(["pptx"])
    names = file_names("my-project")
    assert all(is_report_file(n) for n in names)
    for bad in ("../x.pdf", "a/b.pdf", ".hidden.pdf", "x.exe", "x.pdf/", "X.PDF", ""):
        assert not is_report_file(bad)


def test_qdpx_is_a_zip_with_the_project_and_sources(generated):  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(generated.files["project.qdpx"]) as archive:
        names = archive.namelist()
        assert "project.qde" in names
        sources = [n for n in names if n.startswith("sources/") and n.endswith(".txt")]
        with generated.project.factory() as session:
            assert len(sources) == session.scalar(select(func.count(Respondent.id)))

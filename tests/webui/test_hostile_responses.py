"""Hostile response texts, imported through the real upload and import path, seeded into an analysis,
then read back on every page that shows response text and in every report format: their markup is
always text, template syntax is never evaluated, spreadsheet formulas are neutralised, and NULs and
direction overrides are gone before anything is stored."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.services.audit import Actor
from coproduce.services.exports import FORMULA_STARTS
from coproduce.store.models import Response, Source
from tests.webui.conftest import Seed
from tests.webui.hostile import (
    HOSTILE_LABEL,
    HOSTILE_STATEMENT,
    HOSTILE_TEXTS,
    LONG_WORD,
    MUST_SHOW,
    HostileProject,
    page_text,
    seed_hostile_analysis,
    unsafe_markup,
    write_corpus,
)
from tests.webui.routes import ROUTES

CORPUS_NAME = "hostile-feedback.jsonl"


@pytest.fixture
def hostile(
    app: Flask, login_as: Callable[[str], FlaskClient], seed: Seed, embedder, tmp_path: Path, session_factory
) -> HostileProject:
    """The corpus uploaded, previewed and imported by an admin through the web UI, then analysed (seeded)."""
    from coproduce.privacy.redaction import get_redactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    app.extensions["coproduce.privacy"] = lambda s: (get_redactor(s), SafeguardingFlagger(embedder=embedder))
    app.config["PAGE_SIZE"] = 100  # every response on one page
    admin = login_as("admin")
    data = write_corpus(tmp_path / CORPUS_NAME).read_bytes()
    preview = admin.post(
        f"/projects/{seed.project_slug}/import",
        data={"file": (io.BytesIO(data), CORPUS_NAME), "kind": "family"},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert unsafe_markup(page, "import preview") == []
    assert "<script>pwned(1)</script>" in page_text(page)
    token = re.search(r'action="/projects/[^/]+/import/([0-9a-f]{32})"', page)
    assert token
    done = admin.post(f"/projects/{seed.project_slug}/import/{token.group(1)}", data={"action": "import"})
    result = done.get_data(as_text=True)
    assert done.status_code == 200 and "File imported" in result, result[:3000]
    assert unsafe_markup(result, "import result") == []
    return seed_hostile_analysis(session_factory, seed.project_slug, CORPUS_NAME)


def test_nothing_unsafe_is_stored(hostile: HostileProject, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert session.scalars(select(Source).where(Source.filename == CORPUS_NAME)).one()
        texts = [
            r.original_text or ""
            for r in session.scalars(select(Response).where(Response.id.in_(hostile.response_ids)))
        ]
    assert len(texts) == len(HOSTILE_TEXTS)
    for text in texts:
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", text), repr(text[:80])
    assert "A null byte and an [31m escape in the text." in texts
    assert "We waited gnol oot for the assessment and it was pwned." in texts
    assert any("<script>pwned(1)</script>" in t for t in texts)  # markup is kept, as the words sent


def _pages(seed: Seed, hostile: HostileProject) -> dict[str, str]:
    """Every GET page of the route table, plus the pages that show the hostile rows themselves."""
    p = f"/projects/{seed.project_slug}"
    pages = {endpoint: route.url(seed) for (endpoint, method), route in ROUTES.items() if method == "GET"}
    pages.pop("reports.download", None)  # a file, not a page (report contents are checked below)
    pages |= {
        "question responses": f"{p}/questions/1",
        "theme": f"{p}/themes/{hostile.theme_id}",
        "finding": f"{p}/findings/{hostile.finding_id}",
        "finding audit": f"{p}/findings/{hostile.finding_id}/audit",
        "search (keyword)": f"{p}/search?q=pwned",
        "search (markup)": f"{p}/search?q=%3Cscript%3E",
        "search (template)": f"{p}/search?q=%7B%7B+7*7+%7D%7D",
        "review queue": f"{p}/review",
        "respondent": f"{p}/respondents/{hostile.respondent_ids[0]}",
        **{f"response {i}": f"{p}/responses/{r}" for i, r in enumerate(hostile.response_ids)},
        **{f"easy read {n}": f"{p}/easy-read/{n}" for n in range(1, 6)},
        "notifications": f"{p}/notifications/",
    }
    return pages


@pytest.mark.parametrize("grant", ["admin", "young_person"])
def test_every_page_shows_hostile_text_as_text(
    grant: str, hostile: HostileProject, login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    client = login_as(grant)
    # Staff edits carry hostile text into the audit log and the finding too.
    if grant == "admin":
        edited = client.post(
            f"/projects/{seed.project_slug}/findings/{hostile.finding_id}/statement",
            data={"statement": HOSTILE_STATEMENT + " edited"},
        )
        assert edited.status_code in (200, 302)
    problems: list[str] = []
    shown: dict[str, str] = {}
    for name, url in _pages(seed, hostile).items():
        response = client.get(url)
        if response.status_code in (403, 404) or response.mimetype != "text/html":
            continue
        assert response.status_code == 200, (name, url, response.status_code)
        html = response.get_data(as_text=True)
        problems += unsafe_markup(html, name)
        assert "\u202e" not in html and "\x00" not in html, name
        shown[name] = page_text(html)
    assert problems == []
    showing_responses = ["question responses", "theme", "finding", "search (keyword)", "review queue"]
    for name in showing_responses if grant == "admin" else ["question responses", "finding", "search (keyword)"]:
        for literal in MUST_SHOW:
            if name.startswith("search") and "pwned" not in literal:
                continue  # not a match for the search
            assert literal in shown[name], (name, literal)
    assert "{{ 7*7 }}" in shown["search (template)"]
    assert HOSTILE_STATEMENT in shown["finding"]  # template syntax and markup in a statement: text
    assert LONG_WORD in shown["question responses"]
    if grant == "admin":
        assert HOSTILE_LABEL in shown["theme"]
        assert "edited" in shown["finding audit"]
    assert any("pwned" in text for name, text in shown.items() if name.startswith("easy read"))
    assert HOSTILE_STATEMENT in shown["notifications"]


FORMULA = tuple(FORMULA_STARTS)


def test_every_report_format_keeps_hostile_text_inert(
    hostile: HostileProject, session_factory: sessionmaker[Session], seed: Seed, tmp_path: Path
) -> None:
    from coproduce.reports import generate

    folder = tmp_path / "reports"
    made = generate(session_factory, seed.project_slug, folder, Actor.cli())
    files = {p.name.removeprefix(f"{seed.project_slug}-"): p for p in made.files}

    for name in ("report.html", "evidence-pack.html", "easy-read.html"):
        html = files[name].read_text(encoding="utf-8")
        assert unsafe_markup(html, name) == []
        assert "<script" not in html.lower().replace("&lt;script", "")  # a report runs no script at all
    report_text = page_text(files["report.html"].read_text(encoding="utf-8"))
    assert HOSTILE_STATEMENT in report_text and "<script>pwned(1)</script>" in report_text

    from pypdf import PdfReader

    pdf_text = "".join(page.extract_text() or "" for page in PdfReader(files["report.pdf"]).pages)
    assert "<script>pwned(11)</script>" in pdf_text  # the statement, as printed characters

    import docx

    document = docx.Document(str(files["report.docx"]))
    words = "\n".join(p.text for p in document.paragraphs) + "".join(
        c.text for t in document.tables for row in t.rows for c in row.cells
    )
    assert "<script>pwned(11)</script>" in words

    import openpyxl

    book = openpyxl.load_workbook(files["coded-data.xlsx"])
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no formulas in the workbook"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA)]
    assert '\'=HYPERLINK("https://pwned.example","Click me")' in texts
    assert any(t.startswith("'=cmd|") for t in texts)  # the hostile theme label in the question sheet

    for name in ("coded-segments.csv", "coded-codings.csv", "question-summary.csv"):
        with files[name].open(encoding="utf-8-sig", newline="") as handle:
            fields = [f for row in csv.reader(handle) for f in row]
        assert not [f for f in fields if f.startswith(FORMULA)], name
    with files["coded-segments.csv"].open(encoding="utf-8-sig", newline="") as handle:
        assert "'@SUM(1+1) pwned" in [f for row in csv.reader(handle) for f in row]

    from coproduce.reports.refi import schema

    with zipfile.ZipFile(files["project.qdpx"]) as archive:
        root = etree.fromstring(
            archive.read("project.qde"), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        )
        sources = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/"))
    assert schema("Project").validate(root), "the REFI-QDA project still follows the schema"
    assert not [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname.lower() == "script"]
    assert "<script>pwned(1)</script>" in sources + etree.tostring(root, encoding="unicode").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")

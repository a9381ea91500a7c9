"""Uploads through the web UI: content sniffed (not only the extension), zip bombs and macros refused
on the form, names made safe, and a too-big upload answered with a page, never a traceback."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from coproduce.config import Settings
from tests.importers.test_file_types import BOMB_PART, WINDOWS_PROGRAM, real_docx, zipped
from tests.webui.conftest import Seed


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


def upload(client: FlaskClient, seed: Seed, name: str, data: bytes, kind: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        f"/projects/{seed.project_slug}/import",
        data={"file": (io.BytesIO(data), name), "kind": kind},
        content_type="multipart/form-data",
    )


def stored_uploads(settings: Settings) -> list[Path]:
    root = settings.instance_dir / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def docx_with(extra: dict[str, bytes]) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(real_docx())) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    return zipped({**parts, **extra})


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("survey.csv", zipped({"xl/workbook.xml": b"<workbook/>"}), "The file is named .csv but holds a zip archive"),
        ("survey.xlsx", b"id,comment\n1,hello\n", "The file is named .xlsx but holds something else"),
        ("macro.docx", docx_with({"word/vbaProject.bin": b"macro"}), "The .docx file contains macros"),
        ("report.pdf", WINDOWS_PROGRAM, "The file is named .pdf but holds a Windows program, not a PDF"),
        ("bomb.docx", zipped({"word/document.xml": BOMB_PART}), "(a possible zip bomb)"),
        ("bomb.xlsx", zipped({"xl/worksheets/sheet1.xml": BOMB_PART}), "(a possible zip bomb)"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_on_the_form(
    admin: FlaskClient, seed: Seed, settings: Settings, name: str, data: bytes, message: str
) -> None:
    response = upload(admin, seed, name, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'href="#file"' in page  # the error summary links to the file field
    assert "Traceback" not in page and str(settings.instance_dir) not in page  # no server paths
    assert stored_uploads(settings) == []  # nothing kept


def test_upload_names_are_made_safe(admin: FlaskClient, seed: Seed, settings: Settings) -> None:
    csv = b"id,What has worked well for your family?\nR1,The speech therapist\n"
    hostile_name = "../../..\\evil <script>x</script> \u202egpj" + "n" * 300 + ".CSV"
    response = upload(admin, seed, hostile_name, csv, kind="survey")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    [stored] = [p for p in stored_uploads(settings) if p.name != "upload.json"]
    assert stored.parent.parent == settings.instance_dir / "uploads"  # nowhere else
    assert re.fullmatch(r"script_gpjn+\.csv", stored.name)  # the last part after any / or \\
    assert len(stored.name) <= 84
    page = response.get_data(as_text=True)
    assert "<script>x" not in page and "\u202e" not in page


def test_too_big_for_the_request_limit_gets_the_form_with_a_message(app: Flask, admin: FlaskClient, seed: Seed) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 5_000
    response = upload(admin, seed, "big.csv", b"id,comment\n" + b"1,words\n" * 2_000)
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The selected file must be smaller than 0.005 MB" in page and "Traceback" not in page


def test_bigger_than_max_file_bytes_is_refused_while_saving(
    app: Flask, admin: FlaskClient, seed: Seed, settings: Settings
) -> None:
    # The request limit lets it through; the streamed save stops at max_file_bytes and keeps nothing.
    app.config["MAX_CONTENT_LENGTH"] = 10_000_000
    app.extensions["coproduce.settings"] = settings.with_overrides(max_file_bytes=1_000)
    response = upload(admin, seed, "big.csv", b"id,comment\n" + b"1,words\n" * 2_000)
    assert response.status_code == 400
    assert "The selected file must be smaller than 0.001 MB" in response.get_data(as_text=True)
    assert stored_uploads(settings) == []

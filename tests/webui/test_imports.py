"""Importing through the web UI: upload, the column-mapping form and preview, confirm, errors."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.store.models import AuditEvent, Respondent, Response, Source
from tests.webui.conftest import Seed

SURVEY = (
    "Response ID,What is your name?,Are you responding as:,What has worked well for your family?,"
    "Do you agree with the proposal?,May we quote your response?\n"
    "A1,Jo Bloggs,Parent or carer,The speech therapist listened to us. Call me on 07700 900123.,Agree,Yes\n"
    "A2,,Young person,More help at school,Disagree,No\n"
    "A3,,Professional,,,\n"
)
SUBMISSION = """Response from the Westbridge Parent Carer Forum

Thank you for the chance to respond.

What has worked well for your family?
The speech and language therapist came every week and the school listened to what we said.

Do you agree with the proposal? Agree
We support it as long as families are heard at every step.
"""


@pytest.fixture
def admin(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


@pytest.fixture(autouse=True)
def shared_models(app: Flask, embedder) -> None:
    """Real redaction and safeguarding, with the session's embedding model (loaded once for all tests)."""
    from coproduce.privacy.redaction import get_redactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    app.extensions["coproduce.privacy"] = lambda s: (get_redactor(s), SafeguardingFlagger(embedder=embedder))


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(t)) for t in (Source, Respondent, Response, AuditEvent)
        )


def upload(client: FlaskClient, seed: Seed, name: str, data: bytes, **form: str):
    return client.post(
        f"/projects/{seed.project_slug}/import",
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def token_of(page: str) -> str:
    match = re.search(r'action="/projects/[^/]+/import/([0-9a-f]{32})"', page)
    assert match, "no import form on the page"
    return match.group(1)


def selected(page: str) -> dict[str, str]:
    """Each column select's chosen value, as the browser would send it."""
    chosen = {}
    for name, body in re.findall(r'<select[^>]*name="(column-\d+)"[^>]*>(.*?)</select>', page, re.S):
        value = re.search(r'<option value="([^"]*)" selected', body)
        chosen[name] = value.group(1) if value else "ignore"
    for name, value in re.findall(r'<input type="hidden" name="(column-\d+)" value="([^"]*)"', page):
        chosen[name] = value
    return chosen


def test_the_upload_form_offers_every_kind_and_the_accepted_types(admin: FlaskClient, seed: Seed) -> None:
    page = admin.get(f"/projects/{seed.project_slug}/import").get_data(as_text=True)
    assert 'accept=".txt,.docx,.pdf,.csv,.xlsx,.jsonl"' in page
    assert 'enctype="multipart/form-data"' in page
    for label in ("Free-form submission", "Survey export", "Voice of the child", "Family feedback"):
        assert label in page
    assert 'name="respondent_type"' in page and 'name="consent"' in page
    assert "redacted when the file is imported" in page


def test_survey_upload_guesses_columns_previews_and_imports(
    admin: FlaskClient, seed: Seed, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    before = counts(session_factory)
    response = upload(admin, seed, "returns 2024.csv", SURVEY.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    chosen = selected(page)
    # Guessed: the id column, the name column never imported, both questions, who and consent.
    assert chosen == {
        "column-0": "respondent_id",
        "column-1": "ignore",
        "column-2": "attribute:respondent_type",
        "column-3": "open:1",
        "column-4": "closed:2",
        "column-5": "attribute:consent_to_quote",
    }
    assert "Never imported" in page and "Jo Bloggs" not in page, "personal-data columns show no values"
    assert 'id="preview-counts"' in page and "2 respondents" in page and "4 answers" in page
    assert "The speech therapist listened to us." in page  # staff see the file as it is, before redaction
    assert "before personal details are redacted" in page
    assert "row 4" in page and "no answers" in page  # the row with no answers, shown before importing
    assert counts(session_factory) == before, "previewing writes nothing"

    token = token_of(page)
    folder = settings.instance_dir / "uploads" / token
    assert folder.is_dir()
    chosen["column-5"] = "ignore"  # a person corrects the guess: consent is not to be taken from this file
    done = admin.post(f"/projects/{seed.project_slug}/import/{token}", data={**chosen, "action": "import"})
    result = done.get_data(as_text=True)
    assert done.status_code == 200, result
    assert "File imported" in result and "returns_2024.csv" in result
    assert re.search(r"Respondents added\s*</dt>\s*<dd[^>]*>\s*2", result)
    assert "row 4" in result and "no answers" in result
    assert not folder.exists(), "the upload is deleted once imported"

    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.filename == "returns_2024.csv"))
        assert source is not None and source.imported_by_label == "admin@example.org"
        people = list(session.scalars(select(Respondent).where(Respondent.source_id == source.id)))
        assert sorted(p.external_id for p in people) == ["A1", "A2"]
        assert {p.respondent_type for p in people} == {"parent_carer", "young_person"}
        assert not any(p.consent_to_quote for p in people)
        texts = [
            r.redacted_text
            for r in session.scalars(select(Response).join(Respondent).where(Respondent.source_id == source.id))
        ]
        assert any("07700 900123" not in (t or "") and "[" in (t or "") for t in texts), texts
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "source.import"))
        assert event.entity_id == source.id and event.actor_label == "admin@example.org"
        assert event.after["respondents"] == 2


def test_the_same_file_again_is_explained(admin: FlaskClient, seed: Seed, session_factory) -> None:
    page = upload(admin, seed, "a.csv", SURVEY.encode()).get_data(as_text=True)
    admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={"action": "import"})
    before = counts(session_factory)
    again = upload(admin, seed, "renamed.csv", SURVEY.encode()).get_data(as_text=True)
    second = admin.post(f"/projects/{seed.project_slug}/import/{token_of(again)}", data={"action": "import"})
    text = second.get_data(as_text=True)
    assert "renamed.csv was already imported" in text and "nothing was changed" in text
    assert counts(session_factory) == before
    # The upload is gone: posting it again says so.
    gone = admin.post(f"/projects/{seed.project_slug}/import/{token_of(again)}", data={"action": "import"})
    assert gone.status_code == 410 and "no longer available" in gone.get_data(as_text=True)


def test_a_bad_row_is_named_and_nothing_is_written(admin: FlaskClient, seed: Seed, session_factory) -> None:
    before = counts(session_factory)
    bad = SURVEY.replace("A2,", "A1,")  # the same respondent id twice
    response = upload(admin, seed, "bad.csv", bad.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert "bad.csv, row 3, field “Response ID”: respondent id &#39;A1&#39; is in row 2 and again in row 3" in page
    assert "Each row must be a different respondent" in page
    assert 'href="#column-0"' in page, "the error summary links to the column it is about"
    assert "Import this file" not in page
    confirm = admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={"action": "import"})
    assert confirm.status_code == 400 and "again in row 3" in confirm.get_data(as_text=True)
    assert counts(session_factory) == before


def test_an_impossible_mapping_is_refused_on_the_form(admin: FlaskClient, seed: Seed, session_factory) -> None:
    page = upload(admin, seed, "s.csv", SURVEY.encode()).get_data(as_text=True)
    chosen = selected(page) | {"column-2": "respondent_id"}  # two id columns
    before = counts(session_factory)
    response = admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={**chosen, "action": "import"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "2 columns are marked respondent_id; at most one may be" in text
    assert counts(session_factory) == before
    # "Update preview" shows the person's choices back, not the guess.
    again = admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={**chosen, "action": "preview"})
    assert selected(again.get_data(as_text=True))["column-2"] == "respondent_id"


def test_a_file_that_is_too_big_gets_a_friendly_message(app: Flask, admin: FlaskClient, seed: Seed) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    response = upload(admin, seed, "big.csv", SURVEY.encode() * 20)
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "There is a problem" in page and "The selected file must be smaller than 0.002 MB" in page
    assert 'href="#file"' in page


def test_other_file_types_are_refused(admin: FlaskClient, seed: Seed) -> None:
    response = upload(admin, seed, "notes.exe", b"MZ")
    assert response.status_code == 400
    assert "must be a .txt, .docx, .pdf, .csv, .xlsx or .jsonl file" in response.get_data(as_text=True)
    missing = admin.post(f"/projects/{seed.project_slug}/import", data={"kind": ""}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Select a file to import" in missing.get_data(as_text=True)


def test_a_free_form_submission_previews_its_questions_and_imports(
    admin: FlaskClient, seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    response = upload(
        admin,
        seed,
        "forum.txt",
        SUBMISSION.encode(),
        respondent_type="parent_carer_forum",
        consent="yes",
        respondent_name="Westbridge Parent Carer Forum",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Free-form submission" in page and "Questions answered: 1, 2." in page
    assert "text before the first question" in page
    assert "<select" not in page, "a free-form file has no column mapping"
    done = admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={"action": "import"})
    assert done.status_code == 200 and "File imported" in done.get_data(as_text=True)
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.filename == "forum.txt"))
        person = session.scalar(select(Respondent).where(Respondent.source_id == source.id))
        assert person.respondent_type == "parent_carer_forum" and person.consent_to_quote
        answers = {
            r.question_id: r for r in session.scalars(select(Response).where(Response.respondent_id == person.id))
        }
        assert len(answers) == 2
        assert any(r.scale_answer == "Agree" for r in answers.values())


def test_the_seed_submission_previews_against_the_projects_framework(
    admin: FlaskClient, seed: Seed, tmp_path: Path
) -> None:
    from tests.conftest import SEED

    page = upload(admin, seed, SEED.name, SEED.read_bytes()).get_data(as_text=True)
    # The seeded project has a two-question framework, so most of the submission cannot be placed:
    # the preview says so before anything is stored.
    assert "What would be imported" in page
    assert "Rows and passages that would not be imported" in page or "There is a problem" in page


def test_a_large_file_is_imported_in_the_background(
    app: Flask, admin: FlaskClient, seed: Seed, session_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coproduce.services.job_queue import run_pending
    from webui import background, imports

    monkeypatch.setattr(imports, "IN_REQUEST_LIMIT", 1)  # this file's 4 answers count as "large"
    page = upload(admin, seed, "large.csv", SURVEY.encode()).get_data(as_text=True)
    response = admin.post(f"/projects/{seed.project_slug}/import/{token_of(page)}", data={"action": "import"})
    assert response.status_code == 302 and "/import/jobs/" in response.headers["Location"]
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    queued = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "queued, waiting for a worker" in queued and "No worker is running" in queued
    assert "<code>coproduce worker</code>" in queued
    with app.app_context():  # the worker's turn: the job runs with the app's privacy factory
        assert run_pending(background.job_queue(), background.job_context()) == 1
        assert background.job_queue().get(job_id).status == "finished"
    result = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "File imported" in result and "large.csv" in result
    with session_factory() as session:
        assert session.scalar(select(Source).where(Source.filename == "large.csv")) is not None
    unknown = admin.get(f"/projects/{seed.project_slug}/import/jobs/{'f' * 32}")
    assert unknown.status_code == 200 and "no record of this import" in unknown.get_data(as_text=True)

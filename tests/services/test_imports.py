"""Importing into a project: all or nothing, once per file, redacted, flagged and audited."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.privacy.base import RedactionResult
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from coproduce.services.projects import create_project
from coproduce.store.db import transaction
from coproduce.store.models import AuditEvent, Question, Respondent, Response, SafeguardingFlag, Source
from tests.conftest import GREEN_PAPER, SEED

ACTOR = Actor(label="test")
TABLES = (Source, Respondent, Response, SafeguardingFlag, AuditEvent)


@pytest.fixture
def project(session_factory):
    with transaction(session_factory) as session:
        return create_project(session, ACTOR, "Green paper", load_framework(GREEN_PAPER)).slug


def counts(session_factory) -> dict[str, int]:
    with session_factory() as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def test_seed_import_stores_22_responses_and_7_scale_answers(session_factory, settings, project):
    report = import_file(session_factory, settings, project, SEED, ACTOR, respondent_type="parent_carer_forum")
    assert (report.respondents, report.responses, report.scale_answers) == (1, 22, 7)
    assert "Imported forum-submission" in report.summary()
    with session_factory() as session:
        rows = session.execute(
            select(Question.number, Response.scale_answer, Response.original_text, Response.redacted_text)
            .join(Question, Response.question_id == Question.id)
            .order_by(Question.number)
        ).all()
        assert [r.number for r in rows] == list(range(1, 23))
        assert {r.number: r.scale_answer for r in rows if r.scale_answer} == {
            6: "Strongly disagree",
            9: "Agree",
            10: "Strongly agree",
            11: "Disagree",
            13: "Neither agree nor disagree",
            15: "Agree",
            16: "Strongly agree",
        }
        assert all(r.redacted_text for r in rows)
        respondent = session.scalar(select(Respondent))
        assert respondent.respondent_type == "parent_carer_forum"
        source = session.scalar(select(Source))
        assert [r["reason"].split(";")[0] for r in source.rejected] == [
            "text before the first question",
            "page debris, not part of the answer",
        ]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "source.import"))
        assert event.after["responses"] == 22 and event.actor_label == "test"


def test_the_same_file_again_changes_nothing_and_says_so(session_factory, settings, project, tmp_path):
    import_file(session_factory, settings, project, SEED, ACTOR)
    before = counts(session_factory)
    copy = tmp_path / "renamed.txt"
    shutil.copy(SEED, copy)  # same bytes under another name
    report = import_file(session_factory, settings, project, copy, ACTOR)
    assert report.already_imported and "nothing changed" in report.summary()
    assert counts(session_factory) == before


def test_personal_data_is_redacted_and_the_original_kept(session_factory, settings, project, tmp_path):
    path = tmp_path / "family.jsonl"
    path.write_text(
        '{"text": "My son Oliver Bennett waited 14 months. Call me on 07700 900123 or email jo.bennett@example.org.",'
        ' "question": "1"}\n',
        encoding="utf-8",
    )
    report = import_file(session_factory, settings, project, path, ACTOR, kind="family")
    assert report.redacted.get("PHONE") == 1 and report.redacted.get("EMAIL") == 1
    with session_factory() as session:
        response = session.scalar(select(Response))
        assert "07700 900123" in response.original_text
        for secret in ("Oliver", "Bennett", "07700", "jo.bennett"):
            assert secret not in response.redacted_text
        assert "[PHONE]" in response.redacted_text and "[EMAIL]" in response.redacted_text


def test_possible_safeguarding_disclosures_are_flagged_not_hidden(session_factory, settings, project, tmp_path):
    path = tmp_path / "voice.jsonl"
    path.write_text(
        '{"pseudonym": "C1", "age": 9, "communication_method": "spoken", "consent": "no",'
        ' "text": "I like art. My dad hits me when I get it wrong."}\n',
        encoding="utf-8",
    )
    report = import_file(session_factory, settings, project, path, ACTOR, kind="voice")
    assert report.safeguarding_flags >= 1
    with session_factory() as session:
        flag = session.scalar(select(SafeguardingFlag))
        response = session.get(Response, flag.response_id)
        assert "hits me" in response.original_text[flag.start : flag.end]
        assert "hits me" in response.redacted_text


def test_a_failure_after_parsing_writes_nothing(session_factory, settings, project):
    class FailingRedactor:
        calls = 0

        def redact(self, text: str) -> RedactionResult:
            FailingRedactor.calls += 1
            if FailingRedactor.calls == 10:
                raise RuntimeError("disk full")
            return RedactionResult(text, text)

    class NoFlags:
        def detect(self, text: str) -> list:
            return []

    before = counts(session_factory)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(session_factory, settings, project, SEED, ACTOR, privacy=lambda s: (FailingRedactor(), NoFlags()))
    assert counts(session_factory) == before


def test_bad_input_leaves_the_database_unchanged(session_factory, settings, project, tmp_path):
    before = counts(session_factory)
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty"):
        import_file(session_factory, settings, project, bad, ACTOR)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Response ID,Q1\n1,fine\n2,too,many\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="row 3"):
        import_file(session_factory, settings, project, ragged, ACTOR)
    assert counts(session_factory) == before


def test_unknown_project_is_a_clear_error(session_factory, settings, project):
    with pytest.raises(BadInputError, match="no project called 'nope'"):
        import_file(session_factory, settings, "nope", SEED, ACTOR)


def test_sentences_embedded_at_import_are_kept_for_the_analysis(session_factory, settings, project, tmp_path):
    from coproduce.nlp import EMBEDDING_MODEL_ID
    from coproduce.pipeline.embed import CACHE_FILENAME, EmbeddingCache, text_key

    path = tmp_path / "voice.jsonl"
    path.write_text(
        '{"pseudonym": "C2", "age": 12, "communication_method": "spoken", "consent": "yes",'
        ' "text": "The bus to school is always late. I like my teacher."}\n',
        encoding="utf-8",
    )
    import_file(session_factory, settings, project, path, ACTOR, kind="voice")
    cache = EmbeddingCache(settings.instance_dir / CACHE_FILENAME)
    keys = [text_key(EMBEDDING_MODEL_ID, s) for s in ("The bus to school is always late.", "I like my teacher.")]
    assert set(cache.get_many(keys)) == set(keys), "the analysis will find these vectors instead of embedding again"
    cache.close()

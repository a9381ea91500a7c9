"""Erasing a respondent leaves nothing of them in any table, the embedding cache or uploads; figures are
recounted, signed-off findings that change are reopened, and the audit chain still verifies."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import JSON, String, Text, func, select
from typer.testing import CliRunner

from coproduce.cli import app
from coproduce.errors import BadInputError
from coproduce.nlp import EMBEDDING_MODEL_ID
from coproduce.pipeline.embed import CACHE_FILENAME, EmbeddingCache, text_key
from coproduce.services.audit import Actor, record
from coproduce.services.audit_verify import verify_chain
from coproduce.services.erasure import erase_respondent, respondent_hash
from coproduce.services.import_uploads import save_upload
from coproduce.services.retention import apply_retention, set_retention
from coproduce.store.db import transaction
from coproduce.store.models import (
    AuditEvent,
    Base,
    Campaign,
    CodeAssignment,
    CodingTask,
    Finding,
    Project,
    Respondent,
    Response,
    ReviewDecision,
    SegmentSeen,
    SignOff,
    Source,
    Theme,
    User,
    utcnow,
)
from tests.dbtarget import ON_POSTGRES
from tests.webui.conftest import ORIGINAL, PERSONAL, REDACTED, Seed, seed  # noqa: F401  (the seeded project)

ACTOR = Actor(label="cli:dpo")
SHARED_TEXT = "We all said the same words about transport."
COMMENT = f"Checked with the family: {PERSONAL} confirmed the wait."


@pytest.fixture
def erasable(seed: Seed, settings, session_factory) -> Seed:  # noqa: F811
    """The seeded project plus what review leaves around respondent R1: a reviewer's decision and comment,
    a blind-coding task, a seen mark, sign-offs, a campaign, audit events about and quoting them, their
    vectors in the embedding cache (one text shared with another respondent) and an upload of their file."""
    with transaction(session_factory) as session:
        reviewer = User(email="rev@example.org", display_name="Rev", password_hash="x")
        session.add(reviewer)
        session.flush()
        segment_id = seed.segment_ids[0]
        assignment_id = seed.assignment_ids[0]
        session.add(
            ReviewDecision(
                user_id=reviewer.id,
                segment_id=segment_id,
                code_assignment_id=assignment_id,
                action="accept",
                comment=COMMENT,
            )
        )
        session.add(
            CodingTask(
                project_id=session.get(Finding, seed.finding_ids[0]).project_id,
                sample_key="s1",
                segment_id=segment_id,
                user_id=reviewer.id,
            )
        )
        session.add(SegmentSeen(user_id=reviewer.id, segment_id=segment_id))
        response = session.get(Response, seed.personal_response_id)
        session.add(
            CodeAssignment(
                response_id=response.id,
                code_id=session.get(CodeAssignment, assignment_id).code_id,
                origin="human",
                status="accepted",
            )
        )
        # A second answer from R1 and the same words from R4, to check a shared vector is kept.
        r4 = session.scalar(select(Respondent).where(Respondent.external_id == "R4"))
        session.add(
            Response(
                respondent_id=seed.respondent_id,
                question_id=response.question_id,
                original_text=SHARED_TEXT,
                redacted_text=SHARED_TEXT,
            )
        )
        session.add(
            Response(
                respondent_id=r4.id,
                question_id=response.question_id,
                original_text=SHARED_TEXT,
                redacted_text=SHARED_TEXT,
            )
        )
        for finding_id in seed.finding_ids[:2]:
            finding = session.get(Finding, finding_id)
            finding.status = "signed_off"
            session.add(
                SignOff(
                    finding_id=finding_id,
                    user_id=reviewer.id,
                    role="parent_carer",
                    decision="approve",
                    finding_version=finding.version,
                )
            )
        campaign = session.scalar(select(Campaign))
        campaign.respondent_ids = [seed.respondent_id, *campaign.respondent_ids, r4.id]
        campaign.example = REDACTED
        project_id = response.respondent.project_id
        record(
            session,
            Actor(label="rev@example.org", user_id=None),
            "review.accept",
            "code_assignment",
            assignment_id,
            project_id=project_id,
            after={"segment_id": segment_id, "comment": COMMENT},
        )
        record(session, ACTOR, "note.add", "note", 1, project_id=project_id, after={"text": f"Quoted: {ORIGINAL}"})
        record(session, ACTOR, "source.import", "source", 1, project_id=project_id, after={"respondents": 4})
    cache = EmbeddingCache(settings.instance_dir / CACHE_FILENAME)
    texts = [ORIGINAL, REDACTED, SHARED_TEXT, "More help", "Something nobody erased wrote."]
    cache.put_many({text_key(EMBEDDING_MODEL_ID, t): np.ones(4, dtype=np.float32) for t in texts})
    cache.put_result("themes:abc", json.dumps({"items": [{"representative": REDACTED}]}))
    cache.close()
    save_upload(settings, seed.project_slug, "returns.csv", io.BytesIO(f"id,answer\nR1,{ORIGINAL}\n".encode()))
    save_upload(settings, seed.project_slug, "others.csv", io.BytesIO(b"id,answer\nR9,Nothing personal here at all\n"))
    return seed


def _every_string(session) -> list[tuple[str, str, object]]:
    """(table, column, value) for every text and JSON value in the database."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for row in session.execute(select(*columns)) if columns else []:
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    found.append((table.name, column.name, value))
    return found


def _strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def _counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_dry_run_reports_and_changes_nothing(erasable, settings, session_factory, engine):
    with session_factory() as session:
        before = _counts(session)
    report = erase_respondent(session_factory, settings, erasable.project_slug, "R1", ACTOR, apply=False)
    assert not report.applied
    assert report.counts["responses"] == 3 and report.counts["segments"] == 1
    assert report.counts["review decisions"] == 1 and report.counts["coding tasks"] == 1
    assert report.counts["response codes"] == 1 and report.counts["quotes in findings"] == 3
    assert report.counts["embedding cache vectors"] == 2  # ORIGINAL and REDACTED; the shared text stays
    assert len(report.uploads) == 1
    assert "with --yes" in report.summary()
    with session_factory() as session:
        assert _counts(session) == before
    assert len(list((settings.instance_dir / "uploads").iterdir())) == 2


def test_erasure_leaves_nothing_of_the_respondent(erasable, settings, session_factory, engine):
    with session_factory() as session:
        q2_before = session.scalar(select(Finding).where(Finding.key == "q2:summary")).figures["respondents"]
    report = erase_respondent(
        session_factory, settings, erasable.project_slug, str(erasable.respondent_id), ACTOR, apply=True
    )
    assert report.applied and report.counts["respondents"] == 1

    with session_factory() as session:
        assert session.get(Respondent, erasable.respondent_id) is None
        for table, column, value in _every_string(session):
            for s in _strings_in(value):
                for secret in (ORIGINAL, REDACTED, PERSONAL, COMMENT):
                    assert secret not in s, f"{table}.{column} still holds {secret!r}"
                assert s != "R1", f"{table}.{column} still holds the external id"
        # Figures recounted: their code and scale answers no longer count; signed-off findings reopened.
        wait = session.scalar(select(Finding).where(Finding.key == "q1:code:WAIT"))
        assert wait.figures["respondents"] == 0 and wait.status == "reopened"
        assert (
            session.scalar(select(Finding).where(Finding.key == "q2:summary")).figures["respondents"] == q2_before - 1
        )
        theme = session.get(Theme, erasable.theme_id)
        assert theme.representative == ""
        campaign = session.scalar(select(Campaign))
        assert erasable.respondent_id not in campaign.respondent_ids and campaign.example == "More help"
        assert set(report.findings_reopened) == {"q1:code:WAIT", "standard:S1"}
        # One erasure event: counts and a hash, no personal data.
        erased = session.scalars(select(AuditEvent).where(AuditEvent.action == "respondent.erased")).one()
        assert erased.entity_id is None
        assert erased.after["respondent_hash"] == respondent_hash(theme.project_id, erasable.respondent_id)
        assert erased.after["counts"]["responses"] == 3
        assert len(erased.after["blanked_audit_events"]) == 2
        assert session.scalar(select(Source).where(Source.filename == "returns.csv")) is not None  # shared file stays
        assert verify_chain(session.connection()).ok

    keys = {k for (k,) in sqlite3.connect(settings.instance_dir / CACHE_FILENAME).execute("SELECT key FROM vectors")}
    assert text_key(EMBEDDING_MODEL_ID, ORIGINAL) not in keys and text_key(EMBEDDING_MODEL_ID, REDACTED) not in keys
    assert text_key(EMBEDDING_MODEL_ID, SHARED_TEXT) in keys  # R4 wrote it too
    assert text_key(EMBEDDING_MODEL_ID, "More help") in keys
    engine.dispose()
    if not ON_POSTGRES:  # PostgreSQL keeps deleted rows on disk until VACUUM (docs/data-protection.md says so)
        database = (settings.instance_dir / "coproduce.sqlite").read_bytes()
        assert PERSONAL.encode() not in database and REDACTED.encode() not in database  # freed pages zeroed too
    raw = (settings.instance_dir / CACHE_FILENAME).read_bytes()
    assert REDACTED.encode() not in raw  # secure_delete: not left in free pages
    uploads = [p.name for p in (settings.instance_dir / "uploads").iterdir()]
    assert len(uploads) == 1
    assert "R9" in next((settings.instance_dir / "uploads" / uploads[0]).glob("*.csv")).read_text()


def test_unknown_and_ambiguous_respondents_are_refused(erasable, settings, session_factory):
    with pytest.raises(BadInputError, match="no respondent 'R77'"):
        erase_respondent(session_factory, settings, erasable.project_slug, "R77", ACTOR, apply=True)
    with transaction(session_factory) as session:
        twin = session.scalar(select(Respondent).where(Respondent.external_id == "R2"))
        session.add(Respondent(project_id=twin.project_id, source_id=twin.source_id, external_id="R2"))
    with pytest.raises(BadInputError, match="2 respondents"):
        erase_respondent(session_factory, settings, erasable.project_slug, "R2", ACTOR, apply=True)
    # A respondent of another project cannot be reached through this one.
    with pytest.raises(BadInputError):
        erase_respondent(
            session_factory, settings, erasable.project_slug, str(erasable.other_response_id), ACTOR, apply=True
        )


def test_erase_command_is_a_dry_run_without_yes(erasable, settings, session_factory):
    runner = CliRunner()
    args = ["erase", "-p", erasable.project_slug, "-r", "R1", "--instance", str(settings.instance_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Would erase respondent" in result.output
    with session_factory() as session:
        assert session.get(Respondent, erasable.respondent_id) is not None
    result = runner.invoke(app, [*args, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Erased respondent" in result.output
    with session_factory() as session:
        assert session.get(Respondent, erasable.respondent_id) is None
    result = runner.invoke(app, ["audit", "verify", "--instance", str(settings.instance_dir)])
    assert result.exit_code == 0 and "1 with personal data erased" not in result.output  # two were blanked
    assert "2 with personal data erased" in result.output


# ---------------------------------------------------------------- retention


def test_retention_erases_only_respondents_past_the_period(erasable, settings, session_factory):
    now = utcnow()
    with transaction(session_factory) as session:
        project = session.scalar(select(Project).where(Project.slug == erasable.project_slug))
        old = session.scalar(select(Source).where(Source.project_id == project.id))
        old.imported_at = now - timedelta(days=40)
        fresh = Source(project_id=project.id, filename="new.csv", sha256="ef" * 32, size_bytes=1, importer="csv")
        session.add(fresh)
        session.flush()
        session.add(Respondent(project_id=project.id, source_id=fresh.id, external_id="NEW"))
        set_retention(session, ACTOR, project, 30)
    dry = apply_retention(session_factory, settings, ACTOR, apply=False, now=now)
    assert [len(r.erased) for r in dry if r.project_slug == erasable.project_slug] == [4]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Respondent)) == 6
    results = apply_retention(session_factory, settings, ACTOR, now=now)
    by_slug = {r.project_slug: r for r in results}
    assert len(by_slug[erasable.project_slug].erased) == 4
    assert by_slug[erasable.other_project_slug].erased == []  # keeps data: no period, default 0
    with session_factory() as session:
        left = session.scalars(
            select(Respondent.external_id).join(Project).where(Project.slug == erasable.project_slug)
        )
        assert list(left) == ["NEW"]
        assert (
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "respondent.erased"))
            == 4
        )
        assert verify_chain(session.connection()).ok


def test_the_default_retention_applies_to_projects_without_their_own(erasable, settings, session_factory):
    now = utcnow()
    with transaction(session_factory) as session:
        for source in session.scalars(select(Source)):
            source.imported_at = now - timedelta(days=400)
    results = apply_retention(session_factory, settings.with_overrides(default_retention_days=365), ACTOR, now=now)
    assert sorted(len(r.erased) for r in results) == [1, 4]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Respondent)) == 0


def test_project_retention_command(erasable, settings, session_factory):
    runner = CliRunner()
    base = ["project", "retention", "-p", erasable.project_slug, "--instance", str(settings.instance_dir)]
    result = runner.invoke(app, [*base, "--days", "90"])
    assert result.exit_code == 0, result.output
    assert "keeps respondents 90 days (its own setting)" in result.output
    result = runner.invoke(app, [*base, "--days", "0"])
    assert result.exit_code != 0
    result = runner.invoke(app, [*base, "--keep"])
    assert "until erased by hand (the default_retention_days setting)" in result.output
    with session_factory() as session:
        events = session.scalars(select(AuditEvent.after).where(AuditEvent.action == "project.retention")).all()
        assert events == [{"retention_days": 90}, {"retention_days": None}]
    result = runner.invoke(app, ["retention", "apply", "--dry-run", "--instance", str(settings.instance_dir)])
    assert result.exit_code == 0 and "keeps data (no retention period)" in result.output

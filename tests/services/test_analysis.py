"""Analysis end to end on the sample corpus: findings, traceability, human decisions kept, determinism."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from coproduce.pipeline.embed import EmbeddingCache
from coproduce.pipeline.run import Pipeline
from coproduce.pipeline.themes import BERTopicThemeFinder, ThemeSettings, pca_reducer
from coproduce.services.analysis import run_analysis
from coproduce.services.audit import Actor
from coproduce.services.demo import DEMO_SLUG, build_demo
from coproduce.store.db import make_engine, make_session_factory
from coproduce.store.models import (
    AnalysisRun,
    AuditEvent,
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Notification,
    Question,
    Respondent,
    Response,
    Segment,
    SignOff,
    Stance,
    Theme,
)
from coproduce.store.schema import upgrade
from tests.dbtarget import copy_database, database_settings

ACTOR = Actor(label="test")
CAMPAIGN_LETTER = (
    "We the undersigned call on the government to fully fund SEND support in every school, to keep the legal "
    "rights families have to an EHC plan, and to stop any move to mandatory mediation before families can go "
    "to tribunal. Children cannot wait while budgets are argued over."
)


def pipeline(embedder) -> Pipeline:
    """The default stages, with the session's embedder and a cheap reducer for themes (UMAP has its own test)."""
    themes = BERTopicThemeFinder(embedder, ThemeSettings(seed=42), reducer_factory=lambda n, seed: pca_reducer(n, seed))
    return Pipeline(embedder=embedder, theme_finder=themes, result_cache=EmbeddingCache(), seed=42)


def import_demo(factory, settings, folder) -> None:
    list(build_demo(factory, settings))
    campaign = folder / "campaign.csv"
    with campaign.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["family id", "question", "consent", "feedback"])
        for i in range(6):
            writer.writerow([f"C{i}", "1", "yes", CAMPAIGN_LETTER.replace("every", ["every", "each"][i % 2])])
    from coproduce.services.imports import import_file

    import_file(factory, settings, DEMO_SLUG, campaign, ACTOR, kind="family")


@pytest.fixture(scope="module")
def analysed_instance(request, tmp_path_factory, embedder):
    """The demo corpus plus a 6-respondent campaign, imported and analysed once for the read-only tests."""
    folder = tmp_path_factory.mktemp("analysed")
    settings = database_settings(request, folder)
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_session_factory(engine)
    import_demo(factory, settings, folder)
    report = run_analysis(factory, settings, DEMO_SLUG, ACTOR, pipeline=pipeline(embedder))
    yield settings, factory, report
    engine.dispose()


@pytest.fixture
def analysed(analysed_instance):
    return analysed_instance[2]


@pytest.fixture
def session_factory(analysed_instance):
    return analysed_instance[1]


@pytest.fixture
def own_copy(request, analysed_instance, tmp_path):
    """A private copy of the analysed database, for tests that change it."""
    source_settings, source_factory, _ = analysed_instance
    settings = copy_database(request, source_settings, source_factory.kw["bind"], tmp_path)
    engine = make_engine(settings)
    yield settings, make_session_factory(engine)
    engine.dispose()


def test_analysis_makes_findings_per_question_and_standard(session_factory, analysed):
    assert analysed.segments > 300 and analysed.code_suggestions > 0 and analysed.findings > 0
    with session_factory() as session:
        kinds = dict(session.execute(select(Finding.kind, func.count()).group_by(Finding.kind)).all())
        assert kinds["question_summary"] >= 22 and kinds["question_code"] > 22 and kinds["standard"] == 6
        q6 = session.scalar(select(Finding).where(Finding.key == "q6:summary"))
        assert q6.figures["scale"].get("Strongly disagree", 0) >= 1
        finding = session.scalars(select(Finding).where(Finding.kind == "question_code")).first()
        figures = finding.figures
        assert {"respondents", "base", "share", "by_type", "without_campaigns", "stance", "quotes"} <= set(figures)
        assert finding.segments, "a finding links to the segments that support it"


def test_every_code_finding_matches_the_database(session_factory, analysed):
    """Recount each question-code finding from the stored assignments: the figures must agree."""
    with session_factory() as session:
        rows = session.execute(
            select(Question.number, Code.key, Respondent.id)
            .select_from(CodeAssignment)
            .join(Segment, CodeAssignment.segment_id == Segment.id)
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .join(Question, Response.question_id == Question.id)
            .join(Code, CodeAssignment.code_id == Code.id)
            .where(CodeAssignment.status != "rejected")
        ).all()
        counted: dict[str, set[int]] = defaultdict(set)
        for number, code, respondent in rows:
            counted[f"q{number}:code:{code}"].add(respondent)
        findings = {f.key: f for f in session.scalars(select(Finding).where(Finding.kind == "question_code"))}
        assert set(findings) == set(counted)
        for key, finding in findings.items():
            assert finding.figures["respondents"] == len(counted[key]), key


def test_quotes_come_only_from_consenting_respondents_and_are_redacted(session_factory, analysed):
    with session_factory() as session:
        consenting = {
            text
            for text, consent in session.execute(
                select(Segment.text, Respondent.consent_to_quote)
                .select_from(Segment)
                .join(Response, Segment.response_id == Response.id)
                .join(Respondent, Response.respondent_id == Respondent.id)
            )
            if consent
        }
        originals = [t for (t,) in session.execute(select(Response.original_text)) if t]
        quotes = [q for f in session.scalars(select(Finding)) for q in f.figures.get("quotes", [])]
    assert quotes
    for quote in quotes:
        base = quote["text"].removesuffix(" […]")
        assert any(base in text for text in consenting)
    redacted_names = {"Oliver Bennett"}  # from the fictional samples' personal data
    assert not any(name in q["text"] for q in quotes for name in redacted_names)
    assert originals


def test_campaign_responses_are_counted_apart(session_factory, analysed):
    with session_factory() as session:
        campaign = session.scalar(select(Campaign))
        assert campaign is not None and len(campaign.respondent_ids) == 6
        summary = session.scalar(select(Finding).where(Finding.key == "q1:summary"))
        assert summary.figures["respondents"] - summary.figures["without_campaigns"] == 6


def test_the_run_is_recorded_for_traceability(session_factory, analysed):
    with session_factory() as session:
        run = session.get(AnalysisRun, analysed.run_id)
        assert run.status == "finished" and len(run.config_hash) == 64 and run.seed == 42
        assert run.models["embedding"]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
        assert {"segment", "embed", "code", "stance", "themes", "campaigns"} <= set(run.timings)
        assert all(f.analysis_run_id == run.id for f in session.scalars(select(Finding)))
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis.run")) is not None


def test_rerun_keeps_every_human_decision(own_copy, embedder):
    settings, session_factory = own_copy
    with session_factory() as session:
        suggestions = list(session.scalars(select(CodeAssignment).where(CodeAssignment.segment_id.is_not(None))))
        accept, reject = suggestions[0], suggestions[1]
        accept.status, accept.user_id = "accepted", None
        reject.status = "rejected"
        other_code = session.scalar(select(Code).where(Code.id != accept.code_id))
        added = CodeAssignment(segment_id=accept.segment_id, code_id=other_code.id, origin="human", status="accepted")
        session.add(added)
        segment = session.get(Segment, accept.segment_id)
        segment.stance_id = session.scalar(select(Stance.id).where(Stance.key == "experience"))
        segment.stance_origin = "human"
        session.commit()
        kept = {(a.id, a.status) for a in (accept, reject, added)}
        rejected_pair = (reject.segment_id, reject.code_id)
        human_stance = (segment.id, segment.stance_id)

    report = run_analysis(session_factory, settings, DEMO_SLUG, ACTOR, pipeline=pipeline(embedder))
    assert report.human_decisions_kept == 3
    with session_factory() as session:
        now = {(a.id, a.status) for a in session.scalars(select(CodeAssignment)) if a.id in {k for k, _ in kept}}
        assert now == kept
        again = session.scalars(
            select(CodeAssignment).where(
                CodeAssignment.segment_id == rejected_pair[0], CodeAssignment.code_id == rejected_pair[1]
            )
        ).all()
        assert [a.status for a in again] == ["rejected"], "a rejected code is not suggested again"
        segment = session.get(Segment, human_stance[0])
        assert (segment.id, segment.stance_id) == human_stance and segment.stance_origin == "human"


def test_same_input_gives_the_same_findings_and_themes(own_copy, embedder):
    settings, session_factory = own_copy

    def snapshot():
        with session_factory() as session:
            findings = {f.key: f.figures for f in session.scalars(select(Finding))}
            themes = sorted((t.key, t.label, tuple(t.keywords)) for t in session.scalars(select(Theme)))
        return findings, themes

    first = snapshot()
    run_analysis(session_factory, settings, DEMO_SLUG, ACTOR, pipeline=pipeline(embedder))
    assert snapshot() == first


def test_rerun_after_an_answer_changes_keeps_ids_and_links_consistent(own_copy, embedder):
    settings, session_factory = own_copy
    with session_factory() as session:
        response = session.scalar(select(Response).where(Response.redacted_text.is_not(None)).order_by(Response.id))
        untouched = set(session.scalars(select(Segment.id).where(Segment.response_id != response.id)))
        response.redacted_text = "We need a parking space at the clinic. " + response.redacted_text
        session.commit()

    run_analysis(session_factory, settings, DEMO_SLUG, ACTOR, pipeline=pipeline(embedder))
    with session_factory() as session:
        assert untouched <= set(session.scalars(select(Segment.id))), "unchanged segments keep their ids"
        first = session.scalar(select(Segment).where(Segment.response_id == response.id, Segment.position == 0))
        assert first.text == "We need a parking space at the clinic."
        for finding in session.scalars(select(Finding).where(Finding.kind != "question_summary")):
            assert len(finding.segments) == finding.figures["segments"], finding.key
        assert all(theme.segments for theme in session.scalars(select(Theme)))


def test_rerun_keeps_theme_edits_and_reopens_signed_findings_whose_figures_change(own_copy, embedder):
    from coproduce.services import themes as theme_edits
    from coproduce.services.users import create_user

    settings, session_factory = own_copy
    with session_factory() as session:
        emerging = session.scalars(
            select(Theme).where(Theme.code_id.is_(None), Theme.question_id.is_not(None)).order_by(Theme.id)
        ).all()
        by_question: dict[int, list[Theme]] = {}
        for theme in emerging:
            by_question.setdefault(theme.question_id, []).append(theme)
        renamed, folded = next(group[:2] for group in by_question.values() if len(group) >= 2)
        renamed_key, folded_key = renamed.key, folded.key
        theme_edits.rename(session, ACTOR, renamed, "Named by the panel", renamed.version)
        theme_edits.merge(session, ACTOR, renamed, [folded], {renamed.id: renamed.version, folded.id: folded.version})
        # A signed-off finding, then a person rejects one of its codes: the re-run must reopen it.
        finding = session.scalars(select(Finding).where(Finding.kind == "question_code").order_by(Finding.id)).first()
        signer = create_user(session, ACTOR, "signer@example.org", "Signer", "a long enough password")
        session.add(
            SignOff(
                finding_id=finding.id,
                user_id=signer.id,
                role="parent_carer",
                decision="approve",
                finding_version=finding.version,
            )
        )
        finding.status = "signed_off"
        target = session.scalars(
            select(CodeAssignment).where(
                CodeAssignment.code_id == finding.code_id, CodeAssignment.status == "suggested"
            )
        ).first()
        target.status = "rejected"
        session.commit()
        finding_id, signer_id = finding.id, signer.id

    run_analysis(session_factory, settings, DEMO_SLUG, ACTOR, pipeline=pipeline(embedder))
    with session_factory() as session:
        keys = [t.key for t in session.scalars(select(Theme).where(Theme.project_id == renamed.project_id))]
        assert keys.count(renamed_key) == 1, "the renamed theme is not recreated beside itself"
        assert folded_key not in keys, "a merged-away theme does not come back"
        kept = session.scalars(select(Theme).where(Theme.key == renamed_key)).one()
        assert kept.label == "Named by the panel"
        theme_finding = session.scalars(select(Finding).where(Finding.key == f"theme:{renamed_key}")).one()
        assert "Named by the panel" in theme_finding.statement and theme_finding.theme_id == kept.id
        assert session.get(Finding, finding_id).status == "reopened"
        assert session.scalars(select(Notification).where(Notification.user_id == signer_id)).all()


class FailingQuotes:
    def pick(self, *args, **kwargs):
        raise RuntimeError("quote picker failed")


def test_a_failure_while_storing_writes_nothing(own_copy, embedder):
    settings, session_factory = own_copy

    def state():
        with session_factory() as session:
            return [session.scalar(select(func.count()).select_from(t)) for t in (Segment, CodeAssignment, Theme)], {
                f.key: f.figures for f in session.scalars(select(Finding))
            }

    before = state()
    broken = pipeline(embedder)
    broken.quote_picker = FailingQuotes()
    with pytest.raises(RuntimeError, match="quote picker failed"):
        run_analysis(session_factory, settings, DEMO_SLUG, ACTOR, pipeline=broken)
    assert state() == before
    with session_factory() as session:
        run = session.scalar(select(AnalysisRun).order_by(AnalysisRun.id.desc()))
        assert run.status == "failed" and "quote picker failed" in run.error

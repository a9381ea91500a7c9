"""One analysed demo project for every report test, with review, blind coding, sign-offs and dissent.

The demo corpus goes through the real pipeline (the session's embedder, a cheap reducer for themes);
then panel members and an analyst act through the real services, as they would in the web UI.
Tests that change the database work on their own copy (``own_copy``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.pipeline.embed import EmbeddingCache
from coproduce.pipeline.run import Pipeline
from coproduce.pipeline.themes import BERTopicThemeFinder, ThemeSettings, pca_reducer
from coproduce.services import agreement, review, signoff
from coproduce.services.analysis import run_analysis
from coproduce.services.audit import Actor
from coproduce.services.demo import DEMO_ACCOUNTS, DEMO_SLUG, build_demo
from coproduce.services.findings import set_you_said_we_did
from coproduce.services.projects import get_project
from coproduce.services.users import add_member, create_user
from coproduce.store.db import make_engine, make_session_factory, transaction
from coproduce.store.models import CodeAssignment, Finding, User
from coproduce.store.schema import upgrade
from tests.dbtarget import copy_database, database_settings, export_database_url

DISSENT = "Young people told us waiting is worse than this says; the finding plays it down."
WE_DID = "We added a named key worker for every family waiting for an assessment."


@dataclass(frozen=True)
class Analysed:
    settings: Settings
    factory: sessionmaker[Session]
    signed_key: str  # a finding all three panel roles approved
    dissent_key: str  # a finding with a young person's dissent
    you_said_key: str  # a finding with "You said, we did"


def _pipeline(embedder) -> Pipeline:  # type: ignore[no-untyped-def]
    themes = BERTopicThemeFinder(embedder, ThemeSettings(seed=42), reducer_factory=lambda n, seed: pca_reducer(n, seed))
    return Pipeline(embedder=embedder, theme_finder=themes, result_cache=EmbeddingCache(), seed=42)


def _user(session: Session, role: str) -> User:
    email = next(a.email for a in DEMO_ACCOUNTS if a.role == role)
    return session.scalars(select(User).where(User.email == email)).one()


def _panel_work(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    """Review decisions, a blind double-coding sample, sign-offs, a dissent and "You said, we did"."""
    with transaction(factory) as session:
        project = get_project(session, DEMO_SLUG)
        second_parent = create_user(session, Actor.cli(), "parent2@example.org", "Gwen Parent", "a long password here")
        add_member(session, Actor.cli(), project, second_parent, "parent_carer")
    with transaction(factory) as session:
        project = get_project(session, DEMO_SLUG)
        parent, young, analyst = (_user(session, r) for r in ("parent_carer", "young_person", "analyst"))
        suggestions = list(
            session.scalars(
                select(CodeAssignment)
                .where(CodeAssignment.origin == "model", CodeAssignment.status == "suggested")
                .order_by(CodeAssignment.id)
            )
        )
        for a in suggestions[:6]:
            review.accept(session, Actor.of(parent), project, a.id)
        for a in suggestions[6:9]:
            review.reject(session, Actor.of(young), project, a.id, comment="not what they meant")
        other_code = next(c for c in project.framework.codes if c.id != suggestions[9].code_id)
        review.recode(session, Actor.of(analyst), project, suggestions[9].id, other_code.key)
        segment_id = suggestions[12].segment_id
        has = set(session.scalars(select(CodeAssignment.code_id).where(CodeAssignment.segment_id == segment_id)))
        missed = next(c for c in project.framework.codes if c.id not in has)
        review.add_code(session, Actor.of(parent), project, segment_id, missed.key)
    with transaction(factory) as session:
        project = get_project(session, DEMO_SLUG)
        parent, young = _user(session, "parent_carer"), _user(session, "young_person")
        key = agreement.draw_sample(session, Actor.cli(), project, 8, [parent.id, young.id], seed=7)
        codes = agreement.framework_codes(session, project)
        for user in (parent, young):
            for i, task in enumerate(t for t in agreement.tasks_of(session, project, user.id) if t.sample_key == key):
                chosen = [codes[i % 3].id] if user is parent or i % 2 else [codes[(i + 1) % 3].id]
                agreement.code_blind(session, Actor.of(user), task, chosen)
    with transaction(factory) as session:
        project = get_project(session, DEMO_SLUG)
        parent, young, professional, analyst = (
            _user(session, r) for r in ("parent_carer", "young_person", "professional", "analyst")
        )
        findings = list(
            session.scalars(
                select(Finding)
                .where(Finding.kind == "question_code")
                .order_by(Finding.figures["respondents"].as_integer().desc(), Finding.id)
            )
        )
        signed, dissented, you_said = findings[0], findings[1], findings[2]
        for user in (parent, young, professional):
            signoff.sign(session, Actor.of(user), user, signed, "approve", "", None)
        signoff.sign(session, Actor.of(parent), parent, dissented, "approve_with_comment", "Fair summary.", None)
        signoff.sign(session, Actor.of(young), young, dissented, "dissent", DISSENT, None)
        set_you_said_we_did(session, Actor.of(analyst), you_said, WE_DID, None)
        standard = session.scalars(select(Finding).where(Finding.kind == "standard").order_by(Finding.id)).first()
        signoff.sign(session, Actor.of(professional), professional, standard, "approve", "", None)
        return signed.key, dissented.key, you_said.key


@pytest.fixture(scope="session")
def analysed_project(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder
) -> Iterator[Analysed]:
    folder = tmp_path_factory.mktemp("reports")
    settings = database_settings(request, folder)
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_session_factory(engine)
    list(build_demo(factory, settings))
    run_analysis(factory, settings, DEMO_SLUG, Actor.cli(), pipeline=_pipeline(embedder))
    keys = _panel_work(factory)
    yield Analysed(settings, factory, *keys)
    engine.dispose()


@pytest.fixture
def own_copy(
    request: pytest.FixtureRequest, analysed_project: Analysed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Analysed]:
    """A private copy of the analysed database, for tests that change it; the command line sees it too."""
    source_engine = analysed_project.factory.kw["bind"]
    settings = copy_database(request, analysed_project.settings, source_engine, tmp_path)
    export_database_url(monkeypatch, settings)
    engine = make_engine(settings)
    yield Analysed(
        settings,
        make_session_factory(engine),
        analysed_project.signed_key,
        analysed_project.dissent_key,
        analysed_project.you_said_key,
    )
    engine.dispose()


@dataclass(frozen=True)
class Generated:
    project: Analysed
    folder: Path
    files: dict[str, Path]  # file name after the "<slug>-" prefix -> path


@pytest.fixture(scope="session")
def generated(analysed_project: Analysed, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Every format, generated once from the analysed demo project by the same call the CLI makes."""
    from coproduce.reports import generate

    folder = tmp_path_factory.mktemp("report-files")
    result = generate(analysed_project.factory, DEMO_SLUG, folder, Actor(label="test"))
    prefix = f"{DEMO_SLUG}-"
    return Generated(analysed_project, folder, {p.name.removeprefix(prefix): p for p in result.files})

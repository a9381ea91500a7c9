"""Web UI fixtures (Flask tutorial style): an app on the migrated test database, a client, a
runner, a small seeded project and a helper that signs in as a user holding a given role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.services.audit import Actor
from coproduce.services.users import add_member, create_user
from coproduce.store.models import (
    AnalysisRun,
    Code,
    CodeAssignment,
    Finding,
    Framework,
    Project,
    Question,
    Respondent,
    Response,
    SafeguardingFlag,
    Segment,
    Source,
    Stance,
    Standard,
    Theme,
    User,
)
from webui import create_app

PASSWORD = "correct horse battery staple"
PERSONAL = "Amelia Thornbury"  # only in original_text: panel members must never see it
ORIGINAL = f"My daughter {PERSONAL} waited two years for her EHCP assessment."
REDACTED = "My daughter [PERSON] waited two years for her EHCP assessment."
HOSTILE = "<script>alert(1)</script>"
REJECTED_CONTENT = "Row text naming Bartholomew Quince"  # raw content of a rejected row: admins only
FLAG_REASON = "mentions being hurt at home"

# Every grant a test can sign in with; "outsider" has an account but no link to the project.
ROLES = ("admin", "analyst", "parent_carer", "young_person", "professional", "observer")
GRANTS = (*ROLES, "site_admin", "safeguarding_lead", "outsider")


@dataclass
class Seed:
    project_slug: str
    other_project_slug: str
    question_numbers: tuple[int, int]
    respondent_id: int
    personal_response_id: int
    hostile_response_id: int
    other_response_id: int
    # Analysis results on question 1: two segments, model codes, a theme and three findings.
    run_id: int = 0
    segment_ids: tuple[int, ...] = ()
    assignment_ids: tuple[int, ...] = ()
    code_keys: tuple[str, ...] = ()
    theme_id: int = 0
    finding_ids: tuple[int, ...] = ()  # question-code, standard, emerging-theme


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "PAGE_SIZE": 2}, settings=settings)
    yield app
    app.extensions["coproduce.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def _framework(session: Session, name: str) -> Framework:
    framework = Framework(name=name, version="1.0")
    framework.questions = [
        Question(number=1, text="What has worked well for your family?", answer_type="open"),
        Question(
            number=2,
            text="Do you agree with the proposal?",
            answer_type="scale",
            options=["Agree", "Neither agree nor disagree", "Disagree"],
        ),
    ]
    standard = Standard(key="S1", label="Timely assessment")
    framework.standards = [standard]
    framework.codes = [
        Code(key="WAIT", label="Waiting times", description="Delays in assessment or support", standards=[standard]),
        Code(key="MORE", label="More support", description="Asking for more help"),
    ]
    framework.stances = [Stance(key=k, label=k.title()) for k in ("recommend", "concern", "experience")]
    session.add(framework)
    session.flush()
    return framework


def _analysis(session: Session, project: Project, framework: Framework, segments_of: list[Response]) -> dict:
    """What an analysis run leaves behind, made by hand so the web tests need no models."""
    run = AnalysisRun(project_id=project.id, config_hash="0" * 64, status="finished", seed=0)
    session.add(run)
    session.flush()
    wait, more = framework.codes
    concern = next(s for s in framework.stances if s.key == "concern")
    segments = [
        Segment(
            response_id=r.id,
            position=0,
            start=0,
            end=len(r.redacted_text or ""),
            text=r.redacted_text or "",
            stance_id=concern.id,
            stance_origin="model",
        )
        for r in segments_of
    ]
    session.add_all(segments)
    session.flush()
    assignments = [
        CodeAssignment(
            segment_id=segments[0].id, code_id=wait.id, origin="model", analysis_run_id=run.id, confidence=0.8
        ),
        CodeAssignment(
            segment_id=segments[1].id, code_id=more.id, origin="model", analysis_run_id=run.id, confidence=0.6
        ),
    ]
    session.add_all(assignments)
    theme = Theme(
        project_id=project.id,
        analysis_run_id=run.id,
        question_id=segments_of[0].question_id,
        key="q1:0",
        label="Long waits for assessment",
        representative=segments[0].text,
        keywords=["waited", "assessment"],
        segments=[segments[0]],
    )
    session.add(theme)
    session.flush()
    figures = {
        "respondents": 1,
        "base": 3,
        "share": 0.3333,
        "segments": 1,
        "by_type": {"parent_carer": {"respondents": 1, "base": 1, "share": 1.0}},
        "without_campaigns": {"respondents": 1, "base": 3, "share": 0.3333},
        "stance": {"concern": 1},
        "quotes": [{"segment": [segments_of[0].id, 0], "text": segments[0].text, "respondent_type": "parent_carer"}],
    }
    question_id = segments_of[0].question_id
    findings = [
        Finding(
            key="q1:code:WAIT",
            kind="question_code",
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=question_id,
            code_id=wait.id,
            statement="1 of 3 respondents (33%) raised “Waiting times” in answer to question 1.",
            figures=figures,
            segments=[segments[0]],
        ),
        Finding(
            key="standard:S1",
            kind="standard",
            project_id=project.id,
            analysis_run_id=run.id,
            standard_id=framework.standards[0].id,
            statement="1 of 4 respondents (25%) raised the standard “Timely assessment” in answer to any question.",
            figures={**figures, "base": 4, "share": 0.25},
            segments=[segments[0]],
        ),
        Finding(
            key="theme:q1:0",
            kind="emerging_theme",
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=question_id,
            theme_id=theme.id,
            statement="1 of 3 respondents (33%) raised an emerging theme, “Long waits for assessment”.",
            figures=figures,
            segments=[segments[0]],
        ),
    ]
    session.add_all(findings)
    # Overview and easy read: a summary of the scale question 2 and one campaign group (the professional).
    from coproduce.store.models import Campaign

    campaigner = segments_of[1].respondent_id
    session.add(Campaign(project_id=project.id, analysis_run_id=run.id, key="c0", respondent_ids=[campaigner]))
    session.add(
        Finding(
            key="q2:summary",
            kind="question_summary",
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=framework.questions[1].id,
            statement="4 respondent(s) answered question 2. The most common answer was “Agree” (2 of 4).",
            figures={
                "respondents": 4,
                "by_type": {"parent_carer": 2, "young_person": 1, "professional": 1},
                "without_campaigns": 3,
                "scale": {"Agree": 2, "Disagree": 1, "Strongly unsure": 1},
                "scale_without_campaigns": {"Agree": 2, "Strongly unsure": 1},
            },
        )
    )
    session.flush()
    return {
        "run_id": run.id,
        "segment_ids": tuple(s.id for s in segments),
        "assignment_ids": tuple(a.id for a in assignments),
        "code_keys": ("WAIT", "MORE"),
        "theme_id": theme.id,
        "finding_ids": tuple(f.id for f in findings),
    }


@pytest.fixture
def seed(session_factory: sessionmaker[Session]) -> Seed:
    """One project with a two-question framework (two codes, a standard, stances), a source with a
    rejected row, four respondents, a response with personal data, one with hostile markup, an open
    safeguarding flag and a finished analysis (segments, model codes, a theme, three findings);
    plus a second project nobody in these tests belongs to."""
    with session_factory() as session, session.begin():
        framework = _framework(session, "SEND consultation")
        project = Project(slug="send-review", name="SEND review", framework_id=framework.id)
        other = Project(slug="hidden-project", name="Hidden project", framework_id=framework.id)
        session.add_all([project, other])
        session.flush()
        source = Source(
            project_id=project.id,
            filename="returns.csv",
            sha256="ab" * 32,
            size_bytes=1234,
            importer="csv",
            imported_by_label="cli:tester",
            rejected=[{"location": "row 7", "reason": "no answer text", "content": REJECTED_CONTENT}],
        )
        other_source = Source(project_id=other.id, filename="other.csv", sha256="cd" * 32, size_bytes=1, importer="csv")
        session.add_all([source, other_source])
        session.flush()
        q1, q2 = framework.questions
        people = [
            Respondent(project_id=project.id, source_id=source.id, respondent_type=kind, external_id=f"R{i}")
            for i, kind in enumerate(["parent_carer", "young_person", "professional", "parent_carer"], 1)
        ]
        session.add_all(people)
        session.flush()
        personal = Response(
            respondent_id=people[0].id,
            question_id=q1.id,
            original_text=ORIGINAL,
            redacted_text=REDACTED,
            location="row 2",
        )
        hostile = Response(respondent_id=people[1].id, question_id=q1.id, original_text=HOSTILE, redacted_text=HOSTILE)
        plain = Response(
            respondent_id=people[2].id,
            question_id=q1.id,
            original_text="More help",
            redacted_text="More help",
        )
        scaled = [
            Response(respondent_id=p.id, question_id=q2.id, scale_answer=answer)
            for p, answer in zip(people, ["Agree", "Agree", "Disagree", "Strongly unsure"], strict=True)
        ]
        session.add_all([personal, hostile, plain, *scaled])
        session.flush()
        session.add(
            SafeguardingFlag(response_id=personal.id, category="harm_by_adult", start=0, end=11, reason=FLAG_REASON)
        )
        stranger = Respondent(project_id=other.id, source_id=other_source.id, respondent_type="child")
        session.add(stranger)
        session.flush()
        elsewhere = Response(respondent_id=stranger.id, question_id=q1.id, redacted_text="Elsewhere")
        session.add(elsewhere)
        session.flush()
        analysed = _analysis(session, project, framework, [personal, plain])
        return Seed(
            project_slug=project.slug,
            other_project_slug=other.slug,
            question_numbers=(q1.number, q2.number),
            respondent_id=people[0].id,
            personal_response_id=personal.id,
            hostile_response_id=hostile.id,
            other_response_id=elsewhere.id,
            **analysed,
        )


@pytest.fixture
def make_user(session_factory: sessionmaker[Session], seed: Seed) -> Callable[[str], str]:
    """Create a user holding ``grant`` in the seeded project; returns their email."""

    def make(grant: str) -> str:
        email = f"{grant.replace('_', '-')}@example.org"
        with session_factory() as session, session.begin():
            if session.query(User).filter_by(email=email).first() is None:
                actor = Actor(label="test")
                user = create_user(session, actor, email, grant, PASSWORD, site_admin=grant == "site_admin")
                project = session.query(Project).filter_by(slug=seed.project_slug).one()
                if grant in ROLES:
                    add_member(session, actor, project, user, grant)
                elif grant == "safeguarding_lead":
                    add_member(session, actor, project, user, "professional")
                    project.safeguarding_lead_id = user.id
        return email

    return make


@pytest.fixture
def login_as(client: FlaskClient, make_user: Callable[[str], str]) -> Callable[[str], FlaskClient]:
    """Sign the test client in as a user holding ``grant`` (see GRANTS)."""

    def login(grant: str) -> FlaskClient:
        email = make_user(grant)
        response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login

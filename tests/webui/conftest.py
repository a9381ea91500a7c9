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
    Framework,
    Project,
    Question,
    Respondent,
    Response,
    SafeguardingFlag,
    Source,
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
    session.add(framework)
    session.flush()
    return framework


@pytest.fixture
def seed(session_factory: sessionmaker[Session]) -> Seed:
    """One project with a two-question framework, a source with a rejected row, four respondents,
    a response with personal data, one with hostile markup and an open safeguarding flag;
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
        return Seed(
            project_slug=project.slug,
            other_project_slug=other.slug,
            question_numbers=(q1.number, q2.number),
            respondent_id=people[0].id,
            personal_response_id=personal.id,
            hostile_response_id=hostile.id,
            other_response_id=elsewhere.id,
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

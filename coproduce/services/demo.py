"""The demo project: the green paper framework, the bundled sample corpus and demo accounts.

Idempotent: running it again finds the project, the accounts and the imported files already
there and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.frameworks.loader import load_framework
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from coproduce.services.projects import create_project
from coproduce.services.users import add_member, create_user
from coproduce.store.db import transaction
from coproduce.store.models import Project, User

DEMO_SLUG = "send-green-paper-demo"
DEMO_NAME = "SEND green paper demo"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str
    password: str


# Demo-only passwords, printed to the terminal: never use a demo instance for real data.
DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.coproduce.local", "Aisha (admin)", "admin", "demo-admin-pass"),
    DemoAccount("analyst@demo.coproduce.local", "Ben (analyst)", "analyst", "demo-analyst-pass"),
    DemoAccount("parent@demo.coproduce.local", "Carol (parent carer)", "parent_carer", "demo-parent-pass"),
    DemoAccount("young@demo.coproduce.local", "Dev (young person)", "young_person", "demo-young-pass"),
    DemoAccount("professional@demo.coproduce.local", "Erin (professional)", "professional", "demo-professional-pass"),
    DemoAccount("observer@demo.coproduce.local", "Femi (observer)", "observer", "demo-observer-pass"),
)


@dataclass(frozen=True)
class SampleFile:
    name: str
    kind: str
    options: dict[str, object]


SAMPLE_FILES = (
    SampleFile(
        "forum-submission-send-green-paper-2022.txt",
        "freeform",
        {
            "respondent_type": "parent_carer_forum",
            "respondent_name": "A parent carer forum",
            "consent_to_quote": True,
        },
    ),
    SampleFile("survey-citizen-space-send.csv", "survey", {}),
    SampleFile("voice-of-the-child.csv", "voice", {}),
    SampleFile("family-feedback.jsonl", "family", {}),
)


def corpus_dir() -> Path:
    """The ``corpus/`` folder that ships beside the package."""
    return Path(__file__).resolve().parents[2] / "corpus"


def build_demo(
    factory: sessionmaker[Session], settings: Settings, progress: Callable[[str], None] | None = None
) -> Iterator[str]:
    """Create what is missing of the demo and yield lines to show the user."""
    say = progress or (lambda _message: None)
    actor = Actor.cli()
    with transaction(factory) as session:
        project = session.scalar(select(Project).where(Project.slug == DEMO_SLUG))
        if project is None:
            framework = load_framework(corpus_dir() / "frameworks" / "send-green-paper-2022.yaml")
            project = create_project(session, actor, DEMO_NAME, framework, slug=DEMO_SLUG)
            yield f"Created the demo project {DEMO_NAME!r}."
        for account in DEMO_ACCOUNTS:
            user = session.scalar(select(User).where(User.email == account.email))
            if user is None:
                user = create_user(session, actor, account.email, account.name, account.password)
                add_member(session, actor, project, user, account.role)
        if project.safeguarding_lead_id is None:
            project.safeguarding_lead_id = session.scalar(select(User.id).where(User.email == DEMO_ACCOUNTS[0].email))
    samples = corpus_dir() / "samples"
    for sample in SAMPLE_FILES:
        say(f"Importing {sample.name} ...")
        report = import_file(
            factory, settings, DEMO_SLUG, samples / sample.name, actor, kind=sample.kind, **sample.options
        )
        yield report.summary()
    yield ""
    yield "Demo accounts (demo only: never put real data in a demo instance):"
    for account in DEMO_ACCOUNTS:
        yield f"  {account.role:<13} {account.email:<38} password: {account.password}"

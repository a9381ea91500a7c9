"""Incremental figure updates after review decisions equal a full recount, step by step.

A small analysed project (two questions, four codes under two standards with a shared code, three
stances, respondents of three types, a campaign group, a respondent who answered only the scale
question, an analyst-written statement) gets seeded random sequences of every review action. After each
step the incrementally updated figures, statement and links of every counted finding must equal what
``services.findings._refresh_one`` recounts from scratch; stance order may differ only among equal counts.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.errors import BadInputError
from coproduce.services import finding_delta, review
from coproduce.services.audit import Actor
from coproduce.services.findings import _linked, _refresh_one, refresh_figures
from coproduce.services.users import add_member, create_user
from coproduce.store.db import transaction, writing_session
from coproduce.store.models import (
    AnalysisRun,
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Framework,
    Project,
    Question,
    Respondent,
    Response,
    Segment,
    Source,
    Stance,
    Standard,
    User,
)

TYPES = ("parent_carer", "young_person", "professional")
STANCES = ("recommend", "concern", "experience")
CODES = ("A", "B", "C", "D")


def build_project(session: Session, rng: random.Random) -> tuple[Project, Actor]:
    """An analysed project made by hand (no models), with findings counted by the full recount."""
    s1, s2 = Standard(key="S1", label="First standard"), Standard(key="S2", label="Second standard")
    framework = Framework(name="Delta framework", version="1.0")
    framework.questions = [
        Question(number=1, text="What works?", answer_type="open"),
        Question(number=2, text="What should change?", answer_type="open"),
        Question(number=3, text="Do you agree?", answer_type="scale", options=["Agree", "Disagree"]),
    ]
    framework.standards = [s1, s2]
    links = {"A": [s1], "B": [s1, s2], "C": [s2], "D": []}
    framework.codes = [Code(key=k, label=f"Code {k}", standards=links[k]) for k in CODES]
    framework.stances = [Stance(key=k, label=k.title()) for k in STANCES]
    session.add(framework)
    session.flush()
    project = Project(slug="delta", name="Delta", framework_id=framework.id)
    session.add(project)
    session.flush()
    source = Source(project_id=project.id, filename="d.csv", sha256="ef" * 32, size_bytes=1, importer="csv")
    session.add(source)
    session.flush()
    run = AnalysisRun(project_id=project.id, config_hash="0" * 64, status="finished", seed=0)
    session.add(run)
    session.flush()
    q1, q2, q3 = framework.questions
    people = [
        Respondent(project_id=project.id, source_id=source.id, respondent_type=TYPES[i % 3], external_id=f"R{i}")
        for i in range(10)
    ]
    session.add_all(people)
    session.flush()
    segments: list[Segment] = []
    for i, person in enumerate(people):
        session.add(Response(respondent_id=person.id, question_id=q3.id, scale_answer="Agree"))
        if i == 9:
            continue  # answered only the scale question: in a standard's base, never counted
        for question in (q1, q2):
            if rng.random() < 0.15:
                continue
            text = " ".join(f"Sentence {n} of respondent {i}." for n in range(rng.randint(1, 3)))
            response = Response(respondent_id=person.id, question_id=question.id, redacted_text=text)
            session.add(response)
            session.flush()
            for position in range(text.count(".")):
                stance = rng.choice([*framework.stances, None])
                segments.append(
                    Segment(
                        response_id=response.id,
                        position=position,
                        start=0,
                        end=1,
                        text=f"segment {position}",
                        stance_id=stance.id if stance else None,
                        stance_origin="model" if stance else None,
                    )
                )
    session.add_all(segments)
    session.flush()
    for segment in segments:
        for code in rng.sample(framework.codes, rng.choice([0, 1, 1, 2])):
            session.add(
                CodeAssignment(
                    segment_id=segment.id, code_id=code.id, origin="model", analysis_run_id=run.id, confidence=0.7
                )
            )
    session.add(Campaign(project_id=project.id, analysis_run_id=run.id, key="c0", respondent_ids=[people[1].id]))
    session.add(Campaign(project_id=project.id, analysis_run_id=run.id, key="c1", respondent_ids=[people[4].id]))
    findings = [
        Finding(
            key=f"q{q.number}:code:{c.key}",
            kind="question_code",
            project_id=project.id,
            question_id=q.id,
            code_id=c.id,
            statement="",
        )
        for q in (q1, q2)
        for c in framework.codes
    ]
    findings += [
        Finding(key=f"standard:{s.key}", kind="standard", project_id=project.id, standard_id=s.id, statement="")
        for s in (s1, s2)
    ]
    session.add_all(findings)
    session.flush()
    refresh_figures(session, findings)
    edited = findings[0]  # an analyst's statement: kept, and marked for checking when the numbers move
    edited.statement = "Written by a person."
    edited.figures = {**edited.figures, "statement_edited": {"by": "analyst", "at": "2026-01-01T00:00:00"}}
    findings[-1].status = "signed_off"
    user = create_user(session, Actor(label="test"), "delta@example.org", "Delta", "correct horse battery staple")
    add_member(session, Actor(label="test"), project, user, "analyst")
    session.flush()
    return project, Actor.of(user)


def random_action(session: Session, rng: random.Random, project: Project, actor: Actor) -> str:
    segments = list(
        session.scalars(
            select(Segment.id)
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(Respondent.project_id == project.id)
            .order_by(Segment.id)
        )
    )
    assignments = list(
        session.scalars(
            select(CodeAssignment).where(CodeAssignment.segment_id.in_(segments)).order_by(CodeAssignment.id)
        )
    )
    kind = rng.choice(["accept", "reject", "reject", "recode", "add", "add", "remove", "stance", "stance", "bulk"])
    if kind in ("accept", "reject", "recode") and assignments:
        chosen = rng.choice(assignments)
        if kind == "accept":
            review.accept(session, actor, project, chosen.id)
        elif kind == "reject":
            review.reject(session, actor, project, chosen.id)
        else:
            review.recode(session, actor, project, chosen.id, rng.choice([c for c in CODES if c != chosen.code.key]))
        return f"{kind} {chosen.id}"
    if kind == "remove":
        human = [a for a in assignments if a.origin == "human"]
        if human:
            chosen = rng.choice(human)
            review.remove_code(session, actor, project, chosen.id)
            return f"remove {chosen.id}"
        kind = "add"
    if kind == "add":
        segment, code = rng.choice(segments), rng.choice(CODES)
        review.add_code(session, actor, project, segment, code)
        return f"add {code} to {segment}"
    if kind == "stance":
        segment, stance = rng.choice(segments), rng.choice([*STANCES, None])
        review.set_stance(session, actor, project, segment, stance)
        return f"stance {stance} on {segment}"
    chosen_ids = [a.id for a in rng.sample(assignments, min(len(assignments), rng.randint(1, 4)))]
    action = rng.choice(["accept", "reject"])
    review.bulk(session, actor, project, chosen_ids, action)
    return f"bulk {action} {chosen_ids}"


_OF_THEM = re.compile(r"Of them: ([^.]*)\.")


def normalised(statement: str) -> str:
    """The statement with its stance parts sorted (equal counts may come in either order)."""
    return _OF_THEM.sub(lambda m: "Of them: " + "; ".join(sorted(m.group(1).split("; "))) + ".", statement)


def state(session: Session, finding: Finding) -> tuple[dict, str, set[int]]:
    return dict(finding.figures), normalised(finding.statement), _linked(session, finding)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.mark.parametrize("seed", range(6))
def test_incremental_figures_equal_a_full_recount_after_every_review_action(
    db: Session, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    project, actor = build_project(db, rng)

    def no_fallback(*_args: object) -> bool:
        raise AssertionError("a review action fell back to the full recount")

    monkeypatch.setattr(finding_delta, "_refresh_one", no_fallback)
    counted = list(db.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.id)))
    moved = 0
    for step in range(40):
        try:
            what = random_action(db, rng, project, actor)
        except BadInputError:
            continue  # e.g. a recode to a code the segment already has: refused, nothing written
        db.flush()
        for finding in counted:
            incremental = state(db, finding)
            _refresh_one(db, finding)
            db.flush()
            recounted = state(db, finding)
            assert incremental == recounted, f"seed {seed}, step {step} ({what}), finding {finding.key}"
        moved += 1
    assert moved > 20
    # The sequences really moved the counts, and the analyst's statement was marked for checking.
    assert any(f.figures["respondents"] for f in counted)
    assert counted[0].statement == "Written by a person."


def test_a_quote_goes_with_its_link_and_the_version_moves(db: Session) -> None:
    """A decision adds, removes and reorders what a recount would: links, quotes, types and stances."""
    rng = random.Random(99)
    project, actor = build_project(db, rng)
    standard = db.scalar(select(Finding).where(Finding.key == "standard:S1"))
    assignment = db.scalar(
        select(CodeAssignment)
        .join(Code, CodeAssignment.code_id == Code.id)
        .where(Code.key == "A", CodeAssignment.status == "suggested")
        .order_by(CodeAssignment.id)
    )
    segment = db.get(Segment, assignment.segment_id)
    key = [segment.response_id, segment.position]
    standard.figures = {**standard.figures, "quotes": [{"segment": key, "text": "q", "respondent_type": "x"}]}
    db.flush()
    before = standard.version
    outcome = review.reject(db, actor, project, assignment.id)
    db.flush()
    assert standard.id in outcome.finding_ids and standard.version > before
    if segment.id not in _linked(db, standard):  # no other code of S1 on the segment: its quote goes
        assert standard.figures["quotes"] == []
    incremental = state(db, standard)
    _refresh_one(db, standard)
    assert incremental == state(db, standard)


@pytest.mark.parametrize("sessions", ["web", "writing"])
def test_concurrent_decisions_on_one_finding_queue_and_both_count(
    session_factory: sessionmaker[Session], sessions: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reviewers reject codes of the same standard at the same moment, each in its own session (as the
    web UI makes them, or a writing session as ``transaction()`` does): neither fails (no "database is
    locked", no version conflict) and the figures are exact."""
    with transaction(session_factory) as session:
        project, actor = build_project(session, random.Random(5))
        project_id, user_id = project.id, actor.user_id
        chosen = list(
            session.scalars(
                select(CodeAssignment.id)
                .join(Code, CodeAssignment.code_id == Code.id)
                .where(Code.key == "B", CodeAssignment.status == "suggested")
                .order_by(CodeAssignment.id)
                .limit(2)
            )
        )
    assert len(chosen) == 2
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    # Widen the race: after reading its "before" state, each decision waits (up to half a second) for the
    # other to have read too. Unlocked, both would read the same state and one result would be lost or
    # conflict; locked, the second is still waiting for the lock and reads after the first commits.
    both_read = threading.Barrier(2)
    capture = finding_delta.ReviewDelta.capture

    def slow_capture(self: finding_delta.ReviewDelta, code_ids: object) -> None:
        capture(self, code_ids)  # type: ignore[arg-type]
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(0.5)

    monkeypatch.setattr(finding_delta.ReviewDelta, "capture", slow_capture)

    def decide(assignment_id: int) -> None:
        try:
            with writing_session(session_factory) if sessions == "writing" else session_factory() as session:
                barrier.wait(5)
                project = session.get(Project, project_id)
                user = session.get(User, user_id)
                review.reject(session, Actor.of(user), project, assignment_id)
                session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=decide, args=(a,)) for a in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with session_factory() as session:
        assert set(session.scalars(select(CodeAssignment.status).where(CodeAssignment.id.in_(chosen)))) == {"rejected"}
        for finding in session.scalars(select(Finding).where(Finding.project_id == project_id)):
            stored = state(session, finding)
            _refresh_one(session, finding)
            assert stored == state(session, finding), finding.key

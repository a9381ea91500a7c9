"""Theme edits: every kind, the audit trail, findings they touch, and optimistic-locking conflicts."""

# ruff: noqa: F811  (``seed`` is the web tests' fixture, imported for reuse)

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.errors import BadInputError
from coproduce.services import themes
from coproduce.services.audit import Actor
from coproduce.store.models import (
    AuditEvent,
    Finding,
    Notification,
    Project,
    Respondent,
    Response,
    Segment,
    SignOff,
    Theme,
    User,
)
from tests.webui.conftest import Seed, seed  # noqa: F401

ALICE = Actor(label="alice@example.org")
BOB = Actor(label="bob@example.org")


def _theme(session: Session, seed: Seed) -> Theme:
    return session.get(Theme, seed.theme_id)


def _second_theme(session: Session, seed: Seed, label: str = "More help wanted", **extra) -> Theme:
    """A second theme on question 1 holding the seed's second segment."""
    first = session.get(Theme, seed.theme_id)
    theme = Theme(
        project_id=first.project_id,
        question_id=first.question_id,
        key="q1:1",
        label=label,
        keywords=["help", "waited"],
        segments=[session.get(Segment, seed.segment_ids[1])],
        **extra,
    )
    session.add(theme)
    session.flush()
    return theme


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _emerging(session: Session, seed: Seed) -> Finding:
    return session.get(Finding, seed.finding_ids[2])


def test_rename_changes_the_label_the_finding_and_the_audit_log(session: Session, seed: Seed) -> None:
    theme = _theme(session, seed)
    themes.rename(session, ALICE, theme, "  Waiting  too long ", 1)
    session.commit()
    assert theme.label == "Waiting too long"
    assert theme.version == 2
    assert theme.updated_by_label == ALICE.label and theme.updated_at is not None
    finding = _emerging(session, seed)
    assert "“Waiting too long”" in finding.statement
    assert "Long waits" not in finding.statement
    assert finding.version == 2 and finding.updated_by_label == ALICE.label
    (event,) = _events(session, "theme.rename")
    assert event.before["label"] == "Long waits for assessment"
    assert event.after["label"] == "Waiting too long"
    assert event.actor_label == ALICE.label
    (change,) = _events(session, "finding.change")
    assert change.entity_id == finding.id
    assert change.before == {
        "statement": "1 of 3 respondents (33%) raised an emerging theme, “Long waits for assessment”."
    }


def test_rename_of_a_signed_off_finding_reopens_it_and_tells_the_signer(session: Session, seed: Seed) -> None:
    finding = _emerging(session, seed)
    signer = session.scalar(select(User)) or User(email="s@example.org", display_name="S", password_hash="x")
    session.add(signer)
    session.flush()
    session.add(
        SignOff(finding_id=finding.id, user_id=signer.id, role="parent_carer", decision="approve", finding_version=1)
    )
    finding.status = "signed_off"
    session.flush()
    themes.rename(session, ALICE, _theme(session, seed), "Waiting too long", 1)
    assert finding.status == "reopened"
    (note,) = session.scalars(select(Notification)).all()
    assert note.user_id == signer.id and "alice@example.org" in note.message


@pytest.mark.parametrize("label", ["", "   ", "x" * 301])
def test_rename_refuses_a_bad_name(session: Session, seed: Seed, label: str) -> None:
    with pytest.raises(BadInputError) as caught:
        themes.rename(session, ALICE, _theme(session, seed), label, 1)
    assert caught.value.field == "label"


def test_describe(session: Session, seed: Seed) -> None:
    theme = _theme(session, seed)
    themes.describe(session, ALICE, theme, "Families waiting a long time for an assessment.", 1)
    assert theme.description.startswith("Families")
    assert theme.version == 2
    (event,) = _events(session, "theme.describe")
    assert event.before["description"] == "" and event.after["description"].startswith("Families")
    assert _events(session, "finding.change")[0].after["reason"] == "theme description changed"


def test_a_stale_version_is_refused_naming_who_changed_it_first(session: Session, seed: Seed) -> None:
    theme = _theme(session, seed)
    themes.rename(session, ALICE, theme, "Waiting too long", 1)
    session.commit()
    with pytest.raises(themes.ThemeConflictError) as caught:
        themes.describe(session, BOB, theme, "Bob's words", 1)  # Bob loaded the page before Alice's change
    message = str(caught.value)
    assert "alice@example.org changed the theme “Waiting too long” first" in message
    assert f"{theme.updated_at:%B %Y %H:%M} UTC" in message
    assert isinstance(caught.value, BadInputError)
    assert theme.description == "" and theme.version == 2


def test_two_editors_at_the_same_moment_race_and_the_second_gets_the_conflict(
    session_factory: sessionmaker[Session], seed: Seed
) -> None:
    with session_factory() as first, session_factory() as second:
        mine = first.get(Theme, seed.theme_id)
        theirs = second.get(Theme, seed.theme_id)
        assert mine.version == theirs.version == 1
        themes.rename(second, ALICE, theirs, "Alice's name", 1)
        second.commit()
        # Bob's check passes (his copy still says version 1), so the database has to catch it.
        with pytest.raises(themes.ThemeConflictError) as caught:
            themes.rename(first, BOB, mine, "Bob's name", 1)
        first.rollback()
        assert "alice@example.org changed the theme “Alice's name” first" in str(caught.value)
    with session_factory() as check:
        assert check.get(Theme, seed.theme_id).label == "Alice's name"
        assert [
            e.actor_label for e in check.scalars(select(AuditEvent).where(AuditEvent.action == "theme.rename"))
        ] == [ALICE.label]


def test_merge_unions_segments_and_keywords_and_deletes_the_others(session: Session, seed: Seed) -> None:
    target = _theme(session, seed)
    other = _second_theme(session, seed, description="Asking for help")
    other_id, other_key = other.id, other.key
    themes.merge(session, ALICE, target, [other], {target.id: 1, other.id: 1})
    session.commit()
    assert session.get(Theme, other_id) is None
    assert sorted(s.id for s in target.segments) == sorted(seed.segment_ids)
    assert target.keywords == ["waited", "assessment", "help"]
    assert target.description == "Asking for help"
    assert target.version == 2
    assert target.absorbed_keys == [other_key]  # so a re-run of the analysis does not bring it back
    (event,) = _events(session, "theme.merge")
    assert event.before["merged"][0]["id"] == other_id
    assert event.after["target"]["segments"] == sorted(seed.segment_ids)


def test_merge_moves_a_signed_finding_and_deletes_an_unsigned_duplicate(session: Session, seed: Seed) -> None:
    target = _theme(session, seed)
    other = _second_theme(session, seed)
    project_id = target.project_id
    duplicate = Finding(
        key="theme:q1:1",
        kind="emerging_theme",
        project_id=project_id,
        theme_id=other.id,
        statement="raised an emerging theme, “More help wanted”.",
    )
    signed = Finding(
        key="theme:q1:1b",
        kind="emerging_theme",
        project_id=project_id,
        theme_id=other.id,
        statement="raised an emerging theme, “More help wanted”.",
        status="signed_off",
    )
    session.add_all([duplicate, signed])
    user = User(email="signer@example.org", display_name="Signer", password_hash="x")
    session.add(user)
    session.flush()
    session.add(
        SignOff(finding_id=signed.id, user_id=user.id, role="professional", decision="approve", finding_version=1)
    )
    session.flush()
    duplicate_id = duplicate.id
    themes.merge(session, ALICE, target, [other], {target.id: 1, other.id: 1})
    assert session.get(Finding, duplicate_id) is None
    assert signed.theme_id == target.id
    assert signed.statement == "raised an emerging theme, “Long waits for assessment”."
    assert signed.status == "reopened"
    (deleted,) = _events(session, "finding.delete")
    assert deleted.entity_id == duplicate_id
    assert _emerging(session, seed).version == 2  # the target's own finding is recorded as changed


def test_merge_refuses_a_stale_other_theme_and_themes_of_another_question(session: Session, seed: Seed) -> None:
    target = _theme(session, seed)
    other = _second_theme(session, seed)
    themes.rename(session, BOB, other, "Bob renamed it", 1)
    with pytest.raises(themes.ThemeConflictError, match=r"bob@example\.org changed the theme “Bob renamed it”"):
        themes.merge(session, ALICE, target, [other], {target.id: 1, other.id: 1})
    with pytest.raises(BadInputError, match="at least one other theme"):
        themes.merge(session, ALICE, target, [target], {target.id: 1})
    project = session.get(Project, target.project_id)
    other_question = next(q for q in project.framework.questions if q.id != target.question_id)
    elsewhere = Theme(project_id=project.id, question_id=other_question.id, label="Question two")
    session.add(elsewhere)
    session.flush()
    with pytest.raises(BadInputError, match="different question"):
        themes.merge(session, ALICE, target, [elsewhere], {target.id: 1, elsewhere.id: 1})
    with pytest.raises(BadInputError, match="which version"):
        themes.merge(session, ALICE, target, [other], {target.id: 1})


def _third_segment(session: Session, seed: Seed) -> Segment:
    response = session.get(Response, seed.hostile_response_id)
    segment = Segment(response_id=response.id, position=0, start=0, end=5, text="third")
    session.add(segment)
    session.flush()
    return segment


def test_split_makes_a_human_theme_from_the_chosen_segments(session: Session, seed: Seed) -> None:
    theme = _theme(session, seed)
    extra = _third_segment(session, seed)
    theme.segments.append(extra)
    session.flush()
    made = themes.split(session, ALICE, theme, [extra.id], "Split off", 1)
    assert made.origin == "human" and made.label == "Split off"
    assert made.question_id == theme.question_id and made.project_id == theme.project_id
    assert [s.id for s in made.segments] == [extra.id]
    assert [s.id for s in theme.segments] == [seed.segment_ids[0]]
    assert made.updated_by_label == ALICE.label
    assert theme.version == 2
    (event,) = _events(session, "theme.split")
    assert event.after["new_theme_id"] == made.id
    assert _events(session, "theme.create")[0].entity_id == made.id
    assert _emerging(session, seed).version == 2


def test_split_refusals(session: Session, seed: Seed) -> None:
    theme = _theme(session, seed)
    with pytest.raises(BadInputError, match="Leave at least one segment"):
        themes.split(session, ALICE, theme, [seed.segment_ids[0]], "All of it", 1)
    with pytest.raises(BadInputError, match="no longer in the theme"):
        themes.split(session, ALICE, theme, [seed.segment_ids[1]], "Not here", 1)
    with pytest.raises(BadInputError, match="Choose at least one segment"):
        themes.split(session, ALICE, theme, [], "Nothing", 1)
    with pytest.raises(BadInputError, match="Enter a name"):
        themes.split(session, ALICE, theme, [seed.segment_ids[0]], " ", 1)


def test_move_segments_between_themes(session: Session, seed: Seed) -> None:
    source = _theme(session, seed)
    target = _second_theme(session, seed)
    themes.move_segments(session, ALICE, source, target, [seed.segment_ids[0]], {source.id: 1, target.id: 1})
    assert source.segments == []
    assert sorted(s.id for s in target.segments) == sorted(seed.segment_ids)
    assert source.version == target.version == 2
    (event,) = _events(session, "theme.move_segments")
    assert event.after["moved"] == [seed.segment_ids[0]]
    assert _emerging(session, seed).version == 2


def test_move_conflicts_on_either_theme(session: Session, seed: Seed) -> None:
    source = _theme(session, seed)
    target = _second_theme(session, seed)
    themes.describe(session, BOB, target, "Bob was here", 1)
    with pytest.raises(themes.ThemeConflictError, match=r"bob@example\.org"):
        themes.move_segments(session, ALICE, source, target, [seed.segment_ids[0]], {source.id: 1, target.id: 1})
    with pytest.raises(BadInputError, match="different theme"):
        themes.move_segments(session, ALICE, source, source, [seed.segment_ids[0]], {source.id: 1})


def test_reading_themes_by_question_with_counts(session: Session, seed: Seed) -> None:
    _second_theme(session, seed)
    project = session.get(Project, _theme(session, seed).project_id)
    ((question, rows),) = themes.themes_by_question(session, project)
    assert question.number == 1
    assert [(r.theme.label, r.segments, r.respondents) for r in rows] == [
        ("Long waits for assessment", 1, 1),
        ("More help wanted", 1, 1),
    ]
    items, total = themes.theme_segments(session, _theme(session, seed), 1, 10)
    assert total == 1 and items[0][0].id == seed.segment_ids[0] and isinstance(items[0][1], Respondent)


def test_a_theme_deleted_at_the_same_moment_is_a_conflict_too(
    session_factory: sessionmaker[Session], seed: Seed
) -> None:
    with session_factory() as first:
        mine = first.get(Theme, seed.theme_id)
        with session_factory() as second, second.begin():  # e.g. a re-run replacing an unedited model theme
            second.get(Finding, seed.finding_ids[2]).theme_id = None
            second.delete(second.get(Theme, seed.theme_id))
        with pytest.raises(themes.ThemeConflictError, match="was merged, or replaced by a new analysis run"):
            themes.rename(first, BOB, mine, "Bob's name", 1)
        first.rollback()

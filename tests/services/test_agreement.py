"""Blind double coding and agreement: Krippendorff's alpha against published worked examples, the sample,
blind coding, missing data and undefined cases, and model-versus-panel scores worked out by hand."""

# ruff: noqa: F811  (``seed`` is the web tests' fixture, imported for reuse)

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services import agreement
from coproduce.services.agreement import krippendorff_alpha_nominal as alpha
from coproduce.services.audit import Actor
from coproduce.services.users import add_member, create_user
from coproduce.store.models import (
    AuditEvent,
    Code,
    CodeAssignment,
    CodingTask,
    Project,
    Question,
    Respondent,
    Response,
    ReviewDecision,
    Segment,
    User,
)
from tests.webui.conftest import Seed, seed  # noqa: F401

ANALYST = Actor(label="analyst@example.org")
N = None

# ---------------------------------------------------------------- alpha: published examples


def test_alpha_krippendorff_2011_nominal_example_with_missing_values() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve
    units, values missing; unit 12 has one value and is not pairable. Nominal alpha = 0.743."""
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3]
    c = [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]
    result = alpha(zip(a, b, c, d, strict=True))
    assert round(result.value, 3) == 0.743
    assert result.units == 11 and result.values == 40


def test_alpha_krippendorff_2011_binary_two_observers() -> None:
    """Section A: two observers, binary data, ten units, none missing. Alpha = 0.095."""
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(alpha(zip(a, b, strict=True)).value, 3) == 0.095


def test_alpha_krippendorff_2011_nominal_two_observers() -> None:
    """Section B: two observers, nominal values a to e, twelve units. Alpha = 0.692."""
    result = alpha(zip("aabbdcccedda", "babbbccceddd", strict=True))
    assert round(result.value, 3) == 0.692


# ---------------------------------------------------------------- alpha: simple and degenerate cases


def test_alpha_perfect_agreement_is_one_and_systematic_disagreement_is_negative() -> None:
    assert alpha([(1, 1), (0, 0), (1, 1), (0, 0)]).value == 1.0
    assert alpha([(1, 0), (0, 1), (1, 0), (0, 1)]).value < 0


def test_alpha_by_hand_for_three_coders() -> None:
    # Units (1,1,0) and (0,0,0): o_11 = 1, o_10 = o_01 = 1, o_00 = 3; n_1 = 2, n_0 = 4, n = 6.
    # alpha = 1 - (n - 1) * (o_10 + o_01) / (2 * n_1 * n_0) = 1 - 5 * 2 / 16 = 0.375
    assert alpha([(1, 1, 0), (0, 0, 0)]).value == pytest.approx(0.375)


def test_alpha_is_undefined_without_variation_or_without_pairs() -> None:
    same = alpha([(0, 0), (0, 0, 0)])
    assert same.value is None and same.units == 2 and "no variation" in same.reason
    lonely = alpha([(1, N), (N, 0), (N, N)])
    assert lonely.value is None and lonely.units == 0 and "two or more" in lonely.reason
    assert alpha([]).value is None


def test_missing_values_only_leave_out_what_cannot_be_paired() -> None:
    assert alpha([(1, 1, N), (0, N, 0), (1, N, N)]).value == alpha([(1, 1), (0, 0)]).value == 1.0


# ---------------------------------------------------------------- drawing samples and coding blind


def _project(session: Session, seed: Seed) -> Project:
    return session.scalar(select(Project).where(Project.slug == seed.project_slug))


def _member(session: Session, project: Project, name: str, role: str) -> User:
    user = create_user(session, ANALYST, f"{name}@example.org", name.title(), "correct horse battery staple")
    add_member(session, ANALYST, project, user, role)
    return user


def _segments(session: Session, project: Project, question_number: int, texts: list[str]) -> list[int]:
    question = session.scalar(
        select(Question).where(Question.framework_id == project.framework_id, Question.number == question_number)
    )
    source_id = session.scalar(select(Respondent.source_id).where(Respondent.project_id == project.id))
    made = []
    for text in texts:
        person = Respondent(project_id=project.id, source_id=source_id, respondent_type="parent_carer")
        session.add(person)
        session.flush()
        response = Response(respondent_id=person.id, question_id=question.id, redacted_text=text)
        session.add(response)
        session.flush()
        segment = Segment(response_id=response.id, position=0, start=0, end=len(text), text=text)
        session.add(segment)
        session.flush()
        made.append(segment.id)
    return made


@pytest.fixture
def panel(session: Session, seed: Seed) -> tuple[Project, User, User, User]:
    project = _project(session, seed)
    coders = (
        _member(session, project, "pat", "parent_carer"),
        _member(session, project, "yan", "young_person"),
        _member(session, project, "pro", "professional"),
    )
    session.flush()
    return (project, *coders)


def test_draw_sample_is_seeded_stratified_and_gives_every_segment_to_every_coder(
    session: Session, panel, seed: Seed
) -> None:
    project, pat, yan, _pro = panel
    q1 = _segments(session, project, 1, [f"first question {i}" for i in range(6)])  # plus the seed's two: 8
    q2 = _segments(session, project, 2, [f"second question {i}" for i in range(4)])
    session.commit()

    key = agreement.draw_sample(session, ANALYST, project, 6, [pat.id, yan.id], seed=7)
    tasks = session.scalars(select(CodingTask).where(CodingTask.sample_key == key)).all()
    by_coder = {c: sorted(t.segment_id for t in tasks if t.user_id == c) for c in (pat.id, yan.id)}
    assert by_coder[pat.id] == by_coder[yan.id] and len(by_coder[pat.id]) == 6
    chosen = set(by_coder[pat.id])
    assert len(chosen & set(q2)) == 2  # 4 of 12 segments are question 2's: 2 of a sample of 6
    assert len(chosen - set(q2)) == 4 and not (chosen - set(q2)) - set(q1) - set(seed.segment_ids)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.draw_sample")).one()
    assert event.after["seed"] == 7 and event.after["sample_key"] == key
    session.rollback()

    again = agreement.draw_sample(session, ANALYST, project, 6, [yan.id, pat.id], seed=7)
    repeat = sorted(t.segment_id for t in session.scalars(select(CodingTask).where(CodingTask.sample_key == again)))
    assert sorted(set(repeat)) == sorted(chosen)  # the same seed draws the same sample

    second = agreement.draw_sample(session, ANALYST, project, 2, [pat.id, yan.id], seed=7)
    assert second != again
    later = {t.segment_id for t in session.scalars(select(CodingTask).where(CodingTask.sample_key == second))}
    assert not later & chosen  # earlier samples' segments are left out


def test_draw_sample_refusals(session: Session, panel, seed: Seed) -> None:
    project, pat, yan, _pro = panel
    analyst = _member(session, project, "ann", "analyst")
    with pytest.raises(BadInputError, match="at least 2") as caught:
        agreement.draw_sample(session, ANALYST, project, 1, [pat.id], seed=1)
    assert caught.value.field == "coders"
    with pytest.raises(BadInputError, match="at least 2"):
        agreement.draw_sample(session, ANALYST, project, 1, [pat.id, pat.id], seed=1)
    with pytest.raises(BadInputError, match="panel members"):
        agreement.draw_sample(session, ANALYST, project, 1, [pat.id, analyst.id], seed=1)
    with pytest.raises(BadInputError, match="only 2 segments") as caught:
        agreement.draw_sample(session, ANALYST, project, 3, [pat.id, yan.id], seed=1)
    assert caught.value.field == "size"
    with pytest.raises(BadInputError, match="whole number"):
        agreement.draw_sample(session, ANALYST, project, 0, [pat.id, yan.id], seed=1)


def _task(session: Session, key: str, user: User, segment_id: int) -> CodingTask:
    return session.scalar(
        select(CodingTask).where(
            CodingTask.sample_key == key, CodingTask.user_id == user.id, CodingTask.segment_id == segment_id
        )
    )


def _codes(session: Session, project: Project) -> dict[str, int]:
    return {c.key: c.id for c in session.scalars(select(Code).where(Code.framework_id == project.framework_id))}


def test_code_blind_stores_blind_decisions_and_completes_the_task(session: Session, panel, seed: Seed) -> None:
    project, pat, yan, _pro = panel
    codes = _codes(session, project)
    key = agreement.draw_sample(session, ANALYST, project, 2, [pat.id, yan.id], seed=1)
    task = _task(session, key, pat, seed.segment_ids[0])
    agreement.code_blind(session, Actor.of(pat), task, [codes["WAIT"], codes["MORE"]])
    assert task.completed_at is not None
    rows = session.scalars(select(ReviewDecision).where(ReviewDecision.user_id == pat.id)).all()
    assert sorted(r.to_code_id for r in rows) == sorted(codes.values())
    assert all(r.blind and r.action == "add" and r.segment_id == seed.segment_ids[0] for r in rows)
    # The blind codes do not change the coding the findings use.
    assert not session.scalars(select(CodeAssignment).where(CodeAssignment.origin == "human")).all()

    none_apply = _task(session, key, pat, seed.segment_ids[1])
    agreement.code_blind(session, Actor.of(pat), none_apply, [])
    assert none_apply.completed_at is not None
    assert agreement.next_task(session, project, pat.id) is None
    assert agreement.next_task(session, project, yan.id) is not None

    with pytest.raises(BadInputError, match="already coded"):
        agreement.code_blind(session, Actor.of(pat), task, [])
    theirs = _task(session, key, yan, seed.segment_ids[0])
    with pytest.raises(BadInputError, match="another panel member"):
        agreement.code_blind(session, Actor.of(pat), theirs, [codes["WAIT"]])
    with pytest.raises(BadInputError, match="framework"):
        agreement.code_blind(session, Actor.of(yan), theirs, [999_999])
    assert agreement.task_for(session, project, pat.id, theirs.id) is None
    assert agreement.task_for(session, project, yan.id, theirs.id) is theirs


def test_report_alpha_per_code_and_overall_by_hand_with_missing_data(session: Session, panel, seed: Seed) -> None:
    project, pat, yan, pro = panel
    codes = _codes(session, project)
    wait, more = codes["WAIT"], codes["MORE"]
    extra = _segments(session, project, 1, ["third", "fourth"])
    segments = [*seed.segment_ids, *extra]
    key = agreement.draw_sample(session, ANALYST, project, 4, [pat.id, yan.id, pro.id], seed=3)
    chosen = {  # segment -> what Pat and Yan chose; Pro finishes nothing (missing data)
        segments[0]: ([wait], [wait]),
        segments[1]: ([more], [more]),
        segments[2]: ([wait, more], [wait]),
        segments[3]: ([], []),
    }
    for segment_id, (by_pat, by_yan) in chosen.items():
        agreement.code_blind(session, Actor.of(pat), _task(session, key, pat, segment_id), by_pat)
        agreement.code_blind(session, Actor.of(yan), _task(session, key, yan, segment_id), by_yan)

    report = agreement.agreement_report(session, project, key)
    per_code = {row.key: row.alpha for row in report.per_code}
    # WAIT: units (1,1) (0,0) (1,1) (0,0): perfect agreement.
    assert per_code["WAIT"].value == 1.0 and per_code["WAIT"].units == 4
    # MORE: units (0,0) (1,1) (1,0) (0,0): o_00 = 4, o_11 = 2, o_01 = o_10 = 1; n_0 = 5, n_1 = 3, n = 8.
    # alpha = 1 - 7 * 2 / (2 * 15) = 0.5333
    assert per_code["MORE"].value == pytest.approx(1 - 7 * 2 / 30)
    # Overall pools the eight code x segment units: o_00 = 8, o_11 = 6, o_01 = o_10 = 1; n_0 = 9, n_1 = 7, n = 16.
    # alpha = 1 - 15 * 2 / (2 * 63) = 0.7619
    assert report.overall.value == pytest.approx(1 - 30 / 126)
    assert report.overall.units == 8
    assert report.coders == 2  # Pro finished nothing, so does not count
    (sample,) = report.samples
    assert sample.key == key and sample.segments == 4
    assert {c.name: (c.done, c.total) for c in sample.coders} == {"Pat": (4, 4), "Yan": (4, 4), "Pro": (0, 4)}

    # Pro finishes one segment, agreeing with both: a third value on that unit only.
    agreement.code_blind(session, Actor.of(pro), _task(session, key, pro, segments[0]), [wait])
    assert agreement.agreement_report(session, project).coders == 3


def test_report_alpha_undefined_when_nobody_has_finished_or_nothing_varies(session: Session, panel, seed: Seed) -> None:
    project, pat, yan, _pro = panel
    key = agreement.draw_sample(session, ANALYST, project, 2, [pat.id, yan.id], seed=3)
    empty = agreement.agreement_report(session, project)
    assert empty.overall.value is None and empty.overall.units == 0
    assert all(row.alpha.value is None for row in empty.per_code)
    for segment_id in seed.segment_ids:  # both coders say no code applies, everywhere
        agreement.code_blind(session, Actor.of(pat), _task(session, key, pat, segment_id), [])
        agreement.code_blind(session, Actor.of(yan), _task(session, key, yan, segment_id), [])
    flat = agreement.agreement_report(session, project, key)
    assert flat.overall.value is None and flat.overall.units == 4 and "no variation" in flat.overall.reason


def test_model_versus_panel_by_hand(session: Session, panel, seed: Seed) -> None:
    project = panel[0]
    codes = _codes(session, project)
    wait_on_first, more_on_second = (session.get(CodeAssignment, i) for i in seed.assignment_ids)
    # Segment 1: the model said WAIT, a person accepted it and added MORE. Segment 2: the model said MORE,
    # a person rejected it. A third segment has a model code nobody looked at: not counted.
    wait_on_first.status = "accepted"
    session.add(
        CodeAssignment(segment_id=seed.segment_ids[0], code_id=codes["MORE"], origin="human", status="accepted")
    )
    more_on_second.status = "rejected"
    (untouched,) = _segments(session, project, 1, ["nobody looked"])
    session.add(CodeAssignment(segment_id=untouched, code_id=codes["WAIT"], origin="model", status="suggested"))
    session.flush()

    model = agreement.agreement_report(session, project).model
    assert model.segments == 2
    # Kept: WAIT on 1. Removed: MORE on 2. Added: MORE on 1.
    assert (model.overall.true_positives, model.overall.false_positives, model.overall.false_negatives) == (1, 1, 1)
    assert model.overall.precision == model.overall.recall == model.overall.f1 == 0.5
    per_code = {row.key: row.scores for row in model.per_code}
    assert per_code["WAIT"].f1 == 1.0
    assert (per_code["MORE"].precision, per_code["MORE"].recall, per_code["MORE"].f1) == (0.0, 0.0, 0.0)


def test_model_versus_panel_leaves_undecided_suggestions_standing(session: Session, panel, seed: Seed) -> None:
    project = panel[0]
    codes = _codes(session, project)
    # A person adds MORE to segment 1 and leaves the model's WAIT alone: WAIT stays in force.
    session.add(
        CodeAssignment(segment_id=seed.segment_ids[0], code_id=codes["MORE"], origin="human", status="accepted")
    )
    session.flush()
    model = agreement.agreement_report(session, project).model
    assert model.segments == 1
    assert (model.overall.true_positives, model.overall.false_positives, model.overall.false_negatives) == (1, 0, 1)
    assert model.overall.precision == 1.0 and model.overall.recall == 0.5
    assert agreement.agreement_report(session, _project(session, seed)).model.overall.f1 == pytest.approx(2 / 3)


def test_model_versus_panel_is_undefined_before_any_review(session: Session, panel) -> None:
    model = agreement.agreement_report(session, panel[0]).model
    assert model.segments == 0 and model.overall.f1 is None and model.per_code == []

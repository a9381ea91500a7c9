"""Agreement: blind double coding by panel members, Krippendorff's alpha, and model-versus-panel F1.

An analyst draws a sample of segments (:func:`draw_sample`), stratified by question, and gives every
segment in it to each of two or more panel members as a :class:`~coproduce.store.models.CodingTask`.
Each coder codes their segments blind (:func:`code_blind`): they see the segment text and the
framework's codes, never the model's suggestions or another coder's choices. Their codes are stored
as ``ReviewDecision`` rows with ``blind=True``; they measure agreement and do not change the coding
the findings are built from.

:func:`agreement_report` returns plain data: Krippendorff's alpha (nominal) per code, treating each
code as a present/absent variable on each segment with every coder as an observer, and overall,
pooled over every code x segment unit; and how far the panel's decisions in review moved the model's
coding (precision, recall and F1 of the model's suggestions against the codes in force after review).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.store.models import (
    PANEL_ROLES,
    Code,
    CodeAssignment,
    CodingTask,
    Membership,
    Project,
    Respondent,
    Response,
    ReviewDecision,
    Segment,
    User,
    utcnow,
)

MIN_CODERS = 2
MAX_SAMPLE = 2000

# ---------------------------------------------------------------- Krippendorff's alpha


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha over some units. ``value`` is None when it is undefined (see ``reason``)."""

    value: float | None
    units: int  # units with at least two values (the only ones that count)
    values: int  # pairable values n
    reason: str = ""


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable | None]]) -> Alpha:
    """Nominal alpha from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").

    Each unit is the values its observers gave, ``None`` for missing. Units with fewer than two values
    are not pairable and are left out. Alpha is undefined when there are no pairable values, or when
    every value is the same (no variation: expected disagreement is zero).
    """
    coincidences: Counter[tuple[Hashable, Hashable]] = Counter()
    counted = 0
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        counted += 1
        tally = Counter(values)
        for c, n_c in tally.items():
            for k, n_k in tally.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                coincidences[c, k] += pairs / (m - 1)
    totals: Counter[Hashable] = Counter()
    for (c, _k), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    n_values = round(n)
    if counted == 0:
        return Alpha(None, 0, 0, "no unit was coded by two or more coders")
    observed = sum(o for (c, k), o in coincidences.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return Alpha(None, counted, n_values, "every coder gave every unit the same value, so there is no variation")
    return Alpha(1.0 - (n - 1) * observed / expected, counted, n_values)


# ---------------------------------------------------------------- drawing a sample


def panel_members(session: Session, project: Project) -> list[tuple[User, str]]:
    """The project's panel members (user, panel role), by name."""
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id, Membership.role.in_(PANEL_ROLES), User.is_active.is_(True))
        .order_by(User.display_name, User.id)
    ).all()
    return [(user, role) for user, role in rows]


def _project_segments(session: Session, project: Project) -> list[tuple[int, int | None]]:
    rows = session.execute(
        select(Segment.id, Response.question_id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project.id)
        .order_by(Segment.id)
    ).all()
    return [(segment_id, question_id) for segment_id, question_id in rows]


def _allocate(sizes: dict[int | None, int], total: int) -> dict[int | None, int]:
    """Split ``total`` over strata in proportion to their sizes (largest remainder), never above a stratum's size."""
    population = sum(sizes.values())
    quotas = {k: total * n / population for k, n in sizes.items()}
    taken = {k: min(sizes[k], int(q)) for k, q in quotas.items()}
    order = sorted(sizes, key=lambda k: (-(quotas[k] - int(quotas[k])), str(k)))
    while sum(taken.values()) < total:
        for k in order:
            if sum(taken.values()) >= total:
                break
            if taken[k] < sizes[k]:
                taken[k] += 1
    return taken


def draw_sample(
    session: Session, actor: Actor, project: Project, size: int, coder_ids: Iterable[int], seed: int
) -> str:
    """Draw ``size`` segments at random (seeded, stratified by question) and give each to every coder.

    Segments already in an earlier sample are left out, so each coder codes a segment once. The coders
    must be two or more of the project's panel members. Returns the new sample's key.
    """
    coders = sorted({int(c) for c in coder_ids})
    members = {user.id for user, _role in panel_members(session, project)}
    if len(coders) < MIN_CODERS:
        raise BadInputError(f"Choose at least {MIN_CODERS} panel members to code the sample", field="coders")
    strangers = [c for c in coders if c not in members]
    if strangers:
        raise BadInputError("Only the project's panel members can code a sample", field="coders")
    if not 1 <= size <= MAX_SAMPLE:
        raise BadInputError(f"The sample size must be a whole number from 1 to {MAX_SAMPLE}", field="size")
    done = set(session.scalars(select(CodingTask.segment_id).where(CodingTask.project_id == project.id)))
    available = [(s, q) for s, q in _project_segments(session, project) if s not in done]
    if size > len(available):
        raise BadInputError(
            f"There are only {len(available)} segments not yet sampled; choose a sample of that size or fewer",
            field="size",
        )
    strata: dict[int | None, list[int]] = defaultdict(list)
    for segment_id, question_id in available:
        strata[question_id].append(segment_id)
    quota = _allocate({k: len(v) for k, v in strata.items()}, size)
    rng = random.Random(seed)
    chosen: list[int] = []
    for key in sorted(strata, key=lambda k: (k is None, k or 0)):
        chosen.extend(sorted(rng.sample(strata[key], quota[key])))
    existing = set(session.scalars(select(CodingTask.sample_key).where(CodingTask.project_id == project.id)))
    number = len(existing) + 1
    while f"sample-{number}" in existing:
        number += 1
    key = f"sample-{number}"
    session.add_all(
        CodingTask(project_id=project.id, sample_key=key, segment_id=s, user_id=c, assigned_by_id=actor.user_id)
        for s in chosen
        for c in coders
    )
    session.flush()
    record(
        session,
        actor,
        "agreement.draw_sample",
        "coding_sample",
        None,
        project_id=project.id,
        after={"sample_key": key, "size": size, "seed": seed, "coders": coders, "segments": chosen},
    )
    return key


# ---------------------------------------------------------------- blind coding


def framework_codes(session: Session, project: Project) -> list[Code]:
    return list(
        session.scalars(select(Code).where(Code.framework_id == project.framework_id).order_by(Code.group_id, Code.key))
    )


def task_for(session: Session, project: Project, user_id: int, task_id: int) -> CodingTask | None:
    """The task, if it belongs to ``project`` and is assigned to ``user_id``; otherwise None."""
    task = session.get(CodingTask, task_id)
    if task is None or task.project_id != project.id or task.user_id != user_id:
        return None
    return task


def tasks_of(session: Session, project: Project, user_id: int) -> list[CodingTask]:
    return list(
        session.scalars(
            select(CodingTask)
            .where(CodingTask.project_id == project.id, CodingTask.user_id == user_id)
            .order_by(CodingTask.created_at, CodingTask.id)
        )
    )


def next_task(session: Session, project: Project, user_id: int) -> CodingTask | None:
    return session.scalar(
        select(CodingTask)
        .where(CodingTask.project_id == project.id, CodingTask.user_id == user_id, CodingTask.completed_at.is_(None))
        .order_by(CodingTask.created_at, CodingTask.id)
        .limit(1)
    )


def code_blind(session: Session, actor: Actor, task: CodingTask, code_ids: Iterable[int]) -> list[ReviewDecision]:
    """Store the coder's codes for their task (none is a valid answer: "none of these apply")."""
    if actor.user_id is None or actor.user_id != task.user_id:
        raise BadInputError("This segment was given to another panel member to code", field="task_id")
    if task.completed_at is not None:
        raise BadInputError("You have already coded this segment", field="codes")
    project = session.get(Project, task.project_id)
    allowed = {c.id for c in framework_codes(session, project)} if project else set()
    chosen = sorted({int(c) for c in code_ids})
    if any(c not in allowed for c in chosen):
        raise BadInputError("Choose codes from this project's framework only", field="codes")
    decisions = [
        ReviewDecision(user_id=task.user_id, segment_id=task.segment_id, action="add", to_code_id=c, blind=True)
        for c in chosen
    ]
    session.add_all(decisions)
    task.completed_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "agreement.code_blind",
        "coding_task",
        task.id,
        project_id=task.project_id,
        after={"sample_key": task.sample_key, "segment_id": task.segment_id, "codes": chosen},
    )
    return decisions


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class CodeAlpha:
    code_id: int
    key: str
    label: str
    alpha: Alpha


@dataclass(frozen=True)
class CoderProgress:
    user_id: int
    name: str
    done: int
    total: int


@dataclass(frozen=True)
class Sample:
    key: str
    segments: int
    coders: list[CoderProgress]


@dataclass(frozen=True)
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        d = self.true_positives + self.false_positives
        return self.true_positives / d if d else None

    @property
    def recall(self) -> float | None:
        d = self.true_positives + self.false_negatives
        return self.true_positives / d if d else None

    @property
    def f1(self) -> float | None:
        d = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / d if d else None


@dataclass(frozen=True)
class CodeScores:
    code_id: int
    key: str
    label: str
    scores: Scores


@dataclass(frozen=True)
class ModelAgreement:
    segments: int  # segments a person decided on
    overall: Scores
    per_code: list[CodeScores] = field(default_factory=list)


@dataclass(frozen=True)
class AgreementReport:
    samples: list[Sample]
    sample_key: str | None
    coders: int  # coders with at least one completed task in the report's scope
    overall: Alpha
    per_code: list[CodeAlpha]
    model: ModelAgreement


def samples(session: Session, project: Project) -> list[Sample]:
    rows = session.execute(
        select(
            CodingTask.sample_key,
            CodingTask.user_id,
            User.display_name,
            func.count(CodingTask.id),
            func.count(CodingTask.completed_at),
        )
        .join(User, User.id == CodingTask.user_id)
        .where(CodingTask.project_id == project.id)
        .group_by(CodingTask.sample_key, CodingTask.user_id, User.display_name)
        .order_by(CodingTask.sample_key, User.display_name)
    ).all()
    sizes = dict(
        session.execute(
            select(CodingTask.sample_key, func.count(func.distinct(CodingTask.segment_id)))
            .where(CodingTask.project_id == project.id)
            .group_by(CodingTask.sample_key)
        ).all()
    )
    found: dict[str, list[CoderProgress]] = defaultdict(list)
    for key, user_id, name, total, done in rows:
        found[key].append(CoderProgress(user_id, name, done, total))
    return [Sample(key, sizes[key], found[key]) for key in sorted(found, key=_sample_order)]


def _sample_order(key: str) -> tuple[int, str]:
    tail = key.rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, key)


def _blind_codes(
    session: Session, project: Project, sample_key: str | None
) -> tuple[dict[int, set[int]], dict[tuple[int, int], set[int]]]:
    """Completed tasks: segment -> coders who finished it, and (segment, coder) -> codes they chose."""
    query = select(CodingTask.segment_id, CodingTask.user_id).where(
        CodingTask.project_id == project.id, CodingTask.completed_at.is_not(None)
    )
    if sample_key is not None:
        query = query.where(CodingTask.sample_key == sample_key)
    coders: dict[int, set[int]] = defaultdict(set)
    for segment_id, user_id in session.execute(query):
        coders[segment_id].add(user_id)
    chosen: dict[tuple[int, int], set[int]] = defaultdict(set)
    if coders:
        decisions = session.execute(
            select(ReviewDecision.segment_id, ReviewDecision.user_id, ReviewDecision.to_code_id).where(
                ReviewDecision.blind.is_(True),
                ReviewDecision.segment_id.in_(list(coders)),
                ReviewDecision.to_code_id.is_not(None),
            )
        )
        for segment_id, user_id, code_id in decisions:
            if user_id in coders[segment_id]:
                chosen[segment_id, user_id].add(code_id)
    return coders, chosen


def model_agreement(session: Session, project: Project, codes: Sequence[Code]) -> ModelAgreement:
    """The model's suggestions against the codes in force after review, on every segment a person decided on.

    A person decided on a segment when any code on it was accepted, rejected or added by hand (blind
    coding does not count). The codes in force are the model's suggestions nobody rejected plus the
    codes people accepted or added: the "effective" codes the findings are built from.
    """
    rows = session.execute(
        select(CodeAssignment.segment_id, CodeAssignment.code_id, CodeAssignment.origin, CodeAssignment.status)
        .join(Segment, CodeAssignment.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project.id)
        .order_by(CodeAssignment.updated_at, CodeAssignment.id)
    ).all()
    model: dict[int, set[int]] = defaultdict(set)
    human: dict[tuple[int, int], str] = {}
    for segment_id, code_id, origin, status in rows:
        if origin == "model":
            model[segment_id].add(code_id)
        if status in ("accepted", "rejected"):
            human[segment_id, code_id] = status
    decided = sorted({s for s, _c in human})
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for segment_id in decided:
        suggested = model.get(segment_id, set())
        final = {c for c in suggested if human.get((segment_id, c)) != "rejected"}
        final |= {c for (s, c), status in human.items() if s == segment_id and status == "accepted"}
        for c in suggested & final:
            counts[c][0] += 1
        for c in suggested - final:
            counts[c][1] += 1
        for c in final - suggested:
            counts[c][2] += 1
    overall = Scores(*(sum(v[i] for v in counts.values()) for i in range(3)))
    per_code = [CodeScores(c.id, c.key, c.label, Scores(*counts[c.id])) for c in codes if c.id in counts]
    return ModelAgreement(len(decided), overall, per_code)


def agreement_report(session: Session, project: Project, sample_key: str | None = None) -> AgreementReport:
    """Alpha per code and overall over completed blind tasks (one sample, or all), and model-versus-panel scores."""
    codes = framework_codes(session, project)
    coders, chosen = _blind_codes(session, project, sample_key)
    per_code: list[CodeAlpha] = []
    pooled: list[list[int]] = []
    for code in codes:
        units = [
            [int(code.id in chosen.get((segment_id, user_id), set())) for user_id in sorted(users)]
            for segment_id, users in sorted(coders.items())
        ]
        pooled.extend(units)
        per_code.append(CodeAlpha(code.id, code.key, code.label, krippendorff_alpha_nominal(units)))
    everyone = {u for users in coders.values() for u in users}
    return AgreementReport(
        samples=samples(session, project),
        sample_key=sample_key,
        coders=len(everyone),
        overall=krippendorff_alpha_nominal(pooled),
        per_code=per_code,
        model=model_agreement(session, project, codes),
    )

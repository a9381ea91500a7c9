"""Run the analysis pipeline on a project and store what it found, keeping every human decision.

The run is recorded first (status ``running``); the pipeline works on plain data outside any
transaction; then one transaction replaces the previous model output with the new one. Human
decisions (accepted, rejected or added codes, human stances, edited themes, sign-offs) are
never overwritten: they are read first, handed to the coder as training data, and applied on
top of the model's suggestions when findings are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from coproduce.config import Settings
from coproduce.pipeline.base import LabelledExample, ResponseText
from coproduce.pipeline.findings import FindingInput, build_findings, effective_codes
from coproduce.pipeline.run import Pipeline, PipelineInput, PipelineOutput, config_hash
from coproduce.services.audit import Actor, record
from coproduce.services.findings import record_finding_change
from coproduce.services.frameworks import spec_from_db
from coproduce.services.kept_themes import KeptTheme, Reconciled, reconcile
from coproduce.services.projects import get_project
from coproduce.store.db import transaction
from coproduce.store.models import (
    AnalysisRun,
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Project,
    Question,
    Respondent,
    Response,
    Segment,
    SignOff,
    Stance,
    Standard,
    Theme,
    finding_segment,
    theme_segment,
    utcnow,
)

Key = tuple[int, int]


@dataclass
class AnalysisReport:
    run_id: int
    responses: int
    segments: int
    code_suggestions: int
    human_decisions_kept: int
    themes: int
    emerging_themes: int
    campaigns: int
    findings: int
    timings: dict[str, float] = field(default_factory=dict)
    unprocessed: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"Analysis run {self.run_id}: {self.responses} responses, {self.segments} segments, "
            f"{self.code_suggestions} code suggestions ({self.human_decisions_kept} human decisions kept), "
            f"{self.themes} themes ({self.emerging_themes} emerging), {self.campaigns} campaign group(s), "
            f"{self.findings} findings.",
            "Time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()),
        ]
        for stage, items in self.unprocessed.items():
            lines.append(f"{stage}: {len(items)} item(s) not processed, e.g. {items[0]['item']}: {items[0]['reason']}")
        return "\n".join(lines)


def default_pipeline(settings: Settings) -> Pipeline:
    """The standard stages, with the embedding cache kept in the instance folder, run where ``dask_scheduler`` says."""
    from coproduce.pipeline.distributed import executor_from_settings
    from coproduce.pipeline.embed import instance_embedder

    executor = executor_from_settings(settings.dask_scheduler, settings.dask_partition_size)
    embedder = instance_embedder(settings.instance_dir)  # the cache the import's safeguarding check filled
    return Pipeline(embedder=embedder, result_cache=embedder.cache, executor=executor, seed=settings.analysis_seed)


def run_analysis(
    factory: sessionmaker[Session],
    settings: Settings,
    project_slug: str,
    actor: Actor,
    *,
    pipeline: Pipeline | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    job_id: str | None = None,
) -> AnalysisReport:
    """``job_id``: the background job running this, recorded on the run row from the start so a dead
    worker's run can be found and marked interrupted (``services.runs.interrupted_runs``)."""
    pipeline = pipeline or default_pipeline(settings)
    with factory() as session:
        project = get_project(session, project_slug)
        project_id = project.id
        framework = spec_from_db(session, project.framework)
        data = PipelineInput(
            framework=framework,
            responses=project_responses(session, project_id),
            code_examples=_code_examples(session, project_id),
            stance_examples=_stance_examples(session, project_id),
        )
    config = pipeline.describe()
    with transaction(factory) as session:
        run = AnalysisRun(
            project_id=project_id,
            config_hash=config_hash(config),
            config=config,
            seed=pipeline.seed,
            status="running",
            progress={"job": job_id} if job_id else {},
        )
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        output = pipeline.run(data, progress)
        with transaction(factory) as session:
            report = _store(session, project_id, run_id, data, output, pipeline, actor)
    except BaseException as exc:
        with transaction(factory) as session:
            failed = session.get(AnalysisRun, run_id)
            failed.status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
            failed.error = f"{type(exc).__name__}: {exc}"[:2000]
            failed.finished_at = utcnow()
        raise
    return report


def project_responses(session: Session, project_id: int) -> list[ResponseText]:
    """Every response of the project as the pipeline reads it (redacted text, who gave it), by id."""
    rows = session.execute(
        select(
            Response.id,
            Response.respondent_id,
            Question.number,
            Response.redacted_text,
            Respondent.respondent_type,
            Respondent.consent_to_quote,
            Response.scale_answer,
        )
        .join(Respondent, Response.respondent_id == Respondent.id)
        .outerjoin(Question, Response.question_id == Question.id)
        .where(Respondent.project_id == project_id)
        .order_by(Response.id)
    ).all()
    return [ResponseText(r[0], r[1], r[2], r[3] or "", r[4], bool(r[5]), r[6]) for r in rows]


def _human_decisions(session: Session, project_id: int) -> list[tuple[CodeAssignment, Segment, str]]:
    """Segment codes a person accepted, rejected or added (model suggestions a person reviewed count too)."""
    rows = session.execute(
        select(CodeAssignment, Segment, Code.key)
        .join(Segment, CodeAssignment.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .join(Code, CodeAssignment.code_id == Code.id)
        .where(Respondent.project_id == project_id, CodeAssignment.status.in_(("accepted", "rejected")))
    )
    return [(a, s, key) for a, s, key in rows]


def _human_statuses(session: Session, project_id: int) -> dict[tuple[int, int], str]:
    """(segment id, code id) -> "accepted" | "rejected" for every human decision on a segment."""
    rows = session.execute(
        select(CodeAssignment.segment_id, CodeAssignment.code_id, CodeAssignment.status)
        .join(Segment, CodeAssignment.segment_id == Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id, CodeAssignment.status.in_(("accepted", "rejected")))
    )
    return {(segment_id, code_id): status for segment_id, code_id, status in rows}


def _code_examples(session: Session, project_id: int) -> list[LabelledExample]:
    # Each decision names its segment's question ("q<number>", as Pipeline.run passes it when coding), so the coder
    # can learn codes that depend on the question answered.
    rows = session.execute(
        select(Response.id, Question.number)
        .join(Question, Response.question_id == Question.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id)
    )
    question = {response_id: f"q{number}" for response_id, number in rows}
    return [
        LabelledExample(s.text, key, a.status == "accepted", question.get(s.response_id))
        for a, s, key in _human_decisions(session, project_id)
    ]


def _stance_examples(session: Session, project_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Segment.text, Stance.key)
        .join(Stance, Segment.stance_id == Stance.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id, Segment.stance_origin == "human")
    )
    return [(text, key) for text, key in rows]


def _store(
    session: Session,
    project_id: int,
    run_id: int,
    data: PipelineInput,
    output: PipelineOutput,
    pipeline: Pipeline,
    actor: Actor,
) -> AnalysisReport:
    project = session.get(Project, project_id)
    codes = {c.key: c.id for c in session.scalars(select(Code).where(Code.framework_id == project.framework_id))}
    stances = {s.key: s.id for s in session.scalars(select(Stance).where(Stance.framework_id == project.framework_id))}
    questions = {
        q.number: q.id for q in session.scalars(select(Question).where(Question.framework_id == project.framework_id))
    }
    segment_ids = _store_segments(session, project_id, output)
    # Read again inside this transaction (plain ids, no objects): a decision made while the pipeline ran counts.
    human = _human_statuses(session, project_id)

    # Model output of earlier runs that no person has reviewed is replaced; reviewed rows stay.
    project_segments = select(Segment.id).join(Response).join(Respondent).where(Respondent.project_id == project_id)
    project_responses = select(Response.id).join(Respondent).where(Respondent.project_id == project_id)
    session.execute(
        delete(CodeAssignment).where(
            CodeAssignment.origin == "model",
            CodeAssignment.status == "suggested",
            CodeAssignment.segment_id.in_(project_segments) | CodeAssignment.response_id.in_(project_responses),
        )
    )
    rows = []
    for suggestion in output.codes:
        segment_id, code_id = segment_ids[suggestion.segment], codes.get(suggestion.code)
        if code_id is None or (segment_id, code_id) in human:
            continue
        rows.append(_assignment(run_id, code_id, suggestion.confidence, segment_id=segment_id))
    _insert(session, CodeAssignment, rows)
    suggested = len(rows)

    by_id = {v: k for k, v in segment_ids.items()}
    code_keys = {v: k for k, v in codes.items()}
    accepted = [(by_id[s], code_keys[c]) for (s, c), status in human.items() if status == "accepted" and s in by_id]
    rejected = [(by_id[s], code_keys[c]) for (s, c), status in human.items() if status == "rejected" and s in by_id]
    effective = effective_codes(((s.segment, s.code) for s in output.codes), accepted, rejected)
    _store_response_codes(session, run_id, effective, codes, output)
    stance_of = _store_stances(session, project_id, segment_ids, stances, output)
    # Themes people edited or made stay as they left them; the run's themes are reconciled with them.
    reconciled = reconcile(output.themes, _kept_themes(session, project_id, by_id))
    themes = _store_themes(session, project_id, run_id, reconciled, codes, questions, segment_ids)
    campaign_respondents = _store_campaigns(session, project_id, run_id, output, data.responses)

    findings = build_findings(
        FindingInput(
            framework=data.framework,
            responses=data.responses,
            segments=output.segments,
            vectors=output.vectors,
            codes=effective,
            stances=stance_of,
            themes=reconciled.for_findings,
            campaign_respondents=campaign_respondents,
        ),
        pipeline.quote_picker,
    )
    _store_findings(session, actor, run_id, findings, codes, questions, segment_ids, themes, project)

    run = session.get(AnalysisRun, run_id)
    unprocessed = {stage: [vars(u) for u in items] for stage, items in output.unprocessed.items()}
    report = AnalysisReport(
        run_id=run_id,
        responses=len(data.responses),
        segments=len(output.segments),
        code_suggestions=suggested,
        human_decisions_kept=len(human),
        themes=len(output.themes),
        emerging_themes=sum(1 for t in output.themes if t.code is None),
        campaigns=len(output.campaigns),
        findings=len(findings),
        timings=output.timings,
        unprocessed=unprocessed,
    )
    run.status, run.finished_at, run.timings = "finished", utcnow(), output.timings
    run.models, run.unprocessed = output.manifest.get("models", {}), unprocessed
    run.summary = {k: v for k, v in vars(report).items() if isinstance(v, int)}
    record(session, actor, "analysis.run", "analysis_run", run_id, project_id=project_id, after=run.summary)
    return report


CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, target: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows in one executemany INSERT, with no ORM object per row."""
    if rows:
        session.execute(insert(target), rows)


def _assignment(
    run_id: int, code_id: int, confidence: float, *, segment_id: int | None = None, response_id: int | None = None
) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "response_id": response_id,
        "code_id": code_id,
        "origin": "model",
        "analysis_run_id": run_id,
        "confidence": round(float(confidence), 4),
        "status": "suggested",
    }


def _project_segments(project_id: int, *columns: Any) -> Any:
    return (
        select(*columns)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project_id)
    )


def _store_segments(session: Session, project_id: int, output: PipelineOutput) -> dict[Key, int]:
    """Keep segments whose span is unchanged (with their human decisions); replace the rest."""
    existing = session.execute(
        _project_segments(
            project_id, Segment.id, Segment.response_id, Segment.position, Segment.start, Segment.end, Segment.text
        )
    )
    wanted = {s.key: s for s in output.segments}
    ids: dict[Key, int] = {}
    stale: list[int] = []
    for segment_id, response_id, position, start, end, text in existing:
        new = wanted.get((response_id, position))
        if new is not None and (start, end, text) == (new.start, new.end, new.text):
            ids[new.key] = segment_id
        else:
            stale.append(segment_id)
    for chunk in _chunks(stale):  # their codes, stances and links go with them (ON DELETE CASCADE)
        session.execute(delete(Segment).where(Segment.id.in_(chunk)), execution_options={"synchronize_session": False})
    created = [s for key, s in wanted.items() if key not in ids]
    if created:
        new_ids = session.scalars(
            insert(Segment).returning(Segment.id, sort_by_parameter_order=True),
            [
                {"response_id": s.response_id, "position": s.position, "start": s.start, "end": s.end, "text": s.text}
                for s in created
            ],
        ).all()
        ids.update(zip((s.key for s in created), new_ids, strict=True))
    return ids


def _store_response_codes(
    session: Session, run_id: int, effective: dict[Key, set[str]], codes: dict[str, int], output: PipelineOutput
) -> None:
    """A response's codes are the union of its segments' codes, at the highest segment confidence."""
    confidence = {(s.segment, s.code): s.confidence for s in output.codes}
    per_response: dict[int, dict[str, float]] = defaultdict(dict)
    for key, keys in effective.items():
        for code in keys:
            best = per_response[key[0]].get(code, 0.0)
            per_response[key[0]][code] = max(best, float(confidence.get((key, code), 1.0)))
    rows = [
        _assignment(run_id, codes[code], value, response_id=response_id)
        for response_id, code_conf in per_response.items()
        for code, value in sorted(code_conf.items())
        if code in codes
    ]
    _insert(session, CodeAssignment, rows)


def _store_stances(
    session: Session, project_id: int, segment_ids: dict[Key, int], stances: dict[str, int], output: PipelineOutput
) -> dict[Key, str]:
    """Model stances on segments no person has set; returns the stance of every segment that has one."""
    keys = {v: k for k, v in stances.items()}
    suggested = {s.segment: s.stance for s in output.stances}
    current = {
        segment_id: (stance_id, origin)
        for segment_id, stance_id, origin in session.execute(
            _project_segments(project_id, Segment.id, Segment.stance_id, Segment.stance_origin)
        )
    }
    result: dict[Key, str] = {}
    changes: list[dict[str, Any]] = []
    for key, segment_id in segment_ids.items():
        stance_id, origin = current[segment_id]
        suggestion = suggested.get(key)
        if origin != "human" and suggestion in stances:
            if (stance_id, origin) != (stances[suggestion], "model"):
                changes.append({"id": segment_id, "stance_id": stances[suggestion], "stance_origin": "model"})
            stance_id = stances[suggestion]
        if stance_id is not None:
            result[key] = keys[stance_id]
    if changes:
        session.execute(update(Segment), changes)  # bulk UPDATE by primary key
    return result


def _store_themes(
    session: Session,
    project_id: int,
    run_id: int,
    reconciled: Reconciled,
    codes: dict[str, int],
    questions: dict[int, int],
    segment_ids: dict[Key, int],
) -> dict[str, int]:
    """Replace model themes nobody edited; edited and human themes stay. Returns theme key -> id."""
    stale = list(
        session.scalars(
            select(Theme.id).where(Theme.project_id == project_id, Theme.origin == "model", Theme.version == 1)
        )
    )
    no_sync = {"synchronize_session": False}
    for chunk in _chunks(stale):
        # Findings point at themes; they are re-linked to the new themes below.
        session.execute(
            update(Finding).where(Finding.theme_id.in_(chunk)).values(theme_id=None), execution_options=no_sync
        )
        session.execute(delete(theme_segment).where(theme_segment.c.theme_id.in_(chunk)))
        session.execute(delete(Theme).where(Theme.id.in_(chunk)), execution_options=no_sync)
    made = [
        (
            found,
            Theme(
                project_id=project_id,
                analysis_run_id=run_id,
                question_id=questions.get(found.question_number) if found.question_number is not None else None,
                code_id=codes.get(found.code) if found.code else None,
                key=found.key,
                label=found.label,
                keywords=list(found.keywords),
                representative=found.representative,
                flags=list(found.flags),
                origin="model",
            ),
        )
        for found in reconciled.new
    ]
    session.add_all(theme for _, theme in made)
    session.flush()
    links = [
        {"theme_id": theme.id, "segment_id": segment_ids[k]}
        for found, theme in made
        for k in dict.fromkeys(found.segments)
        if k in segment_ids
    ]
    _insert(session, theme_segment, links)
    return {**reconciled.kept_ids, **{found.key: theme.id for found, theme in made}}


def _kept_themes(session: Session, project_id: int, key_of: dict[int, Key]) -> list[KeptTheme]:
    """Themes people edited (version above 1) or made (origin human), with their segments as keys."""
    rows = list(
        session.scalars(
            select(Theme)
            .where(Theme.project_id == project_id, (Theme.origin == "human") | (Theme.version > 1))
            .options(selectinload(Theme.segments))
            .order_by(Theme.id)
        )
    )
    question_ids = {t.question_id for t in rows} - {None}
    code_ids = {t.code_id for t in rows} - {None}
    numbers = dict(session.execute(select(Question.id, Question.number).where(Question.id.in_(question_ids))).all())
    code_keys = dict(session.execute(select(Code.id, Code.key).where(Code.id.in_(code_ids))).all())
    return [
        KeptTheme(
            id=theme.id,
            key=theme.key,
            label=theme.label,
            question_number=numbers.get(theme.question_id),
            code=code_keys.get(theme.code_id),
            keywords=list(theme.keywords),
            representative=theme.representative,
            segments=[key_of[s.id] for s in theme.segments if s.id in key_of],
            absorbed_keys=list(theme.absorbed_keys),
        )
        for theme in rows
    ]


def _store_campaigns(
    session: Session, project_id: int, run_id: int, output: PipelineOutput, responses: list[ResponseText]
) -> set[int]:
    """Store campaign groups by respondent; returns every respondent in one."""
    respondent_of = {r.response_id: r.respondent_id for r in responses}
    session.execute(delete(Campaign).where(Campaign.project_id == project_id))
    members: set[int] = set()
    for group in output.campaigns:
        respondents = group.respondent_ids or sorted(
            {respondent_of[r] for r in group.response_ids if r in respondent_of}
        )
        members.update(respondents)
        session.add(
            Campaign(
                project_id=project_id,
                analysis_run_id=run_id,
                key=group.key,
                respondent_ids=respondents,
                example=group.example,
                similarity=round(float(group.similarity), 4),
            )
        )
    return members


def _store_findings(
    session: Session,
    actor: Actor,
    run_id: int,
    findings: list[Any],
    codes: dict[str, int],
    questions: dict[int, int],
    segment_ids: dict[Key, int],
    themes: dict[str, int],
    project: Project,
) -> None:
    """Upsert by the finding's stable key; a finding that is gone is deleted unless someone signed it.

    A statement a person wrote is kept (flagged for checking when the counts moved), and a signed-off
    finding whose figures change is reopened and its signers told, as for any other change.
    """
    project_id = project.id

    standards = {
        s.key: s.id for s in session.scalars(select(Standard).where(Standard.framework_id == project.framework_id))
    }
    existing = {f.key: f for f in session.scalars(select(Finding).where(Finding.project_id == project_id))}
    signed = set(session.scalars(select(SignOff.finding_id).distinct()))
    linked: list[tuple[Finding, list[Key]]] = []
    reopen: list[Finding] = []
    for data in findings:
        finding = existing.pop(data.key, None)
        if finding is None:
            finding = Finding(project_id=project_id, key=data.key, kind=data.kind, statement=data.statement)
            session.add(finding)
        figures, statement = data.figures, data.statement
        old = finding.figures or {}
        if old.get("statement_edited"):
            figures = {**figures, "statement_edited": old["statement_edited"]}
            if (old.get("respondents"), old.get("base")) != (figures.get("respondents"), figures.get("base")):
                figures["statement_check"] = True
            statement = finding.statement
        if finding.figures != figures or finding.statement != statement:
            if finding.status == "signed_off":
                reopen.append(finding)
            finding.statement, finding.figures = statement, figures
        finding.kind = data.kind
        finding.analysis_run_id = run_id
        finding.question_id = questions.get(data.question_number) if data.question_number is not None else None
        finding.standard_id = standards.get(data.standard) if data.standard else None
        finding.code_id = codes.get(data.code) if data.code else None
        finding.theme_id = themes.get(data.theme_key) if data.theme_key else None
        linked.append((finding, data.segments))
    for gone in existing.values():
        if gone.id in signed:
            gone.figures = {**gone.figures, "stale": True}  # kept for its sign-offs; the UI says it is stale
        else:
            session.delete(gone)
    session.flush()
    _link_findings(session, [(f.id, keys) for f, keys in linked], segment_ids)
    for finding in reopen:
        record_finding_change(session, actor, finding, "a new analysis run changed its figures")


def _link_findings(session: Session, linked: list[tuple[int, list[Key]]], segment_ids: dict[Key, int]) -> None:
    """Make each finding's segment links exactly the wanted ones, touching only the links that change."""
    wanted = {(finding_id, segment_ids[k]) for finding_id, keys in linked for k in keys if k in segment_ids}
    have: set[tuple[int, int]] = set()
    link = finding_segment.c
    for chunk in _chunks([finding_id for finding_id, _ in linked]):
        rows = session.execute(select(link.finding_id, link.segment_id).where(link.finding_id.in_(chunk)))
        have.update((finding_id, segment_id) for finding_id, segment_id in rows)
    removed = [{"f": f, "s": s} for f, s in sorted(have - wanted)]
    if removed:
        session.execute(
            delete(finding_segment).where(link.finding_id == bindparam("f"), link.segment_id == bindparam("s")), removed
        )
    _insert(session, finding_segment, [{"finding_id": f, "segment_id": s} for f, s in sorted(wanted - have)])

"""Analysis runs as a job: start one (never two at once per project), report its progress where any
process can read it, stop it, and list a project's runs. Shared by the web UI and the CLI.

``coproduce.services.analysis.run_analysis`` does the work; this module wraps it. Its progress
callback writes the stage and counts into ``analysis_run.progress`` (at most once a second), so a
page served by any process shows how far a run is, and it records who asked for the run.
The web UI queues :func:`analysis_job` for ``coproduce worker``; the job is resumable: a run stores its
results in one transaction at the end, so a worker killed mid-run leaves nothing of it but a run row,
which :func:`interrupted_runs` marks ``interrupted``; the re-run takes what was already embedded from
the embedding cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.pipeline.run import Pipeline
from coproduce.services import jobs
from coproduce.services.audit import Actor, record
from coproduce.services.projects import get_project
from coproduce.store.db import transaction
from coproduce.store.models import AnalysisRun, Project, utcnow

PipelineProvider = Callable[[], Pipeline]
WRITE_EVERY_SECONDS = 1.0


def job_key(project_slug: str) -> str:
    return f"analysis:{project_slug}"


def running_run(session: Session, project_id: int) -> AnalysisRun | None:
    """The project's newest run still marked running (by this process or any other)."""
    return session.scalar(
        select(AnalysisRun)
        .where(AnalysisRun.project_id == project_id, AnalysisRun.status == "running")
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    )


def project_runs(session: Session, project_id: int, limit: int = 50) -> list[AnalysisRun]:
    return list(
        session.scalars(
            select(AnalysisRun).where(AnalysisRun.project_id == project_id).order_by(AnalysisRun.id.desc()).limit(limit)
        )
    )


def check_can_start(session: Session, project: Project, queue: jobs.JobQueue | None = None) -> None:
    """Refuse to start while an analysis of ``project`` is queued or running anywhere."""
    busy = queue.active(job_key(project.slug)) if queue is not None else None
    if busy is not None or running_run(session, project.id) is not None:
        raise BadInputError(
            "an analysis of this project is already running",
            field="analysis",
            hint="Wait for it to finish, or stop it, before starting another",
        )


class ProgressRecorder:
    """The ``progress`` callback for ``run_analysis``: tells the job runner, and writes the stage and
    counts into the running ``analysis_run`` row in its own short transaction, at most once a second."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        project_slug: str,
        actor: Actor,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = WRITE_EVERY_SECONDS,
    ) -> None:
        self.factory = factory
        self.project_slug = project_slug
        self.actor = actor
        self.run_id: int | None = None
        self._clock = clock
        self._every = every
        self._last_write: float | None = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        new_stage = stage != self._stage
        self._stage = stage
        if new_stage or self._last_write is None or now - self._last_write >= self._every:
            self._last_write = now
            self._write({"stage": stage, "done": int(done), "total": int(total)})
        jobs.report_progress(stage, done, total)  # raises JobCancelled when someone asked to stop

    def _write(self, progress: dict[str, Any]) -> None:
        found = self.run_id is None
        self._write_run(progress)
        if found and self.run_id is not None:
            # After the transaction above, not inside it: set_detail is a unit of work of its own (another
            # connection), and units of work must not nest while one of them may hold SQLite's write lock.
            jobs.set_detail(run_id=self.run_id)

    def _write_run(self, progress: dict[str, Any]) -> None:
        with transaction(self.factory) as session:
            run = session.get(AnalysisRun, self.run_id) if self.run_id is not None else None
            if run is None:
                run = running_run(session, get_project(session, self.project_slug).id)
                if run is None:
                    return
                self.run_id = run.id
            if run.status != "running":
                return
            job_id = jobs.current_job_id()
            run.progress = {**progress, "updated_at": utcnow().isoformat(timespec="seconds"), "job": job_id}
            if not run.requested_by_label:
                run.requested_by_label = self.actor.label[:200]


def analyse_project(
    factory: sessionmaker[Session],
    settings: Settings,
    project_slug: str,
    actor: Actor,
    *,
    pipeline: Pipeline | PipelineProvider | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Any:
    """Run the analysis with database progress (and ``progress`` too, e.g. a progress bar); refuses
    while another run of the project is running. Returns the ``AnalysisReport``. In a job, a cancel
    request stops it at the next progress report and the run is marked cancelled."""
    from coproduce.services.analysis import default_pipeline, run_analysis

    with factory() as session:
        check_can_start(session, get_project(session, project_slug))
    queued = jobs.JobQueue(factory, settings).active(job_key(project_slug))
    if queued is not None and queued.id != jobs.current_job_id():  # e.g. `coproduce analyse` while one is queued
        raise BadInputError(
            "an analysis of this project is already queued or running",
            field="analysis",
            hint="Wait for it to finish, or stop it, before starting another",
        )
    built = pipeline() if callable(pipeline) else pipeline
    built = built or default_pipeline(settings)
    recorder = ProgressRecorder(factory, project_slug, actor)

    def both(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)
        recorder(stage, done, total)

    if hasattr(built.embedder, "progress"):
        # The embedder's own progress, within the ``embed`` stage.
        built.embedder.progress = lambda done, total: both("embed", done, total)  # type: ignore[attr-defined]
    encoded_before = int(getattr(built.embedder, "encoded", 0))
    try:
        report = run_analysis(
            factory, settings, project_slug, actor, pipeline=built, progress=both, job_id=jobs.current_job_id()
        )
    except jobs.JobCancelled as exc:
        _mark(factory, recorder.run_id, "cancelled", f"Stopped by request ({exc}).")
        raise
    finally:
        if hasattr(built.embedder, "progress"):
            built.embedder.progress = None  # type: ignore[attr-defined]
    cache = getattr(built.embedder, "cache", None)
    embedding = {"encoded": int(getattr(built.embedder, "encoded", 0)) - encoded_before}
    if cache is not None:
        embedding["cache_size"] = len(cache)
    jobs.set_detail(run_id=report.run_id, embedding=embedding)
    _finish(factory, report.run_id, actor)
    return report


def interrupted_runs(factory: sessionmaker[Session], job_id: str) -> None:
    """After the worker running ``job_id`` died: its run rows still marked running become interrupted
    (the run stored nothing: results are written in one transaction at the very end)."""
    with transaction(factory) as session:
        for run in session.scalars(select(AnalysisRun).where(AnalysisRun.status == "running")):
            if (run.progress or {}).get("job") == job_id:
                run.status, run.finished_at = "interrupted", utcnow()
                run.error = "The worker running this analysis stopped; nothing of this run was stored."


@jobs.background(resumable=True, on_interrupt=interrupted_runs)
def analysis_job(context: jobs.JobContext, project_slug: str, actor: dict[str, Any]) -> dict[str, Any]:
    """The queued form of :func:`analyse_project`, run by ``coproduce worker`` with its warmed pipeline."""
    report = analyse_project(context.factory, context.settings, project_slug, Actor(**actor), pipeline=context.pipeline)
    return {"run_id": report.run_id, "summary": report.summary()}


def start_analysis(session: Session, actor: Actor, queue: jobs.JobQueue, project: Project) -> str:
    """Queue an analysis of ``project``; returns the job id. Records who asked (audit); the caller
    commits. Refuses (BadInputError) while one is queued or running."""
    check_can_start(session, project, queue)
    try:
        job_id = queue.submit(
            analysis_job,
            kind="analysis",
            label=f"Analysis of {project.name}",
            key=job_key(project.slug),
            requested_by=actor,
            project_slug=project.slug,
            actor={"label": actor.label, "user_id": actor.user_id},
        )
    except jobs.JobBusyError as exc:
        raise BadInputError("an analysis of this project is already running", field="analysis") from exc
    record(session, actor, "analysis.start", "project", project.id, project_id=project.id, after={"job": job_id})
    return job_id


def stop_run(
    session: Session, actor: Actor, queue: jobs.JobQueue, project: Project, *, job_id: str | None, run_id: int | None
) -> str:
    """Ask a queued or running analysis to stop; returns what happened, in words. A run marked running
    that no live job is working on (its process died) is marked cancelled."""
    run = session.get(AnalysisRun, run_id) if run_id is not None else None
    if run is not None and run.project_id != project.id:
        run = None
    if job_id is None and run is not None:
        job_id = (run.progress or {}).get("job")
    job = queue.get(job_id) if job_id else None
    if job is not None and job.key != job_key(project.slug):
        job = None
    if job is not None and queue.cancel(job.id):
        run_ref = run.id if run is not None else job.detail.get("run_id")
        record(session, actor, "analysis.cancel", "analysis_run", run_ref, project_id=project.id, after={"job": job.id})
        ended = queue.get(job.id)
        if ended is not None and ended.is_done and run is None:
            return "The analysis was stopped before it started."
        if ended is None or not ended.is_done or run is None or run.status != "running":
            return "Stopping the analysis. It stops at the end of the step it is on."
        # Its worker was gone: nothing will stop the run, so mark it here.
    if run is not None and run.status == "running":
        before = {"status": run.status}
        run.status, run.finished_at = "cancelled", utcnow()
        run.error = run.error or f"Marked as stopped by {actor.label}: no process was running it."
        after = {"status": run.status}
        record(
            session, actor, "analysis.cancel", "analysis_run", run.id, project_id=project.id, before=before, after=after
        )
        return "The run was marked as stopped."
    return "This analysis has already ended."


def _mark(factory: sessionmaker[Session], run_id: int | None, status: str, error: str) -> None:
    if run_id is None:
        return
    with transaction(factory) as session:
        run = session.get(AnalysisRun, run_id)
        if run is not None:
            run.status, run.error, run.finished_at = status, error[:2000], run.finished_at or utcnow()


def _finish(factory: sessionmaker[Session], run_id: int, actor: Actor) -> None:
    with transaction(factory) as session:
        run = session.get(AnalysisRun, run_id)
        if run is None:
            return
        last = dict(run.progress or {})
        run.progress = {**last, "stage": "finished", "updated_at": utcnow().isoformat(timespec="seconds")}
        if not run.requested_by_label:
            run.requested_by_label = actor.label[:200]

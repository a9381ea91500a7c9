"""Analysis runs: the list, starting one in the background, a live status page and stopping a run.

A run is queued as a job (``webui.background.job_queue``) for ``coproduce worker``; its progress is
read from the job row while a worker runs it, and from ``analysis_run.progress`` otherwise (``coproduce
analyse`` writes it there too). A queued job with no worker alive says so, naming the command to run.
The status page refreshes itself without JavaScript; with JavaScript, ``static/runs.js`` polls
:func:`progress` and updates a live region.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coproduce.errors import BadInputError
from coproduce.services import jobs
from coproduce.services.audit import Actor
from coproduce.services.runs import job_key, project_runs, running_run, start_analysis, stop_run
from coproduce.store.models import AnalysisRun, Project
from webui import background
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("runs", __name__, url_prefix="/projects")

STAGES = {
    "queued": "Waiting to start",
    "segment": "Splitting answers into sentences",
    "embed": "Reading the meaning of each sentence",
    "fit": "Learning from reviewers’ decisions",
    "code": "Suggesting codes",
    "stance": "Finding what each sentence asks for or objects to",
    "themes": "Finding themes",
    "campaigns": "Finding campaign responses",
    "finished": "Finished",
}
STATUS_LABELS = {
    "queued": "Waiting",
    "running": "Running",
    "finished": "Finished",
    "failed": "Failed",
    "cancelled": "Stopped",
    "interrupted": "Interrupted",
    "unknown": "Not known",
}


@bp.app_template_filter("run_status")
def run_status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@bp.get("/<slug>/analysis")
@project_page
def index(project: Project) -> ResponseReturnValue:
    db = get_session()
    runs = project_runs(db, project.id)
    busy = background.job_queue().active(job_key(project.slug))
    current = running_run(db, project.id)
    return render_template(
        "runs/index.html",
        project=project,
        runs=runs,
        busy_ref=busy.id if busy else (current.id if current else None),
        newest=runs[0].id if runs else 0,
        stages=STAGES,
    )


@bp.post("/<slug>/analysis")
@project_page
def start(project: Project) -> ResponseReturnValue:
    db = get_session()
    newest = max((run.id for run in project_runs(db, project.id, limit=1)), default=0)
    seen = request.form.get("after_run", "")
    if seen.isdigit() and int(seen) < newest:
        flash("Someone started an analysis since you opened this page. Check its result below before starting another.")
        return redirect(url_for("runs.index", slug=project.slug))
    try:
        job_id = start_analysis(db, Actor.of(current_user.user), background.job_queue(), project)
    except BadInputError as error:
        db.rollback()
        flash(f"{error.message[:1].upper()}{error.message[1:]}. {error.hint or ''}".strip())
        return redirect(url_for("runs.index", slug=project.slug))
    db.commit()
    return redirect(url_for("runs.status", slug=project.slug, ref=job_id))


@bp.get("/<slug>/analysis/<ref>")
@project_page
def status(project: Project, ref: str) -> ResponseReturnValue:
    job, run = _resolve(project, ref)
    state = progress_of(job, run, _workers(job))
    return render_template(
        "runs/status.html", project=project, ref=ref, job=job, run=run, state=state, known=bool(job or run)
    )


@bp.get("/<slug>/analysis/<ref>/progress")
@project_page
def progress(project: Project, ref: str) -> ResponseReturnValue:
    job, run = _resolve(project, ref)
    response = jsonify(progress_of(job, run, _workers(job)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<slug>/analysis/<ref>/cancel")
@project_page
def cancel(project: Project, ref: str) -> ResponseReturnValue:
    job, run = _resolve(project, ref)
    db = get_session()
    message = stop_run(
        db,
        Actor.of(current_user.user),
        background.job_queue(),
        project,
        job_id=job.id if job else None,
        run_id=run.id if run else None,
    )
    db.commit()
    flash(message)
    return redirect(url_for("runs.status", slug=project.slug, ref=ref))


def _resolve(project: Project, ref: str) -> tuple[jobs.JobStatus | None, AnalysisRun | None]:
    """A reference is a run id (digits) or a job id. A run of another project is a 404; a job nobody
    knows (or another project's) resolves to (None, None)."""
    db = get_session()
    runner = background.job_queue()
    if ref.isdigit():
        run = db.get(AnalysisRun, int(ref))
        if run is None or run.project_id != project.id:
            abort(404)
        job_id = (run.progress or {}).get("job")
        job = runner.get(job_id) if job_id else None
        return (job if job and job.key == job_key(project.slug) else None), run
    job = runner.get(ref)
    if job is None or job.key != job_key(project.slug):
        return None, None
    run_id = job.detail.get("run_id")
    run = db.get(AnalysisRun, run_id) if run_id else None
    return job, (run if run is not None and run.project_id == project.id else None)


def _workers(job: jobs.JobStatus | None) -> str:
    """Whether anyone will move this job on: "alive", "none" (no worker running), "lost" (its worker
    stopped answering mid-run) or "" (nothing to say)."""
    if job is None or job.is_done:
        return ""
    queue = background.job_queue()
    if job.status == jobs.RUNNING:
        return "alive" if queue.worker_alive(job) else "lost"
    return "alive" if queue.workers_alive() else "none"


def progress_of(job: jobs.JobStatus | None, run: AnalysisRun | None, workers: str = "") -> dict[str, Any]:
    """What the status page and its JSON say: the freshest of the job row and the run row."""
    if job is not None and job.status == jobs.QUEUED and (run is None or run.status != "running"):
        status_ = "queued"  # queued (again, after an interrupted run): the job is the news
    elif run is not None and not (run.status == "running" and job is not None and job.is_done):
        status_ = run.status
    elif job is not None:
        status_ = job.status
    else:
        status_ = "unknown"
    live = job is not None and not job.is_done
    if live and job is not None:
        stage, done, total = (job.stage or job.status), job.done, job.total
    else:
        stored = (run.progress if run is not None else None) or {}
        stage, done, total = stored.get("stage", ""), int(stored.get("done", 0)), int(stored.get("total", 0))
    if status_ == "finished":
        stage, done, total = "finished", 1, 1
    running = status_ in ("queued", "running")
    percent = 100 if status_ == "finished" else (int(100 * done / total) if total else 0)
    error = (run.error if run is not None and run.error else "") or (job.error if job is not None else "")
    stage_label = STAGES.get(stage, stage.capitalize() if stage else "Starting")
    return {
        "job": job.id if job is not None else None,
        "run": run.id if run is not None else None,
        "status": status_,
        "status_label": STATUS_LABELS.get(status_, status_),
        "running": running,
        "stage": stage,
        "stage_label": stage_label,
        "done": done,
        "total": total,
        "percent": percent,
        "cancel_requested": bool(job.cancel_requested) if job is not None else False,
        "error": error if status_ in ("failed", "cancelled", "interrupted") else "",
        "summary": dict(run.summary or {}) if run is not None else {},
        "message": _message(status_, stage_label, done, total, percent, workers),
    }


def _message(status_: str, stage_label: str, done: int, total: int, percent: int, workers: str = "") -> str:
    if status_ == "queued":
        if workers == "none":
            return "Queued: waiting for a worker. No worker is running: start one with `coproduce worker`."
        return "Queued: waiting for the worker to start it."
    if status_ == "running":
        counted = f" ({done} of {total})" if total > 1 else ""
        if workers == "lost":
            return (
                f"Stopped answering at: {stage_label}{counted}. Its worker has stopped; the analysis starts "
                "again when a worker runs (`coproduce worker`), reusing what was already done."
            )
        return f"Running: {stage_label}{counted}, {percent}% of this step done."
    if status_ == "finished":
        return "Finished."
    if status_ == "failed":
        return "The analysis failed. Nothing it had done so far was kept."
    if status_ == "cancelled":
        return "The analysis was stopped. Nothing it had done so far was kept."
    if status_ == "interrupted":
        return "The worker running the analysis stopped. Nothing it had done so far was kept."
    return "There is no record of this analysis on the server."

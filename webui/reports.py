"""Reports: make the report set for a project in the background, list what was made, download a file.

Reports are written by :func:`coproduce.reports.generate` into the instance folder
(``instance/reports/<project slug>/``), one job per project at a time, queued for ``coproduce worker``;
the list page refreshes itself (without JavaScript) while a job runs. Downloads are served only
from that folder, only for names a report can have, always as attachments.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coproduce.reports import FORMAT_FILES, FORMAT_LABELS, FORMATS, file_names, is_report_file, parse_formats
from coproduce.services import jobs, report_jobs
from coproduce.services.audit import Actor, record
from coproduce.store.models import Project
from webui import background
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("reports", __name__, url_prefix="/projects")


def report_folder(project: Project) -> Path:
    return report_jobs.report_folder(background.settings(), project.slug)


def job_key(project: Project) -> str:
    return report_jobs.job_key(project.slug)


def _format_of(name: str, slug: str) -> str:
    tail = name.removeprefix(f"{slug}-")
    return next((fmt for fmt, names in FORMAT_FILES.items() if tail in names), "")


def _files(project: Project) -> list[dict[str, object]]:
    folder = report_folder(project)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.is_file() and is_report_file(path.name) and path.name.startswith(f"{project.slug}-"):
            stat = path.stat()
            found.append(
                {
                    "name": path.name,
                    "format": FORMAT_LABELS.get(_format_of(path.name, project.slug), ""),
                    "size": stat.st_size,
                    "made": datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
                }
            )
    return found


@bp.get("/<slug>/reports")
@project_page
def index(project: Project) -> ResponseReturnValue:
    queue = background.job_queue()
    job = queue.active(job_key(project))
    return render_template(
        "reports/index.html",
        project=project,
        formats=[(fmt, FORMAT_LABELS[fmt]) for fmt in FORMATS],
        files=_files(project),
        job=job,
        no_worker=job is not None and job.status == jobs.QUEUED and not queue.workers_alive(),
    )


@bp.post("/<slug>/reports")
@project_page
def create(project: Project) -> ResponseReturnValue:
    chosen = request.form.get("format", "")
    if chosen != "all" and chosen not in FORMATS:
        flash("Choose a report to make.")
        return redirect(url_for("reports.index", slug=project.slug))
    formats = parse_formats([chosen])
    actor = Actor.of(current_user.user)
    try:
        background.job_queue().submit(
            report_jobs.report_job,
            kind="report",
            label=f"Reports for {project.slug}",
            key=job_key(project),
            requested_by=actor,
            project_slug=project.slug,
            actor={"label": actor.label, "user_id": actor.user_id},
            formats=list(formats),
        )
    except jobs.JobBusyError:
        flash("Reports for this project are already being made. They will appear below when they are ready.")
        return redirect(url_for("reports.index", slug=project.slug))
    what = "every report" if chosen == "all" else FORMAT_LABELS[chosen]
    flash(f"Making {what}. This page shows the files when they are ready.", "success")
    return redirect(url_for("reports.index", slug=project.slug))


@bp.get("/<slug>/reports/<filename>")
@project_page
def download(project: Project, filename: str) -> ResponseReturnValue:
    folder = report_folder(project)
    if not (is_report_file(filename) and filename in file_names(project.slug)):
        abort(404)
    if not (folder / filename).is_file():  # a report this project can have, not made yet (or removed)
        fmt = _format_of(filename, project.slug)
        return render_template(
            "reports/missing.html", project=project, filename=filename, fmt=fmt, label=FORMAT_LABELS[fmt]
        )
    db = get_session()
    record(
        db,
        Actor.of(current_user.user),
        "report.download",
        "project",
        project.id,
        project_id=project.id,
        after={"file": filename},
    )
    db.commit()
    return send_from_directory(folder, filename, as_attachment=True, max_age=0)

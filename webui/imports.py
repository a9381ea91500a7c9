"""Import a file into a project: upload, check the column mapping against a preview, then import.

The upload is kept in the instance folder (``coproduce.services.import_uploads``) until it is
imported; the import itself is ``coproduce.services.imports.import_file``, all or nothing. Files
with more answers than ``IN_REQUEST_LIMIT`` are queued for ``coproduce worker`` instead
(``import_uploads.import_job``); the job page shows its progress from the job table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from coproduce.errors import BadInputError
from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.importers.mapping import KNOWN_ATTRIBUTES, ColumnMapping
from coproduce.services import access, jobs
from coproduce.services.audit import Actor
from coproduce.services.import_uploads import (
    KIND_LABELS,
    ImportPreview,
    Upload,
    column_choices,
    guess_survey_mapping,
    import_job,
    import_upload,
    load_upload,
    mapping_from_choices,
    preview_import,
    report_from_result,
    save_upload,
    split_location,
)
from coproduce.store.models import Project
from webui import background
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("imports", __name__, url_prefix="/projects")

# Answers; more are imported by the job queue. Redaction and flagging cost 15-40 ms an answer on 2 cores, so
# 100 answers (a single submission, a small forum survey) finish within a few seconds of the click; anything
# bigger would hold a web request (and a server thread) for minutes.
IN_REQUEST_LIMIT = 100


def _import_key(project: Project, token: str) -> str:
    return f"import:{project.slug}:{token}"


def error_view(error: BadInputError, filename: str | None = None) -> dict[str, Any]:
    """A BadInputError as the pages show it: the file by the name it was uploaded as, never a server path."""
    file = filename if error.file is not None and filename else (Path(str(error.file)).name if error.file else None)
    return {"message": error.message, "file": file, "row": error.row, "field": error.field, "hint": error.hint}


def _new_form(project: Project, errors: dict[str, str] | None = None, form: Any = None, status: int = 200) -> Any:
    settings = background.settings()
    return (
        render_template(
            "imports/new.html",
            project=project,
            errors=errors or {},
            form=form or {},
            kinds=KIND_LABELS,
            respondent_types=RESPONDENT_TYPES,
            max_megabytes=f"{settings.max_file_bytes / 1_000_000:g}",
        ),
        status,
    )


@bp.get("/<slug>/import")
@project_page
def new(project: Project) -> ResponseReturnValue:
    return _new_form(project)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    project = g.get("project")
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or background.settings().max_file_bytes
    megabytes = f"{limit / 1_000_000:g}"
    if project is None:  # refused before the page loaded its project: the plain error page
        from webui.errors import render_error

        return render_error(413, message=f"Files must be smaller than {megabytes} MB. Choose a smaller file.")
    return _new_form(project, {"file": f"The selected file must be smaller than {megabytes} MB"}, status=413)


@bp.post("/<slug>/import")
@project_page
def upload(project: Project) -> ResponseReturnValue:
    form = request.form
    file = request.files.get("file")
    kind = form.get("kind", "")
    respondent_type = form.get("respondent_type") or None
    errors: dict[str, str] = {}
    if file is None or not file.filename:
        errors["file"] = "Select a file to import"
    if kind and kind not in KIND_LABELS:
        errors["kind"] = "Choose what kind of file this is"
    if respondent_type is not None and respondent_type not in RESPONDENT_TYPES:
        errors["respondent_type"] = "Choose who wrote the submission"
    if errors:
        return _new_form(project, errors, form, 400)
    assert file is not None
    try:
        stored = save_upload(
            background.settings(),
            project.slug,
            file.filename or "",  # made safe by save_upload
            file.stream,
            kind=kind,
            respondent_type=respondent_type,
            respondent_name=(form.get("respondent_name") or "").strip()[:200] or None,
            consent_to_quote=form.get("consent") == "yes",
            uploaded_by=current_user.user.id,
        )
    except BadInputError as error:
        return _new_form(project, {error.field or "file": _sentence(error.message)}, form, 400)
    return _review(project, stored)


@bp.post("/<slug>/import/<token>")
@project_page
def confirm(project: Project, token: str) -> ResponseReturnValue:
    settings = background.settings()
    stored = load_upload(settings, project.slug, token)
    if stored is None:
        return _gone(project)
    chosen = _chosen_columns()
    if request.form.get("action") == "preview":
        return _review(project, stored, chosen)
    db = get_session()
    try:
        mapping = _chosen_mapping(project, stored, chosen)
        preview = preview_import(db, settings, project, stored, mapping)
    except BadInputError as error:
        return _review(project, stored, chosen, error=error, status=400)
    actor = Actor.of(current_user.user)
    if preview.responses > IN_REQUEST_LIMIT:
        try:
            job_id = background.job_queue().submit(
                import_job,
                kind="import",
                label=f"Import of {stored.filename}",
                key=_import_key(project, token),
                requested_by=actor,
                project_slug=project.slug,
                token=token,
                actor={"label": actor.label, "user_id": actor.user_id},
                mapping_yaml=mapping.to_yaml() if mapping is not None else None,
            )
        except jobs.JobBusyError as busy:
            job_id = busy.job_id
        return redirect(url_for("imports.job", slug=project.slug, job_id=job_id))
    db.close()  # import_file opens its own sessions
    try:
        report = import_upload(
            current_app.extensions["coproduce.session_factory"],
            settings,
            stored,
            actor,
            mapping=mapping,
            privacy=background.privacy(),
        )
    except BadInputError as error:
        return _review(project, stored, chosen, error=error, status=400)
    return _result(project, report, stored.filename)


@bp.get("/<slug>/import/jobs/<job_id>")
@project_page
def job(project: Project, job_id: str) -> ResponseReturnValue:
    queue = background.job_queue()
    state = queue.get(job_id)
    if state is not None and not (state.key or "").startswith(f"import:{project.slug}:"):
        state = None
    if state is not None and state.status == jobs.FINISHED:
        return _result(project, report_from_result(state.result or {}), state.label.removeprefix("Import of "))
    no_worker = state is not None and state.status == jobs.QUEUED and not queue.workers_alive()
    return render_template("imports/job.html", project=project, job=state, error=_job_error(state), no_worker=no_worker)


def _job_error(state: jobs.JobStatus | None) -> str:
    if state is None or state.status != jobs.FAILED:
        return ""
    # A job's error is "BadInputError: <where>: <what>"; show the part after the type.
    return state.error.split(": ", 1)[-1]


def _result(project: Project, report: Any, filename: str) -> ResponseReturnValue:
    rejected = []
    for r in report.rejected:
        where, field = split_location(r.location)
        rejected.append({"where": where, "field": field, "reason": r.reason, "content": r.content})
    return render_template(
        "imports/result.html",
        project=project,
        report=report,
        filename=filename,
        rejected=rejected,
        see_original=access.can_see_original_text(g.grants),
    )


def _gone(project: Project) -> ResponseReturnValue:
    return (
        render_template("imports/gone.html", project=project),
        410,
    )


def _chosen_columns() -> dict[int, str]:
    chosen = {}
    for name, value in request.form.items():
        if name.startswith("column-") and name.removeprefix("column-").isdigit():
            chosen[int(name.removeprefix("column-"))] = value
    return chosen


def _chosen_mapping(project: Project, stored: Upload, chosen: dict[int, str]) -> ColumnMapping | None:
    if stored.resolved_kind != "survey":
        return None
    guessed = guess_survey_mapping(get_session(), background.settings(), project, stored)
    return mapping_from_choices(guessed, chosen) if chosen else guessed


def _review(
    project: Project,
    stored: Upload,
    chosen: dict[int, str] | None = None,
    *,
    error: BadInputError | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The mapping form (survey exports) and the preview of what would be imported."""
    settings = background.settings()
    db = get_session()
    choices = None
    preview: ImportPreview | None = None
    try:
        if stored.resolved_kind == "survey":
            guessed = guess_survey_mapping(db, settings, project, stored)
            choices = column_choices(settings, stored, guessed)
            for choice in choices:
                choice.value = (chosen or {}).get(choice.index, choice.value)
        if error is None:
            mapping = _chosen_mapping(project, stored, chosen or {})
            preview = preview_import(db, settings, project, stored, mapping)
    except BadInputError as failed:
        error, status = failed, 400
    questions = sorted(project.framework.questions, key=lambda q: q.number)
    return (
        render_template(
            "imports/review.html",
            project=project,
            upload=stored,
            kind_label=KIND_LABELS.get(stored.resolved_kind or "", "Unknown"),
            choices=choices,
            questions=questions,
            attributes=KNOWN_ATTRIBUTES,
            preview=preview,
            error=error_view(error, stored.filename) if error else None,
            error_href=_error_href(error, choices),
            split_location=split_location,
        ),
        status,
    )


def _error_href(error: BadInputError | None, choices: list[Any] | None) -> str:
    """Where the error summary links: the column select the error names, else the mapping or the preview."""
    if error is None:
        return ""
    if error.field and error.field.startswith("column-"):
        return "#" + error.field
    for choice in choices or []:
        if error.field and choice.header and choice.header in error.field:
            return f"#column-{choice.index}"
    return "#mapping" if choices else "#preview"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]

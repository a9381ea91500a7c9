"""Agreement pages: staff draw blind double-coding samples and read the agreement figures; panel members code.

``agreement.index`` and ``agreement.draw`` are for staff (admins and analysts). The blind-coding pages are
for panel members, and each task only for the panel member it was given to: the task page shows the
segment and the framework's codes, never the model's suggestions or another coder's choices.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from coproduce.errors import BadInputError
from coproduce.services import agreement as service
from coproduce.services.audit import Actor
from coproduce.store.models import CodeGroup, CodingTask, Project, Question, Response, ReviewDecision
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("agreement", __name__, url_prefix="/projects")


def _index(project: Project, *, errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    db = get_session()
    sample_key = request.args.get("sample") or None
    report = service.agreement_report(db, project, sample_key)
    if sample_key is not None and sample_key not in {s.key for s in report.samples}:
        abort(404)
    form = request.form if request.method == "POST" else {}
    return (
        render_template(
            "agreement/index.html",
            project=project,
            report=report,
            members=service.panel_members(db, project),
            errors=errors or {},
            size=form.get("size", "20"),
            seed=form.get("seed") or str(secrets.randbelow(1_000_000)),
            chosen=set(request.form.getlist("coders")) if request.method == "POST" else set(),
        ),
        status,
    )


@bp.get("/<slug>/agreement")
@project_page
def index(project: Project) -> ResponseReturnValue:
    return _index(project)


@bp.post("/<slug>/agreement/samples")
@project_page
def draw(project: Project) -> ResponseReturnValue:
    db = get_session()
    try:
        size = _whole(request.form.get("size"), "size", "Enter the sample size as a whole number, like 20")
        seed = _whole(request.form.get("seed"), "seed", "Enter the seed as a whole number, like 1234")
        coders = [_whole(c, "coders", "Choose panel members from the list") for c in request.form.getlist("coders")]
        key = service.draw_sample(db, Actor.of(current_user.user), project, size, coders, seed)
        db.commit()
    except BadInputError as exc:
        db.rollback()
        return _index(project, errors={exc.field or "size": exc.message}, status=400)
    flash(f"Sample {key} drawn: each chosen panel member has {size} segments to code.", "success")
    return redirect(url_for("agreement.index", slug=project.slug))


def _whole(raw: str | None, field: str, message: str) -> int:
    try:
        return int((raw or "").strip())
    except ValueError:
        raise BadInputError(message, field=field) from None


# ---------------------------------------------------------------- blind coding


def _my_tasks(project: Project, *, error: str = "", status: int = 200) -> ResponseReturnValue:
    db = get_session()
    tasks = service.tasks_of(db, project, current_user.user.id)
    pending = [t for t in tasks if t.completed_at is None]
    done = [t for t in tasks if t.completed_at is not None]
    return (
        render_template("agreement/my_tasks.html", project=project, pending=pending, done=done, error=error),
        status,
    )


@bp.get("/<slug>/blind-coding")
@project_page
def my_tasks(project: Project) -> ResponseReturnValue:
    return _my_tasks(project)


def _grouped_codes(project: Project) -> list[tuple[str, list[Any]]]:
    db = get_session()
    groups = {g.id: g for g in db.scalars(select(CodeGroup).where(CodeGroup.framework_id == project.framework_id))}
    by_group: dict[int | None, list[Any]] = defaultdict(list)
    for code in service.framework_codes(db, project):
        by_group[code.group_id].append(code)

    def title(group_id: int | None) -> str:
        group = groups.get(group_id) if group_id is not None else None
        if group is None:
            return "Codes" if len(by_group) == 1 else "Other codes"
        return f"{group.parent.label}: {group.label}" if group.parent else group.label

    order = sorted(by_group, key=lambda g: (g is None, title(g)))
    return [(title(g), by_group[g]) for g in order]


def _task_page(project: Project, task: CodingTask | None, *, error: str = "", status: int = 200) -> ResponseReturnValue:
    db = get_session()
    question = None
    mine: list[int] = []
    if task is not None:
        response = db.get(Response, task.segment.response_id)
        question = db.get(Question, response.question_id) if response and response.question_id else None
        if task.completed_at is not None:
            mine = list(
                db.scalars(
                    select(ReviewDecision.to_code_id).where(
                        ReviewDecision.blind.is_(True),
                        ReviewDecision.user_id == task.user_id,
                        ReviewDecision.segment_id == task.segment_id,
                    )
                )
            )
    tasks = service.tasks_of(db, project, current_user.user.id)
    return (
        render_template(
            "agreement/task.html",
            project=project,
            task=task,
            question=question,
            groups=_grouped_codes(project) if task is not None else [],
            mine=set(mine),
            chosen=set(request.form.getlist("codes")),
            done=sum(1 for t in tasks if t.completed_at is not None),
            total=len(tasks),
            error=error,
        ),
        status,
    )


@bp.get("/<slug>/blind-coding/<int:task_id>")
@bp.get("/<slug>/blind-coding/next", defaults={"task_id": None})
@project_page
def task(project: Project, task_id: int | None) -> ResponseReturnValue:
    """One task for the coder it was given to (any other user: not found); ``next`` is their next pending one."""
    db = get_session()
    if task_id is None:
        return _task_page(project, service.next_task(db, project, current_user.user.id))
    found = service.task_for(db, project, current_user.user.id, task_id)
    if found is None:
        abort(404)
    return _task_page(project, found)


@bp.post("/<slug>/blind-coding")
@project_page
def submit(project: Project) -> ResponseReturnValue:
    db = get_session()
    try:
        task_id = int(request.form.get("task_id") or "")
    except ValueError:
        task_id = 0
    found = service.task_for(db, project, current_user.user.id, task_id)
    if found is None:
        return _my_tasks(
            project, error="That segment is not one of yours to code. Choose one from your list", status=400
        )
    try:
        codes = [int(c) for c in request.form.getlist("codes")]
    except ValueError:
        return _task_page(project, found, error="Choose codes from the list", status=400)
    try:
        service.code_blind(db, Actor.of(current_user.user), found, codes)
        db.commit()
    except BadInputError as exc:
        db.rollback()
        return _task_page(project, found, error=exc.message, status=400)
    upcoming = service.next_task(db, project, current_user.user.id)
    if upcoming is None:
        flash("Saved. You have coded every segment you were given. Thank you.", "success")
        return redirect(url_for("agreement.my_tasks", slug=project.slug))
    flash("Saved. Here is your next segment.", "success")
    return redirect(url_for("agreement.task", slug=project.slug, task_id=upcoming.id))

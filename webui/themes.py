"""Theme pages: every member reads the themes; staff (admins and analysts) edit them.

Themes are analysis artefacts, like the coding the model suggests: the analysts who run the analysis
shape them, and the panel reviews and signs off the findings built on them. So panel members and
observers may read every theme page, and only ``STAFF`` may rename, describe, merge, split or move.

Every edit form carries the version of each theme it names (``version`` for the theme on the page,
``version_<id>`` for the others). When someone else changed a theme first, the service refuses and
the page says who and when, with a link to the theme as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coproduce.errors import BadInputError
from coproduce.services import access
from coproduce.services import themes as service
from coproduce.services.audit import Actor
from coproduce.store.models import Project, Theme
from webui.db import get_session
from webui.permissions import project_page
from webui.queries import Page

bp = Blueprint("themes", __name__, url_prefix="/projects")


def can_edit(grants: frozenset[str]) -> bool:
    return bool(access.STAFF & grants)


def _theme(project: Project, theme_id: int) -> Theme:
    theme = service.get_theme(get_session(), project, theme_id)
    if theme is None:
        abort(404)
    return theme


def _int(value: str | None, field: str, message: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise BadInputError(message, field=field) from None


def _ints(values: list[str], field: str) -> list[int]:
    return [_int(v, field, "Choose from the list") for v in values]


def _versions(theme_ids: list[int]) -> dict[int, int]:
    """The versions the editor saw, from ``version_<id>`` fields (missing ones are left out)."""
    seen = {}
    for theme_id in theme_ids:
        raw = request.form.get(f"version_{theme_id}")
        if raw is not None:
            seen[theme_id] = _int(raw, "version", "The form is out of date. Reload the page")
    return seen


def _detail(
    project: Project,
    theme: Theme,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    conflict: str = "",
    form: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    db = get_session()
    number = max(1, request.args.get("page", 1, type=int) or 1)
    size = current_app.config["PAGE_SIZE"]
    rows, total = service.theme_segments(db, theme, number, size)
    mergeable, targets = service.neighbours(db, theme)
    question = next((q for q in project.framework.questions if q.id == theme.question_id), None)
    body = render_template(
        "themes/detail.html",
        project=project,
        theme=theme,
        question=question,
        page=Page(rows, number, size, total),
        mergeable=mergeable,
        targets=targets,
        editor=can_edit(g.grants),
        errors=errors or {},
        conflict=conflict,
        form=form or {},
        chosen=set(request.form.getlist("segment_ids")),
    )
    return body, status


@bp.get("/<slug>/themes")
@project_page
def index(project: Project) -> ResponseReturnValue:
    groups = service.themes_by_question(get_session(), project)
    return render_template("themes/index.html", project=project, groups=groups, editor=can_edit(g.grants))


@bp.get("/<slug>/themes/<int:theme_id>")
@project_page
def detail(project: Project, theme_id: int) -> ResponseReturnValue:
    return _detail(project, _theme(project, theme_id))


def _edit(project: Project, theme_id: int, change: Callable[[Theme], Theme], done: str) -> ResponseReturnValue:
    """Run one edit in one transaction; on bad input or a conflict, show the theme page with the error."""
    db = get_session()
    theme = _theme(project, theme_id)
    try:
        result = change(theme)
        target_id = result.id
        db.commit()
    except service.ThemeConflictError as exc:
        db.rollback()
        db.expire_all()
        fresh = service.get_theme(db, project, theme_id)
        if fresh is None:
            flash(str(exc) + ". The theme you were editing no longer exists.")
            return redirect(url_for("themes.index", slug=project.slug))
        return _detail(project, fresh, conflict=exc.message, status=409, form=request.form.to_dict())
    except BadInputError as exc:
        db.rollback()
        db.expire_all()
        field = exc.field or "version"
        return _detail(project, theme, errors={field: exc.message}, status=400, form=request.form.to_dict())
    flash(done, "success")
    return redirect(url_for("themes.detail", slug=project.slug, theme_id=target_id))


def _actor() -> Actor:
    return Actor.of(current_user.user)


def _form_version() -> int:
    """The theme version the editor's page showed (hidden field), for the optimistic lock."""
    return _int(request.form.get("version"), "version", "The form is out of date. Reload the page")


@bp.post("/<slug>/themes/<int:theme_id>/rename")
@project_page
def rename(project: Project, theme_id: int) -> ResponseReturnValue:
    def change(theme: Theme) -> Theme:
        version = _form_version()
        return service.rename(get_session(), _actor(), theme, request.form.get("label", ""), version)

    return _edit(project, theme_id, change, "Theme renamed")


@bp.post("/<slug>/themes/<int:theme_id>/describe")
@project_page
def describe(project: Project, theme_id: int) -> ResponseReturnValue:
    def change(theme: Theme) -> Theme:
        version = _form_version()
        return service.describe(get_session(), _actor(), theme, request.form.get("description", ""), version)

    return _edit(project, theme_id, change, "Description saved")


@bp.post("/<slug>/themes/<int:theme_id>/merge")
@project_page
def merge(project: Project, theme_id: int) -> ResponseReturnValue:
    def change(theme: Theme) -> Theme:
        ids = _ints(request.form.getlist("merge_ids"), "merge_ids")
        others = [service.get_theme(get_session(), project, i) for i in ids]
        if any(o is None for o in others):
            raise service.ThemeConflictError(
                "One of the themes you chose has been merged or deleted by someone else. Nothing was saved",
                field="merge_ids",
            )
        seen = _versions([theme.id, *ids])
        if "version" in request.form:
            seen[theme.id] = _form_version()
        return service.merge(get_session(), _actor(), theme, [o for o in others if o is not None], seen)

    return _edit(project, theme_id, change, "Themes merged")


@bp.post("/<slug>/themes/<int:theme_id>/split")
@project_page
def split(project: Project, theme_id: int) -> ResponseReturnValue:
    def change(theme: Theme) -> Theme:
        version = _form_version()
        ids = _ints(request.form.getlist("segment_ids"), "segment_ids")
        return service.split(get_session(), _actor(), theme, ids, request.form.get("new_label", ""), version)

    return _edit(project, theme_id, change, "New theme made from the chosen segments")


@bp.post("/<slug>/themes/<int:theme_id>/move")
@project_page
def move(project: Project, theme_id: int) -> ResponseReturnValue:
    def change(theme: Theme) -> Theme:
        target_id = _int(request.form.get("to_theme_id"), "to_theme_id", "Choose the theme to move the segments to")
        target = service.get_theme(get_session(), project, target_id)
        if target is None:
            raise service.ThemeConflictError(
                "The theme you chose has been merged or deleted by someone else. Nothing was saved",
                field="to_theme_id",
            )
        seen = _versions([target_id])
        seen[theme.id] = _form_version()
        ids = _ints(request.form.getlist("segment_ids"), "segment_ids")
        service.move_segments(get_session(), _actor(), theme, target, ids, seen)
        return theme

    return _edit(project, theme_id, change, "Segments moved")

"""Segment review: a filtered, paginated queue of segments where staff and panel members accept, reject,
recode and add codes, set stances, act in bulk and mark segments as seen.

Every action is a POST to its own endpoint that calls ``coproduce.services.review``, commits, and
redirects back to the same filtered page at the segment acted on (post/redirect/get) with a banner.
Bad input re-renders the queue with an error summary; a segment or code the person cannot reach is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from coproduce.errors import BadInputError
from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.services import review
from coproduce.services.audit import Actor
from coproduce.services.segment_filters import filter_options, filtered_segments
from coproduce.store.models import Project
from webui import segment_filter_form
from webui.db import get_session
from webui.permissions import project_page
from webui.search import SEGMENT_CACHE, SegmentCache

bp = Blueprint("review", __name__, url_prefix="/projects")

SHORTCUTS = (
    ("j or ↓", "Next segment"),
    ("k or ↑", "Previous segment"),
    ("a", "Accept the focused code suggestion (the first suggestion of the segment if none is focused)"),
    ("r", "Reject the focused code suggestion"),
    ("c", "Move to the recode list of the focused code"),
    ("?", "Move to this list of shortcuts"),
)


@bp.record_once
def _install_counts(state: BlueprintSetupState) -> None:
    state.app.extensions.setdefault(SEGMENT_CACHE, SegmentCache())


def _form(args: MultiDict[str, str] | dict[str, str], options) -> segment_filter_form.FilterForm:
    return segment_filter_form.parse(args, options, user_id=current_user.user.id)


def _render_queue(
    project: Project,
    args: MultiDict[str, str] | dict[str, str],
    *,
    errors: list[dict[str, str]] | None = None,
    field_errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    db = get_session()
    options = filter_options(db, project)
    form = _form(args, options)
    user_id = current_user.user.id
    # A panel member's own blind-coding segments stay out of sight until they have coded them.
    flt = replace(form.filter, hide_blind_for=user_id)
    page = filtered_segments(
        db,
        project,
        flt,
        page=form.page,
        size=current_app.config["PAGE_SIZE"],
        viewer_id=user_id,
        counts=current_app.extensions[SEGMENT_CACHE],
    )
    return (
        render_template(
            "review/queue.html",
            project=project,
            form=form,
            page=page,
            options=options,
            selects=segment_filter_form.select_fields(options, form, RESPONDENT_TYPES),
            shortcuts=SHORTCUTS,
            errors=errors or [],
            field_errors=field_errors or {},
        ),
        status,
    )


@bp.get("/<slug>/review")
@project_page
def queue(project: Project) -> ResponseReturnValue:
    return _render_queue(project, request.args)


def _return_args(project: Project) -> dict[str, str]:
    """The filtered page the form was sent from (its ``return_to`` field), known keys only."""
    form = segment_filter_form.parse_return_to(
        request.form.get("return_to", ""), filter_options(get_session(), project), user_id=current_user.user.id
    )
    return {k: str(v) for k, v in form.query().items()}


def _int_field(name: str) -> int:
    value = request.form.get(name, type=int)
    if value is None:
        abort(400)
    return value


def _act(
    project: Project,
    action: Callable[[Session, Actor], review.ReviewOutcome],
    *,
    anchor: int | None,
    field_id: str,
) -> ResponseReturnValue:
    """Run one review service call, commit, and redirect back to the filtered queue (PRG)."""
    db = get_session()
    back = _return_args(project)
    try:
        outcome = action(db, Actor.of(current_user.user))
        db.commit()
    except review.NotFoundError:
        db.rollback()
        abort(404)
    except BadInputError as error:
        db.rollback()
        message = error.message
        return _render_queue(
            project,
            back,
            errors=[{"text": message, "href": f"#{field_id}"}],
            field_errors={field_id: message},
            status=400,
        )
    flash(outcome.message, "success")
    segment = anchor if anchor is not None else (outcome.segment_ids[0] if outcome.segment_ids else None)
    return redirect(
        url_for("review.queue", slug=project.slug, **back, _anchor=f"segment-{segment}" if segment else None)
    )


def _missing(project: Project, field_id: str, message: str) -> ResponseReturnValue:
    """The queue again, with ``message`` in the error summary and beside the empty field."""
    errors = [{"text": message, "href": f"#{field_id}"}]
    return _render_queue(project, _return_args(project), errors=errors, field_errors={field_id: message}, status=400)


@bp.post("/<slug>/review/decide")
@project_page
def decide(project: Project) -> ResponseReturnValue:
    assignment_id = _int_field("assignment_id")
    decision = request.form.get("decision", "")
    if decision not in ("accept", "reject"):
        abort(400)
    comment = request.form.get("comment", "")
    service = review.accept if decision == "accept" else review.reject
    return _act(
        project,
        lambda db, actor: service(db, actor, project, assignment_id, comment=comment),
        anchor=None,
        field_id=f"decide-{assignment_id}",
    )


@bp.post("/<slug>/review/recode")
@project_page
def recode(project: Project) -> ResponseReturnValue:
    assignment_id = _int_field("assignment_id")
    to_code = request.form.get("to_code", "")
    field_id = f"to-code-{assignment_id}"
    if not to_code:
        return _missing(project, field_id, "Select the code to recode to")
    return _act(
        project,
        lambda db, actor: review.recode(db, actor, project, assignment_id, to_code),
        anchor=None,
        field_id=field_id,
    )


@bp.post("/<slug>/review/add-code")
@project_page
def add_code(project: Project) -> ResponseReturnValue:
    segment_id = _int_field("segment_id")
    code = request.form.get("code", "")
    field_id = f"add-code-{segment_id}"
    if not code:
        return _missing(project, field_id, "Select a code to add")
    return _act(
        project,
        lambda db, actor: review.add_code(db, actor, project, segment_id, code),
        anchor=segment_id,
        field_id=field_id,
    )


@bp.post("/<slug>/review/stance")
@project_page
def set_stance(project: Project) -> ResponseReturnValue:
    segment_id = _int_field("segment_id")
    stance = request.form.get("stance", "")
    return _act(
        project,
        lambda db, actor: review.set_stance(db, actor, project, segment_id, stance or None),
        anchor=segment_id,
        field_id=f"stance-{segment_id}",
    )


@bp.post("/<slug>/review/bulk")
@project_page
def bulk(project: Project) -> ResponseReturnValue:
    action = request.form.get("action", "")
    try:
        ids = [int(v) for v in request.form.getlist("assignment_id")]
    except ValueError:
        abort(400)
    return _act(
        project,
        lambda db, actor: review.bulk(db, actor, project, ids, action),
        anchor=None,
        field_id="bulk-actions",
    )


@bp.post("/<slug>/review/seen")
@project_page
def mark_seen(project: Project) -> ResponseReturnValue:
    try:
        ids = [int(v) for v in request.form.getlist("segment_id")]
    except ValueError:
        abort(400)
    return _act(
        project,
        lambda db, actor: review.mark_seen(db, actor, project, ids),
        anchor=None,
        field_id="mark-seen",
    )

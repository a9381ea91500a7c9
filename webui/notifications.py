"""The signed-in person's notifications in a project (e.g. a finding they signed off has changed)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coproduce.services.audit import Actor
from coproduce.services.notifications import mark_read as mark_notifications_read
from coproduce.store.models import Project
from webui import finding_queries as fq
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("notifications", __name__, url_prefix="/projects/<slug>/notifications")


@bp.get("/")
@project_page
def index(project: Project) -> ResponseReturnValue:
    items = fq.notifications(get_session(), current_user.user, project)
    return render_template("notifications/index.html", project=project, items=items)


@bp.post("/read")
@project_page
def mark_read(project: Project) -> ResponseReturnValue:
    """Mark one notification (``notification_id``) or all of them (``notification_id=all``) as read."""
    chosen = request.form.get("notification_id", "all").strip()
    ids = None if chosen == "all" else ([int(chosen)] if chosen.isdigit() else [])
    db = get_session()
    count = mark_notifications_read(db, Actor.of(current_user.user), current_user.user, project, ids)
    db.commit()
    if count:
        flash("Marked as read." if count == 1 else f"{count} notifications marked as read.", "success")
    return redirect(url_for("notifications.index", slug=project.slug))

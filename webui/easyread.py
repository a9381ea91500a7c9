"""Easy-read mode: a per-person switch for larger, calmer pages, and a walk through the findings one per page.

The switch lives in the Flask session (it is a display preference, not project data) and adds the
``app-easy-read`` class to every page's <body>. The walk-through words each finding with
``coproduce.services.easy_read``; quotes are the redacted text the findings store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from coproduce.services.easy_read import a_person, easy_read_lines
from coproduce.store.models import Project
from webui import queries
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("easyread", __name__)

SESSION_KEY = "easy_read"


@bp.app_context_processor
def easy_read_setting() -> dict[str, Any]:
    return {"easy_read": bool(session.get(SESSION_KEY))}


@bp.app_template_filter("a_person")
def a_person_filter(kind: str | None) -> str:
    return a_person(kind or "unknown")


@bp.app_template_filter("capitalize_first")
def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _local(target: str) -> str | None:
    """``target`` when it is a path on this site (never another host), else None."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or "\\" in target or parts.scheme or parts.netloc:
        return None
    return target


def _referrer() -> str | None:
    """The page the form was sent from, when it is on this site."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host or parts.scheme not in ("http", "https"):
        return None
    return _local(parts.path + (f"?{parts.query}" if parts.query else ""))


@bp.post("/easy-read")
def toggle() -> ResponseReturnValue:
    """Turn easy read on or off for this browser session, then go back to the page the form was on."""
    choice = request.form.get("easy_read", "")
    if choice not in ("on", "off"):
        abort(400)
    session[SESSION_KEY] = choice == "on"
    return redirect(_local(request.form.get("next", "")) or _referrer() or url_for("index"))


@bp.get("/projects/<slug>/easy-read")
@project_page
def start(project: Project) -> ResponseReturnValue:
    items = queries.project_overview(get_session(), project).reading_order()
    return render_template("easyread/start.html", project=project, items=items)


@bp.get("/projects/<slug>/easy-read/<int:position>")
@project_page
def finding(project: Project, position: int) -> ResponseReturnValue:
    overview = queries.project_overview(get_session(), project)
    items = overview.reading_order()
    if not 1 <= position <= len(items):
        abort(404)
    item = items[position - 1]
    question = overview.question(item.question_number) if item.question_number is not None else None
    lines = easy_read_lines(
        item.kind,
        item.figures,
        item.title,
        question_number=item.question_number,
        options=[str(o) for o in question.question.options] if question else (),
    )
    return render_template(
        "easyread/finding.html",
        project=project,
        item=item,
        question=question.question if question else None,
        lines=lines,
        position=position,
        count=len(items),
    )

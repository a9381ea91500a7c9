"""Project pages: the list, the overview, responses, respondents, sources and safeguarding flags.

Each view loads through :func:`webui.permissions.project_page`, which applies the page x grant
table in ``coproduce.services.access``; the view then asks the same module which fields to show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from coproduce.importers.base import COMMUNICATION_METHODS, RESPONDENT_TYPES
from coproduce.services import access
from coproduce.services.figures import Count, ordered_types
from coproduce.services.users import projects_for, role_in
from coproduce.store.models import Project
from webui import charts, queries
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("projects", __name__, url_prefix="/projects")

ROLE_LABELS = {
    "admin": "Project admin",
    "analyst": "Analyst",
    "parent_carer": "Parent carer",
    "young_person": "Young person",
    "professional": "Professional",
    "observer": "Observer",
    access.SITE_ADMIN: "Site admin",
}


@bp.app_template_filter("respondent_type")
def respondent_type_label(kind: str | None) -> str:
    return RESPONDENT_TYPES.get(kind or "unknown", kind or "Not stated")


@bp.app_template_filter("communication_method")
def communication_method_label(method: str | None) -> str:
    return COMMUNICATION_METHODS.get(method or "", method or "")


@bp.app_template_filter("role")
def role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role or "", role or "")


@bp.app_template_filter("when")
def when_label(moment: datetime) -> str:
    """A time as people write it in the UK, e.g. "3 March 2025 14:05" (times are stored in UTC)."""
    return f"{moment.day} {moment:%B %Y %H:%M}"


@bp.app_template_filter("iso")
def iso_label(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


@bp.app_template_filter("out_of")
def out_of_label(count: Count) -> str:
    """A count as "2 of 4 (50%)"."""
    return charts.value_label(count.respondents, count.base)


@bp.app_template_filter("ordered_types")
def ordered_types_filter(kinds: list[str]) -> list[str]:
    return ordered_types(kinds)


@bp.app_template_global()
def page_link(endpoint: str, **values: Any) -> str | None:
    """The URL of a project page, or None while its area is not installed or the user may not open it."""
    if endpoint not in current_app.view_functions:
        return None
    if access.decide(endpoint, g.get("grants") or ()) is not access.Decision.ALLOW:
        return None
    return url_for(endpoint, **values)


@bp.app_template_global("bar_chart")
def bar_chart_global(*args: Any, **kwargs: Any) -> charts.BarChart:
    return charts.bar_chart(*args, **kwargs)


@login_required
def home() -> ResponseReturnValue:
    return redirect(url_for("projects.index"))


def _permissions() -> dict[str, bool]:
    grants = g.grants
    return {
        "see_original": access.can_see_original_text(grants),
        "see_details": access.can_see_respondent_details(grants),
        "see_sources": access.can_see_sources(grants),
        "see_flags": access.can_see_flags(grants),
    }


def _render(template: str, project: Project, **context: object) -> str:
    return render_template(template, project=project, can=_permissions(), **context)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    db = get_session()
    user = current_user.user
    rows = [
        (project, role_in(db, user, project) or (access.SITE_ADMIN if user.is_site_admin else None))
        for project in projects_for(db, user)
    ]
    return render_template("projects/index.html", rows=rows)


@bp.get("/<slug>")
@project_page
def overview(project: Project) -> ResponseReturnValue:
    db = get_session()
    per_question = queries.responses_per_question(db, project)
    summary = queries.project_summary(db, project, per_question)
    overview = queries.project_overview(db, project, per_question)
    return _render("projects/overview.html", project, summary=summary, overview=overview)


@bp.get("/<slug>/questions/<int:number>/overview")
@project_page
def question_overview(project: Project, number: int) -> ResponseReturnValue:
    overview = queries.project_overview(get_session(), project)
    item = overview.question(number)
    if item is None:
        abort(404)
    return _render("projects/question_overview.html", project, overview=overview, item=item)


@bp.get("/<slug>/questions/<int:number>")
@bp.get("/<slug>/questions/unmatched", defaults={"number": None})
@project_page
def question_responses(project: Project, number: int | None) -> ResponseReturnValue:
    question = None
    if number is not None:
        question = queries.question_by_number(project, number)
        if question is None:
            abort(404)
    page = queries.question_responses(
        get_session(),
        project,
        question,
        page=request.args.get("page", 1, type=int) or 1,
        size=current_app.config["PAGE_SIZE"],
    )
    return _render("projects/question_responses.html", project, question=question, page=page)


@bp.get("/<slug>/respondents/<int:respondent_id>")
@project_page
def respondent(project: Project, respondent_id: int) -> ResponseReturnValue:
    found = queries.respondent(get_session(), project, respondent_id)
    if found is None:
        abort(404)
    return _render("projects/respondent.html", project, respondent=found)


@bp.get("/<slug>/responses/<int:response_id>")
@project_page
def response(project: Project, response_id: int) -> ResponseReturnValue:
    found = queries.response(get_session(), project, response_id)
    if found is None:
        abort(404)
    return _render("projects/response.html", project, response=found)


@bp.get("/<slug>/sources")
@project_page
def sources(project: Project) -> ResponseReturnValue:
    return _render("projects/sources.html", project, sources=queries.sources(get_session(), project))


@bp.get("/<slug>/safeguarding")
@project_page
def flags(project: Project) -> ResponseReturnValue:
    return _render("projects/flags.html", project, flags=queries.flags(get_session(), project))

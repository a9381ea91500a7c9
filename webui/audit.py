"""Audit pages: the project's log (staff) and one finding's history (every member). Read only.

The audit log is append-only: these pages only read it, and there is no route that changes it.
Values that could hold unredacted text are hidden from everyone but admins, should an event carry any.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from coproduce.services import access
from coproduce.store.models import Project
from webui import finding_queries as fq
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("audit", __name__, url_prefix="/projects/<slug>")

# Keys whose values may be original (unredacted) text, shown to project admins only.
ORIGINAL_TEXT_KEYS = frozenset({"original_text", "original", "content"})


def _hidden_keys() -> frozenset[str]:
    return frozenset() if access.can_see_original_text(g.grants) else ORIGINAL_TEXT_KEYS


def _select(name: str, label: str, values: list[str], selected: str | None, any_text: str) -> dict[str, Any]:
    items = [{"value": "", "text": any_text}]
    items += [{"value": v, "text": v, "selected": v == selected} for v in values]
    return {"id": name, "name": name, "label": {"text": label}, "items": items}


@bp.get("/audit")
@project_page
def project(project: Project) -> ResponseReturnValue:
    db = get_session()
    filters = {k: (request.args.get(k) or None) for k in ("action", "entity_type", "actor")}
    page = fq.audit_events(
        db,
        project,
        filters["action"],
        filters["entity_type"],
        filters["actor"],
        page=request.args.get("page", 1, type=int) or 1,
        size=current_app.config["PAGE_SIZE"],
    )
    facets = fq.audit_facets(db, project)
    selects = [
        _select("action", "Action", facets["actions"], filters["action"], "Any action"),
        _select("entity_type", "Kind of record", facets["entity_types"], filters["entity_type"], "Any kind"),
        _select("actor", "Person", facets["actors"], filters["actor"], "Anyone"),
    ]
    return render_template(
        "audit/project.html",
        project=project,
        page=page,
        selects=selects,
        filter_args={k: v for k, v in filters.items() if v},
        hidden_keys=_hidden_keys(),
    )


@bp.get("/findings/<int:finding_id>/audit")
@project_page
def finding(project: Project, finding_id: int) -> ResponseReturnValue:
    db = get_session()
    found = fq.finding(db, project, finding_id)
    if found is None:
        abort(404)
    row = fq.Lookups(db, project).row(found)
    return render_template(
        "audit/finding.html",
        project=project,
        finding=found,
        row=row,
        history=fq.finding_history(db, found),
        hidden_keys=_hidden_keys(),
    )

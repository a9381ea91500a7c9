"""The project navigation: every area of a project, shown only to people who may open it.

Areas are declared once here. An area whose blueprint is not registered is left out, and so is one
the signed-in user's grants do not reach (the same ``PAGE_GRANTS`` table the views apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, url_for

from coproduce.services import access


@dataclass(frozen=True)
class Area:
    endpoint: str
    label: str


PROJECT_AREAS: tuple[Area, ...] = (
    Area("projects.overview", "Overview"),
    Area("findings.index", "Findings"),
    Area("notifications.index", "Notifications"),
    Area("review.queue", "Review"),
    Area("agreement.my_tasks", "Blind coding"),
    Area("themes.index", "Themes"),
    Area("search.index", "Search"),
    Area("agreement.index", "Agreement"),
    Area("imports.new", "Import"),
    Area("runs.index", "Analysis"),
    Area("reports.index", "Reports"),
    Area("audit.project", "Audit"),
    Area("projects.sources", "Sources"),
    Area("projects.flags", "Safeguarding"),
)


def project_navigation() -> list[dict[str, Any]]:
    """GOV.UK service-navigation items for the current project page (empty outside a project)."""
    project = g.get("project")
    grants = g.get("grants")
    if project is None or grants is None:
        return []
    items = []
    for area in PROJECT_AREAS:
        if area.endpoint not in current_app.view_functions:
            continue
        if access.decide(area.endpoint, grants) is not access.Decision.ALLOW:
            continue
        blueprint = area.endpoint.split(".")[0]
        current = request.endpoint == area.endpoint or (
            blueprint != "projects" and (request.endpoint or "").startswith(blueprint + ".")
        )
        items.append({"href": url_for(area.endpoint, slug=project.slug), "text": area.label, "active": current})
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.globals["project_navigation"] = project_navigation

"""Projects: create one on a framework, find one by its slug."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.services.audit import Actor, record
from coproduce.services.frameworks import store_framework
from coproduce.store.models import PANEL_ROLES, Panel, Project

DEFAULT_SIGNOFF_RULE = {"require_roles": list(PANEL_ROLES)}


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:80] or "project"


def create_project(
    session: Session,
    actor: Actor,
    name: str,
    framework: FrameworkSpec,
    *,
    slug: str | None = None,
    description: str = "",
) -> Project:
    name = name.strip()
    if not name:
        raise BadInputError("a project needs a name", field="name")
    slug = slug or slugify(name)
    if session.scalar(select(Project).where(Project.slug == slug)) is not None:
        raise BadInputError(f"a project called {slug!r} already exists", field="name", hint="Choose another name")
    stored = store_framework(session, framework)
    project = Project(
        slug=slug,
        name=name,
        description=description,
        framework_id=stored.id,
        signoff_rule=dict(DEFAULT_SIGNOFF_RULE),
    )
    session.add(project)
    session.flush()
    session.add(Panel(project_id=project.id, name=f"{name} co-production panel"))
    record(
        session,
        actor,
        "project.create",
        "project",
        project.id,
        project_id=project.id,
        after={"name": name, "slug": slug, "framework": f"{framework.name} v{framework.version}"},
    )
    return project


def get_project(session: Session, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        known = ", ".join(session.scalars(select(Project.slug).order_by(Project.slug))) or "none yet"
        raise BadInputError(f"no project called {slug!r}", field="project", hint=f"Known projects: {known}")
    return project

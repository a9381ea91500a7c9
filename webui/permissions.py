"""The one decorator that applies ``coproduce.services.access.PAGE_GRANTS`` to project pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from coproduce.services import access
from coproduce.store.models import Project
from webui.db import get_session

View = Callable[..., ResponseReturnValue]


def project_page(view: View) -> View:
    """Load the project named by the ``slug`` URL part and check the signed-in user may open this page.

    Non-members get 404, as if the project did not exist; members without the grant get 403.
    The view receives ``project`` instead of ``slug``; the user's grants are on ``g.grants``.
    """

    @wraps(view)
    @login_required
    def wrapped(slug: str, **kwargs: Any) -> ResponseReturnValue:
        db = get_session()
        project = db.scalar(select(Project).where(Project.slug == slug))
        if project is None:
            abort(404)
        grants = access.grants_for(db, current_user.user, project)
        decision = access.decide(request.endpoint or "", grants)
        if decision is access.Decision.NOT_FOUND:
            abort(404)
        if decision is access.Decision.FORBIDDEN:
            abort(403)
        g.project = project
        g.grants = grants
        return view(project=project, **kwargs)

    return wrapped

"""Every project route, how to reach it in the seeded data, and who may use it.

The policy is written out by hand, so a change to ``coproduce.services.access.PAGE_GRANTS`` has to
be made here as well. ``test_permissions`` walks this table for every grant; ``test_csrf`` posts to
every POST route without a token. Add a row for every new route, in its area's section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.webui.conftest import GRANTS, Seed

EVERYONE = {g: 200 for g in GRANTS} | {"outsider": 404}


def only(*grants: str) -> dict[str, int]:
    """200 for ``grants``, 403 for every other member, 404 for the outsider."""
    return {g: 403 for g in GRANTS} | dict.fromkeys(grants, 200) | {"outsider": 404}


STAFF = only("admin", "analyst", "site_admin")
ADMINS = only("admin", "site_admin")
# The seeded safeguarding lead is also a professional on the panel, so panel-member pages let them in.
PANEL = only("parent_carer", "young_person", "professional", "safeguarding_lead")
REVIEWERS = only("admin", "analyst", "site_admin", "parent_carer", "young_person", "professional", "safeguarding_lead")


@dataclass(frozen=True)
class Route:
    url: Callable[[Seed], str]
    policy: dict[str, int]  # grant -> status; for POST, 200 means "allowed" (any answer but 403 or 404)
    data: Callable[[Seed], dict[str, Any]] = field(default=lambda s: {})


def p(seed: Seed) -> str:
    return f"/projects/{seed.project_slug}"


# (endpoint, method) -> route
ROUTES: dict[tuple[str, str], Route] = {
    # ---------------------------------------------------------------- projects
    ("projects.overview", "GET"): Route(lambda s: p(s), EVERYONE),
    ("projects.question_responses", "GET"): Route(lambda s: f"{p(s)}/questions/{s.question_numbers[0]}", EVERYONE),
    ("projects.respondent", "GET"): Route(lambda s: f"{p(s)}/respondents/{s.respondent_id}", EVERYONE),
    ("projects.response", "GET"): Route(lambda s: f"{p(s)}/responses/{s.personal_response_id}", EVERYONE),
    ("projects.sources", "GET"): Route(lambda s: f"{p(s)}/sources", STAFF),
    ("projects.flags", "GET"): Route(
        lambda s: f"{p(s)}/safeguarding", only("admin", "site_admin", "safeguarding_lead")
    ),
    # ---------------------------------------------------------------- findings, sign-off and audit
    # ---------------------------------------------------------------- review and search
    # ---------------------------------------------------------------- themes and agreement
    # ---------------------------------------------------------------- import, analysis runs and easy read
    # ---------------------------------------------------------------- reports
}

"""Every project route, how to reach it in the seeded data, and who may use it.

The policy is written out by hand, so a change to ``coproduce.services.access.PAGE_GRANTS`` has to
be made here as well. ``test_permissions`` walks this table for every grant; ``test_csrf`` posts to
every POST route without a token. Add a row for every new route, in its area's section.
"""

from __future__ import annotations

import io
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
    ("projects.question_overview", "GET"): Route(
        lambda s: f"{p(s)}/questions/{s.question_numbers[1]}/overview", EVERYONE
    ),
    # ---------------------------------------------------------------- findings, sign-off and audit
    ("findings.index", "GET"): Route(lambda s: f"{p(s)}/findings/", EVERYONE),
    ("findings.detail", "GET"): Route(lambda s: f"{p(s)}/findings/{s.finding_ids[0]}", EVERYONE),
    ("findings.sign", "POST"): Route(
        lambda s: f"{p(s)}/findings/{s.finding_ids[0]}/sign", PANEL, data=lambda s: {"decision": "approve"}
    ),
    ("findings.edit", "POST"): Route(
        lambda s: f"{p(s)}/findings/{s.finding_ids[0]}/statement",
        STAFF,
        data=lambda s: {"statement": "Families told us the waits are too long."},
    ),
    ("findings.you_said_we_did", "POST"): Route(
        lambda s: f"{p(s)}/findings/{s.finding_ids[0]}/you-said-we-did",
        STAFF,
        data=lambda s: {"you_said_we_did": "We now publish waiting times."},
    ),
    ("findings.rule", "GET"): Route(lambda s: f"{p(s)}/findings/sign-off-rule", ADMINS),
    ("findings.rule_update", "POST"): Route(
        lambda s: f"{p(s)}/findings/sign-off-rule",
        ADMINS,
        data=lambda s: {"require_parent_carer": "1", "require_young_person": "1", "require_professional": "2"},
    ),
    ("audit.project", "GET"): Route(lambda s: f"{p(s)}/audit", STAFF),
    ("audit.finding", "GET"): Route(lambda s: f"{p(s)}/findings/{s.finding_ids[0]}/audit", EVERYONE),
    ("notifications.index", "GET"): Route(lambda s: f"{p(s)}/notifications/", EVERYONE),
    ("notifications.mark_read", "POST"): Route(
        lambda s: f"{p(s)}/notifications/read", EVERYONE, data=lambda s: {"notification_id": "all"}
    ),
    # ---------------------------------------------------------------- review and search
    ("review.queue", "GET"): Route(lambda s: f"{p(s)}/review", REVIEWERS),
    ("review.decide", "POST"): Route(
        lambda s: f"{p(s)}/review/decide",
        REVIEWERS,
        lambda s: {"assignment_id": s.assignment_ids[0], "decision": "accept"},
    ),
    ("review.recode", "POST"): Route(
        lambda s: f"{p(s)}/review/recode",
        REVIEWERS,
        lambda s: {"assignment_id": s.assignment_ids[1], "to_code": "WAIT"},
    ),
    ("review.add_code", "POST"): Route(
        lambda s: f"{p(s)}/review/add-code", REVIEWERS, lambda s: {"segment_id": s.segment_ids[1], "code": "MORE"}
    ),
    ("review.set_stance", "POST"): Route(
        lambda s: f"{p(s)}/review/stance", REVIEWERS, lambda s: {"segment_id": s.segment_ids[0], "stance": "recommend"}
    ),
    ("review.bulk", "POST"): Route(
        lambda s: f"{p(s)}/review/bulk",
        REVIEWERS,
        lambda s: {"assignment_id": list(s.assignment_ids), "action": "reject"},
    ),
    ("review.mark_seen", "POST"): Route(
        lambda s: f"{p(s)}/review/seen", REVIEWERS, lambda s: {"segment_id": list(s.segment_ids)}
    ),
    ("search.index", "GET"): Route(lambda s: f"{p(s)}/search?q=waited", EVERYONE),
    # ---------------------------------------------------------------- themes and agreement
    ("themes.index", "GET"): Route(lambda s: f"{p(s)}/themes", EVERYONE),
    ("themes.detail", "GET"): Route(lambda s: f"{p(s)}/themes/{s.theme_id}", EVERYONE),
    ("themes.rename", "POST"): Route(
        lambda s: f"{p(s)}/themes/{s.theme_id}/rename", STAFF, lambda s: {"label": "Waiting too long", "version": "1"}
    ),
    ("themes.describe", "POST"): Route(
        lambda s: f"{p(s)}/themes/{s.theme_id}/describe", STAFF, lambda s: {"description": "Delays", "version": "1"}
    ),
    # The seed has one theme: merge and move are refused as bad input (400), which still proves who may try.
    ("themes.merge", "POST"): Route(lambda s: f"{p(s)}/themes/{s.theme_id}/merge", STAFF, lambda s: {"version": "1"}),
    ("themes.split", "POST"): Route(
        lambda s: f"{p(s)}/themes/{s.theme_id}/split",
        STAFF,
        lambda s: {"segment_ids": str(s.segment_ids[0]), "new_label": "Split off", "version": "1"},
    ),
    ("themes.move", "POST"): Route(lambda s: f"{p(s)}/themes/{s.theme_id}/move", STAFF, lambda s: {"version": "1"}),
    ("agreement.index", "GET"): Route(lambda s: f"{p(s)}/agreement", STAFF),
    ("agreement.draw", "POST"): Route(
        lambda s: f"{p(s)}/agreement/samples", STAFF, lambda s: {"size": "1", "seed": "1"}
    ),
    ("agreement.my_tasks", "GET"): Route(lambda s: f"{p(s)}/blind-coding", PANEL),
    # Tasks are per coder and the seed has none: "next" shows the next one, or that there is nothing left.
    ("agreement.task", "GET"): Route(lambda s: f"{p(s)}/blind-coding/next", PANEL),
    ("agreement.submit", "POST"): Route(lambda s: f"{p(s)}/blind-coding", PANEL, lambda s: {"task_id": "0"}),
    # ---------------------------------------------------------------- import, analysis runs and easy read
    # Import: the upload row sends a real two-line CSV (it is stored and previewed, nothing is imported);
    # confirm names an upload that does not exist (410, "upload again"), as the table cannot make one.
    ("imports.new", "GET"): Route(lambda s: f"{p(s)}/import", STAFF),
    ("imports.upload", "POST"): Route(
        lambda s: f"{p(s)}/import",
        STAFF,
        lambda s: {
            "file": (io.BytesIO(b"id,What has worked well for your family?\nR1,The speech therapist\n"), "small.csv"),
            "kind": "survey",
        },
    ),
    ("imports.confirm", "POST"): Route(lambda s: f"{p(s)}/import/{'0' * 32}", STAFF, lambda s: {"action": "preview"}),
    ("imports.job", "GET"): Route(lambda s: f"{p(s)}/import/jobs/no-such-job", STAFF),
    # Analysis runs: the seed's finished run. The start row posts from a page older than that run,
    # which is refused ("someone started one since"), so the table test never loads the models.
    ("runs.index", "GET"): Route(lambda s: f"{p(s)}/analysis", STAFF),
    ("runs.start", "POST"): Route(lambda s: f"{p(s)}/analysis", STAFF, lambda s: {"after_run": "0"}),
    ("runs.status", "GET"): Route(lambda s: f"{p(s)}/analysis/{s.run_id}", STAFF),
    ("runs.progress", "GET"): Route(lambda s: f"{p(s)}/analysis/{s.run_id}/progress", STAFF),
    ("runs.cancel", "POST"): Route(lambda s: f"{p(s)}/analysis/{s.run_id}/cancel", STAFF),
    ("easyread.start", "GET"): Route(lambda s: f"{p(s)}/easy-read", EVERYONE),
    ("easyread.finding", "GET"): Route(lambda s: f"{p(s)}/easy-read/1", EVERYONE),
    # ---------------------------------------------------------------- reports
    ("reports.index", "GET"): Route(lambda s: f"{p(s)}/reports", STAFF),
    ("reports.create", "POST"): Route(lambda s: f"{p(s)}/reports", STAFF, data=lambda s: {"format": "qdc"}),
    ("reports.download", "GET"): Route(lambda s: f"{p(s)}/reports/{s.project_slug}-codebook.qdc", STAFF),
}

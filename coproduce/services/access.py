"""Who may see what: one table of page x grant, small permission helpers, and the login throttle.

A *grant* is what a user holds in one project: their membership role (``admin``, ``analyst``,
``parent_carer``, ``young_person``, ``professional``, ``observer``), plus ``site_admin`` for site
administrators and ``safeguarding_lead`` for the project's named safeguarding lead. A user with no
grant in a project does not belong to it and is told it does not exist (404), so that project names
do not leak; a user who belongs but lacks the grant a page needs is refused (403).

The web UI applies :data:`PAGE_GRANTS` through one decorator, and a test walks the table.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.orm import Session

from coproduce.services.audit import Actor, record
from coproduce.services.users import authenticate, role_in
from coproduce.store.models import MEMBERSHIP_ROLES, PANEL_ROLES, Project, User

SITE_ADMIN = "site_admin"
SAFEGUARDING_LEAD = "safeguarding_lead"
GRANTS: tuple[str, ...] = (*MEMBERSHIP_ROLES, SITE_ADMIN, SAFEGUARDING_LEAD)

EVERY_MEMBER = frozenset({*MEMBERSHIP_ROLES, SITE_ADMIN})
STAFF = frozenset({"admin", "analyst", SITE_ADMIN})
ADMINS = frozenset({"admin", SITE_ADMIN})
SAFEGUARDING = frozenset({"admin", SITE_ADMIN, SAFEGUARDING_LEAD})
# Blind coding: panel members only (each task only for the member it was given to).
PANEL = frozenset(PANEL_ROLES)
# Segment review: staff and panel members (observers only read).
REVIEWERS = STAFF | frozenset(PANEL_ROLES)

# Project pages (blueprint endpoint) -> the grants that may open them. Panel members and observers see
# counts and redacted text only; which fields a page shows is decided by the helpers below.
PAGE_GRANTS: Mapping[str, frozenset[str]] = {
    "projects.overview": EVERY_MEMBER,
    "projects.question_responses": EVERY_MEMBER,
    "projects.respondent": EVERY_MEMBER,
    "projects.response": EVERY_MEMBER,
    "projects.sources": STAFF,
    "projects.flags": SAFEGUARDING,
    # Findings: every member reads them; panel members sign; staff edit; admins set the sign-off rule.
    "findings.index": EVERY_MEMBER,
    "findings.detail": EVERY_MEMBER,
    "findings.sign": PANEL,
    "findings.edit": STAFF,
    "findings.you_said_we_did": STAFF,
    "findings.rule": ADMINS,
    "findings.rule_update": ADMINS,
    "audit.project": STAFF,
    "audit.finding": EVERY_MEMBER,
    "notifications.index": EVERY_MEMBER,
    "notifications.mark_read": EVERY_MEMBER,
    "imports.new": STAFF,
    "imports.upload": STAFF,
    "imports.confirm": STAFF,
    "imports.job": STAFF,
    "runs.index": STAFF,
    "runs.start": STAFF,
    "runs.status": STAFF,
    "runs.progress": STAFF,
    "runs.cancel": STAFF,
    "projects.question_overview": EVERY_MEMBER,
    "easyread.start": EVERY_MEMBER,
    "easyread.finding": EVERY_MEMBER,
    "review.queue": REVIEWERS,
    "review.decide": REVIEWERS,
    "review.recode": REVIEWERS,
    "review.add_code": REVIEWERS,
    "review.set_stance": REVIEWERS,
    "review.bulk": REVIEWERS,
    "review.mark_seen": REVIEWERS,
    "search.index": EVERY_MEMBER,
    # Themes are analysis artefacts: every member reads them, staff edit them.
    "themes.index": EVERY_MEMBER,
    "themes.detail": EVERY_MEMBER,
    "themes.rename": STAFF,
    "themes.describe": STAFF,
    "themes.merge": STAFF,
    "themes.split": STAFF,
    "themes.move": STAFF,
    "agreement.index": STAFF,
    "agreement.draw": STAFF,
    "agreement.my_tasks": PANEL,
    "agreement.task": PANEL,
    "agreement.submit": PANEL,
    "reports.index": STAFF,
    "reports.create": STAFF,
    "reports.download": STAFF,
}


class Decision(Enum):
    ALLOW = "allow"
    FORBIDDEN = "forbidden"  # belongs to the project, lacks the grant: 403
    NOT_FOUND = "not_found"  # does not belong to the project: 404


def grants_for(session: Session, user: User, project: Project) -> frozenset[str]:
    """Everything ``user`` holds in ``project``; empty when they do not belong to it."""
    grants: set[str] = set()
    role = role_in(session, user, project)
    if role is not None:
        grants.add(role)
    if user.is_site_admin:
        grants.add(SITE_ADMIN)
    if project.safeguarding_lead_id is not None and project.safeguarding_lead_id == user.id:
        grants.add(SAFEGUARDING_LEAD)
    return frozenset(grants)


def decide(endpoint: str, grants: Iterable[str]) -> Decision:
    """Whether a user holding ``grants`` may open ``endpoint``. Unknown endpoints are refused."""
    held = frozenset(grants)
    if not held:
        return Decision.NOT_FOUND
    allowed = PAGE_GRANTS.get(endpoint, frozenset())
    return Decision.ALLOW if held & allowed else Decision.FORBIDDEN


def can_see_original_text(grants: Iterable[str]) -> bool:
    """Unredacted text (responses and rejected rows): project admins and site admins only."""
    return bool(ADMINS & frozenset(grants))


def can_see_respondent_details(grants: Iterable[str]) -> bool:
    """Identifying context (external id, setting, area, who recorded it): admins and analysts."""
    return bool(STAFF & frozenset(grants))


def can_see_sources(grants: Iterable[str]) -> bool:
    return bool(PAGE_GRANTS["projects.sources"] & frozenset(grants))


def can_see_flags(grants: Iterable[str]) -> bool:
    return bool(PAGE_GRANTS["projects.flags"] & frozenset(grants))


def is_panel_member(grants: Iterable[str]) -> bool:
    return bool(frozenset(PANEL_ROLES) & frozenset(grants))


class LoginThrottle:
    """Counts failed logins per key (an account, a client address) in a sliding window.

    In memory and per process: enough for the single-process server this product runs, and it
    forgets on restart, which only ever loosens it.
    """

    MAX_KEYS = 10_000

    def __init__(self, limit: int, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"login attempt limit must be at least 1, not {limit}")
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def blocked(self, keys: Iterable[str]) -> bool:
        """True when any key has reached the limit within the window."""
        now = self._clock()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def record_failure(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > self.MAX_KEYS:  # many distinct keys: drop the expired ones
                for key in list(self._failures):
                    self._recent(key, now)
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def throttle_keys(email: str, client_address: str | None) -> tuple[str, str]:
    """The keys one login attempt counts against: the account as typed, and the client address."""
    return (f"account:{email.strip().lower()}", f"address:{client_address or 'unknown'}")


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None  # None: refused (wrong email or password, inactive, or throttled)
    throttled: bool


def attempt_login(
    session: Session,
    throttle: LoginThrottle,
    email: str,
    password: str,
    client_address: str | None,
) -> LoginOutcome:
    """Check a login attempt against the throttle and the password; record it in the audit log.

    The caller commits. Whatever the reason for a failure, the caller should tell the person
    the same thing, so that nobody can learn whether an account exists.
    """
    keys = throttle_keys(email, client_address)
    typed = email.strip().lower()
    # Keep what was typed only if it looks like an address: people sometimes type a password there.
    shown = typed[:320] if "@" in typed else "(not an email address)"
    web = Actor(label=f"web:{client_address or 'unknown'}"[:200])
    if throttle.blocked(keys):
        record(session, web, "auth.login_throttled", "user", None, after={"email": shown})
        return LoginOutcome(user=None, throttled=True)
    user = authenticate(session, email, password)
    if user is None:
        throttle.record_failure(keys)
        record(session, web, "auth.login_failed", "user", None, after={"email": shown})
        return LoginOutcome(user=None, throttled=False)
    throttle.clear(keys[0])  # the address keeps its count: one good password must not reset a spray
    record(session, Actor.of(user), "auth.login", "user", user.id, after={"address": client_address})
    return LoginOutcome(user=user, throttled=False)


def record_logout(session: Session, user: User) -> None:
    record(session, Actor.of(user), "auth.logout", "user", user.id)

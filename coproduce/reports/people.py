"""People in reports: by role, never by name.

Accounts carry no consent to be named in a published report, so every report and export shows a
person as a stable role pseudonym ("Parent carer 2", "Analyst 1"): the same person gets the same
pseudonym in every format generated from one project, and the numbering follows the order people
joined the project, so it does not change when someone else is added later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.store.models import Membership, Project

ROLE_NAMES = {
    "admin": "Project admin",
    "analyst": "Analyst",
    "parent_carer": "Parent carer",
    "young_person": "Young person",
    "professional": "Professional",
    "observer": "Observer",
    "site_admin": "Site admin",
}
ROLE_PLURALS = {
    "admin": "Project admins",
    "analyst": "Analysts",
    "parent_carer": "Parent carers",
    "young_person": "Young people",
    "professional": "Professionals",
    "observer": "Observers",
}


def role_name(role: str | None) -> str:
    return ROLE_NAMES.get(role or "", (role or "Someone").replace("_", " ").capitalize())


@dataclass
class Pseudonyms:
    roles: dict[int, str]  # user id -> current role in the project
    names: dict[int, str] = field(default_factory=dict)
    _extra: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_project(cls, session: Session, project: Project) -> Pseudonyms:
        rows = session.execute(
            select(Membership.user_id, Membership.role)
            .where(Membership.project_id == project.id)
            .order_by(Membership.id)
        ).all()
        roles: dict[int, str] = {}
        names: dict[int, str] = {}
        seen: Counter[str] = Counter()
        for user_id, role in rows:
            seen[role] += 1
            roles[user_id] = role
            names[user_id] = f"{role_name(role)} {seen[role]}"
        return cls(roles, names, seen)

    def name(self, user_id: int | None, role: str | None = None) -> str:
        """The pseudonym for ``user_id``; people who are no longer members are numbered after the rest."""
        if user_id is None:
            return role_name(role) if role else "Someone"
        if user_id not in self.names:
            kind = role or "former_member"
            self._extra[kind] += 1
            label = role_name(role) if role else "Former member"
            self.names[user_id] = f"{label} {self._extra[kind]}"
            self.roles.setdefault(user_id, kind)
        return self.names[user_id]

    def role(self, user_id: int | None) -> str | None:
        return self.roles.get(user_id) if user_id is not None else None

    def by_role(self) -> dict[str, int]:
        """How many members hold each role, in the usual order."""
        counts = Counter(self.roles[u] for u in self.roles if self.roles[u] in ROLE_NAMES)
        return {role: counts[role] for role in ROLE_NAMES if counts[role]}

"""Record audit events: every change is a new row saying who, when, what, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from coproduce.store.models import AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who did something: a signed-in user, the command line, or the model."""

    label: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(label=user.email, user_id=user.id)

    @classmethod
    def cli(cls) -> Actor:
        import getpass

        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name in some containers
            name = "unknown"
        return cls(label=f"cli:{name}")


MODEL_ACTOR = Actor(label="model")


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's current transaction (it commits or rolls back with the change)."""
    event = AuditEvent(
        project_id=project_id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(event)
    return event

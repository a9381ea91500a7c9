"""In-app notifications: what a person is told (e.g. a finding they signed off has changed), and reading them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce.services.audit import Actor, record
from coproduce.store.models import Notification, Project, User, utcnow


def unread_count(session: Session, user: User, project: Project) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.project_id == project.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(session: Session, actor: Actor, user: User, project: Project, ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s unread notifications in ``project`` as read (only ``ids`` when given); returns how many.

    Someone else's notifications are never touched, whatever ids are passed.
    """
    query = select(Notification).where(
        Notification.user_id == user.id, Notification.project_id == project.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    rows = list(session.scalars(query))
    now = utcnow()
    for row in rows:
        row.read_at = now
    if rows:
        session.flush()
        record(
            session,
            actor,
            "notification.read",
            "notification",
            rows[0].id if len(rows) == 1 else None,
            project_id=project.id,
            after={"notifications": [r.id for r in rows]},
        )
    return len(rows)

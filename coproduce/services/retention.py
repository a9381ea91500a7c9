"""Retention: erase respondents whose responses were imported longer ago than their project keeps data.

Each project may set ``retention_days``; a project without one uses the ``default_retention_days``
setting, and 0 (or nothing) keeps data until someone erases it. A respondent's age is the time
their source file was imported. ``apply_retention`` is meant for a daily cron job
(``coproduce retention apply``); it erases through ``services.erasure``, one transaction per
project, so findings are recounted once per project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.services.erasure import ErasureReport, erase_respondents
from coproduce.store.models import Project, Respondent, Source, utcnow

MAX_RETENTION_DAYS = 36500


@dataclass
class RetentionResult:
    project_slug: str
    days: int
    cutoff: datetime | None
    erased: list[ErasureReport] = field(default_factory=list)

    def summary(self, applied: bool) -> str:
        if not self.days:
            return f"{self.project_slug}: keeps data (no retention period)."
        verb = "erased" if applied else "would erase"
        return (
            f"{self.project_slug}: keeps {self.days} days (imported before {self.cutoff:%Y-%m-%d %H:%M} UTC); "
            f"{verb} {len(self.erased)} respondent(s)."
        )


def set_retention(session: Session, actor: Actor, project: Project, days: int | None) -> None:
    """Set the project's retention period in days (None: use the default setting)."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise BadInputError(
            f"the retention period must be between 1 and {MAX_RETENTION_DAYS} days",
            field="days",
            hint="Use --keep to keep data until it is erased by hand",
        )
    before = project.retention_days
    if before == days:
        return
    project.retention_days = days
    record(
        session,
        actor,
        "project.retention",
        "project",
        project.id,
        project_id=project.id,
        before={"retention_days": before},
        after={"retention_days": days},
    )


def retention_days(project: Project, settings: Settings) -> int:
    return project.retention_days if project.retention_days is not None else settings.default_retention_days


def due_respondents(session: Session, project: Project, cutoff: datetime) -> list[Respondent]:
    """Respondents of ``project`` whose source was imported before ``cutoff``."""
    return list(
        session.scalars(
            select(Respondent)
            .join(Source, Respondent.source_id == Source.id)
            .where(Respondent.project_id == project.id, Source.imported_at < cutoff)
            .order_by(Respondent.id)
        )
    )


def apply_retention(
    factory: sessionmaker[Session],
    settings: Settings,
    actor: Actor,
    *,
    apply: bool = True,
    now: datetime | None = None,
) -> list[RetentionResult]:
    """Erase every respondent past their project's retention period (or, with ``apply=False``, count them)."""
    now = now or utcnow()
    with factory() as session:
        projects = [(p.id, p.slug) for p in session.scalars(select(Project).order_by(Project.slug))]
    results = []
    for project_id, slug in projects:
        with factory() as session:
            session.begin()
            project = session.get(Project, project_id)
            if project is None:
                continue
            days = retention_days(project, settings)
            result = RetentionResult(slug, days, now - timedelta(days=days) if days else None)
            results.append(result)
            if result.cutoff is None:
                continue
            due = due_respondents(session, project, result.cutoff)
            if due:
                result.erased = erase_respondents(
                    session, settings, project, due, actor, reason=f"retention: {days} days", apply=apply
                )
            if apply:
                session.commit()  # a dry run rolls back when the session closes
    return results

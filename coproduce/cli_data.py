"""Data-protection commands: erasure, retention, audit verification, backup and restore.

Mounted on the main ``coproduce`` app by :func:`register`; each command calls one service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from coproduce.services.audit import Actor

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Erase data past each project's retention period.", no_args_is_help=True)

InstanceOpt = Annotated[Path | None, typer.Option("--instance", help="Instance folder (database, secret key).")]
DatabaseOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL; overrides the setting.")]


def _settings(instance: Path | None, database_url: str | None):  # type: ignore[no-untyped-def]
    from coproduce.config import Settings

    return Settings.from_env(instance_dir=instance, database_url=database_url)


def _factory(settings):  # type: ignore[no-untyped-def]
    from coproduce.store.db import make_engine, make_session_factory
    from coproduce.store.schema import upgrade

    engine = make_engine(settings)
    upgrade(engine)
    return make_session_factory(engine)


@audit_app.command("verify")
def audit_verify(instance: InstanceOpt = None, database_url: DatabaseOpt = None) -> None:
    """Check the audit log's hash chain; exits 1 naming the first event edited, deleted, inserted or reordered."""
    from coproduce.services.audit_verify import verify_chain

    factory = _factory(_settings(instance, database_url))
    with factory() as session:
        report = verify_chain(session.connection())
    if report.ok:
        out.print(report.summary(), markup=False)
        return
    err.print(report.summary(), markup=False, highlight=False)
    raise typer.Exit(1)


def erase(
    project: Annotated[str, typer.Option("--project", "-p", help="Project slug.")],
    respondent: Annotated[str, typer.Option("--respondent", "-r", help="Respondent id, or external id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase; without it, only show what would go.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Erase a respondent and everything derived from them (UK GDPR). Shows what would go unless --yes."""
    from coproduce.services.erasure import erase_respondent

    s = _settings(instance, database_url)
    report = erase_respondent(_factory(s), s, project, respondent, Actor.cli(), apply=yes)
    out.print(report.summary(), markup=False)


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count who would be erased.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Erase respondents imported longer ago than their project's retention period (run it daily from cron)."""
    from coproduce.services.retention import apply_retention

    s = _settings(instance, database_url)
    for result in apply_retention(_factory(s), s, Actor.cli(), apply=not dry_run):
        out.print(result.summary(applied=not dry_run), markup=False)


def project_retention(
    project: Annotated[str, typer.Option("--project", "-p", help="Project slug.")],
    days: Annotated[int | None, typer.Option(help="Keep respondents this many days after import.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="No period of its own: use default_retention_days.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Show or set a project's retention period."""
    from coproduce.errors import BadInputError
    from coproduce.services.projects import get_project
    from coproduce.services.retention import retention_days, set_retention
    from coproduce.store.db import transaction

    if days is not None and keep:
        raise BadInputError("give --days or --keep, not both", field="days")
    s = _settings(instance, database_url)
    with transaction(_factory(s)) as session:
        p = get_project(session, project)
        if days is not None or keep:
            set_retention(session, Actor.cli(), p, days)
        effective = retention_days(p, s)
        own = "its own setting" if p.retention_days is not None else "the default_retention_days setting"
        shown = f"{effective} days" if effective else "until erased by hand"
        out.print(f"{p.slug} keeps respondents {shown} ({own}).", markup=False)


def backup(
    to: Annotated[Path, typer.Option("--to", help="The archive to write (.tar.gz).")],
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Back up the database and the instance files (embedding cache, secret key, uploads) to one archive."""
    from coproduce.services.backup import backup as run_backup
    from coproduce.store.db import make_engine
    from coproduce.store.schema import upgrade

    s = _settings(instance, database_url)
    engine = make_engine(s)
    upgrade(engine)
    out.print(run_backup(s, engine, to).summary(), markup=False)


def restore(
    from_: Annotated[Path, typer.Option("--from", help="The archive `coproduce backup` wrote.")],
    force: Annotated[bool, typer.Option("--force", help="Replace whatever the database holds.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Restore a backup into an empty database (or, with --force, over one), then verify the audit log."""
    from coproduce.services.backup import restore as run_restore
    from coproduce.store.db import make_engine

    s = _settings(instance, database_url)
    report = run_restore(s, make_engine(s), from_, force=force)
    out.print(report.summary(), markup=False)
    if not report.chain.ok:
        raise typer.Exit(1)


def register(app: typer.Typer, project_app: typer.Typer) -> None:
    """Mount these commands on the main app."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(retention_app, name="retention")
    app.command("erase")(erase)
    app.command("backup")(backup)
    app.command("restore")(restore)
    project_app.command("retention")(project_retention)

"""The ``coproduce`` command line. Thin: each command parses options and calls one service.

Exit codes: 0 on success, 2 on bad input (the reason goes to standard error), 1 on anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from coproduce import __version__
from coproduce.cli_data import register as register_data_commands
from coproduce.cli_worker import worker as worker_command
from coproduce.config import Settings, settings_markdown
from coproduce.errors import BadInputError, ModelMissingError
from coproduce.services.audit import Actor
from coproduce.store.db import dispose_engines, make_engine, make_session_factory, transaction
from coproduce.store.schema import upgrade

app = typer.Typer(
    help="coproduce: coded, co-produced findings from consultation returns, offline.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts and project roles.", no_args_is_help=True)
project_app = typer.Typer(help="Projects.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(project_app, name="project")
app.command("worker")(worker_command)
register_data_commands(app, project_app)  # erase, retention, audit verify, backup, restore


@app.callback()
def _close_databases_at_the_end(ctx: typer.Context) -> None:
    """Every command closes the database connections it opened when it ends (also when called in-process)."""
    ctx.call_on_close(dispose_engines)


EVAL_HELP = "Measure coding and stance quality on evaluation datasets."


def _mount_eval(argv: list[str]) -> None:
    """Mount ``coproduce eval``. Its module pulls in numpy and scikit-learn (about 1.5 s), so the real
    commands are imported only when the command line asks for them; otherwise an empty group keeps
    ``eval`` listed in ``coproduce --help``."""
    if argv[:1] == ["eval"]:
        from coproduce.evaluation.cli import eval_app
    else:
        eval_app = typer.Typer(help=EVAL_HELP)
    app.registered_groups = [g for g in app.registered_groups if g.name != "eval"]
    app.add_typer(eval_app, name="eval", help=EVAL_HELP)


out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

InstanceOpt = Annotated[Path | None, typer.Option("--instance", help="Instance folder (database, secret key).")]
DatabaseOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL; overrides the setting.")]
ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project slug, as `coproduce project list` shows.")]
JobWorkerOpt = Annotated[
    bool | None,
    typer.Option("--job-worker/--no-job-worker", help="Start a background job worker too (default: start_worker)."),
]


def _progress_bar() -> Progress:
    """Progress on standard error, gone when done, so standard output stays the report."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _settings(instance: Path | None, database_url: str | None) -> Settings:
    return Settings.from_env(instance_dir=instance, database_url=database_url)


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings)
    upgrade(engine)
    return make_session_factory(engine)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def settings(markdown: Annotated[bool, typer.Option(help="Print the documentation table.")] = False) -> None:
    """Show the settings in force (or their documentation with --markdown)."""
    if markdown:
        sys.stdout.write(settings_markdown())
        return
    current = Settings.from_env()
    for name, value in vars(current).items():
        shown = "(set)" if name == "secret_key" and value else value
        out.print(f"{name} = {shown}")


@app.command()
def init(
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
    project: Annotated[str | None, typer.Option(help="Also create a project with this name.")] = None,
    framework: Annotated[Path | None, typer.Option(help="Framework YAML for the new project.")] = None,
) -> None:
    """Create (or upgrade) the database, and optionally a first project."""
    s = _settings(instance, database_url)
    factory = _factory(s)
    out.print(f"Database ready: {s.resolved_database_url}")
    if project:
        _create_project(factory, project, framework or default_framework_path())


@db_app.command("upgrade")
def db_upgrade(instance: InstanceOpt = None, database_url: DatabaseOpt = None) -> None:
    """Apply the shipped migrations to the database."""
    from coproduce.store.schema import current_revision

    s = _settings(instance, database_url)
    engine = make_engine(s)
    upgrade(engine)
    out.print(f"Database at revision {current_revision(engine)}: {s.resolved_database_url}")


@project_app.command("create")
def project_create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    framework: Annotated[
        Path | None, typer.Option(help="Framework YAML or REFI-QDA codebook .qdc (default: the SEND green paper).")
    ] = None,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a project on a coding framework."""
    _create_project(_factory(_settings(instance, database_url)), name, framework or default_framework_path())


def _create_project(factory, name: str, framework_path: Path) -> None:  # type: ignore[no-untyped-def]
    from coproduce.reports.refi_import import load_framework_file
    from coproduce.services.projects import create_project

    spec = load_framework_file(framework_path)  # YAML, or a REFI-QDA codebook (.qdc / .qdpx)
    with transaction(factory) as session:
        project = create_project(session, Actor.cli(), name, spec)
        out.print(f"Created project {project.name!r} (slug: {project.slug}) on {spec.name} v{spec.version}.")


@project_app.command("list")
def project_list(instance: InstanceOpt = None, database_url: DatabaseOpt = None) -> None:
    """List projects."""
    from sqlalchemy import select

    from coproduce.store.models import Project

    with _factory(_settings(instance, database_url))() as session:
        projects = list(session.scalars(select(Project).order_by(Project.slug)))
        if not projects:
            out.print("No projects yet: create one with `coproduce project create NAME`.")
        for p in projects:
            out.print(f"{p.slug}\t{p.name}")


@project_app.command("findings")
def project_findings(
    project_slug: Annotated[str, typer.Option("--project", "-p", help="Project slug.")],
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """List a project's findings with their sign-off state: who approved, who dissented, what is still needed."""
    from sqlalchemy import select

    from coproduce.services.projects import get_project
    from coproduce.services.signoff import signoff_state
    from coproduce.store.models import Finding

    with _factory(_settings(instance, database_url))() as session:
        project = get_project(session, project_slug)
        findings = list(session.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.key)))
        if not findings:
            out.print("No findings yet: run `coproduce analyse` first.")
        for finding in findings:
            state = signoff_state(session, finding)
            needed = ", ".join(f"{n} {role}" for role, n in state.needed.items() if n) or "nothing"
            out.print(f"{finding.key}\t{state.status}\tv{state.version}\tstill needed: {needed}", markup=False)
            for signature in [*state.signatures, *state.earlier_dissents]:
                comment = f": {signature.comment}" if signature.comment else ""
                who = f"{signature.name} ({signature.role}, v{signature.finding_version})"
                out.print(f"    {signature.decision} by {who}{comment}", markup=False)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The file to import (.txt .docx .pdf .csv .xlsx .jsonl).")],
    project: ProjectOpt,
    kind: Annotated[
        str | None,
        typer.Option(help="freeform, survey, voice or family (default: guessed from the file type)."),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping YAML for a survey export.")] = None,
    guess_mapping: Annotated[
        Path | None, typer.Option(help="Write the guessed column mapping of a survey export here and stop.")
    ] = None,
    respondent_type: Annotated[str | None, typer.Option(help="Who wrote a free-form submission.")] = None,
    respondent_name: Annotated[str | None, typer.Option(help="Name of the responding organisation.")] = None,
    consent: Annotated[bool, typer.Option(help="A free-form respondent consented to be quoted.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept a guessed survey mapping without asking.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import a file into a project: all of it or nothing; the same file twice changes nothing."""
    from coproduce.services.imports import SUFFIX_KINDS, import_file

    s = _settings(instance, database_url)
    if guess_mapping is not None:
        _write_guessed_mapping(s, project, file, guess_mapping)
        return
    factory = _factory(s)
    resolved_kind = kind or SUFFIX_KINDS.get(file.suffix.lower())
    if resolved_kind == "survey" and mapping is None and not yes:
        guessed = _guessed_mapping(factory, s, project, file)
        sys.stdout.write(guessed.to_yaml())
        if not typer.confirm("Import with this guessed column mapping?", default=False, err=True):
            err.print("Nothing imported. Save the mapping with --guess-mapping FILE, edit it, and pass --mapping FILE.")
            raise typer.Exit(1)
    with _progress_bar() as bar:
        task = bar.add_task(f"Redacting {file.name}", total=None)
        report = import_file(
            factory,
            s,
            project,
            file,
            Actor.cli(),
            kind=kind,
            mapping=mapping,
            respondent_type=respondent_type,
            respondent_name=respondent_name,
            consent_to_quote=consent,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.print(report.summary())


def _guessed_mapping(factory, s: Settings, project_slug: str, file: Path):  # type: ignore[no-untyped-def]
    from coproduce.importers.survey import guess_mapping
    from coproduce.services.frameworks import spec_from_db
    from coproduce.services.projects import get_project

    with factory() as session:
        framework = spec_from_db(session, get_project(session, project_slug).framework)
    return guess_mapping(file, framework, s)


def _write_guessed_mapping(s: Settings, project_slug: str, file: Path, target: Path) -> None:
    mapping = _guessed_mapping(_factory(s), s, project_slug, file)
    target.write_text(mapping.to_yaml(), encoding="utf-8")
    sys.stdout.write(mapping.to_yaml())
    out.print(
        f"Wrote the guessed mapping to {target}. Check it, edit it, then: "
        f"coproduce import {file} -p {project_slug} --mapping {target}",
        soft_wrap=True,
    )


@app.command()
def analyse(
    project: ProjectOpt,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Segment, embed, code, find themes, stance and campaigns, and build findings. Keeps every human decision."""
    from coproduce.services.analysis import default_pipeline
    from coproduce.services.runs import analyse_project

    s = _settings(instance, database_url)
    factory = _factory(s)
    pipeline = default_pipeline(s)
    with _progress_bar() as bar:
        tasks: dict[str, int] = {}

        def stage_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage.capitalize(), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        # Refuses while another run of the project is running; writes progress where the web UI reads it.
        report = analyse_project(factory, s, project, Actor.cli(), pipeline=pipeline, progress=stage_progress)
    out.print(report.summary())


@app.command()
def export(
    out_file: Annotated[Path, typer.Argument(help="Where to write: a .csv or .xlsx file.")],
    project: ProjectOpt,
    original: Annotated[
        bool, typer.Option(help="Export the original, unredacted text (admins only; the export is audited).")
    ] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Export a project's responses, one row each, redacted by default."""
    from coproduce.services.exports import export_responses

    report = export_responses(
        _factory(_settings(instance, database_url)), project, out_file, Actor.cli(), original=original
    )
    kind = "original" if original else "redacted"
    out.print(f"Wrote {report.rows} responses ({kind} text) to {report.path}.")


@app.command()
def report(
    project: ProjectOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write to (default: instance/reports/PROJECT).")
    ] = None,
    format_: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="html, pdf, docx, xlsx, csv, qdpx, qdc, evidence, easy-read or all (repeat for several; default all).",
        ),
    ] = None,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write the report (HTML, PDF, Word), evidence pack, easy read, coded data and REFI-QDA files."""
    from coproduce.reports import generate

    s = _settings(instance, database_url)
    folder = output or s.instance_dir / "reports" / project
    with _progress_bar() as bar:
        task = bar.add_task("Reports", total=None)
        result = generate(
            _factory(s), project, folder, Actor.cli(), format_, progress=lambda m: bar.update(task, description=m)
        )
    out.print(result.summary())


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    project: Annotated[str | None, typer.Option(help="Add the user to this project.")] = None,
    role: Annotated[str | None, typer.Option(help="Role in the project: admin, analyst, parent_carer, ...")] = None,
    site_admin: Annotated[bool, typer.Option(help="Can see and manage every project.")] = False,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a user, optionally with a role in a project."""
    from coproduce.services.projects import get_project
    from coproduce.services.users import add_member, create_user

    if (project is None) != (role is None):
        raise BadInputError("give --project and --role together", field="role")
    with transaction(_factory(_settings(instance, database_url))) as session:
        actor = Actor.cli()
        user = create_user(session, actor, email, name or email, password, site_admin=site_admin)
        if project and role:
            add_member(session, actor, get_project(session, project), user, role)
    out.print(f"Created user {user.email}" + (f" as {role} in {project}" if project else ""))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
    workers: Annotated[
        int, typer.Option(help="Production mode: serve with gunicorn and this many worker processes (0: dev server).")
    ] = 0,
    threads: Annotated[int, typer.Option(help="Threads per gunicorn worker (with --workers).")] = 4,
    job_worker: JobWorkerOpt = None,
) -> None:
    """Serve the review web UI (Werkzeug's threaded server; gunicorn with --workers)."""
    from coproduce.cli_worker import child_worker
    from webui import serve as run_server

    s = _settings(instance, database_url)
    _factory(s)
    out.print(f"Serving coproduce on http://{host}:{port}/ (Ctrl+C to stop)")
    with child_worker(s.start_worker if job_worker is None else job_worker, instance, database_url):
        if workers:
            from webui.production import serve_gunicorn

            serve_gunicorn(s, host=host, port=port, workers=workers, threads=threads)
            return
        run_server(s, host=host, port=port)


@app.command()
def demo(
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the review UI afterwards.")] = True,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    instance: InstanceOpt = None,
    database_url: DatabaseOpt = None,
    job_worker: JobWorkerOpt = None,
) -> None:
    """Set up the demo: database, demo project, the bundled sample corpus, demo accounts; then serve."""
    from coproduce.services.demo import DEMO_SLUG, build_demo

    s = _settings(instance, database_url)
    factory = _factory(s)
    for line in build_demo(factory, s, progress=lambda message: err.print(message)):
        out.print(line)
    if _needs_analysis(factory):
        err.print("Analysing the demo project (the first run loads the models and embeds every sentence) ...")
        analyse(project=DEMO_SLUG, instance=instance, database_url=database_url)
    else:
        out.print("The demo project's analysis is up to date with its imports.")
    if serve_ui:
        serve(host=host, port=port, instance=instance, database_url=database_url, job_worker=job_worker)


def _needs_analysis(factory) -> bool:  # type: ignore[no-untyped-def]
    """True when the demo project has no finished analysis newer than its last import."""
    from sqlalchemy import func, select

    from coproduce.services.demo import DEMO_SLUG
    from coproduce.services.projects import get_project
    from coproduce.store.models import AnalysisRun, Source

    with factory() as session:
        project = get_project(session, DEMO_SLUG)
        last_import = session.scalar(select(func.max(Source.imported_at)).where(Source.project_id == project.id))
        last_run = session.scalar(
            select(func.max(AnalysisRun.started_at)).where(
                AnalysisRun.project_id == project.id, AnalysisRun.status == "finished"
            )
        )
    return last_run is None or (last_import is not None and last_import > last_run)


def default_framework_path() -> Path:
    from coproduce.services.demo import corpus_dir

    return corpus_dir() / "frameworks" / "send-green-paper-2022.yaml"


def main() -> None:
    _mount_eval(sys.argv[1:])
    try:
        code = app(standalone_mode=False)  # returns typer.Exit's code instead of exiting
        if isinstance(code, int) and code:
            sys.exit(code)
    except BadInputError as exc:
        err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(2)
    except ModelMissingError as exc:
        err.print(f"[bold red]Missing model:[/] {exc}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(1)
    except Exception as exc:
        # Usage errors from the command-line parser (typer vendors its own click) carry their exit code.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()

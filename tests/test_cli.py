"""The command line end to end on a temporary database (SQLite, or PostgreSQL: tests/dbtarget.py)."""

from __future__ import annotations

import sys

import pytest

from coproduce.cli import main
from tests.conftest import SEED
from tests.webui import conftest as web

seed = web.seed  # the web tests' seeded project, as a fixture here too


def run(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["coproduce", *args])
    monkeypatch.setenv("COLUMNS", "200")
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["import"],
        ["serve"],
        ["export"],
        ["demo"],
        ["user", "add"],
        ["db", "upgrade"],
        ["project", "create"],
        ["project", "list"],
        ["project", "findings"],
        ["settings"],
    ],
)
def test_every_command_has_help(capsys, monkeypatch, command):
    code, out, _ = run(capsys, monkeypatch, *command, "--help")
    assert code == 0 and "Usage" in out


def test_init_import_and_user_add(capsys, monkeypatch, tmp_path, empty_database):
    instance = str(tmp_path / "inst")
    code, out, err = run(capsys, monkeypatch, "init", "--instance", instance, "--project", "Green paper")
    assert code == 0, err
    assert "slug: green-paper" in out

    code, out, err = run(
        capsys,
        monkeypatch,
        "import",
        str(SEED),
        "-p",
        "green-paper",
        "--instance",
        instance,
        "--respondent-type",
        "parent_carer_forum",
        "--consent",
    )
    assert code == 0, err
    assert "1 respondent(s), 22 response(s), 7 scale answer(s)" in out

    code, out, _ = run(capsys, monkeypatch, "import", str(SEED), "-p", "green-paper", "--instance", instance)
    assert code == 0 and "already imported" in out

    code, out, err = run(
        capsys,
        monkeypatch,
        "user",
        "add",
        "Parent@Example.org",
        "--name",
        "Pat",
        "--password",
        "a long enough pw",
        "--project",
        "green-paper",
        "--role",
        "parent_carer",
        "--instance",
        instance,
    )
    assert code == 0, err
    assert "parent@example.org as parent_carer" in out

    code, out, _ = run(capsys, monkeypatch, "project", "list", "--instance", instance)
    assert "green-paper" in out


def test_bad_input_exits_2_with_the_reason_on_stderr(capsys, monkeypatch, tmp_path, empty_database):
    instance = str(tmp_path / "inst")
    run(capsys, monkeypatch, "init", "--instance", instance, "--project", "P")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = run(capsys, monkeypatch, "import", str(empty), "-p", "p", "--instance", instance)
    assert code == 2
    assert "empty.txt" in err and "Error" in err

    code, _, err = run(capsys, monkeypatch, "import", str(SEED), "-p", "missing", "--instance", instance)
    assert code == 2 and "no project called 'missing'" in err

    code, _, err = run(
        capsys, monkeypatch, "user", "add", "x@example.org", "--password", "short", "--instance", instance
    )
    assert code == 2 and "password" in err


def test_usage_errors_exit_2(capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "import")
    assert code == 2 and "Missing argument" in err


def test_settings_markdown_prints_the_table(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "settings", "--markdown")
    assert code == 0 and "COPRODUCE_DATABASE_URL" in out


def test_survey_import_shows_the_guessed_mapping_and_asks(capsys, monkeypatch, tmp_path, empty_database):
    from tests.conftest import ROOT

    instance = str(tmp_path / "inst")
    run(capsys, monkeypatch, "init", "--instance", instance, "--project", "P")
    survey = str(ROOT / "corpus" / "samples" / "survey-citizen-space-send.csv")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, out, err = run(capsys, monkeypatch, "import", survey, "-p", "p", "--instance", instance)
    assert code == 1 and "kind: open_question" in out and "Nothing imported" in err

    mapping = tmp_path / "mapping.yaml"
    code, out, _ = run(
        capsys, monkeypatch, "import", survey, "-p", "p", "--guess-mapping", str(mapping), "--instance", instance
    )
    assert code == 0 and mapping.read_text().startswith("# Column mapping")
    code, out, err = run(
        capsys, monkeypatch, "import", survey, "-p", "p", "--mapping", str(mapping), "--instance", instance
    )
    assert code == 0, err
    assert "40 respondent(s)" in out


def test_export_writes_redacted_csv(capsys, monkeypatch, tmp_path, empty_database):
    instance = str(tmp_path / "inst")
    run(capsys, monkeypatch, "init", "--instance", instance, "--project", "P")
    run(capsys, monkeypatch, "import", str(SEED), "-p", "p", "--instance", instance)
    target = tmp_path / "responses.csv"
    code, out, err = run(capsys, monkeypatch, "export", str(target), "-p", "p", "--instance", instance)
    assert code == 0, err
    assert "Wrote 22 responses (redacted text)" in out and target.exists()


def test_project_findings_lists_sign_off_state(capsys, monkeypatch, settings, session_factory, seed):
    from coproduce.services.audit import Actor
    from coproduce.services.users import create_user
    from coproduce.store.models import Finding, SignOff

    with session_factory() as session, session.begin():
        finding = session.get(Finding, seed.finding_ids[0])
        carer = create_user(session, Actor(label="test"), "carer@example.org", "Casey Carer", "long enough pass")
        session.add(
            SignOff(
                finding_id=finding.id,
                user_id=carer.id,
                role="parent_carer",
                decision="dissent",
                comment="It leaves out the waiting list for therapy.",
                finding_version=finding.version,
            )
        )
    code, out, err = run(
        capsys, monkeypatch, "project", "findings", "-p", "send-review", "--instance", str(settings.instance_dir)
    )
    assert code == 0, err
    line = next(row for row in out.splitlines() if row.startswith("q1:code:WAIT"))
    assert "still needed: 1 parent_carer, 1 young_person, 1 professional" in line
    assert "dissent by Casey Carer (parent_carer, v1): It leaves out the waiting list for therapy." in out
    assert (
        run(capsys, monkeypatch, "project", "findings", "-p", "nope", "--instance", str(settings.instance_dir))[0] == 2
    )


def test_eval_commands_are_listed_but_loaded_only_when_asked_for(capsys, monkeypatch):
    import subprocess

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, coproduce.cli; print('sklearn' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False", "starting the CLI must not import scikit-learn"
    code, out, _ = run(capsys, monkeypatch, "--help")
    assert code == 0 and "eval" in out
    code, out, _ = run(capsys, monkeypatch, "eval", "--help")
    assert code == 0 and "themefinder" in out

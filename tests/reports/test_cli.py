"""``coproduce report`` and ``coproduce project create --framework codebook.qdc`` end to end."""

from __future__ import annotations

import pytest

from coproduce.services.demo import DEMO_SLUG
from tests.test_cli import run

pytestmark = pytest.mark.slow


def test_report_command_writes_the_chosen_formats(capsys, monkeypatch, own_copy, tmp_path):  # type: ignore[no-untyped-def]
    instance = str(own_copy.settings.instance_dir)
    out = tmp_path / "out"
    code, stdout, stderr = run(
        capsys, monkeypatch, "report", "-p", DEMO_SLUG, "-o", str(out), "-f", "qdc", "-f", "csv", "--instance", instance
    )
    assert code == 0, stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"{DEMO_SLUG}-{n}" for n in ("codebook.qdc", "coded-segments.csv", "coded-codings.csv", "question-summary.csv")
    )
    assert "Wrote 4 file(s)" in stdout

    code, stdout, stderr = run(capsys, monkeypatch, "report", "-p", DEMO_SLUG, "-f", "pptx", "--instance", instance)
    assert code == 2 and "unknown report format pptx" in stderr

    code, stdout, stderr = run(
        capsys, monkeypatch, "report", "-p", "no-such-project", "-f", "qdc", "--instance", instance
    )
    assert code == 2

    code, stdout, stderr = run(
        capsys,
        monkeypatch,
        "project",
        "create",
        "From NVivo",
        "--framework",
        str(out / f"{DEMO_SLUG}-codebook.qdc"),
        "--instance",
        instance,
    )
    assert code == 0, stderr
    assert "slug: from-nvivo" in stdout


def test_report_command_defaults_to_every_format_in_the_instance_folder(capsys, monkeypatch, own_copy):  # type: ignore[no-untyped-def]
    code, _stdout, stderr = run(
        capsys,
        monkeypatch,
        "report",
        "-p",
        DEMO_SLUG,
        "-f",
        "easy-read",
        "--instance",
        str(own_copy.settings.instance_dir),
    )
    assert code == 0, stderr
    folder = own_copy.settings.instance_dir / "reports" / DEMO_SLUG
    assert sorted(p.name for p in folder.iterdir()) == [f"{DEMO_SLUG}-easy-read.html", f"{DEMO_SLUG}-easy-read.pdf"]

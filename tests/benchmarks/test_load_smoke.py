"""The load-test scripts work end to end on a tiny synthetic project: a few seconds, two users.

Not a timing test: it asserts that every request succeeded and every decision the users were told
was saved is in the database. Locust runs as a subprocess (it gevent-patches whatever imports it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_users_for_a_few_seconds_lose_nothing(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    build = [sys.executable, "-m", "benchmarks.load.build_project", "--instance", str(instance)]
    build += ["--responses", "120", "--reviewers", "2", "--pool", "40"]
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    accounts = json.loads((instance / "load-accounts.json").read_text())
    assert len(accounts["emails"]) == 2

    out = tmp_path / "result.json"
    run = [sys.executable, "-m", "benchmarks.load.run_load", "--instance", str(instance), "--users", "2"]
    run += ["--seconds", "12", "--wait-min", "0.1", "--wait-max", "0.3", "--out", str(out), "--quiet-limit", "0"]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == 0, result["failures"]
    assert result["overall"]["requests"] > 4
    assert result["endpoints"]["POST sign in"]["requests"] == 2
    assert result["decisions"]["lost"] == 0, result["decisions"]["lost_examples"]
    assert done.returncode == 0, done.stdout[-3000:]

"""Load test of the review UI on loopback: start the server, run locust headless, check nothing was lost.

    .venv/bin/python -m benchmarks.load.run_load --instance /tmp/load-sqlite            # 20 users, 5 minutes
    .venv/bin/python -m benchmarks.load.run_load --instance /tmp/load-pg \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/coproduce_load --seconds 60

The project must exist (``benchmarks/load/build_project.py``). The server (``coproduce serve``) and
locust run as subprocesses bound to 127.0.0.1; locust stops itself after ``--seconds`` and the run is
killed if it overruns by two minutes. Afterwards every review decision the users were told succeeded
is looked up in the database (its ``review_decision`` row or stance audit event, and the state it
left), and the figures go to ``benchmarks/results/load-<database>-<date>.json``: p50/p95/p99 per
endpoint and overall, request and error counts, lost decisions, and the machine (cores, load
average before and after). Exit status 1 when a request failed or a decision was lost.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.load.build_project import ACCOUNTS_FILE
from coproduce.config import Settings
from coproduce.store.db import make_engine
from coproduce.store.models import AuditEvent, Code, CodeAssignment, ReviewDecision, Segment, Stance, User

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RESULTS = ROOT / "benchmarks" / "results"
P95_TARGET_MS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return list(os.getloadavg())


def _bin(name: str) -> str:
    here = Path(sys.executable).with_name(name)
    return str(here) if here.exists() else (shutil.which(name) or name)


def start_server(settings: Settings, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    command = [_bin("coproduce"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--instance", str(settings.instance_dir)]
    if settings.database_url:
        command += ["--database-url", settings.database_url]
    if workers:
        command += ["--workers", str(workers), "--threads", str(threads)]
    out = log.open("w")
    server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped on start; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server did not answer within 2 minutes; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def _busy_fraction(seconds: float) -> float:
    """How busy the machine's cores were over the next ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(limit_s: float = 300, busy_below: float = 0.15) -> float:
    """Wait until the cores are idle (the server's job worker loads its models at start); the seconds waited."""
    if not Path("/proc/stat").exists():
        time.sleep(10)
        return 10.0
    start = time.monotonic()
    quiet_windows = 0
    while time.monotonic() - start < limit_s and quiet_windows < 2:
        quiet_windows = quiet_windows + 1 if _busy_fraction(3) < busy_below else 0
    return round(time.monotonic() - start, 1)


def warm_up(port: int, accounts: dict[str, Any], rounds: int = 3, parallel: int = 4) -> None:
    """Open every page of the mix before the measured run, from ``parallel`` clients at once so that every
    server process gets some: the first search by meaning in a process loads the model and the
    question's vectors, which a long-running server has done long before a panel's working session."""
    import requests  # locust's dependency

    root = f"http://127.0.0.1:{port}"
    base = f"{root}/projects/{accounts['project']}"

    def client(number: int) -> None:
        for _ in range(rounds):
            with requests.Session() as web:
                page = web.get(f"{root}/sign-in", timeout=120)
                token = CSRF.search(page.text)
                email = accounts["emails"][number % len(accounts["emails"])]
                form = {"email": email, "password": accounts["password"], "csrf_token": token.group(1) if token else ""}
                web.post(f"{root}/sign-in", data=form, timeout=120)
                web.get(base, timeout=120)
                web.get(f"{base}/findings/", timeout=120)
                for question in accounts["questions"]:
                    web.get(f"{base}/review?question={question}", timeout=120)
                    web.get(f"{base}/search?q=waiting&mode=semantic&question={question}", timeout=300)
                    web.get(f"{base}/search?q=waiting&mode=keyword&question={question}", timeout=120)

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(client, range(parallel)))


def run_locust(
    port: int, users: int, seconds: int, accounts: Path, decisions: Path, workdir: Path, wait: tuple[float, float]
) -> Path:
    prefix = workdir / "locust"
    env = {
        **os.environ,
        "LOAD_ACCOUNTS": str(accounts),
        "LOAD_DECISIONS": str(decisions),
        "LOAD_WAIT_MIN": str(wait[0]),
        "LOAD_WAIT_MAX": str(wait[1]),
    }
    command = [
        _bin("locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--users", str(users),
        "--spawn-rate", str(max(1, users // 5)),
        "--run-time", f"{seconds}s",
        "--stop-timeout", "10",
        "--host", f"http://127.0.0.1:{port}",
        "--csv", str(prefix),
        "--only-summary",
        "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    with (workdir / "locust.log").open("w") as log:
        subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, timeout=seconds + 120, check=False
        )
    return prefix


def read_stats(prefix: Path) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    with Path(f"{prefix}_stats.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            name = "overall" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
            endpoints[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "mean_ms": round(float(row["Average Response Time"] or 0), 1),
                "max_ms": round(float(row["Max Response Time"] or 0), 1),
                "requests_per_s": round(float(row["Requests/s"] or 0), 2),
            }
    failures = []
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open(newline="") as f:
            failures = [
                {"endpoint": f"{r['Method']} {r['Name']}", "error": r["Error"], "count": int(r["Occurrences"])}
                for r in csv.DictReader(f)
            ]
    return {"endpoints": endpoints, "failures": failures}


def check_decisions(settings: Settings, decisions: Path) -> dict[str, Any]:
    """Every decision the users were told succeeded, looked up in the database."""
    entries = [json.loads(line) for line in decisions.read_text().splitlines()] if decisions.exists() else []
    engine = make_engine(settings)
    lost: list[dict[str, Any]] = []
    try:
        with engine.connect() as db:
            user_ids = dict(db.execute(select(User.email, User.id)).all())
            for entry in entries:
                if not _present(db, user_ids[entry["user"]], entry):
                    lost.append(entry)
            rows = (
                db.scalar(
                    select(func.count(ReviewDecision.id)).where(
                        ReviewDecision.user_id.in_([user_ids[e] for e in {x["user"] for x in entries}])
                    )
                )
                if entries
                else 0
            )
    finally:
        engine.dispose()
    by_action: dict[str, int] = {}
    for entry in entries:
        by_action[entry["action"]] = by_action.get(entry["action"], 0) + 1
    return {
        "acknowledged": len(entries),
        "by_action": by_action,
        "lost": len(lost),
        "lost_examples": lost[:10],
        "review_decision_rows": rows,
    }


def _present(db: Any, user_id: int, entry: dict[str, Any]) -> bool:
    action = entry["action"]
    if action == "stance":
        audited = db.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.action == "review.stance",
                AuditEvent.entity_id == entry["segment_id"],
                AuditEvent.actor_id == user_id,
            )
            .limit(1)
        )
        stance = db.execute(
            select(Stance.key, Segment.stance_origin)
            .join(Stance, Segment.stance_id == Stance.id)
            .where(Segment.id == entry["segment_id"])
        ).first()
        return audited is not None and stance is not None and tuple(stance) == (entry["stance"], "human")
    decided = select(ReviewDecision.id).where(
        ReviewDecision.user_id == user_id,
        ReviewDecision.code_assignment_id == entry["assignment_id"],
        ReviewDecision.action == action,
    )
    if action == "recode":
        decided = decided.join(Code, Code.id == ReviewDecision.to_code_id).where(Code.key == entry["to_code"])
    if db.scalar(decided.limit(1)) is None:
        return False
    status = db.scalar(select(CodeAssignment.status).where(CodeAssignment.id == entry["assignment_id"]))
    if action == "accept":
        return status == "accepted"
    if action == "reject":
        return status == "rejected"
    new_row = db.scalar(
        select(CodeAssignment.id)
        .join(Code, Code.id == CodeAssignment.code_id)
        .where(
            CodeAssignment.segment_id == entry["segment_id"],
            Code.key == entry["to_code"],
            CodeAssignment.status == "accepted",
        )
        .limit(1)
    )
    return status == "rejected" and new_row is not None


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(instance_dir=args.instance, database_url=args.database_url)
    accounts = args.instance / ACCOUNTS_FILE
    if not accounts.exists():
        raise SystemExit(f"{accounts} not found: build the project first (python -m benchmarks.load.build_project)")
    workdir = Path(tempfile.mkdtemp(prefix="coproduce-load-"))
    decisions = workdir / "decisions.jsonl"
    port = _free_port()
    server = start_server(settings, port, args.workers, args.threads, workdir / "server.log")
    try:
        waited = wait_for_quiet(args.quiet_limit)
        if not args.cold:
            warm_up(port, json.loads(accounts.read_text(encoding="utf-8")))
            waited += wait_for_quiet(args.quiet_limit)
        load_before = _loadavg()
        started = datetime.now(UTC)
        prefix = run_locust(
            port, args.users, args.seconds, accounts, decisions, workdir, (args.wait_min, args.wait_max)
        )
    finally:
        stop_server(server)
    load_after = _loadavg()
    stats = read_stats(prefix)
    lost = check_decisions(settings, decisions)
    overall = stats["endpoints"].get("overall", {})
    dialect = "postgresql" if settings.resolved_database_url.startswith("postgresql") else "sqlite"
    result = {
        "benchmark": "load: concurrent reviewers on a synthetic 50,000-response project",
        "started_at": started.isoformat(timespec="seconds"),
        "database": dialect,
        "server": {
            "kind": "gunicorn" if args.workers else "werkzeug threaded",
            "workers": args.workers,
            "threads": args.threads,
        },
        "users": args.users,
        "seconds": args.seconds,
        "warmed_up": not args.cold,
        "waited_for_quiet_s": waited,
        "think_time_s": [args.wait_min, args.wait_max],
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
        "overall": overall,
        "p95_target_ms": P95_TARGET_MS,
        "p95_met": bool(overall) and overall.get("p95_ms", 1e9) <= P95_TARGET_MS,
        "errors": sum(e["failures"] for k, e in stats["endpoints"].items() if k != "overall"),
        "failures": stats["failures"],
        "decisions": lost,
        "endpoints": {k: v for k, v in stats["endpoints"].items() if k != "overall"},
        "note": "locust rounds response times above 100 ms to two significant figures in its percentiles",
        "workdir": str(workdir),
    }
    out = args.out if args.out is not None else RESULTS / f"load-{dialect}-{started:%Y-%m-%d}{args.tag}.json"
    if not args.no_save:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        result["saved_to"] = str(out)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, required=True, help="Instance folder of the built project.")
    parser.add_argument("--database-url", default="", help="Database URL; empty means SQLite in the instance.")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=300, help="How long locust runs (default 5 minutes).")
    parser.add_argument("--wait-min", type=float, default=1.0, help="Think time between actions, seconds.")
    parser.add_argument("--wait-max", type=float, default=3.0)
    parser.add_argument(
        "--workers", type=int, default=0, help="Serve with gunicorn and this many workers (0: werkzeug)."
    )
    parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker.")
    parser.add_argument(
        "--quiet-limit",
        type=float,
        default=300,
        help="Wait at most this long (seconds) for idle cores before measuring (0: do not wait).",
    )
    parser.add_argument(
        "--cold", action="store_true", help="Start measuring at once, without warming the server up first."
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="Result file (default benchmarks/results/load-<db>-<date>.json)."
    )
    parser.add_argument("--tag", default="", help="Suffix for the default result file name, e.g. -dev.")
    parser.add_argument("--no-save", action="store_true", help="Print the figures only.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    result = run(parse_args(argv))
    summary = {k: result[k] for k in ("database", "users", "seconds", "overall", "p95_met", "errors", "decisions")}
    summary["endpoints"] = {
        k: (v["requests"], v["p50_ms"], v["p95_ms"], v["p99_ms"], v["failures"]) for k, v in result["endpoints"].items()
    }
    print(json.dumps(summary, indent=2))
    return 1 if result["errors"] or result["decisions"]["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())

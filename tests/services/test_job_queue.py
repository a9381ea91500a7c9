"""Real `coproduce worker` processes: kill one in the middle of an analysis and check that nothing
half-written is left, that the next worker resumes the job from the embedding cache, and that a cancel
from another process stops a run. Plus one job through Redis (skipped when no Redis answers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.frameworks.loader import load_framework
from coproduce.pipeline.embed import CACHE_FILENAME, EmbeddingCache
from coproduce.privacy.redaction import RedactionResult
from coproduce.services.audit import Actor
from coproduce.services.imports import import_file
from coproduce.services.job_queue import run_pending
from coproduce.services.jobs import JobContext, JobQueue, JobStatus
from coproduce.services.projects import create_project, get_project
from coproduce.services.runs import start_analysis
from coproduce.store.db import transaction
from coproduce.store.models import AnalysisRun, CodeAssignment, Finding, Respondent, Response, Segment
from tests.conftest import GREEN_PAPER, ROOT
from tests.services.test_jobs import add

ACTOR = Actor(label="analyst@example.org")
TIMINGS: dict[str, float] = {}

SERVICES = ("an EHC needs assessment", "speech and language therapy", "a school place", "CAMHS", "respite care")
PLACES = ("Northfield", "Southmoor", "Eastbrook", "Westvale", "Kingsmead", "Oakham")
FEELINGS = ("exhausted", "ignored", "angry", "hopeful", "relieved", "worried")


def family_feedback(path: Path, records: int, first: int = 0) -> int:
    """A JSONL of ``records`` comments (numbered from ``first``) of five distinct sentences each; returns the
    sentence count."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(first, first + records):
            service, place, feeling = SERVICES[i % 5], PLACES[i % 6], FEELINGS[(i // 6) % 6]
            text = (
                f"We waited {i + 3} weeks for {service} in {place}. "
                f"Family number {i} felt {feeling} after meeting {i % 7 + 2} different officers. "
                f"The plan written in month {i % 12 + 1} still named the wrong school for child {i}. "
                f"Nobody answered our {i % 9 + 2} emails about {service} for case {i}. "
                f"Our request {i} is that someone in {place} takes responsibility within {i % 4 + 2} days."
            )
            record = {"id": f"FAM-{i:04d}", "question": str(i % 2 + 1), "consent": True, "text": text}
            out.write(json.dumps(record) + "\n")
    return records * 5


class PassThrough:  # the made-up comments hold no personal data, and privacy is not what is tested here
    def redact(self, text: str) -> RedactionResult:
        return RedactionResult(text, text)


class NoFlags:
    def detect(self, text: str) -> list:  # type: ignore[type-arg]
        return []


@pytest.fixture
def project(session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path) -> str:
    with transaction(session_factory) as session:
        slug = create_project(session, ACTOR, "Green paper", load_framework(GREEN_PAPER)).slug
    feedback = tmp_path / "family.jsonl"
    family_feedback(feedback, 70)
    import_file(
        session_factory, settings, slug, feedback, ACTOR, kind="family", privacy=lambda s: (PassThrough(), NoFlags())
    )
    return slug


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    logs: list[IO[str]] = []
    env = {**os.environ, "COPRODUCE_JOB_HEARTBEAT_SECONDS": "1", "PYTHONUNBUFFERED": "1"}

    def start() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started) + 1}.log").open("w")
        logs.append(log)
        command = [sys.executable, "-m", "coproduce.cli", "worker", "--instance", str(settings.instance_dir)]
        command += ["--database-url", settings.resolved_database_url]
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    for log in logs:
        log.close()


def wait_for(queue: JobQueue, job_id: str, until: Callable[[JobStatus], bool], timeout: float, what: str) -> JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = queue.get(job_id)
        if state is not None and until(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}: {queue.get(job_id)}")


def results(factory: sessionmaker[Session], slug: str) -> dict[str, int]:
    with factory() as session:
        project_id = get_project(session, slug).id
        segments = session.scalar(
            select(func.count())
            .select_from(Segment)
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(Respondent.project_id == project_id)
        )
        findings = session.scalar(select(func.count()).select_from(Finding).where(Finding.project_id == project_id))
        assignments = session.scalar(select(func.count()).select_from(CodeAssignment))
        return {"segments": segments, "findings": findings, "code_assignments": assignments}


def queue_analysis(factory: sessionmaker[Session], queue: JobQueue, slug: str) -> str:
    with transaction(factory) as session:
        return start_analysis(session, ACTOR, queue, get_project(session, slug))


def cache_size(path: Path) -> int:
    cache = EmbeddingCache(path)
    try:
        return len(cache)
    finally:
        cache.close()


@pytest.mark.slow
def test_a_worker_killed_mid_analysis_leaves_nothing_half_written_and_the_next_resumes_from_the_cache(
    session_factory: sessionmaker[Session], settings: Settings, project: str, start_worker, tmp_path: Path
) -> None:
    queue = JobQueue(session_factory, settings)
    cache_path = settings.instance_dir / CACHE_FILENAME
    TIMINGS.clear()
    before = results(session_factory, project)
    assert before == {"segments": 0, "findings": 0, "code_assignments": 0}
    began = time.monotonic()
    first = start_worker()
    job_id = queue_analysis(session_factory, queue, project)

    # 1. Wait until the worker is part-way through embedding, then kill it: no chance to clean up.
    mid = wait_for(queue, job_id, lambda s: s.stage == "embed" and 0 < s.done < s.total, 180, "mid-embedding")
    TIMINGS["start to mid-embedding"] = time.monotonic() - began
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    at_kill = cache_size(cache_path)
    assert mid.done <= at_kill < mid.total, "the cache keeps every batch embedded before the kill"

    # 2. Nothing half-written: no segments, codes or findings; the run row is left running (nobody knows yet).
    assert results(session_factory, project) == before
    with session_factory() as session:
        (run,) = session.scalars(select(AnalysisRun)).all()
        assert run.status == "running" and run.progress["job"] == job_id
        first_run = run.id
    assert queue.get(job_id).status == "running"

    # 3. The next worker finds the job's worker gone, marks the run interrupted and resumes the job.
    start_worker()
    state = wait_for(queue, job_id, lambda s: s.is_done, 240, "the resumed job to end")
    TIMINGS["kill to resumed run finished"] = time.monotonic() - killed_at
    assert state.status == "finished", state.error
    assert state.attempts == 2 and len(state.detail["interruptions"]) == 1
    assert "Interrupted at embed" in state.error  # the note of what happened stays on the job
    with session_factory() as session:
        interrupted = session.get(AnalysisRun, first_run)
        assert interrupted.status == "interrupted" and interrupted.finished_at is not None
        resumed = session.get(AnalysisRun, state.detail["run_id"])
        assert resumed.id != first_run and resumed.status == "finished"
        TIMINGS["resumed run stages"] = {k: round(v, 1) for k, v in resumed.timings.items()}
    after = results(session_factory, project)
    assert after["segments"] == mid.total and after["findings"] > 0 and after["code_assignments"] > 0

    # 4. The resumed run embedded only what the killed worker had not: the cache grew by exactly what it
    # encoded, so nothing embedded before the kill went through the model again.
    encoded = state.detail["embedding"]["encoded"]
    final = cache_size(cache_path)
    assert at_kill > 0 and final > mid.total  # every sentence is in the cache, plus code labels and the like
    assert encoded == final - at_kill, "a text embedded again would not grow the cache"
    TIMINGS.update({"sentences": mid.total, "embedded before kill": at_kill, "embedded after resume": encoded})

    # 5. Cancel from another process (as the web UI does): the live worker stops the run at its next progress
    # report; the run is marked cancelled and stores nothing. More answers come in first: a second run of
    # unchanged input takes everything from the caches and may end before the cancel is read.
    more = tmp_path / "more.jsonl"
    family_feedback(more, 20, first=1000)
    import_file(
        session_factory, settings, project, more, ACTOR, kind="family", privacy=lambda s: (PassThrough(), NoFlags())
    )
    second_job = queue_analysis(session_factory, queue, project)
    wait_for(queue, second_job, lambda s: s.status == "running", 60, "the second run to start")
    assert queue.cancel(second_job)
    cancelled = wait_for(queue, second_job, lambda s: s.is_done, 120, "the cancelled job to end")
    assert cancelled.status == "cancelled" and cancelled.cancel_requested
    with session_factory() as session:
        newest = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc())).first()
        assert newest.status == "cancelled" and "Stopped by request" in newest.error
        made = select(func.count()).select_from(Finding).where(Finding.analysis_run_id == newest.id)
        assert session.scalar(made) == 0
    assert results(session_factory, project) == after
    print(f"crash-test timings: {TIMINGS}")


def redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="localhost", port=6379, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


@pytest.mark.skipif(not redis_answers(), reason="no Redis answers on localhost:6379")
def test_a_job_goes_through_redis(session_factory: sessionmaker[Session], settings: Settings) -> None:
    redis_settings = settings.with_overrides(job_queue_url="redis://localhost:6379/15")
    queue = JobQueue(session_factory, redis_settings)
    assert type(queue.huey).__name__ == "RedisHuey"
    queue.huey.flush()
    try:
        job_id = queue.submit(add, kind="test", a=20, b=22)
        assert len(queue.huey) == 1  # the message (the job id only) waits in Redis
        assert run_pending(queue, JobContext(session_factory, redis_settings)) == 1
        assert queue.get(job_id).result == {"sum": 42}
    finally:
        queue.huey.flush()


def test_serve_starts_a_worker_beside_it_and_stops_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """What `coproduce serve` and `coproduce demo` do unless told not to (--no-job-worker)."""
    from coproduce.cli_worker import child_worker
    from coproduce.store.models import JobWorker

    queue = JobQueue(session_factory, settings)
    with child_worker(False, settings.instance_dir, settings.resolved_database_url) as none:
        assert none is None
    with child_worker(True, settings.instance_dir, settings.resolved_database_url) as child:
        deadline = time.monotonic() + 60
        while queue.workers_alive() == 0 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
        assert queue.workers_alive() == 1, "the worker registered itself"
    assert child.returncode is not None, "the worker stops with the server"
    with session_factory() as session:
        (worker,) = session.scalars(select(JobWorker)).all()
        assert worker.stopped_at is not None and worker.pid == child.pid
    assert queue.workers_alive() == 0

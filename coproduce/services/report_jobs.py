"""Reports made in the background: the queued form of :func:`coproduce.reports.generate`.

Files go to ``<instance>/reports/<project slug>/``; making them again gives the same files, so a job
whose worker died is simply run again (resumable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coproduce.config import Settings
from coproduce.services import jobs
from coproduce.services.audit import Actor


def report_folder(settings: Settings, project_slug: str) -> Path:
    return settings.instance_dir / "reports" / project_slug


def job_key(project_slug: str) -> str:
    return f"report:{project_slug}"


@jobs.background(resumable=True)
def report_job(
    context: jobs.JobContext, project_slug: str, actor: dict[str, Any], formats: list[str]
) -> dict[str, Any]:
    from coproduce.reports import generate

    result = generate(
        context.factory,
        project_slug,
        report_folder(context.settings, project_slug),
        Actor(**actor),
        formats,
        progress=lambda stage: jobs.report_progress(stage, 0, 0),
    )
    return {"files": [path.name for path in result.files]}

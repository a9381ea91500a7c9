"""Render the report, the evidence pack and the easy-read summary to self-contained HTML.

One Jinja environment with autoescaping on: respondent text is always escaped. The stylesheet is
inlined and the charts are PNG data URIs, so the file opens anywhere with nothing to fetch, and
the PDF renderer gets exactly the same document.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.reports.charts import Chart
from coproduce.reports.data import STATUS_LABELS, ReportData
from coproduce.reports.easy_read import Section
from coproduce.reports.evidence import ACTION_LABELS, ACTIONS, EvidenceData, when
from coproduce.reports.people import ROLE_PLURALS, role_name

_ANCHOR = re.compile(r"[^A-Za-z0-9_-]+")


def anchor(key: str) -> str:
    """An id attribute for a finding key such as ``q6:code:MED``."""
    return "f-" + _ANCHOR.sub("-", key).strip("-")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("coproduce.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        b64=lambda data: base64.b64encode(data).decode("ascii"),
        when=_when,
        status=lambda s: STATUS_LABELS.get(s, s),
        role=lambda r: role_name(r).lower(),
        role_plural=lambda r: ROLE_PLURALS.get(r, role_name(r)),
        respondent_type=lambda k: RESPONDENT_TYPES.get(k or "unknown", k or "Not stated"),
        anchor=anchor,
        prefix=lambda value, text: f"{text}{value}",
        stance=_stance,
    )
    return env


@pass_context
def _stance(context: Context, key: str) -> str:
    """A stance's label, from the framework of the report being rendered."""
    data = context.get("data")
    return data.stance_labels.get(key, key) if data is not None else key


def _when(moment: datetime | date | None) -> str:
    return when(moment) if moment is not None else "not recorded"


def render_report(data: ReportData, charts: dict[str, Chart]) -> str:
    return environment().get_template("report.html").render(data=data, charts=charts)


def render_evidence(evidence: EvidenceData) -> str:
    return (
        environment()
        .get_template("evidence.html")
        .render(data=evidence.report, ev=evidence, actions=ACTIONS, action_labels=ACTION_LABELS)
    )


def render_easy_read(data: ReportData, sections: list[Section]) -> str:
    return environment().get_template("easy_read.html").render(data=data, sections=sections)

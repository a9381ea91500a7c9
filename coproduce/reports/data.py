"""Everything a report shows, read once from the database as plain data.

The HTML, PDF and Word reports, the easy-read summary and the charts are all drawn from one
:class:`ReportData`, so the formats cannot disagree. Figures come from the findings (the numbers the
panel signed), read through :mod:`coproduce.services.figures`; quotes are re-checked against the
database so that only redacted text from respondents who consent to be quoted is ever printed.
People are never named: the panel appears by role, with a stable pseudonym per person
(see :mod:`coproduce.reports.people`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce import __version__
from coproduce.reports.people import Pseudonyms
from coproduce.services import figures as fig
from coproduce.store.models import (
    AnalysisRun,
    Campaign,
    Code,
    Finding,
    Project,
    Question,
    Respondent,
    Response,
    Segment,
    Stance,
    Standard,
    Theme,
    utcnow,
)

STATUS_LABELS = {
    "draft": "Not yet reviewed",
    "in_review": "In review",
    "signed_off": "Signed off",
    "reopened": "Reopened after a change",
}
DECISION_LABELS = {"approve": "Approved", "approve_with_comment": "Approved with a comment", "dissent": "Dissented"}


@dataclass(frozen=True)
class Quote:
    text: str  # the segment's redacted text, as stored now
    respondent_type: str


@dataclass(frozen=True)
class SignatureView:
    who: str  # a role pseudonym such as "Parent carer 2"
    role: str
    decision: str
    comment: str
    version: int
    at: datetime


@dataclass(frozen=True)
class SignOffView:
    status: str
    version: int
    rule_text: str
    approvals: list[SignatureView]
    dissents: list[SignatureView]  # current and earlier versions: dissent is never hidden
    needed: dict[str, int]  # role -> approvals still needed
    met: bool


@dataclass(frozen=True)
class FindingView:
    id: int
    key: str
    kind: str
    statement: str
    total: fig.Count
    without_campaigns: fig.Count
    by_type: dict[str, fig.Count]
    stance: dict[str, int]
    split: fig.StanceSplit
    quotes: list[Quote]
    signoff: SignOffView
    you_said_we_did: str
    stale: bool = False
    title: str = ""  # the code, standard or theme it is about
    question_number: int | None = None
    keywords: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)  # a standard's respondents per linked code


@dataclass(frozen=True)
class QuestionView:
    number: int
    text: str
    answer_type: str
    chapter: str | None
    answered: int
    answered_without_campaigns: int
    by_type: dict[str, int]
    scale: list[tuple[str, int]]  # options in order, zeros included
    scale_without_campaigns: list[tuple[str, int]]
    findings: list[FindingView]  # per code, most respondents first
    emerging: list[FindingView]
    summary_figures: dict[str, Any] = field(default_factory=dict)  # the question summary's stored figures
    summary: FindingView | None = None  # the question summary is a finding too, with its own sign-off


@dataclass(frozen=True)
class StandardView:
    key: str
    label: str
    description: str
    finding: FindingView | None  # None when no response was coded to it


@dataclass(frozen=True)
class MethodView:
    run_id: int | None
    finished_at: datetime | None
    config_hash: str
    seed: int | None
    models: list[tuple[str, str, str, str]]  # what it does, name, version, sha256 (may be empty)
    timings: dict[str, float]
    summary: dict[str, Any]
    agreement: Any = None  # coproduce.services.agreement.AgreementReport, when available


@dataclass(frozen=True)
class ReportData:
    project_name: str
    project_slug: str
    framework: str
    generated_at: datetime
    version: str
    respondents: int
    responses: int
    by_type: dict[str, int]
    campaigns: int
    campaign_respondents: int
    questions: list[QuestionView]
    standards: list[StandardView]
    emerging: list[FindingView]  # themes found across all questions
    stale: list[FindingView]
    method: MethodView
    code_labels: dict[str, str]
    stance_labels: dict[str, str]
    campaign_members: frozenset[int] = frozenset()  # respondent ids in the latest run's campaign groups

    def all_findings(self) -> list[FindingView]:
        found = [f for q in self.questions for f in ((q.summary,) if q.summary else ()) + (*q.findings, *q.emerging)]
        found += [s.finding for s in self.standards if s.finding] + self.emerging + self.stale
        return found

    def status_counts(self) -> dict[str, int]:
        counts = Counter(f.signoff.status for f in self.all_findings())
        return {status: counts[status] for status in STATUS_LABELS if counts[status]}


def load_report(session: Session, project: Project) -> ReportData:
    people = Pseudonyms.for_project(session, project)
    framework = project.framework
    respondent_types = dict(
        session.execute(
            select(Respondent.id, Respondent.respondent_type).where(Respondent.project_id == project.id)
        ).all()
    )
    responses = session.scalar(
        select(func.count(Response.id)).join(Respondent).where(Respondent.project_id == project.id)
    )
    campaign_rows = _latest_campaigns(session, project.id)
    findings = list(session.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.id)))
    builder = _FindingBuilder(session, project, people)
    views = {f.id: builder.view(f) for f in findings}
    live = [f for f in findings if not views[f.id].stale]

    questions = []
    for q in framework.questions:
        summary = next((f for f in live if f.kind == "question_summary" and f.question_id == q.id), None)
        figures = summary.figures if summary else {}
        by_type = {kind: count.respondents for kind, count in fig.by_type(figures).items()}
        per_code = [views[f.id] for f in live if f.kind == "question_code" and f.question_id == q.id]
        per_code.sort(key=lambda v: (-v.total.respondents, v.title))
        emerging = [views[f.id] for f in live if f.kind == "emerging_theme" and f.question_id == q.id]
        emerging.sort(key=lambda v: (-v.total.respondents, v.title))
        questions.append(
            QuestionView(
                number=q.number,
                text=q.text,
                answer_type=q.answer_type,
                chapter=q.chapter,
                answered=int(figures.get("respondents", 0)),
                answered_without_campaigns=fig.without_campaigns(figures).respondents if figures else 0,
                by_type=by_type,
                scale=fig.ordered_scale(q.options, figures.get("scale") or {}) if q.options or figures else [],
                scale_without_campaigns=fig.ordered_scale(q.options, figures.get("scale_without_campaigns") or {}),
                findings=per_code,
                emerging=emerging,
                summary_figures=dict(figures),
                summary=views[summary.id] if summary else None,
            )
        )
    standards = []
    for s in sorted(framework.standards, key=lambda s: s.id):
        found = next((f for f in live if f.kind == "standard" and f.standard_id == s.id), None)
        standards.append(StandardView(s.key, s.label, s.description, views[found.id] if found else None))
    emerging = [views[f.id] for f in live if f.kind == "emerging_theme" and f.question_id is None]
    return ReportData(
        project_name=project.name,
        project_slug=project.slug,
        framework=f"{framework.name} (version {framework.version})",
        generated_at=utcnow(),
        version=__version__,
        respondents=len(respondent_types),
        responses=int(responses or 0),
        by_type={k: c for k, c in _ordered(Counter(respondent_types.values())).items()},
        campaigns=len(campaign_rows),
        campaign_respondents=len({r for ids in campaign_rows for r in ids}),
        questions=questions,
        standards=standards,
        emerging=sorted(emerging, key=lambda v: -v.total.respondents),
        stale=[views[f.id] for f in findings if views[f.id].stale],
        method=_method(session, project),
        code_labels={c.key: c.label for c in framework.codes},
        stance_labels={s.key: s.label for s in framework.stances},
        campaign_members=frozenset(r for ids in campaign_rows for r in ids),
    )


def _ordered(counts: Counter[str]) -> dict[str, int]:
    return {kind: counts[kind] for kind in fig.ordered_types(counts)}


def _latest_campaigns(session: Session, project_id: int) -> list[list[int]]:
    latest = session.scalar(select(func.max(Campaign.analysis_run_id)).where(Campaign.project_id == project_id))
    if latest is None:
        return []
    rows = session.scalars(
        select(Campaign.respondent_ids).where(Campaign.project_id == project_id, Campaign.analysis_run_id == latest)
    )
    return [[int(r) for r in ids or []] for ids in rows]


class _FindingBuilder:
    def __init__(self, session: Session, project: Project, people: Pseudonyms) -> None:
        self.session = session
        self.people = people
        fw = project.framework_id
        self.codes = dict(session.execute(select(Code.id, Code.label).where(Code.framework_id == fw)).all())
        self.standards = dict(
            session.execute(select(Standard.id, Standard.label).where(Standard.framework_id == fw)).all()
        )
        self.themes = dict(session.execute(select(Theme.id, Theme.label).where(Theme.project_id == project.id)).all())
        self.question_numbers = dict(
            session.execute(select(Question.id, Question.number).where(Question.framework_id == fw)).all()
        )
        # (response id, position) -> (redacted segment text, respondent consents to be quoted)
        self.quotable: dict[tuple[int, int], tuple[str, bool, str]] = {}
        rows = session.execute(
            select(
                Segment.response_id,
                Segment.position,
                Segment.text,
                Respondent.consent_to_quote,
                Respondent.respondent_type,
            )
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(Respondent.project_id == project.id)
        )
        for response_id, position, text, consent, kind in rows:
            self.quotable[(response_id, position)] = (text, bool(consent), kind)
        self.stance_keys = dict(
            session.execute(select(Stance.key, Stance.label).where(Stance.framework_id == fw)).all()
        )

    def title(self, finding: Finding) -> str:
        if finding.kind == "question_code" and finding.code_id:
            return self.codes.get(finding.code_id, "")
        if finding.kind == "standard" and finding.standard_id:
            return self.standards.get(finding.standard_id, "")
        if finding.kind == "emerging_theme" and finding.theme_id:
            return self.themes.get(finding.theme_id, "")
        if finding.kind == "question_summary" and finding.question_id:
            return f"Who answered question {self.question_numbers.get(finding.question_id)}"
        return ""

    def quotes(self, figures: dict[str, Any]) -> list[Quote]:
        out = []
        for q in figures.get("quotes") or []:
            segment = q.get("segment") or ()
            if len(segment) != 2:
                continue
            found = self.quotable.get((int(segment[0]), int(segment[1])))
            if found and found[1]:  # consent is checked now, not when the finding was built
                out.append(Quote(found[0], found[2]))
        return out

    def view(self, finding: Finding) -> FindingView:
        figures = dict(finding.figures or {})
        stance = {str(k): int(v) for k, v in (figures.get("stance") or {}).items()}
        return FindingView(
            id=finding.id,
            key=finding.key,
            kind=finding.kind,
            statement=finding.statement,
            total=fig.total(figures),
            without_campaigns=fig.without_campaigns(figures),
            by_type=fig.by_type(figures),
            stance=stance,
            split=fig.stance_split(stance),
            quotes=self.quotes(figures),
            signoff=signoff_view(self.session, finding, self.people),
            you_said_we_did=finding.you_said_we_did or "",
            stale=bool(figures.get("stale")),
            title=self.title(finding),
            question_number=self.question_numbers.get(finding.question_id) if finding.question_id else None,
            keywords=[str(k) for k in figures.get("keywords") or []],
            codes={str(k): int(v) for k, v in (figures.get("codes") or {}).items()},
        )


def signoff_view(session: Session, finding: Finding, people: Pseudonyms) -> SignOffView:
    """Where a finding stands with the panel, with people shown by role pseudonym only."""
    from coproduce.services.signoff import signoff_state

    state = signoff_state(session, finding)

    def sig(s: Any) -> SignatureView:
        return SignatureView(people.name(s.user_id, s.role), s.role, s.decision, s.comment, s.finding_version, s.at)

    approvals = [sig(s) for signatures in state.approvals.values() for s in signatures]
    approvals.sort(key=lambda s: s.at)
    dissents = sorted((sig(s) for s in (*state.dissents, *state.earlier_dissents)), key=lambda s: s.at)
    return SignOffView(
        status=state.status,
        version=state.version,
        rule_text=state.rule_text,
        approvals=approvals,
        dissents=dissents,
        needed=dict(state.needed),
        met=state.met,
    )


def _method(session: Session, project: Project) -> MethodView:
    run = session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.project_id == project.id, AnalysisRun.status == "finished")
        .order_by(AnalysisRun.finished_at.desc(), AnalysisRun.id.desc())
    ).first()
    agreement = None
    try:
        from coproduce.services.agreement import agreement_report

        agreement = agreement_report(session, project)
    except ImportError:  # pragma: no cover - the agreement service ships with the review UI
        agreement = None
    if run is None:
        return MethodView(None, None, "", None, [], {}, {}, agreement)
    models = []
    for role, info in sorted((run.models or {}).items()):
        if not isinstance(info, dict):
            models.append((role, role, str(info), ""))
        elif "version" in info or "id" in info or "package" in info:
            name = str(info.get("id") or info.get("package") or role)
            if info.get("package") and info.get("id"):
                name += f" (package {info['package']})"
            models.append((role, name, str(info.get("version", "")), str(info.get("sha256", ""))))
        else:  # e.g. "libraries": {name: version}
            models += [(role, str(k), str(v), "") for k, v in sorted(info.items())]
    timings = {str(k): float(v) for k, v in (run.timings or {}).items() if isinstance(v, int | float)}
    return MethodView(
        run.id, run.finished_at, run.config_hash, run.seed, models, timings, dict(run.summary or {}), agreement
    )

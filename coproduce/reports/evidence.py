"""The co-production evidence pack: who took part, what they did, what they changed, where they disagreed.

Plain data read from the database: membership by role, the review and sign-off timeline from the
audit log and the decision rows, what the panel changed compared with the model's suggestions (per
action and per code), every dissent (on current and earlier versions of a finding) and the
"You said, we did" table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.reports.data import FindingView, ReportData, SignatureView
from coproduce.reports.people import Pseudonyms, role_name
from coproduce.store.models import (
    AuditEvent,
    Code,
    CodeAssignment,
    Project,
    Respondent,
    Response,
    ReviewDecision,
    Segment,
)

ACTIONS = ("accept", "reject", "recode", "add")
ACTION_LABELS = {
    "accept": "Accepted a suggested code",
    "reject": "Rejected a suggested code",
    "recode": "Changed a code to another",
    "add": "Added a code the model missed",
}
# Audit actions shown in the timeline, in words.
TIMELINE_ACTIONS = {
    "source.import": "Responses imported",
    "analysis.run": "Analysis run",
    "review.accept": "Codes accepted",
    "review.reject": "Codes rejected",
    "review.recode": "Codes changed",
    "review.add": "Codes added",
    "review.stance": "Stances changed",
    "theme.rename": "Themes renamed",
    "theme.describe": "Themes described",
    "theme.merge": "Themes merged",
    "theme.split": "Themes split",
    "theme.move_segments": "Theme segments moved",
    "agreement.draw_sample": "Blind double-coding sample drawn",
    "agreement.code_blind": "Segments coded blind",
    "finding.change": "Findings changed",
    "finding.reopen": "Signed-off findings reopened by a change",
    "signoff.give": "Sign-offs given",
    "signoff.replace": "Sign-offs changed",
    "finding.status": "Finding status changed",
}


@dataclass(frozen=True)
class TimelineDay:
    day: date
    action: str
    label: str
    count: int
    people: list[str]  # role pseudonyms, alphabetical


@dataclass(frozen=True)
class CodeChanges:
    key: str
    label: str
    suggested: int  # model suggestions on segments
    accepted: int
    rejected: int
    recoded_from: int
    recoded_to: int
    added: int


@dataclass(frozen=True)
class Dissent:
    finding_key: str
    statement: str
    signature: SignatureView
    current: bool  # given to the finding's current version


@dataclass(frozen=True)
class EvidenceData:
    report: ReportData
    members_by_role: dict[str, int]
    active_by_role: dict[str, int]  # members who made at least one review decision or sign-off
    decisions: dict[str, int]  # action -> count (not blind)
    decisions_by_role: dict[str, dict[str, int]]  # role -> action -> count
    blind_decisions: int
    segments_reviewed: int
    segments_total: int
    model_suggestions: int
    code_changes: list[CodeChanges]
    timeline: list[TimelineDay]
    dissents: list[Dissent]
    you_said_we_did: list[FindingView]
    signoffs_by_role: dict[str, int] = field(default_factory=dict)


def load_evidence(session: Session, project: Project, report: ReportData) -> EvidenceData:
    people = Pseudonyms.for_project(session, project)
    in_project = (
        select(Segment.id)
        .join(Response, Segment.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Respondent.project_id == project.id)
    )
    segment_ids = set(session.scalars(in_project))
    decisions = list(
        session.scalars(
            select(ReviewDecision).where(ReviewDecision.segment_id.in_(in_project)).order_by(ReviewDecision.id)
        )
    )
    open_decisions = [d for d in decisions if not d.blind]
    by_action = Counter(d.action for d in open_decisions)
    by_role: dict[str, Counter[str]] = defaultdict(Counter)
    active: dict[str, set[int]] = defaultdict(set)
    for d in open_decisions:
        role = people.role(d.user_id) or "former_member"
        by_role[role][d.action] += 1
        active[role].add(d.user_id)
    signoffs_by_role: Counter[str] = Counter()
    for finding in report.all_findings():
        for s in (*finding.signoff.approvals, *finding.signoff.dissents):
            signoffs_by_role[s.role] += 1
    for user_id, role in people.roles.items():
        if any(
            s
            for f in report.all_findings()
            for s in (*f.signoff.approvals, *f.signoff.dissents)
            if s.who == people.name(user_id)
        ):
            active[role].add(user_id)

    return EvidenceData(
        report=report,
        members_by_role=people.by_role(),
        active_by_role={role: len(users) for role, users in active.items() if users},
        decisions={a: by_action[a] for a in ACTIONS},
        decisions_by_role={role: {a: c[a] for a in ACTIONS} for role, c in sorted(by_role.items())},
        blind_decisions=sum(1 for d in decisions if d.blind),
        segments_reviewed=len({d.segment_id for d in open_decisions}),
        segments_total=len(segment_ids),
        model_suggestions=_model_suggestions(session, in_project),
        code_changes=_code_changes(session, project, in_project, open_decisions),
        timeline=_timeline(session, project, people),
        dissents=_dissents(report),
        you_said_we_did=[f for f in report.all_findings() if f.you_said_we_did.strip()],
        signoffs_by_role=dict(signoffs_by_role),
    )


def _model_suggestions(session: Session, in_project: object) -> int:
    return len(
        session.scalars(
            select(CodeAssignment.id).where(CodeAssignment.origin == "model", CodeAssignment.segment_id.in_(in_project))
        ).all()
    )


def _code_changes(
    session: Session, project: Project, in_project: object, decisions: list[ReviewDecision]
) -> list[CodeChanges]:
    codes = list(session.scalars(select(Code).where(Code.framework_id == project.framework_id).order_by(Code.key)))
    suggested = Counter(
        session.scalars(
            select(CodeAssignment.code_id).where(
                CodeAssignment.origin == "model", CodeAssignment.segment_id.in_(in_project)
            )
        )
    )
    assignment_codes = dict(
        session.execute(
            select(CodeAssignment.id, CodeAssignment.code_id).where(CodeAssignment.segment_id.in_(in_project))
        ).all()
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for d in decisions:
        if d.action == "recode":
            if d.from_code_id:
                counts[d.from_code_id]["recoded_from"] += 1
            if d.to_code_id:
                counts[d.to_code_id]["recoded_to"] += 1
            continue
        code_id = d.to_code_id or d.from_code_id or assignment_codes.get(d.code_assignment_id or 0)
        if code_id:
            counts[code_id][{"accept": "accepted", "reject": "rejected", "add": "added"}[d.action]] += 1
    out = []
    for code in codes:
        c = counts.get(code.id, Counter())
        if suggested[code.id] or c:
            out.append(
                CodeChanges(
                    code.key,
                    code.label,
                    suggested[code.id],
                    c["accepted"],
                    c["rejected"],
                    c["recoded_from"],
                    c["recoded_to"],
                    c["added"],
                )
            )
    return out


def _timeline(session: Session, project: Project, people: Pseudonyms) -> list[TimelineDay]:
    events = session.execute(
        select(AuditEvent.created_at, AuditEvent.action, AuditEvent.actor_id, AuditEvent.actor_label)
        .where(AuditEvent.project_id == project.id, AuditEvent.action.in_(list(TIMELINE_ACTIONS)))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    grouped: dict[tuple[date, str], tuple[int, set[str]]] = {}
    for at, action, actor_id, actor_label in events:
        who = people.name(actor_id) if actor_id is not None else _system(actor_label)
        count, names = grouped.get((at.date(), action), (0, set()))
        names.add(who)
        grouped[(at.date(), action)] = (count + 1, names)
    order = list(TIMELINE_ACTIONS)
    return [
        TimelineDay(day, action, TIMELINE_ACTIONS[action], count, sorted(names))
        for (day, action), (count, names) in sorted(grouped.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1])))
    ]


def _system(label: str) -> str:
    if label == "model":
        return "The model"
    if label.startswith("cli:"):
        return "Command line"
    return "The system"


def _dissents(report: ReportData) -> list[Dissent]:
    out = []
    for finding in report.all_findings():
        for s in finding.signoff.dissents:
            out.append(Dissent(finding.key, finding.statement, s, s.version == finding.signoff.version))
    return sorted(out, key=lambda d: d.signature.at)


def when(moment: datetime | date) -> str:
    """A date or time as people write it in the UK (times are stored in UTC)."""
    if isinstance(moment, datetime):
        return f"{moment.day} {moment:%B %Y, %H:%M} UTC"
    return f"{moment.day} {moment:%B %Y}"


__all__ = ["ACTION_LABELS", "EvidenceData", "load_evidence", "role_name", "when"]

"""Erase a respondent (UK GDPR right to erasure): them and everything derived from them, in one transaction.

Deleted: the respondent, their responses, safeguarding flags, segments, code assignments (segment
and response codes), stances (on their segments), theme and finding links, quotes of them in
findings, review decisions, blind-coding tasks, "seen" marks, their place in campaign groups, their
source when nobody else came from it, their vectors in the embedding cache and uploads holding
their file. Personal data inside audit payloads is blanked (the payload digest stays, so the hash
chain still verifies). Findings are recounted; signed-off findings whose figures change are
reopened through ``services.findings.record_finding_change``. One ``respondent.erased`` audit event
remains, with counts and a hash of the respondent's id only.

A dry run does all of it inside the transaction and rolls back, so it reports exactly what would go.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.privacy.safeguarding import split_sentences
from coproduce.services import erasure_files
from coproduce.services.audit import Actor, record
from coproduce.services.audit_verify import ERASURE_ACTION
from coproduce.services.erasure_recount import recount_findings
from coproduce.store.models import (
    AuditEvent,
    Campaign,
    CodeAssignment,
    CodingTask,
    Finding,
    Project,
    Respondent,
    Response,
    ReviewDecision,
    SafeguardingFlag,
    Segment,
    SegmentSeen,
    Source,
    Theme,
    finding_segment,
    theme_segment,
    utcnow,
)

SUBSTRING_MIN = 20  # shorter texts are matched whole in audit payloads, so "Yes" blanks nothing else


@dataclass
class ErasureReport:
    project_slug: str
    respondent_id: int
    external_id: str | None
    applied: bool
    counts: Counter[str] = field(default_factory=Counter)
    findings_changed: list[str] = field(default_factory=list)
    findings_reopened: list[str] = field(default_factory=list)
    audit_events_blanked: list[int] = field(default_factory=list)
    uploads: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        who = f"respondent {self.respondent_id}" + (f" ({self.external_id})" if self.external_id else "")
        verb = "Erased" if self.applied else "Would erase"
        lines = [f"{verb} {who} in {self.project_slug}:"]
        lines += [f"  {name}: {n}" for name, n in sorted(self.counts.items()) if n]
        lines.append(f"  audit events with personal data blanked: {len(self.audit_events_blanked)}")
        lines.append(f"  uploads removed: {len(self.uploads)}")
        lines.append(
            f"  findings recounted: {len(self.findings_changed)}"
            + (f" (reopened: {', '.join(self.findings_reopened)})" if self.findings_reopened else "")
        )
        if not self.applied:
            lines.append("Nothing has changed yet: run again with --yes to erase.")
        else:
            lines.append("Reports written before now may still quote them: write them again (`coproduce report`).")
        return "\n".join(lines)


def find_respondent(session: Session, project: Project, ref: str) -> Respondent:
    """The project's respondent with id ``ref``, or else with external id ``ref``."""
    ref = (ref or "").strip()
    by_id = session.get(Respondent, int(ref)) if ref.isdigit() else None
    if by_id is not None and by_id.project_id == project.id:
        return by_id
    matches = list(
        session.scalars(select(Respondent).where(Respondent.project_id == project.id, Respondent.external_id == ref))
    )
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(str(r.id) for r in matches)
        raise BadInputError(
            f"{len(matches)} respondents in {project.slug} have the external id {ref!r} (ids {ids})",
            field="respondent",
            hint="Give the respondent's id instead",
        )
    raise BadInputError(
        f"no respondent {ref!r} in project {project.slug}",
        field="respondent",
        hint="Give the respondent's id or external id as the export or the web UI shows it",
    )


def erase_respondent(
    factory: sessionmaker[Session], settings: Settings, project_slug: str, ref: str, actor: Actor, *, apply: bool
) -> ErasureReport:
    """Erase one respondent (``apply=True``) or report what would be erased (``apply=False``)."""
    from coproduce.services.projects import get_project

    with factory() as session:
        session.begin()
        project = get_project(session, project_slug)
        respondent = find_respondent(session, project, ref)
        reports = erase_respondents(session, settings, project, [respondent], actor, reason="request", apply=apply)
        if apply:
            session.commit()
        else:
            session.rollback()
    return reports[0]


def erase_respondents(
    session: Session,
    settings: Settings,
    project: Project,
    respondents: Iterable[Respondent],
    actor: Actor,
    *,
    reason: str,
    apply: bool,
) -> list[ErasureReport]:
    """Erase ``respondents`` of ``project`` in the session's transaction; the caller commits (or rolls back
    for a dry run). Findings are recounted once, after every respondent is gone. Files outside the
    database (cache vectors, uploads) are removed only when ``apply`` is true, just before the commit."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")  # zero freed pages, not just unlink
    reports, cache_candidates, uploads = [], set(), []
    for respondent in list(respondents):
        report, texts, doomed_uploads = _erase_rows(session, settings, project, respondent, actor, reason)
        reports.append(report)
        cache_candidates |= texts
        uploads += doomed_uploads
    changed, reopened = recount_findings(session, project, actor, "a respondent's data was erased")
    keys = _unshared_cache_keys(session, settings, cache_candidates)
    for i, report in enumerate(reports):
        report.applied = apply
        report.findings_changed = [f.key for f in changed]
        report.findings_reopened = [f.key for f in reopened]
        report.counts["embedding cache vectors"] = len(keys) if i == 0 else 0  # shared texts: counted once
    if apply:
        erasure_files.delete_cached(settings, keys)
        erasure_files.delete_uploads(uploads)
    return reports


def respondent_hash(project_id: int, respondent_id: int) -> str:
    return hashlib.sha256(f"coproduce:respondent:{project_id}:{respondent_id}".encode()).hexdigest()


def _erase_rows(
    session: Session, settings: Settings, project: Project, respondent: Respondent, actor: Actor, reason: str
) -> tuple[ErasureReport, set[str], list[Path]]:
    rid = respondent.id
    report = ErasureReport(project.slug, rid, respondent.external_id, applied=False)
    responses = session.execute(
        select(Response.id, Response.original_text, Response.redacted_text).where(Response.respondent_id == rid)
    ).all()
    response_ids = [r.id for r in responses]
    segments = session.execute(select(Segment.id, Segment.text).where(Segment.response_id.in_(response_ids))).all()
    segment_ids = [s.id for s in segments]
    assignment_ids = list(
        session.scalars(
            select(CodeAssignment.id).where(
                or_(CodeAssignment.segment_id.in_(segment_ids), CodeAssignment.response_id.in_(response_ids))
            )
        )
    )
    decision_ids = list(
        session.scalars(
            select(ReviewDecision.id).where(
                or_(ReviewDecision.segment_id.in_(segment_ids), ReviewDecision.code_assignment_id.in_(assignment_ids))
            )
        )
    )
    task_ids = list(session.scalars(select(CodingTask.id).where(CodingTask.segment_id.in_(segment_ids))))
    flag_ids = list(session.scalars(select(SafeguardingFlag.id).where(SafeguardingFlag.response_id.in_(response_ids))))

    texts = {t for r in responses for t in (r.original_text, r.redacted_text) if t} | {
        s.text for s in segments if s.text
    }
    sentences = {
        r.original_text[a:b] for r in responses if r.original_text for a, b in split_sentences(r.original_text)
    }
    identifiers = {v for v in [respondent.external_id, *_strings(respondent.attributes)] if v}
    entities = {
        "respondent": {rid},
        "response": set(response_ids),
        "segment": set(segment_ids),
        "code_assignment": set(assignment_ids),
        "review_decision": set(decision_ids),
        "coding_task": set(task_ids),
        "safeguarding_flag": set(flag_ids),
    }
    report.audit_events_blanked = _blank_audit_payloads(session, project, entities, texts, identifiers)
    source = session.get(Source, respondent.source_id)
    uploads = erasure_files.matching_uploads(
        settings, project.slug, source.sha256 if source else None, [r.original_text or "" for r in responses]
    )
    report.uploads = uploads
    counts = report.counts
    counts["quotes in findings"] = _quotes_of(session, project, set(response_ids))
    counts["stances"] = (
        session.scalar(
            select(func.count()).select_from(Segment).where(Segment.id.in_(segment_ids), Segment.stance_id.is_not(None))
        )
        or 0
    )
    counts["review decisions"] = _delete(session, ReviewDecision.__table__, ReviewDecision.id.in_(decision_ids))
    counts["coding tasks"] = _delete(session, CodingTask.__table__, CodingTask.id.in_(task_ids))
    counts["seen marks"] = _delete(session, SegmentSeen.__table__, SegmentSeen.segment_id.in_(segment_ids))
    counts["theme links"] = _delete(session, theme_segment, theme_segment.c.segment_id.in_(segment_ids))
    counts["finding links"] = _delete(session, finding_segment, finding_segment.c.segment_id.in_(segment_ids))
    response_codes = session.scalar(
        select(func.count())
        .select_from(CodeAssignment)
        .where(CodeAssignment.id.in_(assignment_ids), CodeAssignment.segment_id.is_(None))
    )
    counts["code assignments"] = _delete(session, CodeAssignment.__table__, CodeAssignment.id.in_(assignment_ids))
    counts["response codes"] = response_codes or 0
    counts["safeguarding flags"] = _delete(session, SafeguardingFlag.__table__, SafeguardingFlag.id.in_(flag_ids))
    counts["segments"] = _delete(session, Segment.__table__, Segment.id.in_(segment_ids))
    counts["responses"] = _delete(session, Response.__table__, Response.id.in_(response_ids))
    counts["campaign memberships"] = _leave_campaigns(session, project, rid, texts)
    counts["theme representatives replaced"] = _scrub_themes(session, project, texts)
    session.expunge(respondent)
    counts["respondents"] = _delete(session, Respondent.__table__, Respondent.id == rid)
    if source is not None:
        others = session.scalar(select(func.count()).select_from(Respondent).where(Respondent.source_id == source.id))
        if not others:  # the file was theirs alone: its name and options may name them
            session.expunge(source)
            counts["sources"] = _delete(session, Source.__table__, Source.id == source.id)
    session.expire_all()
    record(
        session,
        actor,
        ERASURE_ACTION,
        "respondent",
        None,
        project_id=project.id,
        after={
            "respondent_hash": respondent_hash(project.id, rid),
            "reason": reason,
            "counts": {k: v for k, v in sorted(counts.items()) if v},
            "blanked_audit_events": report.audit_events_blanked,
            "uploads_removed": len(uploads),
        },
    )
    return report, texts | sentences, uploads


def _delete(session: Session, table: Any, condition: Any) -> int:
    result = session.execute(delete(table).where(condition).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _mentions(value: Any, texts: set[str], identifiers: set[str]) -> bool:
    """Whether a payload holds one of the respondent's texts (whole, or within a longer string, or a long
    part of one) or identifiers (whole strings only: a short id is too common to find inside text)."""
    for s in _strings(value):
        if s in texts or s in identifiers:
            return True
        if any(len(t) >= SUBSTRING_MIN and t in s for t in texts):
            return True
        if len(s) >= SUBSTRING_MIN and any(s in t for t in texts):
            return True
    return False


def _blank_audit_payloads(
    session: Session, project: Project, entities: dict[str, set[int]], texts: set[str], identifiers: set[str]
) -> list[int]:
    """Blank before/after of the project's audit events about the respondent's rows or quoting them."""
    events = session.execute(
        select(AuditEvent.id, AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after).where(
            AuditEvent.project_id == project.id, AuditEvent.payload_erased_at.is_(None)
        )
    ).all()
    segment_ids = entities["segment"]
    doomed = []
    for event in events:
        about = event.entity_id is not None and event.entity_id in entities.get(event.entity_type, ())
        payload = {"before": event.before, "after": event.after}
        keyed = any(
            isinstance(part, dict) and part.get("segment_id") in segment_ids for part in (event.before, event.after)
        )
        if about or keyed or _mentions(payload, texts, identifiers):
            doomed.append(event.id)
    if doomed:
        # The one sanctioned change to an audit event: a Core UPDATE (the session guard watches ORM changes).
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.id.in_(doomed))
            .values(before=None, after={"erased": True}, payload_erased_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return doomed


def _quotes_of(session: Session, project: Project, response_ids: set[int]) -> int:
    total = 0
    for figures in session.scalars(select(Finding.figures).where(Finding.project_id == project.id)):
        for quote in (figures or {}).get("quotes", []):
            segment = quote.get("segment") or []
            total += bool(segment) and segment[0] in response_ids
    return total


def _leave_campaigns(session: Session, project: Project, respondent_id: int, texts: set[str]) -> int:
    """Take the respondent out of campaign groups; a group left with one member is no group."""
    left = 0
    for campaign in session.scalars(select(Campaign).where(Campaign.project_id == project.id)):
        members = [int(r) for r in campaign.respondent_ids or []]
        if respondent_id not in members:
            if campaign.example in texts:
                campaign.example = ""
            continue
        left += 1
        remaining = [r for r in members if r != respondent_id]
        if len(remaining) < 2:
            session.delete(campaign)
            continue
        campaign.respondent_ids = remaining
        if campaign.example in texts or not campaign.example:
            campaign.example = (
                session.scalar(
                    select(Response.redacted_text)
                    .where(Response.respondent_id.in_(remaining), Response.redacted_text.is_not(None))
                    .order_by(Response.id)
                    .limit(1)
                )
                or ""
            )
    session.flush()
    return left


def _scrub_themes(session: Session, project: Project, texts: set[str]) -> int:
    """A theme whose representative sentence was theirs gets another of its sentences (or none)."""
    replaced = 0
    for theme in session.scalars(select(Theme).where(Theme.project_id == project.id, Theme.representative != "")):
        if not _mentions(theme.representative, texts, set()):
            continue
        theme.representative = (
            session.scalar(
                select(Segment.text)
                .join(theme_segment, theme_segment.c.segment_id == Segment.id)
                .where(theme_segment.c.theme_id == theme.id)
                .order_by(Segment.id)
                .limit(1)
            )
            or ""
        )
        replaced += 1
    session.flush()
    return replaced


def _unshared_cache_keys(session: Session, settings: Settings, texts: set[str]) -> set[str]:
    """Cache keys of ``texts`` held in the cache, less those of texts another respondent also wrote."""
    held = erasure_files.cached_keys(settings, erasure_files.cache_keys(texts))
    if not held:
        return set()
    unshared = set()
    for text in texts:
        key = erasure_files.text_key(erasure_files.EMBEDDING_MODEL_ID, text)
        if key not in held:
            continue
        shared = session.scalar(select(Segment.id).where(Segment.text == text).limit(1)) or session.scalar(
            select(Response.id)
            .where(
                or_(
                    Response.original_text.contains(text, autoescape=True),
                    Response.redacted_text.contains(text, autoescape=True),
                )
            )
            .limit(1)
        )
        if shared is None:
            unshared.add(key)
    return unshared

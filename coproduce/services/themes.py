"""Theme editing: rename, describe, merge, split and move segments, with optimistic locking.

Every edit takes the version of each theme the editor saw. When a theme has changed since, the
edit is refused with :class:`ThemeConflictError`, whose message names who changed it first and
when, so nobody overwrites someone else's work without knowing. Two edits at the very same moment
are caught by the mapper's ``version_id_col`` (SQLAlchemy's ``StaleDataError``) and reported the
same way.

Each edit records who made it on the theme (``updated_by_label``, ``updated_at``), an audit event
with before and after, and a finding change (:func:`coproduce.services.findings.record_finding_change`)
for every emerging-theme finding linked to a theme it touched. Themes people create (by splitting)
have origin ``human``; a model theme that has been edited has a version above 1. A re-run of the
analysis keeps both (see ``coproduce.services.analysis._store_themes``).

Nothing here commits: the caller does, once, and rolls back on any error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.services.findings import record_finding_change
from coproduce.store.models import (
    Finding,
    Project,
    Question,
    Respondent,
    Response,
    Segment,
    SignOff,
    Theme,
    theme_segment,
    utcnow,
)

MAX_LABEL = 300
MAX_DESCRIPTION = 5000


@dataclass
class ThemeConflictError(BadInputError):
    """Someone changed a theme after the editor loaded it; nothing was saved."""

    theme_id: int | None = None


def _when(moment: Any) -> str:
    return f"{moment.day} {moment:%B %Y %H:%M} UTC" if moment is not None else "an unknown time"


def conflict_message(label: str, updated_by: str, updated_at: Any) -> str:
    who = updated_by or "someone else"
    return (
        f"{who} changed the theme “{label}” first, at {_when(updated_at)}. "
        "Nothing you sent was saved: look at the theme as it is now and make your change again"
    )


def _check_versions(themes: Iterable[Theme], expected: Mapping[int, int]) -> None:
    for theme in themes:
        seen = expected.get(theme.id)
        if seen is None:
            raise BadInputError(f"The form did not say which version of “{theme.label}” you saw", field="version")
        if theme.version != seen:
            raise ThemeConflictError(
                conflict_message(theme.label, theme.updated_by_label, theme.updated_at),
                field="version",
                theme_id=theme.id,
            )


def _stale(session: Session, themes: Sequence[tuple[int, str]]) -> ThemeConflictError:
    """The conflict for a race the version check could not see: read who won from a fresh connection."""
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    labels = dict(themes)
    read = True
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Theme.id, Theme.label, Theme.updated_by_label, Theme.updated_at).where(Theme.id.in_(labels))
            ).all()
    except Exception:  # the winner's row is what we want to name; without it, still refuse clearly
        rows, read = [], False
    for row in rows:
        if row.updated_by_label:
            return ThemeConflictError(
                conflict_message(row.label, row.updated_by_label, row.updated_at), field="version", theme_id=row.id
            )
    gone = [i for i in labels if i not in {row.id for row in rows}]
    if read and gone:
        return ThemeConflictError(
            f"The theme “{labels[gone[0]]}” was merged, or replaced by a new analysis run, at the same moment. "
            "Nothing you sent was saved",
            field="version",
            theme_id=gone[0],
        )
    return ThemeConflictError(
        "Someone else changed this theme at the same moment. Nothing you sent was saved: "
        "look at the theme as it is now and make your change again",
        field="version",
    )


def _flush(session: Session, themes: Sequence[Theme]) -> None:
    # Read before flushing: a failed flush expires everything and the session can load nothing more.
    known = [(t.id, t.label) for t in themes if t.id is not None]
    try:
        session.flush()
    except StaleDataError as exc:
        raise _stale(session, known) from exc


def _stamp(actor: Actor, *themes: Theme) -> None:
    now = utcnow()
    for theme in themes:
        theme.updated_by_label = actor.label
        theme.updated_at = now


def _snapshot(theme: Theme) -> dict[str, Any]:
    return {
        "label": theme.label,
        "description": theme.description,
        "keywords": list(theme.keywords),
        "segments": sorted(s.id for s in theme.segments),
        "version": theme.version,
    }


def _theme_findings(session: Session, theme_ids: Iterable[int], *, any_kind: bool = False) -> list[Finding]:
    ids = list(theme_ids)
    if not ids:
        return []
    query = select(Finding).where(Finding.theme_id.in_(ids))
    if not any_kind:
        query = query.where(Finding.kind == "emerging_theme")
    return list(session.scalars(query.order_by(Finding.id)))


def _relabel(statement: str, old: str, new: str) -> str:
    if f"“{old}”" in statement:
        return statement.replace(f"“{old}”", f"“{new}”")
    return statement.replace(old, new) if old else statement


def _touch_findings(session: Session, actor: Actor, themes: Iterable[Theme], reason: str) -> None:
    by_id = {t.id: t for t in themes}
    for finding in _theme_findings(session, by_id):
        theme = by_id[finding.theme_id]  # type: ignore[index]
        record_finding_change(
            session, actor, finding, reason, before={"theme_id": theme.id}, after={"theme_id": theme.id}
        )


def _clean_label(label: str, field: str = "label") -> str:
    label = " ".join((label or "").split())
    if not label:
        raise BadInputError("Enter a name for the theme", field=field)
    if len(label) > MAX_LABEL:
        raise BadInputError(f"The theme name must be {MAX_LABEL} characters or fewer", field=field)
    return label


def get_theme(session: Session, project: Project, theme_id: int) -> Theme | None:
    """A theme of ``project``, or None (a theme of another project is not found either)."""
    theme = session.get(Theme, theme_id)
    return theme if theme is not None and theme.project_id == project.id else None


def _audit(session: Session, actor: Actor, action: str, theme: Theme, before: dict, after: dict) -> None:
    record(session, actor, action, "theme", theme.id, project_id=theme.project_id, before=before, after=after)


# ---------------------------------------------------------------- edits


def rename(session: Session, actor: Actor, theme: Theme, label: str, expected_version: int) -> Theme:
    """Give ``theme`` a new name; its emerging-theme findings' statements use the new name."""
    label = _clean_label(label)
    _check_versions([theme], {theme.id: expected_version})
    if label == theme.label:
        raise BadInputError("The new name is the same as the old one", field="label")
    before = _snapshot(theme)
    old = theme.label
    theme.label = label
    _stamp(actor, theme)
    _flush(session, [theme])
    _audit(session, actor, "theme.rename", theme, before, _snapshot(theme))
    for finding in _theme_findings(session, [theme.id]):
        was = finding.statement
        finding.statement = _relabel(finding.statement, old, label)
        record_finding_change(
            session,
            actor,
            finding,
            f"theme renamed from “{old}” to “{label}”",
            before={"statement": was},
            after={"statement": finding.statement},
        )
    return theme


def describe(session: Session, actor: Actor, theme: Theme, description: str, expected_version: int) -> Theme:
    """Set the description people read alongside the theme's name (empty clears it)."""
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise BadInputError(f"The description must be {MAX_DESCRIPTION} characters or fewer", field="description")
    _check_versions([theme], {theme.id: expected_version})
    if description == theme.description:
        raise BadInputError("The description has not changed", field="description")
    before = _snapshot(theme)
    theme.description = description
    _stamp(actor, theme)
    _flush(session, [theme])
    _audit(session, actor, "theme.describe", theme, before, _snapshot(theme))
    _touch_findings(session, actor, [theme], "theme description changed")
    return theme


def can_combine(target: Theme, other: Theme) -> bool:
    """Whether ``other``'s segments may go into ``target``: same project, and the same question unless
    ``target`` spans questions."""
    return other.project_id == target.project_id and target.question_id in (None, other.question_id)


def _same_scope(target: Theme, other: Theme, what: str) -> None:
    if other.project_id != target.project_id:
        raise BadInputError(f"“{other.label}” belongs to another project", field=what)
    if not can_combine(target, other):
        raise BadInputError(
            f"“{other.label}” is about a different question from “{target.label}”; themes can only be combined "
            "within one question, or into a theme that spans questions",
            field=what,
        )


def merge(
    session: Session, actor: Actor, target: Theme, others: Sequence[Theme], expected_versions: Mapping[int, int]
) -> Theme:
    """Fold ``others`` into ``target``: segments and keywords are combined and the others are deleted.

    Emerging-theme findings of a merged theme move to ``target`` when they carry sign-offs (so the record of
    who signed what stays) or when ``target`` has none of its own; otherwise they are deleted, as the target's
    finding now speaks for them. Every finding kept is recorded as changed.
    """
    others = [t for t in dict.fromkeys(others) if t.id != target.id]
    if not others:
        raise BadInputError("Choose at least one other theme to merge into this one", field="merge_ids")
    for other in others:
        _same_scope(target, other, "merge_ids")
    _check_versions([target, *others], expected_versions)
    before = {"target": _snapshot(target), "merged": [{"id": t.id, **_snapshot(t)} for t in others]}
    have = {s.id for s in target.segments}
    for other in others:
        for segment in other.segments:
            if segment.id not in have:
                target.segments.append(segment)
                have.add(segment.id)
    target.keywords = list(dict.fromkeys([*target.keywords, *(k for t in others for k in t.keywords)]))
    # Remember what was folded in, so a re-run of the analysis does not bring the merged themes back.
    absorbed = [k for t in others for k in (t.key, *t.absorbed_keys) if k]
    target.absorbed_keys = list(dict.fromkeys([*target.absorbed_keys, *absorbed]))
    if not target.description:
        target.description = next((t.description for t in others if t.description), "")
    _stamp(actor, target)
    _flush(session, [target])

    names = ", ".join(f"“{t.label}”" for t in others)
    target_findings = _theme_findings(session, [target.id])
    for finding in target_findings:
        record_finding_change(
            session,
            actor,
            finding,
            f"{names} merged into theme “{target.label}”",
            before={"theme_id": target.id},
            after={"theme_id": target.id, "merged_theme_ids": [t.id for t in others]},
        )
    signed = set(session.scalars(select(SignOff.finding_id).distinct()))
    for finding in _theme_findings(session, [t.id for t in others], any_kind=True):
        old = next(t for t in others if t.id == finding.theme_id)
        if target_findings and finding.kind == "emerging_theme" and finding.id not in signed:
            record(
                session,
                actor,
                "finding.delete",
                "finding",
                finding.id,
                project_id=finding.project_id,
                before={"key": finding.key, "statement": finding.statement, "theme_id": old.id},
                after={
                    "reason": f"theme “{old.label}” merged into “{target.label}”",
                    "kept_finding_ids": [f.id for f in target_findings],
                },
            )
            session.delete(finding)
            continue
        was = {"theme_id": finding.theme_id, "statement": finding.statement}
        finding.theme_id = target.id
        finding.statement = _relabel(finding.statement, old.label, target.label)
        record_finding_change(
            session,
            actor,
            finding,
            f"theme “{old.label}” merged into “{target.label}”",
            before=was,
            after={"theme_id": target.id, "statement": finding.statement},
        )
    for other in others:
        session.delete(other)
    _flush(session, [target, *others])
    _audit(session, actor, "theme.merge", target, before, {"target": _snapshot(target)})
    return target


def _chosen_segments(theme: Theme, segment_ids: Iterable[int]) -> list[Segment]:
    wanted = {int(i) for i in segment_ids}
    if not wanted:
        raise BadInputError("Choose at least one segment", field="segment_ids")
    chosen = [s for s in theme.segments if s.id in wanted]
    if len(chosen) != len(wanted):
        raise BadInputError(
            f"Some of the chosen segments are no longer in the theme “{theme.label}”. Reload the page and choose again",
            field="segment_ids",
        )
    return chosen


def split(
    session: Session, actor: Actor, theme: Theme, segment_ids: Iterable[int], label: str, expected_version: int
) -> Theme:
    """Take the chosen segments out of ``theme`` into a new theme (origin ``human``) called ``label``."""
    label = _clean_label(label, "new_label")
    _check_versions([theme], {theme.id: expected_version})
    chosen = _chosen_segments(theme, segment_ids)
    if len(chosen) == len(theme.segments):
        raise BadInputError(
            "Leave at least one segment in the theme. To give the whole theme a new name, rename it",
            field="segment_ids",
        )
    before = _snapshot(theme)
    moved = {s.id for s in chosen}
    theme.segments = [s for s in theme.segments if s.id not in moved]
    made = Theme(
        project_id=theme.project_id,
        question_id=theme.question_id,
        key=f"human:{uuid.uuid4().hex[:12]}",
        label=label,
        representative=chosen[0].text,
        origin="human",
        segments=chosen,
        updated_by_label=actor.label,
        updated_at=utcnow(),
    )
    session.add(made)
    _stamp(actor, theme)
    _flush(session, [theme])
    _audit(session, actor, "theme.split", theme, before, {**_snapshot(theme), "new_theme_id": made.id})
    _audit(session, actor, "theme.create", made, {}, {**_snapshot(made), "origin": "human", "split_from": theme.id})
    _touch_findings(session, actor, [theme], f"segments split off into the new theme “{label}”")
    return made


def move_segments(
    session: Session,
    actor: Actor,
    source: Theme,
    target: Theme,
    segment_ids: Iterable[int],
    expected_versions: Mapping[int, int],
) -> Theme:
    """Move the chosen segments of ``source`` into ``target``."""
    if source.id == target.id:
        raise BadInputError("Choose a different theme to move the segments to", field="to_theme_id")
    _same_scope(target, source, "to_theme_id")
    _check_versions([source, target], expected_versions)
    chosen = _chosen_segments(source, segment_ids)
    before = {"source": _snapshot(source), "target": _snapshot(target)}
    moved = {s.id for s in chosen}
    source.segments = [s for s in source.segments if s.id not in moved]
    have = {s.id for s in target.segments}
    target.segments.extend(s for s in chosen if s.id not in have)
    _stamp(actor, source, target)
    _flush(session, [source, target])
    _audit(
        session,
        actor,
        "theme.move_segments",
        source,
        before,
        {"source": _snapshot(source), "target": _snapshot(target), "moved": sorted(moved)},
    )
    _touch_findings(session, actor, [source, target], f"segments moved from “{source.label}” to “{target.label}”")
    return target


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    segments: int
    respondents: int


def themes_by_question(session: Session, project: Project) -> list[tuple[Question | None, list[ThemeRow]]]:
    """The project's themes grouped by question (cross-question themes last), with segment and respondent counts."""
    link = theme_segment.c
    counts = {
        theme_id: (segments, respondents)
        for theme_id, segments, respondents in session.execute(
            select(link.theme_id, func.count(link.segment_id), func.count(func.distinct(Response.respondent_id)))
            .join(Segment, Segment.id == link.segment_id)
            .join(Response, Response.id == Segment.response_id)
            .join(Theme, Theme.id == link.theme_id)
            .where(Theme.project_id == project.id)
            .group_by(link.theme_id)
        )
    }
    themes = session.scalars(select(Theme).where(Theme.project_id == project.id).order_by(Theme.id)).all()
    questions = {q.id: q for q in project.framework.questions}
    grouped: dict[int | None, list[ThemeRow]] = {}
    for theme in themes:
        segments, respondents = counts.get(theme.id, (0, 0))
        grouped.setdefault(theme.question_id, []).append(ThemeRow(theme, segments, respondents))
    order = sorted(grouped, key=lambda q: (q is None, questions[q].number if q in questions else 0))
    return [
        (questions.get(q) if q is not None else None, sorted(grouped[q], key=lambda r: (-r.respondents, r.theme.label)))
        for q in order
    ]


def theme_segments(
    session: Session, theme: Theme, page: int, size: int
) -> tuple[list[tuple[Segment, Respondent]], int]:
    """One page of the theme's segments with their respondents, and how many there are in all."""
    link = theme_segment.c
    base = (
        select(Segment, Respondent)
        .join(theme_segment, link.segment_id == Segment.id)
        .join(Response, Response.id == Segment.response_id)
        .join(Respondent, Respondent.id == Response.respondent_id)
        .where(link.theme_id == theme.id)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(Segment.response_id, Segment.position).offset((page - 1) * size).limit(size)
    ).all()
    return [(segment, respondent) for segment, respondent in rows], total


def neighbours(session: Session, theme: Theme) -> tuple[list[Theme], list[Theme]]:
    """Themes that may be merged into ``theme``, and themes its segments may move to."""
    others = session.scalars(
        select(Theme).where(Theme.project_id == theme.project_id, Theme.id != theme.id).order_by(Theme.label, Theme.id)
    ).all()
    return [t for t in others if can_combine(theme, t)], [t for t in others if can_combine(t, theme)]

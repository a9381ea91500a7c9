"""Exact, incremental figure updates after review decisions.

Every figure of a question-and-code or standard finding (``services.findings._refresh_one``) is a sum
over respondents of a per-respondent *profile*: whether the respondent counts (at least one of their
segments carries one of the finding's codes effectively: a model suggestion nobody rejected, or a code a
person accepted or added), the effectively coded segments themselves (the finding's links, the segment
count, the quotes that may stay), the set of stances of those segments and, for a standard, which of its
codes they carry. A review decision changes the segments of a few respondents only. So instead of
recounting the whole finding (about 100,000 assignment rows for a standard on a 50,000-response project),
:class:`ReviewDelta` reads those respondents' rows before and after the change (small indexed queries),
and applies the difference of their profiles to the stored figures and links. The statement is then
rewritten as the full recount rewrites it. ``tests/services/test_finding_delta.py`` checks after every
step of random review sequences that the result equals a full recount.

Concurrency: :class:`ReviewDelta` locks the changed segments, then the findings that may change, before
it reads anything (``SELECT ... FOR UPDATE`` on PostgreSQL, in id order; on SQLite the web UI's writing
transactions already hold the database's write lock from ``BEGIN IMMEDIATE``). The findings are read
again under the lock, so a decision that waited for another one applies its difference to the figures
that one left, with the current version: concurrent decisions queue instead of failing the optimistic
version check.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coproduce.pipeline.findings import _share, effective_codes
from coproduce.services.findings import (
    _answered,
    _campaign_respondents,
    _linked_among,
    _refresh_one,
    _relink,
    _statement_for,
    findings_touched_by_codes,
)
from coproduce.store.db import lock_for_write
from coproduce.store.models import (
    Code,
    CodeAssignment,
    Finding,
    Respondent,
    Response,
    Segment,
    Stance,
    code_standard,
)

_FIGURE_KEYS = ("respondents", "base", "segments", "by_type", "without_campaigns", "stance")


@dataclass(frozen=True)
class _Row:
    """One code assignment of one segment of an affected respondent."""

    segment_id: int
    key: tuple[int, int]  # (response id, position), as quotes name their segment
    question_id: int | None
    stance: str | None
    code_id: int
    status: str


@dataclass(frozen=True)
class Profile:
    """What one respondent contributes to one finding."""

    segments: frozenset[int]  # their effectively coded segments (the finding's links)
    stances: frozenset[str]
    codes: frozenset[int]  # the finding's codes they carry

    @property
    def counts(self) -> bool:
        return bool(self.segments)


class ReviewDelta:
    """The state of the segments a review action is about to change, to update findings exactly after it.

    Make one after checking the request and before changing anything; call :meth:`capture` with the codes
    the action may change (none for one that cannot move a count), then make the change, then pass
    :meth:`recount` to ``record_finding_change`` for each touched finding.
    """

    def __init__(self, session: Session, project_id: int, segment_ids: Iterable[int]):
        self.session = session
        self.project_id = project_id
        self.segment_ids = sorted(set(segment_ids))
        self._locked: set[int] = set()
        self._before: dict[int, list[_Row]] | None = None
        self._after: dict[int, list[_Row]] | None = None
        self._codes: dict[int, frozenset[int]] = {}
        self._campaign: set[int] | None = None
        # Lock (SQLite: the database's write lock; PostgreSQL: the segment rows) and read the segments and
        # their assignments afresh: a decision that waited for another one on the same segment sees what
        # that one did.
        lock_for_write(session)
        if self.segment_ids:
            self.session.scalars(
                select(Segment)
                .where(Segment.id.in_(self.segment_ids))
                .order_by(Segment.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).all()
            self.session.scalars(
                select(CodeAssignment)
                .where(CodeAssignment.segment_id.in_(self.segment_ids))
                .execution_options(populate_existing=True)
            ).all()
        self.respondents: dict[int, str] = dict(
            session.execute(
                select(Respondent.id, Respondent.respondent_type)
                .join(Response, Response.respondent_id == Respondent.id)
                .join(Segment, Segment.response_id == Response.id)
                .where(Segment.id.in_(self.segment_ids or [-1]))
            ).all()
        )

    def capture(self, code_ids: Iterable[int]) -> None:
        """Lock the findings that counting ``code_ids`` on the segments may change, and read the affected
        respondents' rows as they are before the change."""
        code_ids = set(code_ids)
        if not code_ids:
            return
        self.lock(findings_touched_by_codes(self.session, self.project_id, self.segment_ids, code_ids))
        self._before = self._rows()

    def lock(self, findings: Iterable[Finding]) -> None:
        """Lock ``findings`` for the rest of the transaction (PostgreSQL) and reload them, in id order."""
        ids = sorted({f.id for f in findings} - self._locked)
        if not ids:
            return
        self.session.scalars(
            select(Finding)
            .where(Finding.id.in_(ids))
            .order_by(Finding.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        self._locked.update(ids)

    def recount(self, finding: Finding) -> bool:
        """Bring ``finding`` up to date with the change; True when its figures, statement or links changed.

        Falls back to the full recount for a finding whose stored figures lack a part the update needs, or
        that was not locked and captured before the change."""
        figures = finding.figures or {}
        complete = all(k in figures for k in _FIGURE_KEYS) and (finding.kind != "standard" or "codes" in figures)
        if not complete or finding.id not in self._locked or self._before is None:
            return _refresh_one(self.session, finding)
        codes = self._codes_of(finding)
        if not codes or (finding.kind == "question_code" and finding.question_id is None):
            return _refresh_one(self.session, finding)
        if self._after is None:
            self.session.flush()
            self._after = self._rows()
        return self._apply(finding, codes)

    # ------------------------------------------------------------ reading

    def _rows(self) -> dict[int, list[_Row]]:
        rows: dict[int, list[_Row]] = defaultdict(list)
        for seg_id, response_id, position, question_id, respondent_id, stance, code_id, status in self.session.execute(
            select(
                Segment.id,
                Segment.response_id,
                Segment.position,
                Response.question_id,
                Response.respondent_id,
                Stance.key,
                CodeAssignment.code_id,
                CodeAssignment.status,
            )
            .join(Response, Segment.response_id == Response.id)
            .join(CodeAssignment, CodeAssignment.segment_id == Segment.id)
            .outerjoin(Stance, Segment.stance_id == Stance.id)
            .where(Response.respondent_id.in_(sorted(self.respondents) or [-1]))
        ):
            rows[respondent_id].append(_Row(seg_id, (response_id, position), question_id, stance, code_id, status))
        return rows

    def _codes_of(self, finding: Finding) -> frozenset[int]:
        if finding.id not in self._codes:
            if finding.kind == "question_code":
                codes = {finding.code_id} - {None}
            else:
                codes = set(
                    self.session.scalars(
                        select(code_standard.c.code_id).where(code_standard.c.standard_id == finding.standard_id)
                    )
                )
            self._codes[finding.id] = frozenset(c for c in codes if c is not None)
        return self._codes[finding.id]

    def _relevant(self, finding: Finding, codes: frozenset[int], rows: list[_Row]) -> list[_Row]:
        question = finding.question_id if finding.kind == "question_code" else None
        return [r for r in rows if r.code_id in codes and (question is None or r.question_id == question)]

    @staticmethod
    def profile(rows: list[_Row]) -> Profile:
        """A respondent's profile from their rows of the finding's codes (and question)."""
        by_status: dict[str, list[tuple[int, int]]] = defaultdict(list)
        stance_of: dict[int, str | None] = {}
        for row in rows:
            by_status[row.status].append((row.segment_id, row.code_id))
            stance_of[row.segment_id] = row.stance
        effective = effective_codes(by_status["suggested"], by_status["accepted"], by_status["rejected"])
        return Profile(
            segments=frozenset(effective),
            stances=frozenset(s for seg in effective if (s := stance_of[seg]) is not None),
            codes=frozenset(c for found in effective.values() for c in found),
        )

    # ------------------------------------------------------------ applying the difference

    def _apply(self, finding: Finding, codes: frozenset[int]) -> bool:
        assert self._before is not None and self._after is not None
        session = self.session
        old = dict(finding.figures or {})
        figures = copy.deepcopy(old)
        stance = dict(figures["stance"])
        by_type = copy.deepcopy(figures["by_type"])
        code_counts = dict(figures.get("codes", {}))
        labels = self._labels(codes) if finding.kind == "standard" else {}
        respondents, segments = figures["respondents"], figures["segments"]
        without = dict(figures["without_campaigns"])
        wanted: set[int] = set()
        considered: set[int] = set()
        dropped_keys: set[tuple[int, int]] = set()
        for respondent, kind in self.respondents.items():
            before_rows = self._relevant(finding, codes, self._before.get(respondent, []))
            after_rows = self._relevant(finding, codes, self._after.get(respondent, []))
            before, after = self.profile(before_rows), self.profile(after_rows)
            considered |= {r.segment_id for r in before_rows + after_rows}
            wanted |= after.segments
            dropped_keys |= {r.key for r in before_rows + after_rows if r.segment_id not in after.segments}
            if before == after:
                continue
            segments += len(after.segments) - len(before.segments)
            for key in before.stances:
                stance[key] = stance.get(key, 0) - 1
            for key in after.stances:
                stance[key] = stance.get(key, 0) + 1
            for code in before.codes & labels.keys():
                code_counts[labels[code]] = code_counts.get(labels[code], 0) - 1
            for code in after.codes & labels.keys():
                code_counts[labels[code]] = code_counts.get(labels[code], 0) + 1
            moved = int(after.counts) - int(before.counts)
            if not moved:
                continue
            respondents += moved
            if respondent not in self._campaign_set():
                without["respondents"] += moved
            entry = by_type.get(kind) or {"respondents": 0, "base": self._type_base(finding, kind), "share": 0.0}
            entry = {**entry, "respondents": entry["respondents"] + moved}
            entry["share"] = _share(entry["respondents"], entry["base"])
            by_type[kind] = entry
        figures["respondents"], figures["segments"] = respondents, segments
        figures["share"] = _share(respondents, figures["base"])
        without["share"] = _share(without["respondents"], without["base"])
        figures["without_campaigns"] = without
        figures["by_type"] = {k: v for k, v in sorted(by_type.items()) if v["respondents"] > 0}
        # Ordered by count as respondent_figures orders it; ties keep the order they had.
        figures["stance"] = {k: n for k, n in sorted(stance.items(), key=lambda kv: -kv[1]) if n > 0}
        if finding.kind == "standard":
            ordered = sorted(codes, key=lambda c: labels[c])
            figures["codes"] = {labels[c]: code_counts.get(labels[c], 0) for c in ordered}
        figures["quotes"] = [q for q in old.get("quotes", []) if tuple(q.get("segment", ())) not in dropped_keys]
        statement = _statement_for(session, finding, figures)
        if old.get("statement_edited"):
            if (old.get("respondents"), old.get("base")) != (figures["respondents"], figures["base"]):
                figures["statement_check"] = True  # a person wrote it for other numbers
            statement = finding.statement
        linked = _linked_among(session, finding, considered)
        if figures == old and statement == finding.statement and linked == wanted:
            return False
        finding.figures = figures
        finding.statement = statement
        _relink(session, finding, linked, wanted)
        return True

    def _campaign_set(self) -> set[int]:
        if self._campaign is None:
            self._campaign = _campaign_respondents(self.session, self.project_id)
        return self._campaign

    def _labels(self, codes: frozenset[int]) -> dict[int, str]:
        return dict(self.session.execute(select(Code.id, Code.key).where(Code.id.in_(codes))).all())

    def _type_base(self, finding: Finding, kind: str) -> int:
        """The base of a respondent type new to the finding's figures (one query)."""
        if finding.kind == "question_code":
            return len(_answered(self.session, self.project_id, finding.question_id, kind))
        return (
            self.session.scalar(
                select(func.count(func.distinct(Response.respondent_id)))
                .join(Respondent, Response.respondent_id == Respondent.id)
                .where(Respondent.project_id == self.project_id, Respondent.respondent_type == kind)
            )
            or 0
        )

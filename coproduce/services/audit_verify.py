"""Verify the audit log's hash chain: name the first event that was edited, deleted, inserted or reordered.

The chain is walked in id order (writers lock the chain head before their id is allocated, so id
order is the order of writing). For each event: it must link to the event before it, its stored
hash must match its fields, and, unless erasure blanked it, its payload must match its digest. A
blanked payload must be listed by a later ``respondent.erased`` event, so marking an event erased
by hand is caught too. Finally the chain head must name the last event, so deleting events at the
end, or adding one after it, is caught.

What a hash chain cannot catch: someone with write access to the database who recomputes every
hash after theirs and the head. Keep the head hash that ``coproduce audit verify`` prints (it is
also in every backup manifest) somewhere else to detect that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from coproduce.store.audit_chain import GENESIS, HEAD_ID, payload_digest, row_hash
from coproduce.store.models import AuditChainHead, AuditEvent

ERASURE_ACTION = "respondent.erased"


@dataclass(frozen=True)
class ChainProblem:
    event_id: int | None
    kind: str  # edited | deleted | inserted | reordered
    detail: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "the chain head"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    events: int
    erased: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is None:
            blanked = f" ({self.erased} with personal data erased)" if self.erased else ""
            return f"Audit log intact: {self.events} events{blanked}; chain head {self.head_hash}."
        return f"Audit log tampered with: {self.problem}."


def verify_chain(connection: Connection) -> ChainReport:
    """Check the whole audit chain; reports the first problem found, in chain order."""
    events = AuditEvent.__table__
    rows = connection.execute(select(events).order_by(events.c.id)).all()
    head = connection.execute(
        select(AuditChainHead.__table__).where(AuditChainHead.__table__.c.id == HEAD_ID)
    ).one_or_none()
    erased = sum(1 for r in rows if r.payload_erased_at is not None)
    problem = _first_problem(rows, head)
    head_hash = head.last_hash if head is not None else ""
    return ChainReport(events=len(rows), erased=erased, head_hash=head_hash, problem=problem)


def _blanked_by_erasures(rows: list[Any]) -> set[int]:
    blanked: set[int] = set()
    for row in rows:
        if row.action == ERASURE_ACTION and row.payload_erased_at is None and isinstance(row.after, dict):
            blanked.update(int(i) for i in row.after.get("blanked_audit_events", []))
    return blanked


def _first_problem(rows: list[Any], head: Any) -> ChainProblem | None:
    position = {row.chain_hash: i for i, row in enumerate(rows) if row.chain_hash}
    position[GENESIS] = -1
    blanked = _blanked_by_erasures(rows)
    prev = GENESIS
    for i, row in enumerate(rows):
        if row.chain_hash is None or row.prev_hash is None or row.payload_digest is None:
            return ChainProblem(row.id, "inserted", "it has no chain hash, so it was not written through coproduce")
        own = row_hash(row, row.prev_hash) == row.chain_hash
        if not (own and row.prev_hash == prev):
            return _misplaced(rows, i, prev, own, position)
        if row.payload_erased_at is None:
            if payload_digest(row.before, row.after) != row.payload_digest:
                return ChainProblem(row.id, "edited", "its before/after payload no longer matches its digest")
        elif row.id not in blanked:
            return ChainProblem(row.id, "edited", "its payload was blanked but no erasure event records it")
        prev = row.chain_hash
    if head is None:
        return ChainProblem(None, "deleted", "the chain head row is missing")
    if head.last_hash != prev:
        linked = position.get(head.last_hash)
        if linked is not None and linked + 1 < len(rows):
            return ChainProblem(rows[linked + 1].id, "inserted", "it was added after the chain head's last event")
        return ChainProblem(
            head.last_event_id,
            "deleted",
            f"the chain head says the last event was {head.last_event_id}, but the log ends "
            + (f"at event {rows[-1].id}" if rows else "empty"),
        )
    return None


def _misplaced(rows: list[Any], i: int, prev: str, own: bool, position: dict[str, int]) -> ChainProblem:
    """Say why event ``rows[i]`` does not follow ``prev`` (the hash of the last good event)."""
    row = rows[i]
    linked = position.get(row.prev_hash)
    following = rows[i + 1] if i + 1 < len(rows) else None
    if linked is not None and linked > i:
        return ChainProblem(
            row.id, "reordered", f"it was written after event {rows[linked].id} but now comes before it"
        )
    if following is not None and following.prev_hash == prev:
        return ChainProblem(row.id, "inserted", "the chain runs past it: the next event links to the one before")
    if linked is None:
        after = f"after event {rows[i - 1].id} " if i else ""
        return ChainProblem(row.id, "deleted", f"the event written {after}and before this one is missing")
    if linked < i - 1:
        if own:  # a genuine event links past the ones before it: those were put in
            return ChainProblem(
                rows[linked + 1].id, "inserted", f"it is not in the chain: event {row.id} links past it"
            )
        return ChainProblem(row.id, "inserted", "it does not fit the chain and its hash is not its own")
    return ChainProblem(row.id, "edited", "its fields (who, what, when, entity, digest) no longer match its hash")

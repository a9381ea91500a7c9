"""The audit log's hash chain: every event carries a hash of the event before it and of its own fields.

Each ``audit_event`` row stores ``payload_digest`` (sha256 of its before/after payload),
``prev_hash`` (the ``chain_hash`` of the event written before it) and ``chain_hash`` (sha256 over
``prev_hash``, its id, project, actor, action, entity, timestamp and ``payload_digest``). Editing,
deleting, inserting or reordering rows by hand therefore breaks the chain, which
``services.audit_verify`` detects. Because the chain covers the payload's digest rather than the
payload, erasure can blank personal data in a payload (``payload_erased_at``) and the chain still
verifies.

Two writers must not link their events to the same predecessor (a fork). Every insert first locks
the single ``audit_chain_head`` row, and keeps it until its transaction ends: ``SELECT ... FOR
UPDATE`` on PostgreSQL, and on SQLite a no-op ``UPDATE`` that takes the database's write lock. The
lock is taken *before* the event's id is allocated, so ids increase in chain order. The hash is
computed after the insert (when the id is known) and written with a Core ``UPDATE``, which the
session's append-only guard (it watches ORM changes) does not see; nothing else updates events
except erasure's payload blanking.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, insert, select, update
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value

from coproduce.store.models import AuditChainHead, AuditEvent, utcnow

GENESIS = "0" * 64  # the "previous hash" of the first event
HEAD_ID = 1

_events = AuditEvent.__table__
_head = AuditChainHead.__table__


def _plain(value: Any) -> Any:
    """The payload as the JSON column gives it back: tuples become lists, keys become strings."""
    return json.loads(json.dumps(value, default=str))


def payload_digest(before: Any, after: Any) -> str:
    canonical = json.dumps(
        {"before": _plain(before), "after": _plain(after)}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def event_hash(
    prev_hash: str,
    *,
    event_id: int,
    project_id: int | None,
    actor_id: int | None,
    actor_label: str,
    action: str,
    entity_type: str,
    entity_id: int | None,
    created_at: datetime | None,
    digest: str,
) -> str:
    fields = [
        prev_hash,
        event_id,
        project_id,
        actor_id,
        actor_label,
        action,
        entity_type,
        entity_id,
        _timestamp(created_at),
        digest,
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


def row_hash(row: Any, prev_hash: str) -> str:
    """The chain hash of an ``audit_event`` row (ORM object or Core row) linked after ``prev_hash``."""
    return event_hash(
        prev_hash,
        event_id=row.id,
        project_id=row.project_id,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        created_at=row.created_at,
        digest=row.payload_digest,
    )


def lock_head(connection: Connection) -> Any:
    """Lock the chain head for the rest of the transaction and return it (creating it on first use)."""
    if connection.dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE; a write takes the database's single write lock until commit.
        connection.execute(update(_head).where(_head.c.id == HEAD_ID).values(events=_head.c.events))
    head = connection.execute(select(_head).where(_head.c.id == HEAD_ID).with_for_update()).one_or_none()
    if head is None:  # the migration makes the row; this covers a database whose row was removed by hand
        connection.execute(insert(_head).values(id=HEAD_ID, last_event_id=None, last_hash=GENESIS, events=0))
        head = connection.execute(select(_head).where(_head.c.id == HEAD_ID).with_for_update()).one()
    return head


@event.listens_for(AuditEvent, "before_insert")
def _before_insert(_mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    if target.created_at is None:
        target.created_at = utcnow()
    target.payload_digest = payload_digest(target.before, target.after)
    lock_head(connection)  # before the INSERT allocates the id, so ids follow the chain


@event.listens_for(AuditEvent, "after_insert")
def _after_insert(_mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    head = lock_head(connection)
    chained = row_hash(target, head.last_hash)
    connection.execute(
        update(_events).where(_events.c.id == target.id).values(prev_hash=head.last_hash, chain_hash=chained)
    )
    connection.execute(
        update(_head)
        .where(_head.c.id == HEAD_ID)
        .values(last_event_id=target.id, last_hash=chained, events=_head.c.events + 1)
    )
    set_committed_value(target, "prev_hash", head.last_hash)
    set_committed_value(target, "chain_hash", chained)

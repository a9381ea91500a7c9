"""data protection: hash-chained audit events, per-project retention, erasure records

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("payload_erased_at", sa.DateTime(), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    _backfill_chain()


def _backfill_chain() -> None:
    """Chain the events recorded before this revision, in id order (their order of writing)."""
    from types import SimpleNamespace

    from coproduce.store.audit_chain import payload_digest, row_hash

    events = sa.table(
        "audit_event",
        sa.column("id", sa.Integer()),
        sa.column("project_id", sa.Integer()),
        sa.column("actor_id", sa.Integer()),
        sa.column("actor_label", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity_type", sa.String()),
        sa.column("entity_id", sa.Integer()),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("created_at", sa.DateTime()),
        sa.column("payload_digest", sa.String()),
        sa.column("prev_hash", sa.String()),
        sa.column("chain_hash", sa.String()),
    )
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("last_event_id", sa.Integer()),
        sa.column("last_hash", sa.String()),
        sa.column("events", sa.Integer()),
    )
    bind = op.get_bind()
    prev, last_id, count = GENESIS, None, 0
    for row in bind.execute(sa.select(events).order_by(events.c.id)).all():
        digest = payload_digest(row.before, row.after)
        chained = row_hash(SimpleNamespace(**{**row._mapping, "payload_digest": digest}), prev)
        bind.execute(
            sa.update(events)
            .where(events.c.id == row.id)
            .values(payload_digest=digest, prev_hash=prev, chain_hash=chained)
        )
        prev, last_id, count = chained, row.id, count + 1
    bind.execute(sa.insert(head).values(id=1, last_event_id=last_id, last_hash=prev, events=count))


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("payload_erased_at")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("payload_digest")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("retention_days")

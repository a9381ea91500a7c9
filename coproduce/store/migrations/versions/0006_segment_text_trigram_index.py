"""PostgreSQL only: a trigram index on segment.text for keyword search

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:35:00

Keyword search is a case-insensitive substring match (ILIKE '%word%'), which no B-tree index serves:
on a 225,000-segment project PostgreSQL scanned every segment's text with three parallel workers for
each count (230 ms, on all the cores of a 2-core server). pg_trgm's GIN index serves such patterns.
pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (PostgreSQL 13+), so the database
owner may create it. Where it cannot be had the migration leaves the index out and search still works,
only slower. SQLite has no such index; its scan of one question's segments is fast enough.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "ix_segment_text_trgm"
log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"))
    if not available:
        log.warning("pg_trgm is not installed on this server: keyword search will scan segment texts")
        return
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:  # e.g. PostgreSQL 12 and older, where it needs a superuser
        log.warning("could not create the pg_trgm extension (%s): keyword search will scan segment texts", error)
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON segment USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")

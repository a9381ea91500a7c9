"""background jobs: a job table the web app and the queue worker both read (progress, cancel, resume)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RUN_STATUSES_BEFORE = "status IN ('running', 'finished', 'failed', 'cancelled')"
RUN_STATUSES_AFTER = "status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')"
JOB_STATUSES = "status IN ('queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted')"


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("active_key", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("resumable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_label", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("worker_id", sa.String(length=120), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(JOB_STATUSES, name=op.f("ck_job_status")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_job_requested_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("active_key", name=op.f("uq_job_active_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_created_at"), ["created_at"], unique=False)

    op.create_table(
        "job_worker",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_worker")),
    )

    # A run whose worker died mid-run ends as "interrupted" (nothing of it was stored).
    with op.batch_alter_table("analysis_run", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=10), type_=sa.String(length=12), existing_nullable=False
        )
        batch_op.drop_constraint(op.f("ck_analysis_run_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_analysis_run_status"), RUN_STATUSES_AFTER)


def downgrade() -> None:
    op.execute("UPDATE analysis_run SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table("analysis_run", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_analysis_run_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_analysis_run_status"), RUN_STATUSES_BEFORE)
        batch_op.alter_column(
            "status", existing_type=sa.String(length=12), type_=sa.String(length=10), existing_nullable=False
        )
    op.drop_table("job_worker")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_created_at"))
        batch_op.drop_index(batch_op.f("ix_job_key"))
    op.drop_table("job")

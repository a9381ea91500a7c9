"""review and sign-off: blind coding tasks, seen segments, notifications, progress and last editors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coding_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("sample_key", sa.String(length=100), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["user_account.id"], name=op.f("fk_coding_task_assigned_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_coding_task_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segment.id"], name=op.f("fk_coding_task_segment_id_segment"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_coding_task_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coding_task")),
        sa.UniqueConstraint("sample_key", "segment_id", "user_id", name="uq_coding_task_sample_segment_user"),
    )
    with op.batch_alter_table("coding_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coding_task_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coding_task_segment_id"), ["segment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coding_task_user_id"), ["user_id"], unique=False)

    op.create_table(
        "segment_seen",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segment.id"], name=op.f("fk_segment_seen_segment_id_segment"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_segment_seen_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "segment_id", name=op.f("pk_segment_seen")),
    )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["finding.id"], name=op.f("fk_notification_finding_id_finding"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_notification_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("analysis_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("requested_by_label", sa.String(length=200), nullable=False, server_default=""))
    for table in ("theme", "finding"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("updated_by_label", sa.String(length=200), nullable=False, server_default=""))
            batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("theme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("absorbed_keys", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("theme", schema=None) as batch_op:
        batch_op.drop_column("absorbed_keys")
    for table in ("finding", "theme"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("updated_at")
            batch_op.drop_column("updated_by_label")
    with op.batch_alter_table("analysis_run", schema=None) as batch_op:
        batch_op.drop_column("requested_by_label")
        batch_op.drop_column("progress")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_project_id"))
    op.drop_table("notification")
    op.drop_table("segment_seen")
    with op.batch_alter_table("coding_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coding_task_user_id"))
        batch_op.drop_index(batch_op.f("ix_coding_task_segment_id"))
        batch_op.drop_index(batch_op.f("ix_coding_task_project_id"))
    op.drop_table("coding_task")

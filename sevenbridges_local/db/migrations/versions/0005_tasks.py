"""Tasks: drafts, the durable run queue, batch children, progress and results.

Revision ID: 0005_tasks
Revises: 0004_apps
Create Date: 2024-07-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_tasks"
down_revision = "0004_apps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "parent_id",
            sa.String(36),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("app_ref", sa.String(400), nullable=False),
        sa.Column(
            "app_pk",
            sa.Integer(),
            sa.ForeignKey("apps.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("app_revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("executed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
        sa.Column("queued_on", sa.DateTime(), nullable=True),
        sa.Column("started_on", sa.DateTime(), nullable=True),
        sa.Column("running_on", sa.DateTime(), nullable=True),
        sa.Column("ended_on", sa.DateTime(), nullable=True),
        sa.Column("transitions", sa.JSON(), nullable=False),
        sa.Column("batch", sa.Boolean(), nullable=False),
        sa.Column("batch_input", sa.String(255), nullable=True),
        sa.Column("batch_by", sa.JSON(), nullable=True),
        sa.Column("batch_group", sa.JSON(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("execution_settings", sa.JSON(), nullable=True),
        sa.Column("output_location", sa.JSON(), nullable=True),
        sa.Column("use_interruptible_instances", sa.Boolean(), nullable=True),
        sa.Column("origin_id", sa.String(64), nullable=True),
        sa.Column("steps_completed", sa.Integer(), nullable=False),
        sa.Column("steps_total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("jobs", sa.JSON(), nullable=False),
        sa.Column("computation_cost", sa.Float(), nullable=False),
        sa.Column("storage_cost", sa.Float(), nullable=False),
        sa.Column("abort_requested", sa.Boolean(), nullable=False),
        sa.Column("run_attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_tasks_project_created", "tasks", ["project_id", "created_on"])
    op.create_index("ix_tasks_parent_position", "tasks", ["parent_id", "position"])
    op.create_index("ix_tasks_status_queued", "tasks", ["status", "queued_on"])


def downgrade() -> None:
    op.drop_index("ix_tasks_status_queued", table_name="tasks")
    op.drop_index("ix_tasks_parent_position", table_name="tasks")
    op.drop_index("ix_tasks_project_created", table_name="tasks")
    op.drop_table("tasks")

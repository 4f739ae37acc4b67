"""Volumes (cloud buckets connected to the platform) and their members.

Revision ID: 0006_volumes
Revises: 0005_tasks
Create Date: 2024-08-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_volumes"
down_revision = "0005_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("access_mode", sa.String(2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("service_type", sa.String(8), nullable=False),
        sa.Column("service", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("secret_context", sa.String(32), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("owner_id", "name", name="uq_volumes_owner_name"),
    )
    op.create_index("ix_volumes_owner_id", "volumes", ["owner_id"])
    op.create_table(
        "volume_members",
        sa.Column(
            "volume_id",
            sa.Integer(),
            sa.ForeignKey("volumes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("copy", sa.Boolean(), nullable=False),
        sa.Column("write", sa.Boolean(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_volume_members_user_id", "volume_members", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_volume_members_user_id", table_name="volume_members")
    op.drop_table("volume_members")
    op.drop_index("ix_volumes_owner_id", table_name="volumes")
    op.drop_table("volumes")

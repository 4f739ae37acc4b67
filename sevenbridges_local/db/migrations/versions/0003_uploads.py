"""Multipart uploads in progress and their reported parts.

Revision ID: 0003
Revises: 0002
Create Date: 2024-06-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "folder_id",
            sa.String(24),
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("project_ref", sa.String(300), nullable=True),
        sa.Column("parent_ref", sa.String(24), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("overwrite", sa.Boolean(), nullable=False),
        sa.Column("initiated", sa.DateTime(), nullable=False),
        sa.Column("touched_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_uploads_user_id", "uploads", ["user_id"])
    op.create_index("ix_uploads_project_id", "uploads", ["project_id"])
    op.create_index("ix_uploads_folder_id", "uploads", ["folder_id"])
    op.create_index("ix_uploads_touched_on", "uploads", ["touched_on"])
    op.create_table(
        "upload_parts",
        sa.Column(
            "upload_id",
            sa.String(32),
            sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("part_number", sa.Integer(), primary_key=True),
        sa.Column("etag", sa.String(32), nullable=False),
        sa.Column("reported_on", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_parts")
    op.drop_table("uploads")

"""Apps and their revisions.

Revision ID: 0004_apps
Revises: 0003
Create Date: 2024-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_apps"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("slug", sa.String(128), nullable=False),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
        sa.Column(
            "copy_of_app_id",
            sa.Integer(),
            sa.ForeignKey("apps.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("copy_of_revision", sa.Integer(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.UniqueConstraint("project_id", "slug", name="uq_apps_project_slug"),
    )
    op.create_index("ix_apps_copy_of_app_id", "apps", ["copy_of_app_id"])
    op.create_table(
        "app_revisions",
        sa.Column(
            "app_id",
            sa.Integer(),
            sa.ForeignKey("apps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("cwl_version", sa.String(16), nullable=False),
        sa.Column("cwl_class", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("copy_of", sa.String(400), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_revisions")
    op.drop_index("ix_apps_copy_of_app_id", table_name="apps")
    op.drop_table("apps")

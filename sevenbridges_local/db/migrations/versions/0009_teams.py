"""Teams, group grants, datasets, genome markers and feedback.

Revision ID: 0009_teams
Revises: 0008_drs
Create Date: 2024-09-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_teams"
down_revision = "0008_drs"
branch_labels = None
depends_on = None


def _permission_columns() -> list[sa.Column]:
    return [
        sa.Column(name, sa.Boolean(), nullable=False)
        for name in ("read", "copy", "write", "execute", "admin")
    ]


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "division_id",
            sa.Integer(),
            sa.ForeignKey("divisions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_teams_division_id", "teams", ["division_id"])
    op.create_table(
        "team_members",
        sa.Column(
            "team_id",
            sa.String(36),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("owner_id", "slug", name="uq_datasets_owner_slug"),
    )
    op.create_index("ix_datasets_owner_id", "datasets", ["owner_id"])
    op.create_index("ix_datasets_project_id", "datasets", ["project_id"])
    op.create_table(
        "dataset_members",
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        *_permission_columns(),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dataset_members_user_id", "dataset_members", ["user_id"])
    op.create_table(
        "group_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "volume_id",
            sa.Integer(),
            sa.ForeignKey("volumes.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("member_type", sa.String(16), nullable=False),
        sa.Column(
            "team_id", sa.String(36), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "division_id",
            sa.Integer(),
            sa.ForeignKey("divisions.id", ondelete="CASCADE"),
            nullable=True,
        ),
        *_permission_columns(),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    for column in ("project_id", "volume_id", "dataset_id", "team_id", "division_id"):
        op.create_index(f"ix_group_grants_{column}", "group_grants", [column])
    op.create_table(
        "markers",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "file_id", sa.String(24), sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("chromosome", sa.String(255), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_markers_file_id", "markers", ["file_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("referrer", sa.Text(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_feedback_user_id", "feedback", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_user_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_markers_file_id", table_name="markers")
    op.drop_table("markers")
    for column in ("project_id", "volume_id", "dataset_id", "team_id", "division_id"):
        op.drop_index(f"ix_group_grants_{column}", table_name="group_grants")
    op.drop_table("group_grants")
    op.drop_index("ix_dataset_members_user_id", table_name="dataset_members")
    op.drop_table("dataset_members")
    op.drop_index("ix_datasets_project_id", table_name="datasets")
    op.drop_index("ix_datasets_owner_id", table_name="datasets")
    op.drop_table("datasets")
    op.drop_index("ix_team_members_user_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_index("ix_teams_division_id", table_name="teams")
    op.drop_table("teams")

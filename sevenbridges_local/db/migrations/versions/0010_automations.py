"""Automations, their members, code packages and runs.

Revision ID: 0010_automations
Revises: 0009_teams
Create Date: 2024-10-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_automations"
down_revision = "0009_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("billing_group_id", sa.String(36), nullable=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "storage_project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("secret_settings", sa.JSON(), nullable=False),
        sa.Column("memory_limit", sa.Integer(), nullable=True),
        sa.Column("project_based", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("modified_by", sa.String(64), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_automations_owner_id", "automations", ["owner_id"])
    op.create_index("ix_automations_storage_project_id", "automations", ["storage_project_id"])
    op.create_table(
        "automation_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "automation_id",
            sa.String(36),
            sa.ForeignKey("automations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("member_type", sa.String(8), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "team_id", sa.String(36), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True
        ),
        *[
            sa.Column(name, sa.Boolean(), nullable=False)
            for name in ("read", "copy", "write", "execute", "admin")
        ],
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    for column in ("automation_id", "user_id", "team_id"):
        op.create_index(f"ix_automation_members_{column}", "automation_members", [column])
    op.create_table(
        "automation_packages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "automation_id",
            sa.String(36),
            sa.ForeignKey("automations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("location", sa.String(24), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=False),
        sa.Column("entrypoint", sa.String(255), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("memory_limit", sa.Integer(), nullable=True),
        sa.Column("python", sa.String(16), nullable=True),
        sa.Column("custom_url", sa.String(1000), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_automation_packages_automation_id", "automation_packages", ["automation_id"]
    )
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "automation_id",
            sa.String(36),
            sa.ForeignKey("automations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "package_id",
            sa.String(32),
            sa.ForeignKey("automation_packages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secret_settings", sa.JSON(), nullable=False),
        sa.Column("memory_limit", sa.Integer(), nullable=True),
        sa.Column("resumed_from", sa.String(32), nullable=True),
        sa.Column("project_id", sa.String(300), nullable=True),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("log_file_id", sa.String(24), nullable=True),
        sa.Column("state_file_id", sa.String(24), nullable=True),
        sa.Column("log_size", sa.BigInteger(), nullable=False),
    )
    for column in ("automation_id", "package_id", "status", "created_on"):
        op.create_index(f"ix_automation_runs_{column}", "automation_runs", [column])


def downgrade() -> None:
    for column in ("automation_id", "package_id", "status", "created_on"):
        op.drop_index(f"ix_automation_runs_{column}", table_name="automation_runs")
    op.drop_table("automation_runs")
    op.drop_index("ix_automation_packages_automation_id", table_name="automation_packages")
    op.drop_table("automation_packages")
    for column in ("automation_id", "user_id", "team_id"):
        op.drop_index(f"ix_automation_members_{column}", table_name="automation_members")
    op.drop_table("automation_members")
    op.drop_index("ix_automations_storage_project_id", table_name="automations")
    op.drop_index("ix_automations_owner_id", table_name="automations")
    op.drop_table("automations")

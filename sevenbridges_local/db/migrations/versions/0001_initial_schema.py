"""Initial schema: users, divisions, billing groups, projects, members, invoices, charge ledgers.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 6, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "divisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False),
        sa.Column("affiliation", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("city", sa.String(255), nullable=False),
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("zip_code", sa.String(32), nullable=False),
        sa.Column("country", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "division_id",
            sa.Integer(),
            sa.ForeignKey("divisions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("division_role", sa.String(32), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("token_salt", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_users_division_id", "users", ["division_id"])
    op.create_table(
        "billing_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_billing_groups_owner_id", "billing_groups", ["owner_id"])
    op.create_table(
        "billing_group_members",
        sa.Column(
            "billing_group_id",
            sa.String(36),
            sa.ForeignKey("billing_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_billing_group_members_user_id", "billing_group_members", ["user_id"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("slug", sa.String(300), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "billing_group_id",
            sa.String(36),
            sa.ForeignKey("billing_groups.id"),
            nullable=False,
        ),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("type", sa.String(2), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("owner_id", "slug", name="uq_projects_owner_slug"),
    )
    op.create_index("ix_projects_owner_id", "projects", ["owner_id"])
    op.create_index("ix_projects_billing_group_id", "projects", ["billing_group_id"])
    op.create_table(
        "project_tags",
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("tag", sa.String(255), nullable=False),
    )
    op.create_index("ix_project_tags_tag", "project_tags", ["tag"])
    op.create_table(
        "project_members",
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
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
        sa.Column("execute", sa.Boolean(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_project_members_user_id", "project_members", ["user_id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "billing_group_id",
            sa.String(36),
            sa.ForeignKey("billing_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("period_end", sa.DateTime(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("approval_date", sa.DateTime(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("analysis_costs", MONEY, nullable=False),
        sa.Column("storage_costs", MONEY, nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("billing_group_id", "period_start", name="uq_invoices_group_period"),
    )
    op.create_index("ix_invoices_billing_group_id", "invoices", ["billing_group_id"])
    op.create_table(
        "analysis_charges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "billing_group_id",
            sa.String(36),
            sa.ForeignKey("billing_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("project_name", sa.String(255), nullable=False),
        sa.Column("analysis_type", sa.String(32), nullable=False),
        sa.Column("analysis_id", sa.String(36), nullable=False),
        sa.Column("analysis_name", sa.String(255), nullable=False),
        sa.Column("analysis_app_name", sa.String(255), nullable=False),
        sa.Column("ran_by", sa.String(64), nullable=False),
        sa.Column("analysis_status", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("storage_cost", MONEY, nullable=False),
        sa.Column("computation_cost", MONEY, nullable=False),
        sa.Column("data_transfer_in_cost", MONEY, nullable=False),
        sa.Column("refunded_amount", MONEY, nullable=False),
        sa.Column("time_started", sa.DateTime(), nullable=False),
        sa.Column("time_finished", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "ix_analysis_charges_billing_group_id", "analysis_charges", ["billing_group_id"]
    )
    op.create_table(
        "egress_charges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "billing_group_id",
            sa.String(36),
            sa.ForeignKey("billing_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("project_name", sa.String(255), nullable=False),
        sa.Column("downloaded_by", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("recorded_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_egress_charges_billing_group_id", "egress_charges", ["billing_group_id"])


def downgrade() -> None:
    for table in (
        "egress_charges",
        "analysis_charges",
        "invoices",
        "project_members",
        "project_tags",
        "projects",
        "billing_group_members",
        "billing_groups",
        "users",
        "divisions",
    ):
        op.drop_table(table)

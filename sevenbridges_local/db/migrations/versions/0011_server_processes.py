"""Several API processes on one database: process registry, shared switches, rate windows.

Revision ID: 0011_server_processes
Revises: 0010_automations
Create Date: 2025-01-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_server_processes"
down_revision = "0010_automations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_processes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_on", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "shared_switches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_table("shared_switches")
    op.drop_table("server_processes")

"""Rate windows in an unlogged table on PostgreSQL.

Every request of a user updates the user's window row; a logged table would make each of those
commits wait for a WAL flush to disk. The windows need not survive a crash (the supervisor
clears them on start anyway), which is exactly what an unlogged table gives up. SQLite has no
such thing and keeps the table as it is.

Revision ID: 0013_unlogged_rate_windows
Revises: 0012_automation_run_claims
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0013_unlogged_rate_windows"
down_revision = "0012_automation_run_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_windows SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_windows SET LOGGED")

"""Automation runs claimed per server process, as tasks are (every API process runs them).

Revision ID: 0012_automation_run_claims
Revises: 0011_server_processes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_automation_run_claims"
down_revision = "0011_server_processes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The id of the server process (processes.py) running the run; NULL while queued or ended.
    op.add_column("automation_runs", sa.Column("claimed_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("automation_runs") as batch:
        batch.drop_column("claimed_by")

"""GA4GH DRS: blob checksums (served by the DRS endpoints) and DRS bulk import jobs.

Revision ID: 0008_drs
Revises: 0007_volume_jobs
Create Date: 2024-09-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_drs"
down_revision = "0007_volume_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob_checksums",
        sa.Column("blob_key", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("computed_on", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "drs_import_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("conflict_resolution", sa.String(16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("total_files", sa.Integer(), nullable=False),
        sa.Column("completed_files", sa.Integer(), nullable=False),
        sa.Column("failed_files", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("started_on", sa.DateTime(), nullable=True),
        sa.Column("finished_on", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_drs_import_jobs_user_id", "drs_import_jobs", ["user_id", "created_on"])


def downgrade() -> None:
    op.drop_index("ix_drs_import_jobs_user_id", table_name="drs_import_jobs")
    op.drop_table("drs_import_jobs")
    op.drop_table("blob_checksums")

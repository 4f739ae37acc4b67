"""Volume imports and exports; files that are aliases of volume objects.

Revision ID: 0007_volume_jobs
Revises: 0006_volumes
Create Date: 2024-08-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_volume_jobs"
down_revision = "0006_volumes"
branch_labels = None
depends_on = None


def _job_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("volume_id", sa.Integer(), nullable=True),
        sa.Column("volume_label", sa.String(80), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("overwrite", sa.Boolean(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("result_id", sa.String(24), nullable=True),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("started_on", sa.DateTime(), nullable=True),
        sa.Column("finished_on", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "volume_imports",
        *_job_columns(),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("destination", sa.JSON(), nullable=False),
        sa.Column("autorename", sa.Boolean(), nullable=False),
        sa.Column("preserve_folder_structure", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
    )
    op.create_index("ix_volume_imports_user", "volume_imports", ["user_id", "created_on"])
    op.create_index("ix_volume_imports_volume", "volume_imports", ["volume_id"])
    op.create_index("ix_volume_imports_project", "volume_imports", ["project_id"])
    op.create_table(
        "volume_exports",
        *_job_columns(),
        sa.Column("file_id", sa.String(24), nullable=False),
        sa.Column("copy_only", sa.Boolean(), nullable=False),
        sa.Column("upload_id", sa.Text(), nullable=True),
    )
    op.create_index("ix_volume_exports_user", "volume_exports", ["user_id", "created_on"])
    op.create_index("ix_volume_exports_volume", "volume_exports", ["volume_id"])
    op.add_column("files", sa.Column("volume_id", sa.Integer(), nullable=True))
    op.create_index("ix_files_volume_id", "files", ["volume_id"])


def downgrade() -> None:
    op.drop_index("ix_files_volume_id", table_name="files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("volume_id")
    op.drop_index("ix_volume_exports_volume", table_name="volume_exports")
    op.drop_index("ix_volume_exports_user", table_name="volume_exports")
    op.drop_table("volume_exports")
    op.drop_index("ix_volume_imports_project", table_name="volume_imports")
    op.drop_index("ix_volume_imports_volume", table_name="volume_imports")
    op.drop_index("ix_volume_imports_user", table_name="volume_imports")
    op.drop_table("volume_imports")

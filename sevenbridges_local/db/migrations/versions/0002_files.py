"""Files and folders, their metadata and tags, async file jobs and the durable work queue.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-15
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite plans without statistics guess that "all files of one folder" is a handful of rows, so
# a metadata, tag or task filter would walk every file of the folder. These figures describe a
# large platform (big folders, selective filters) so the filter indexes drive the query; a later
# ANALYZE replaces them with real numbers. Format: rows, then rows per distinct index prefix.
SQLITE_PLANNER_STATS = (
    ("files", "sqlite_autoindex_files_1", "1000000 1"),
    ("files", "uq_files_project_parent_name", "1000000 10000 1000 1"),
    ("files", "ix_files_parent_id", "1000000 1000"),
    ("files", "ix_files_blob_key", "1000000 2"),
    ("files", "ix_files_origin_task", "1000000 100"),
    ("file_metadata", "sqlite_autoindex_file_metadata_1", "3000000 3 1"),
    ("file_metadata", "ix_file_metadata_key_value", "3000000 100000 10"),
    ("file_tags", "sqlite_autoindex_file_tags_1", "1000000 2 1"),
    ("file_tags", "ix_file_tags_tag", "1000000 100"),
)


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "parent_id",
            sa.String(24),
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=True),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("origin_task", sa.String(36), nullable=True),
        sa.Column("storage", sa.JSON(), nullable=True),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("modified_on", sa.DateTime(), nullable=False),
    )
    # Unique names per folder; also the index behind listing a folder ordered by name.
    op.create_index(
        "uq_files_project_parent_name", "files", ["project_id", "parent_id", "name"], unique=True
    )
    op.create_index("ix_files_parent_id", "files", ["parent_id"])
    op.create_index("ix_files_blob_key", "files", ["blob_key"])
    op.create_index("ix_files_origin_task", "files", ["origin_task"])
    op.create_table(
        "file_metadata",
        sa.Column(
            "file_id",
            sa.String(24),
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("match_value", sa.Text(), nullable=True),
    )
    op.create_index("ix_file_metadata_key_value", "file_metadata", ["key", "match_value"])
    op.create_table(
        "file_tags",
        sa.Column(
            "file_id",
            sa.String(24),
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("tag", sa.String(255), nullable=False),
    )
    op.create_index("ix_file_tags_tag", "file_tags", ["tag"])
    op.create_table(
        "file_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("total_files", sa.Integer(), nullable=False),
        sa.Column("completed_files", sa.Integer(), nullable=False),
        sa.Column("failed_files", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("started_on", sa.DateTime(), nullable=True),
        sa.Column("finished_on", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_file_jobs_user_id", "file_jobs", ["user_id", "created_on"])
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("available_on", sa.DateTime(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("started_on", sa.DateTime(), nullable=True),
        sa.Column("finished_on", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_work_items_state", "work_items", ["state", "available_on", "id"])

    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _seed_sqlite_planner_stats(connection)

    # Projects created before this revision get their root folder now.
    projects = connection.execute(sa.text("SELECT id, slug, created_on FROM projects")).all()
    for project_id, slug, created_on in projects:
        connection.execute(
            sa.text(
                "INSERT INTO files (id, project_id, parent_id, name, type, size, blob_key, origin,"
                " origin_task, storage, created_on, modified_on) VALUES (:id, :project_id, NULL,"
                " :name, 'folder', 0, NULL, '{}', NULL, NULL, :created_on, :created_on)"
            ),
            {
                "id": secrets.token_hex(12),
                "project_id": project_id,
                "name": slug,
                "created_on": created_on,
            },
        )


def _seed_sqlite_planner_stats(connection: sa.Connection) -> None:
    connection.exec_driver_sql("ANALYZE files")  # creates sqlite_stat1 when it is missing
    connection.exec_driver_sql(
        "DELETE FROM sqlite_stat1 WHERE tbl IN ('files', 'file_metadata', 'file_tags')"
    )
    for table, index, stat in SQLITE_PLANNER_STATS:
        connection.execute(
            sa.text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:tbl, :idx, :stat)"),
            {"tbl": table, "idx": index, "stat": stat},
        )
    connection.exec_driver_sql("ANALYZE sqlite_master")  # this connection reloads the figures


def downgrade() -> None:
    for table in ("work_items", "file_jobs", "file_tags", "file_metadata", "files"):
        op.drop_table(table)

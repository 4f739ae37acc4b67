"""SQLAlchemy models for files and folders, their metadata and tags, async file jobs and the
durable work queue (schema: migration 0002).

Metadata and tags live in rows of their own, one per key or tag, so filters such as
``metadata.sample=NA12878`` or ``tag=wgs`` are index lookups instead of scans of JSON blobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, Project

FILE_TYPE = "file"
FOLDER_TYPE = "folder"


class File(Base):
    """A file or a folder. A project's root folder has no parent; everything else has one."""

    __tablename__ = "files"
    __table_args__ = (
        # Also the index behind listing a folder (project, parent) ordered by name.
        Index("uq_files_project_parent_name", "project_id", "parent_id", "name", unique=True),
        Index("ix_files_parent_id", "parent_id"),
        Index("ix_files_blob_key", "blob_key"),
        Index("ix_files_origin_task", "origin_task"),
        Index("ix_files_volume_id", "volume_id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8), default=FILE_TYPE)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # Content lives in the blob store under this key; copies share it (objects are immutable).
    blob_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin_task: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # None means platform storage; a volume alias (no blob) keeps {"type": "VOLUME", "volume":
    # "owner/name", "location": ...} here and the volume's row id in ``volume_id`` (migration
    # 0007), which is what reads go through.
    storage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    volume_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    project: Mapped[Project] = relationship(lazy="joined")
    metadata_rows: Mapped[list[FileMetadata]] = relationship(
        order_by="FileMetadata.key",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    tag_rows: Mapped[list[FileTag]] = relationship(
        order_by="FileTag.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def is_folder(self) -> bool:
        return self.type == FOLDER_TYPE

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def metadata_dict(self) -> dict[str, Any]:
        return {row.key: row.value for row in self.metadata_rows}


class FileMetadata(Base):
    """One metadata key of a file. ``match_value`` is the text a query parameter is compared to."""

    __tablename__ = "file_metadata"
    __table_args__ = (Index("ix_file_metadata_key_value", "key", "match_value"),)

    file_id: Mapped[str] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    match_value: Mapped[str | None] = mapped_column(Text, nullable=True)


class FileTag(Base):
    __tablename__ = "file_tags"

    file_id: Mapped[str] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), index=True)


class FileJob(Base):
    """An async copy/move/delete job; ``result`` grows item by item as the work proceeds."""

    __tablename__ = "file_jobs"
    __table_args__ = (Index("ix_file_jobs_user_id", "user_id", "created_on"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total_files: Mapped[int] = mapped_column(Integer, default=0)
    completed_files: Mapped[int] = mapped_column(Integer, default=0)
    failed_files: Mapped[int] = mapped_column(Integer, default=0)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WorkItem(Base):
    """One unit of durable background work, claimed by a worker (see ``workers.py``)."""

    __tablename__ = "work_items"
    __table_args__ = (Index("ix_work_items_state", "state", "available_on", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    available_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

"""SQLAlchemy models of volume imports and exports (schema: migration 0007).

Each import or export is one row, driven by a durable work item (``workers.py``). The row keeps
the job's progress so that a worker cut off by a restart resumes where it stopped: a prefix
import stores the objects it found (``items``) and how many of them are done (``done``), and the
count moves in the same transaction as the file it stands for; an export keeps the id of the
multipart write it started (``upload_id``), so a resumed export can abort it first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base


class VolumeImport(Base):
    __tablename__ = "volume_imports"
    __table_args__ = (
        Index("ix_volume_imports_user", "user_id", "created_on"),
        Index("ix_volume_imports_volume", "volume_id"),
        Index("ix_volume_imports_project", "project_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The volume may be unlinked later: the job keeps its label ("owner/name").
    volume_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    volume_label: Mapped[str] = mapped_column(String(80))
    location: Mapped[str] = mapped_column(Text)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    # As sent (project label and/or parent id, name) for rendering.
    destination: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
    autorename: Mapped[bool] = mapped_column(Boolean, default=False)
    preserve_folder_structure: Mapped[bool] = mapped_column(Boolean, default=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # Prefix imports: [[location, size], ...] found at the first run; None until listed.
    items: Mapped[list[list[Any]] | None] = mapped_column(JSON, nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class VolumeExport(Base):
    __tablename__ = "volume_exports"
    __table_args__ = (
        Index("ix_volume_exports_user", "user_id", "created_on"),
        Index("ix_volume_exports_volume", "volume_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    volume_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    volume_label: Mapped[str] = mapped_column(String(80))
    location: Mapped[str] = mapped_column(Text)
    file_id: Mapped[str] = mapped_column(String(24))
    overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
    copy_only: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # A multipart write in flight (aborted by a resumed run before it starts again).
    upload_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

"""SQLAlchemy models for GA4GH DRS: checksums of stored blobs and DRS bulk import jobs
(schema: migration 0008).

Checksums are kept per blob key: blobs are immutable, so a digest computed once stays true for
every file that shares the blob, and serving an object never re-reads its bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base


class BlobChecksum(Base):
    """SHA-256 and MD5 (hex) of one blob in the store."""

    __tablename__ = "blob_checksums"

    blob_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    computed_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DrsImportJob(Base):
    """A DRS bulk import; ``result`` grows item by item as the worker proceeds."""

    __tablename__ = "drs_import_jobs"
    __table_args__ = (Index("ix_drs_import_jobs_user_id", "user_id", "created_on"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    conflict_resolution: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total_files: Mapped[int] = mapped_column(Integer, default=0)
    completed_files: Mapped[int] = mapped_column(Integer, default=0)
    failed_files: Mapped[int] = mapped_column(Integer, default=0)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

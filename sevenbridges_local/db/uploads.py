"""SQLAlchemy models of multipart uploads in progress (schema: migration 0003).

An upload row lives from init until complete or abort; its staged bytes live in the blob store
under the same id. Both survive a restart, so an unfinished upload can be continued later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, Project


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # The destination folder as resolved at init; deleting it ends the upload too.
    folder_id: Mapped[str | None] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # The destination as the client named it (exactly one is set), resolved again at complete.
    project_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    parent_ref: Mapped[str | None] = mapped_column(String(24), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(BigInteger)
    overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
    initiated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Last init or part report: uploads left alone for long are cleaned up (services/uploads.py).
    touched_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    project: Mapped[Project] = relationship(lazy="joined")
    part_rows: Mapped[list[UploadPart]] = relationship(
        order_by="UploadPart.part_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class UploadPart(Base):
    """A part the client reported, with the ETag it got back from the data plane."""

    __tablename__ = "upload_parts"

    upload_id: Mapped[str] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    etag: Mapped[str] = mapped_column(String(32))
    reported_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

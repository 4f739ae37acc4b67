"""SQLAlchemy models of apps and their revisions (schema: migration 0004_apps).

An app is a named slot in a project (``owner/project/app``); every install or update adds an
immutable revision holding the CWL document. Copies remember which app they follow, so
``actions/sync`` can bring in that app's newer revisions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, Project, User


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("project_id", "slug", name="uq_apps_project_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(128))
    latest_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The app a copy follows (see the copy strategies); None for originals or when it is gone.
    copy_of_app_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Revision of the followed app that this copy holds last (what sync compares against).
    copy_of_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Lower-case text of the latest revision that the ``q`` search terms are matched against.
    search_text: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")


class AppRevision(Base):
    __tablename__ = "app_revisions"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # The CWL document as installed, minus the keys the platform computes when it is read.
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    cwl_version: Mapped[str] = mapped_column(String(16))
    cwl_class: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    # ``owner/project/app/revision`` this revision was copied or synced from, if any.
    copy_of: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    created_by: Mapped[User] = relationship(lazy="joined")

"""SQLAlchemy models of teams, their members, and group grants (schema: migration 0009).

A division is the ``divisions`` table of ``db/models.py``; a user belongs to at most one
(``users.division_id`` with ``users.division_role``). A team lives in one division. A group
grant gives a whole team or division permissions on one project, volume or dataset: exactly one
of the three resource columns and exactly one of ``team_id``/``division_id`` are set, and every
foreign key cascades, so a grant never outlives what it names (row ids may be reused by SQLite).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, Division, User


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID text
    division_id: Mapped[int] = mapped_column(
        ForeignKey("divisions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    division: Mapped[Division] = relationship(lazy="joined")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="MEMBER")
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class GroupGrant(Base):
    """Permissions of a team or a division on one project, volume or dataset."""

    __tablename__ = "group_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    volume_id: Mapped[int | None] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), nullable=True, index=True
    )
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    member_type: Mapped[str] = mapped_column(String(16))  # TEAM or DIVISION
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), nullable=True, index=True
    )
    division_id: Mapped[int | None] = mapped_column(
        ForeignKey("divisions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=True)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    write: Mapped[bool] = mapped_column(Boolean, default=False)
    execute: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    team: Mapped[Team | None] = relationship(lazy="joined")
    division: Mapped[Division | None] = relationship(lazy="joined")

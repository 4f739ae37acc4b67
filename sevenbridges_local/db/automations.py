"""SQLAlchemy models of automations, their members, code packages and runs (migration 0010).

An automation owns a storage project (``storage_project_id``): its code packages, run logs and
state files are ordinary platform files there, readable through the files API by the
automation's members (``services/access.py``). A run keeps only the hash of its run token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, User


class Automation(Base):
    __tablename__ = "automations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID text
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    billing_group_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    storage_project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    secret_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    memory_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    project_based: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    modified_by: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship(lazy="joined")


class AutomationMember(Base):
    """A user (``user_id``) or a team (``team_id``) with permissions on an automation."""

    __tablename__ = "automation_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[str] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    member_type: Mapped[str] = mapped_column(String(8))  # USER or TEAM
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), nullable=True, index=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=True)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    write: Mapped[bool] = mapped_column(Boolean, default=False)
    execute: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User | None] = relationship(lazy="joined")


class AutomationPackage(Base):
    __tablename__ = "automation_packages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    automation_id: Mapped[str] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(128))
    location: Mapped[str] = mapped_column(String(24))  # the uploaded file's id
    # The archive's content at creation (copies share blobs): deleting the file loses nothing.
    blob_key: Mapped[str] = mapped_column(String(64))
    entrypoint: Mapped[str] = mapped_column(String(255))
    schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    memory_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    python: Mapped[str | None] = mapped_column(String(16), nullable=True)
    custom_url: Mapped[str] = mapped_column(String(1000), default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    automation: Mapped[Automation] = relationship(lazy="joined")


class AutomationRun(Base):
    __tablename__ = "automation_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    automation_id: Mapped[str] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    package_id: Mapped[str] = mapped_column(
        ForeignKey("automation_packages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    memory_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resumed_from: Mapped[str | None] = mapped_column(String(32), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    start_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # How often a platform restart cut the run off; too many and it fails.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The server process running it (processes.py); a dead one's runs are taken back.
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHA-256 of the token given to the running process; cleared when the run ends.
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # The final state document (the package's state file), kept for get_state and resume_from.
    state: Mapped[Any] = mapped_column(JSON, nullable=True)
    log_file_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    state_file_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    log_size: Mapped[int] = mapped_column(BigInteger, default=0)

    automation: Mapped[Automation] = relationship(lazy="joined")
    package: Mapped[AutomationPackage] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")

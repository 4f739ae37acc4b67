"""SQLAlchemy 2 models. Types stay portable (SQLite by default, PostgreSQL later).

The schema itself is created only by the Alembic migrations in ``db/migrations``; keep the two
in step when changing a model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow

# Money: stored exactly enough for cents and returned as float, as the wire wants numbers.
Money = Numeric(18, 6, asdecimal=False)


class Base(DeclarativeBase):
    pass


class Division(Base):
    __tablename__ = "divisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    affiliation: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(255), default="")
    zip_code: Mapped[str] = mapped_column(String(32), default="")
    country: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16), default="USER")
    division_id: Mapped[int | None] = mapped_column(
        ForeignKey("divisions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    division_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BillingGroup(Base):
    __tablename__ = "billing_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID text
    name: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    type: Mapped[str] = mapped_column(String(16), default="regular")
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    balance: Mapped[float] = mapped_column(Money, default=0.0)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship(lazy="joined")


class BillingGroupMember(Base):
    __tablename__ = "billing_group_members"

    billing_group_id: Mapped[str] = mapped_column(
        ForeignKey("billing_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner_id", "slug", name="uq_projects_owner_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    slug: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    billing_group_id: Mapped[str] = mapped_column(ForeignKey("billing_groups.id"), index=True)
    category: Mapped[str] = mapped_column(String(32), default="PRIVATE")
    type: Mapped[str] = mapped_column(String(2), default="v2")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    # Loaded when read (project listings ask for them up front): a project is joined into
    # every file, task and app loaded, which almost never shows its tags.
    tag_rows: Mapped[list[ProjectTag]] = relationship(
        order_by="ProjectTag.position", cascade="all, delete-orphan", lazy="select"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ProjectTag(Base):
    """One row per tag, so "projects carrying all of these tags" is a plain SQL filter."""

    __tablename__ = "project_tags"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), index=True)


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=True)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    write: Mapped[bool] = mapped_column(Boolean, default=False)
    execute: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Invoice(Base):
    """One invoice per billing group and calendar month, materialised as months go by."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("billing_group_id", "period_start", name="uq_invoices_group_period"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    billing_group_id: Mapped[str] = mapped_column(
        ForeignKey("billing_groups.id", ondelete="CASCADE"), index=True
    )
    period_start: Mapped[datetime] = mapped_column(DateTime)
    period_end: Mapped[datetime] = mapped_column(DateTime)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    approval_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    analysis_costs: Mapped[float] = mapped_column(Money, default=0.0)
    storage_costs: Mapped[float] = mapped_column(Money, default=0.0)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AnalysisCharge(Base):
    """Ledger of analysis (task) costs; the task runner adds rows, billing breakdowns read them."""

    __tablename__ = "analysis_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    billing_group_id: Mapped[str] = mapped_column(
        ForeignKey("billing_groups.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    project_name: Mapped[str] = mapped_column(String(255))
    analysis_type: Mapped[str] = mapped_column(String(32), default="TASK")
    analysis_id: Mapped[str] = mapped_column(String(36))
    analysis_name: Mapped[str] = mapped_column(String(255), default="")
    analysis_app_name: Mapped[str] = mapped_column(String(255), default="")
    ran_by: Mapped[str] = mapped_column(String(64))
    analysis_status: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    storage_cost: Mapped[float] = mapped_column(Money, default=0.0)
    computation_cost: Mapped[float] = mapped_column(Money, default=0.0)
    data_transfer_in_cost: Mapped[float] = mapped_column(Money, default=0.0)
    refunded_amount: Mapped[float] = mapped_column(Money, default=0.0)
    time_started: Mapped[datetime] = mapped_column(DateTime)
    time_finished: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class EgressCharge(Base):
    """Ledger of downloads charged to a billing group; the download service adds rows."""

    __tablename__ = "egress_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    billing_group_id: Mapped[str] = mapped_column(
        ForeignKey("billing_groups.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    project_name: Mapped[str] = mapped_column(String(255))
    downloaded_by: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    amount: Mapped[float] = mapped_column(Money, default=0.0)
    recorded_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

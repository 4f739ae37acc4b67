"""SQLAlchemy model of tasks (schema: migration 0005_tasks).

A task row is also its own queue entry: rows in status QUEUED, oldest ``queued_on`` first, are
what the task workers claim (see ``task_pool.py``). Every status change stamps the matching
time column and appends to ``transitions``, so the history survives restarts.

Batch tasks: the parent holds the batch description (``batch_input`` + ``batch_by``); running it
creates one child per group with ``parent_id`` and ``batch_group`` set, ``position`` giving the
children a stable order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.db.models import Base, Project, User


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_created", "project_id", "created_on"),
        Index("ix_tasks_parent_position", "parent_id", "position"),
        Index("ix_tasks_status_queued", "status", "queued_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID text
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))

    # The app as the client named it (with the revision), and the revision it resolved to.
    app_ref: Mapped[str] = mapped_column(String(400))
    app_pk: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="SET NULL"), nullable=True
    )
    app_revision: Mapped[int] = mapped_column(Integer, default=0)

    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    executed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    # Naive UTC with microseconds (durations are reported in milliseconds).
    created_on: Mapped[datetime] = mapped_column(DateTime)
    modified_on: Mapped[datetime] = mapped_column(DateTime)
    queued_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    running_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    transitions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    batch: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_input: Mapped[str | None] = mapped_column(String(255), nullable=True)
    batch_by: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    batch_group: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    execution_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    output_location: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    use_interruptible_instances: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    origin_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    # Progress: workflow steps, the last status message, and one entry per executed job.
    steps_completed: Mapped[int] = mapped_column(Integer, default=0)
    steps_total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    jobs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    computation_cost: Mapped[float] = mapped_column(Float, default=0.0)
    storage_cost: Mapped[float] = mapped_column(Float, default=0.0)

    abort_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many times a worker started this task (restarts re-run interrupted tasks once).
    run_attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    project: Mapped[Project] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    executed_by: Mapped[User | None] = relationship(foreign_keys=[executed_by_id], lazy="joined")

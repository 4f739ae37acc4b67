"""Tables that let several API processes share one database (``sbg local serve --workers N``).

- ``server_processes``: one row per live server process (its claims on tasks and work items
  carry its id); a row whose heartbeat stops is a dead process whose claims are taken back.
- ``shared_switches``: the runtime fault switches (``/_local/faults``), one row, so a switch set
  through one process applies in every process.
- ``rate_windows``: per-user rate-limit windows, so a limit counts requests to every process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base


class ServerProcess(Base):
    __tablename__ = "server_processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SharedSwitches(Base):
    __tablename__ = "shared_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)


class RateWindow(Base):
    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    started: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, default=0)

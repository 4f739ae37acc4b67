"""Fault switches and rate limits kept in the database, for several API processes.

With ``--workers N`` each process has its own memory, so the in-memory :class:`FaultSwitches`
and :class:`RateLimiter` would give each process its own switches and its own count. These
subclasses keep both in the shared database instead (tables in ``db/processes.py``): a switch
set through one process applies in all within :data:`STATE_TTL_SECONDS`, and a user's requests
count against one window whichever process answers them. One process (the default) keeps the
in-memory versions: a write per request would only cost time there.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Insert, case, delete

from sevenbridges_local.db import Database
from sevenbridges_local.db.processes import RateWindow, SharedSwitches
from sevenbridges_local.db.sql import upsert
from sevenbridges_local.faults import _COUNTDOWN_SWITCHES, FaultState, FaultSwitches
from sevenbridges_local.ratelimit import RateLimiter, RateStatus

# How long a process trusts the switches it last read before reading them again.
STATE_TTL_SECONDS = 0.5
_ROW_ID = 1
_FIELDS = {field.name for field in dataclasses.fields(FaultState)}


def reset_shared_state(database: Database) -> None:
    """Forget switches and windows of an earlier run (the supervisor, before its processes
    start): the switches start again from the settings, as with one process."""
    with database.write_session() as session:
        session.execute(delete(SharedSwitches))
        session.execute(delete(RateWindow))
        session.commit()


class SharedFaultSwitches(FaultSwitches):
    """The switches in ``shared_switches``; the settings' values until someone changes one."""

    def __init__(self, state: FaultState, database: Database) -> None:
        super().__init__(state)
        self._initial = state
        self._database = database
        self._read_at = 0.0
        self._cache_lock = threading.Lock()

    def _from_row(self, row: SharedSwitches | None) -> FaultState:
        if row is None:
            return self._initial
        values = {key: value for key, value in (row.state or {}).items() if key in _FIELDS}
        return dataclasses.replace(self._initial, **values)

    @property
    def state(self) -> FaultState:
        now = time.monotonic()
        if now - self._read_at < STATE_TTL_SECONDS:
            return self._state
        with self._database.read_session() as session:
            state = self._from_row(session.get(SharedSwitches, _ROW_ID))
        with self._cache_lock:
            self._state, self._read_at = state, now
        return state

    def _change(self, apply: Callable[[FaultState], FaultState | None]) -> FaultState | None:
        """Read, change and store the row in one write transaction (serialised between
        processes); ``apply`` returns None to leave it as it was."""
        with self._database.write_session() as session:
            row = session.get(SharedSwitches, _ROW_ID, with_for_update=True)
            changed = apply(self._from_row(row))
            if changed is None:
                session.rollback()
                return None
            if row is None:
                row = SharedSwitches(id=_ROW_ID, state={}, version=0)
                session.add(row)
            row.state = changed.as_json()
            row.version = (row.version or 0) + 1
            session.commit()
        with self._cache_lock:
            self._state, self._read_at = changed, time.monotonic()
        return changed

    def update(self, **changes: Any) -> FaultState:
        given = {key: value for key, value in changes.items() if value is not None}
        state = self._change(lambda current: dataclasses.replace(current, **given))
        assert state is not None
        for listener in self._listeners:
            listener(state)
        return state

    def consume(self, counter: str) -> bool:
        if counter not in _COUNTDOWN_SWITCHES:
            raise ValueError(f"{counter} is not a countdown switch")
        if getattr(self.state, counter) <= 0:  # the common case: no database write
            return False

        def use_one(current: FaultState) -> FaultState | None:
            remaining = getattr(current, counter)
            if remaining <= 0:
                return None
            return dataclasses.replace(current, **{counter: remaining - 1})

        return self._change(use_one) is not None


class SharedRateLimiter(RateLimiter):
    """Fixed windows per user in ``rate_windows``; every hit is one upsert statement."""

    # The middleware runs hit() off the event loop: it waits for the database.
    blocking = True

    def __init__(
        self,
        switches: FaultSwitches,
        database: Database,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        super().__init__(switches, clock)

    def reset(self) -> None:
        with self._database.write_session() as session:
            session.execute(delete(RateWindow))
            session.commit()

    def _count_statement(self, key: str, now: float, window: float) -> Insert:
        """One statement that starts or counts the window of ``key`` and returns it.

        A hit is one upsert, not a locked read then a write: every request of a user writes
        the same row, and under load the lock held between the two was where all of them
        queued. Refused hits count too (the count passes the limit); the window's start moves
        only when it has run out.
        """
        expired = RateWindow.started + window <= now
        return (
            upsert(self._database.dialect, RateWindow)
            .values(key=key, started=now, count=1)
            .on_conflict_do_update(
                index_elements=[RateWindow.key],
                set_={
                    "started": case((expired, now), else_=RateWindow.started),
                    "count": case((expired, 1), else_=RateWindow.count + 1),
                },
            )
            .returning(RateWindow.started, RateWindow.count)
        )

    def hit(self, key: object) -> RateStatus:
        state = self._switches.state
        statement = self._count_statement(str(key), self._clock(), state.rate_limit_window)
        with self._database.statement_connection() as connection:
            start, count = connection.execute(statement).one()
        return RateStatus(
            limit=state.rate_limit,
            remaining=max(state.rate_limit - count, 0),
            reset=math.ceil(start + state.rate_limit_window),
            exceeded=count > state.rate_limit,
        )

    def peek(self, key: object | None) -> RateStatus:
        state = self._switches.state
        now = self._clock()
        start, count = now, 0
        if key is not None:
            with self._database.read_session() as session:
                row = session.get(RateWindow, str(key))
                if row is not None and now < row.started + state.rate_limit_window:
                    start, count = row.started, row.count
        return RateStatus(
            limit=state.rate_limit,
            remaining=max(state.rate_limit - count, 0),
            reset=math.ceil(start + state.rate_limit_window),
        )

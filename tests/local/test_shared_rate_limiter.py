"""The rate limiter several API processes share through the database (``shared_state.py``).

Every request of a user counts against one row; a hit is a single upsert, so concurrent hits
from many threads (processes, in production) neither lose counts nor queue on a held row lock.
Runs on SQLite and on the session's throw-away PostgreSQL cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from sevenbridges_local.db import Database
from sevenbridges_local.faults import FaultState, FaultSwitches
from sevenbridges_local.shared_state import SharedRateLimiter


class ManualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'limits.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").new_database("limits")
    database = Database(url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


def _limiter(database: Database, limit: int, window: int, clock: ManualClock) -> SharedRateLimiter:
    switches = FaultSwitches(
        FaultState(maintenance=False, rate_limit=limit, rate_limit_window=window)
    )
    return SharedRateLimiter(switches, database, clock=clock)


def test_concurrent_hits_are_all_counted_and_the_excess_refused(database: Database) -> None:
    limiter = _limiter(database, limit=60, window=300, clock=ManualClock(1_000.0))
    statuses = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(10):
            status = limiter.hit("user-1")
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    allowed = [status for status in statuses if not status.exceeded]
    refused = [status for status in statuses if status.exceeded]
    assert (len(allowed), len(refused)) == (60, 20)
    # Each allowed hit saw its own count: no two hits read the same value.
    assert sorted(status.remaining for status in allowed) == list(range(60))
    assert {status.remaining for status in refused} == {0}
    assert {status.reset for status in statuses} == {1_300}
    # Another user's window is untouched by all of this.
    assert limiter.hit("user-2").remaining == 59


def test_a_window_that_ran_out_starts_again(database: Database) -> None:
    clock = ManualClock(5_000.0)
    limiter = _limiter(database, limit=2, window=10, clock=clock)
    assert [limiter.hit("u").exceeded for _ in range(3)] == [False, False, True]
    assert limiter.peek("u").remaining == 0

    clock.now = 5_009.5  # still the first window: refused, and its reset time stays
    status = limiter.hit("u")
    assert status.exceeded and status.reset == 5_010

    clock.now = 5_010.0  # the window's end: a new one starts with this hit
    status = limiter.hit("u")
    assert not status.exceeded
    assert (status.remaining, status.reset) == (1, 5_020)
    assert limiter.peek("u").remaining == 1

    limiter.reset()
    assert limiter.peek("u").remaining == 2


@pytest.mark.postgres
def test_the_windows_table_is_unlogged_on_postgresql(postgres_cluster) -> None:
    database = Database(postgres_cluster.new_database("unlogged"))
    try:
        database.migrate()
        with database.read_session() as session:
            persistence = session.execute(
                text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_windows'")
            ).scalar_one()
        assert persistence == "u"  # no WAL flush waited for on each request's count
    finally:
        database.dispose()

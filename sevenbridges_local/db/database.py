"""Engines and session factories.

SQLite runs in WAL mode with a busy timeout and foreign keys on. Writers open their transaction
with ``BEGIN IMMEDIATE``: a deferred transaction that reads first and writes later can fail at
once with "database is locked" when another connection committed meanwhile, whereas an immediate
one simply waits for the write lock. Readers keep plain deferred transactions and never block.

PostgreSQL (``postgresql://...``, driven by psycopg 3) needs none of that: its transactions run
at READ COMMITTED with row locks. Readers get an engine of their own in autocommit mode (no
transaction round trips) whose sessions the server keeps read-only. Its sessions use UTC
(the models store naive UTC datetimes) and a ``lock_timeout`` equal to SQLite's busy timeout, so
a writer stuck behind a lock gives up after as long and the API answers the same retryable 503.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from sevenbridges_local import json_numbers

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# JSON columns keep numbers as written (an app's 1.23e5 must not come back as 123000.0).
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": json_numbers.dumps,
    "json_deserializer": json_numbers.loads,
}


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` name psycopg 3 (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


# A pooled connection idle longer than this is checked with a round trip before use (it may
# have been cut by a database restart or a proxy's timeout). Busy connections are not pinged:
# a ping on every checkout cost a round trip per session, a fifth of all under load.
PING_AFTER_IDLE_SECONDS = 10.0


def _postgresql_engine(url: str, *, lock_timeout_ms: int, read_only: bool) -> Engine:
    options = f"-c timezone=UTC -c lock_timeout={lock_timeout_ms}"
    extra: dict[str, Any] = {}
    if read_only:
        # Readers run each statement on its own (READ COMMITTED gives every statement a fresh
        # snapshot anyway), saving the BEGIN and ROLLBACK round trips of a transaction; the
        # server refuses any write that reaches a read session by mistake.
        options += " -c default_transaction_read_only=on"
        extra["isolation_level"] = "AUTOCOMMIT"
    engine = create_engine(
        url,
        # Several API processes share the server: keep each one's share of connections modest.
        pool_size=10,
        max_overflow=10,
        connect_args={"options": options, "application_name": "sevenbridges-local"},
        # psycopg reads and writes JSON columns through these too (set per connection).
        **_JSON_CODEC,
        **extra,
    )
    _ping_connections_left_idle(engine)
    return engine


def _ping_connections_left_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's error for a dead connection
            raise DisconnectionError("the pooled database connection was lost") from exc
        if not alive:
            raise DisconnectionError("the pooled database connection was lost")


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=10,
        max_overflow=20,
        **_JSON_CODEC,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin_statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)

    return engine


class Database:
    """One database: a read engine, a write engine (the same one outside SQLite) and sessions."""

    def __init__(self, url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        """``busy_timeout_ms``: how long a writer waits for the lock before "database is locked"
        (the API then answers 503, see middleware.py)."""
        url = normalize_url(url)
        self.url = url
        if _is_sqlite(url):
            self.read_engine = _sqlite_engine(url, immediate=False, busy_timeout_ms=busy_timeout_ms)
            self.write_engine = _sqlite_engine(url, immediate=True, busy_timeout_ms=busy_timeout_ms)
        elif is_postgresql(url):
            self.read_engine = _postgresql_engine(
                url, lock_timeout_ms=busy_timeout_ms, read_only=True
            )
            self.write_engine = _postgresql_engine(
                url, lock_timeout_ms=busy_timeout_ms, read_only=False
            )
        else:
            self.read_engine = create_engine(url, pool_pre_ping=True, **_JSON_CODEC)
            self.write_engine = self.read_engine
        self._readers = sessionmaker(bind=self.read_engine, expire_on_commit=False)
        self._writers = sessionmaker(bind=self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (SQLAlchemy's dialect name)."""
        return self.write_engine.dialect.name

    def read_session(self) -> Session:
        return self._readers()

    def write_session(self) -> Session:
        return self._writers()

    @contextmanager
    def statement_connection(self) -> Iterator[Connection]:
        """A connection for self-contained write statements (an upsert with RETURNING).

        On PostgreSQL each statement commits as it runs, so the row locks it takes last one
        statement rather than a round trip and a thread switch more; a row every request
        writes (the shared rate window) must not hold its lock any longer. Elsewhere the
        statements share one write transaction, committed when the block ends."""
        if self.dialect == "postgresql":
            with self.write_engine.connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")
            return
        with self.write_engine.begin() as connection:
            yield connection

    def migrate(self) -> None:
        from sevenbridges_local.db.migrate import upgrade_to_head

        upgrade_to_head(self.write_engine)
        if self.dialect == "postgresql":
            self._check_collation()

    def _check_collation(self) -> None:
        # SQLite compares text by code point; so does PostgreSQL under the C collation only.
        with self.read_engine.connect() as connection:
            collation = connection.execute(
                text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            ).scalar()
        if collation not in ("C", "POSIX") and not str(collation).startswith("C."):
            logger.warning(
                "the PostgreSQL database's collation is %s: names sort by its rules, not by code "
                "point as with SQLite; create the database with LC_COLLATE 'C' (TEMPLATE "
                "template0) for the same order",
                collation,
            )

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()

"""What a failed database call means for the client: a full disk or a lock held too long.

SQLite reports both through ``sqlite3.OperationalError`` (wrapped by SQLAlchemy); the primary
result code tells them apart, not the message text. PostgreSQL (psycopg) gives a SQLSTATE: a
serialization failure, a deadlock, a lock wait past ``lock_timeout`` or a unique violation left
to the middleware count as "locked" (the client may retry), a full disk as full.
"""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLite primary result codes (https://sqlite.org/rescode.html).
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_FULL = 13
_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
PG_SERIALIZATION_FAILURE = "40001"
PG_DEADLOCK_DETECTED = "40P01"
PG_LOCK_NOT_AVAILABLE = "55P03"
PG_DISK_FULL = "53100"
# A unique key taken between a check and the insert by a concurrent transaction (SQLite's single
# writer never lets that happen): trying again runs the check again and sees the other row.
PG_UNIQUE_VIOLATION = "23505"
# Text with a NUL character: refused by psycopg before sending (no SQLSTATE) or by the server.
PG_CHARACTER_NOT_IN_REPERTOIRE = "22021"
_PG_RETRYABLE = (
    PG_SERIALIZATION_FAILURE,
    PG_DEADLOCK_DETECTED,
    PG_LOCK_NOT_AVAILABLE,
    PG_UNIQUE_VIOLATION,
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, the driver error it wraps and what caused them, without cycles."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        if isinstance(current, DBAPIError) and isinstance(current.orig, BaseException):
            if current.orig not in seen:
                seen.append(current.orig)
        current = current.__cause__ or current.__context__
    return seen


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(exc, sqlite3.Error) and isinstance(code, int) else None


def _sqlstate(exc: BaseException) -> str | None:
    # psycopg's errors carry ``sqlstate``; duck-typed so that psycopg stays an optional extra.
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full", PostgreSQL's disk_full, or an OS error saying there
    is no space left."""
    for item in _chain(exc):
        if _sqlite_code(item) == SQLITE_FULL or _sqlstate(item) == PG_DISK_FULL:
            return True
        if isinstance(item, OSError) and item.errno in _NO_SPACE_ERRNOS:
            return True
    return False


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (busy timeout over) or "database table is locked";
    PostgreSQL's serialization failure, deadlock, lock not available (lock_timeout over) or a
    unique violation that no service turned into its own answer (a lost race)."""
    return any(
        _sqlite_code(item) in (SQLITE_BUSY, SQLITE_LOCKED) or _sqlstate(item) in _PG_RETRYABLE
        for item in _chain(exc)
    )


def is_nul_in_text(exc: BaseException) -> bool:
    """PostgreSQL cannot store U+0000 in text (SQLite can): the value is refused, not a bug."""
    for item in _chain(exc):
        if _sqlstate(item) == PG_CHARACTER_NOT_IN_REPERTOIRE and "0x00" in str(item):
            return True
        # psycopg's own check, before anything is sent: a DataError without a SQLSTATE.
        if type(item).__name__ == "DataError" and "NUL (0x00)" in str(item):
            return True
    return False


def is_connection_lost(exc: BaseException) -> bool:
    """The database connection broke during the call (a database restart, a network cut).

    SQLAlchemy has already dropped the pool's connections; the next attempt gets fresh ones."""
    return any(isinstance(item, DBAPIError) and item.connection_invalidated for item in _chain(exc))

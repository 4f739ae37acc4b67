"""How the client sees the local platform's answers to hostile conditions (issue 7): a busy
database (503, retryable) and names the platform refuses or normalises."""

from __future__ import annotations

import sqlite3
import threading
import time
import unicodedata
from contextlib import closing

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, ServiceUnavailable

from .test_files import new_project, put_file


def _hold_write_lock(
    database: str, seconds: float, held: threading.Event, release: threading.Event | None = None
) -> None:
    """Hold SQLite's write lock for ``seconds``, or until ``release`` is set if that comes first."""
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        (release or threading.Event()).wait(seconds)
        connection.execute("ROLLBACK")


@pytest.mark.sqlite_only  # PostgreSQL's lock timeout: tests/local/test_postgres.py
def test_a_busy_database_is_service_unavailable_and_idempotent_calls_retry(start_platform):
    server = start_platform(settings={"db_busy_timeout": 1})
    api = sbg.Api(url=server.url, token=server.token("alice"))
    project = new_project(api, "busy")
    stored = put_file(api, "data.txt", project=project)
    database = str(server.data_dir / "platform.db")

    # A POST is not retried: the client raises at once, not the maintenance sleeper's loop.
    held, release = threading.Event(), threading.Event()
    locker = threading.Thread(target=_hold_write_lock, args=(database, 3.0, held, release))
    locker.start()
    held.wait(10)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        api.projects.create(name="while locked")
    assert time.monotonic() - started < 3.0
    release.set()  # answered while the lock was held: no need to wait out the 3 s
    assert caught.value.status == 503 and caught.value.code == 90005
    assert "busy" in caught.value.message
    locker.join()

    # A PUT (idempotent) is retried after Retry-After and succeeds once the lock is gone.
    held.clear()
    locker = threading.Thread(target=_hold_write_lock, args=(database, 1.5, held))
    locker.start()
    held.wait(10)
    stored.metadata = {"sample": "S1"}
    stored.save()
    locker.join()
    assert api.files.get(stored.id).metadata == {"sample": "S1"}


def test_names_are_normalised_and_hostile_ones_refused(api_for, new_username):
    api = api_for(new_username("names"))
    project = new_project(api, "names")
    nfd = unicodedata.normalize("NFD", "café.txt")
    stored = put_file(api, nfd, project=project)
    assert stored.name == unicodedata.normalize("NFC", "café.txt")
    found = api.files.query(project=project, names=[nfd])
    assert [item.id for item in found] == [stored.id]

    stored.name = "evil\u202etxt.exe"
    with pytest.raises(BadRequest) as caught:
        stored.save()
    assert caught.value.code == 5026 and "U+202E" in caught.value.message
    stored.name = "é" * 128
    with pytest.raises(BadRequest) as caught:
        stored.save()
    assert "256 bytes" in caught.value.message

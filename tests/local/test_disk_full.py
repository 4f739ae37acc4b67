"""A full disk and a busy database on the live platform (issue 7): clear 507 and 503 answers
instead of 500, reads keep working, abandoned uploads make room for new ones.

The full-disk tests run the platform with its data directory on a real, small tmpfs (mounting
needs root; elsewhere they are skipped with the reason).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import requests
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer

MIB = 1024 * 1024
PART = 5 * MIB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[..., EmbeddedServer]]:
    """``small_disk(size_mib, **settings)``: a platform whose data directory is a tmpfs of that
    size; the platform is stopped and the tmpfs unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the data directory needs root")
    mounted: list[Path] = []
    servers: list[EmbeddedServer] = []

    def start(size_mib: int, **settings: object) -> EmbeddedServer:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        options = f"size={size_mib}m,mode=0700"
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(point)
        server = EmbeddedServer(point, settings=settings)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def fill(directory: Path) -> Path:
    """Take every free byte of ``directory``'s file system; returns the filler to delete."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as out:
        for chunk_size in (MIB, 64 * 1024, 4096, 512, 1):
            chunk = b"\0" * chunk_size
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def _caller(server: EmbeddedServer, username: str) -> Caller:
    http = requests.Session()
    http.trust_env = False
    return Caller(http, server.url, server.token(username), username)


def _names(caller: Caller, project: dict) -> list[str]:
    response = caller.get("/files", params={"project": project["id"]})
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def _folder(caller: Caller, project: dict, name: str) -> requests.Response:
    return caller.post("/files", json={"name": name, "type": "folder", "project": project["id"]})


@pytest.mark.sqlite_only  # fills the data directory's disk, where only SQLite's database lives
def test_a_full_disk_answers_507_keeps_reads_and_recovers(small_disk) -> None:
    server = small_disk(32)
    alice = _caller(server, "alice")
    project = alice.create_project("full")
    assert _folder(alice, project, "before").status_code == 201

    filler = fill(server.data_dir)
    answers = []
    for attempt in range(20):  # a write may still fit in the space SQLite already holds
        response = _folder(alice, project, f"during-{attempt}")
        assert response.status_code in (201, 507), response.text
        answers.append(response)
        if response.status_code == 507:
            break
    refused = answers[-1]
    body = assert_error(refused, 507, 90004)
    assert "disk is full" in body["message"] and "not saved" in body["message"]
    # Reads keep working while the disk is full.
    assert "before" in _names(alice, project)
    assert alice.get(f"/projects/{project['id']}").status_code == 200

    filler.unlink()
    assert _folder(alice, project, "after").status_code == 201
    names = _names(alice, project)
    assert "before" in names and "after" in names
    assert f"during-{len(answers) - 1}" not in names  # the refused write left nothing


def _start_upload(caller: Caller, project: dict, name: str, size: int) -> str:
    response = caller.post(
        "/upload/multipart",
        json={"name": name, "size": size, "part_size": PART, "project": project["id"]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["upload_id"])


def _put(caller: Caller, upload_id: str, number: int, data: bytes) -> requests.Response:
    url = caller.get(f"/upload/multipart/{upload_id}/part/{number}").json()["url"]
    return caller.http.put(url, data=data, timeout=60)


def test_uploads_leave_room_for_the_database_and_abandoned_ones_make_room(small_disk) -> None:
    server = small_disk(24, min_free_space=4 * MIB, upload_idle_under_pressure=1)
    alice = _caller(server, "alice")
    project = alice.create_project("uploads")

    # An upload that would need more than the disk has; its client gives up without aborting.
    abandoned = _start_upload(alice, project, "too-big.bin", 40 * MIB)
    stored = 0
    for number in range(1, 9):
        response = _put(alice, abandoned, number, os.urandom(PART))
        if response.status_code != 200:
            break
        stored += 1
    assert 1 <= stored < 8
    body = assert_error(response, 507, 90004)
    assert "Not enough disk space" in body["message"] and "reserve" in body["message"]

    # The reserve kept room for the database: metadata writes still work.
    assert _folder(alice, project, "still-writable").status_code == 201

    # A new upload is not blocked forever: the abandoned one (idle for 1 s) makes room. On a
    # loaded machine its last refused part may settle late, so allow a few more seconds.
    time.sleep(1.5)
    data = os.urandom(PART)
    fresh = _start_upload(alice, project, "fits.bin", len(data))
    deadline = time.monotonic() + 15
    response = _put(alice, fresh, 1, data)
    while response.status_code == 507 and time.monotonic() < deadline:
        time.sleep(1)
        response = _put(alice, fresh, 1, data)
    assert response.status_code == 200, response.text
    etag = response.headers["ETag"].strip('"')
    report = {"part_number": 1, "response": {"headers": {"ETag": etag}}}
    assert alice.post(f"/upload/multipart/{fresh}/part", json=report).status_code == 200
    done = alice.post(f"/upload/multipart/{fresh}/complete")
    assert done.status_code == 200, done.text
    file_id = done.json()["id"]
    link = alice.get(f"/files/{file_id}/download_info").json()["url"]
    fetched = alice.http.get(link, timeout=60).content
    assert hashlib.md5(fetched).digest() == hashlib.md5(data).digest()

    assert_error(alice.get(f"/upload/multipart/{abandoned}"), 404, 8003)
    assert not (server.data_dir / "storage" / "uploads" / abandoned).exists()
    assert "removed 1 unfinished upload(s)" in server.log_path.read_text()


def test_completing_an_upload_on_a_full_disk_is_507_and_can_be_retried(small_disk) -> None:
    server = small_disk(24, min_free_space=MIB, upload_idle_under_pressure=1)
    alice = _caller(server, "alice")
    project = alice.create_project("complete")
    data = os.urandom(PART)
    upload_id = _start_upload(alice, project, "late.bin", len(data))
    etag = _put(alice, upload_id, 1, data).headers["ETag"].strip('"')
    report = {"part_number": 1, "response": {"headers": {"ETag": etag}}}
    assert alice.post(f"/upload/multipart/{upload_id}/part", json=report).status_code == 200
    # Its parts are older than the idle limit, yet completing it does not count as abandoned.
    time.sleep(1.5)

    filler = fill(server.data_dir)
    if server.database_url and server.database_url.startswith("postgresql"):
        # Parts are written in place, so assembling needs no room, and the file is recorded in
        # a database that lives elsewhere: completing works even on the full disk.
        done = alice.post(f"/upload/multipart/{upload_id}/complete")
        assert done.status_code == 200, done.text
        assert done.json()["size"] == len(data)
        return
    body = assert_error(alice.post(f"/upload/multipart/{upload_id}/complete"), 507, 90004)
    # Parts are written in place, so assembling needs no room; recording the file in SQLite,
    # on the same disk, does.
    assert "disk" in body["message"]
    filler.unlink()
    # Nothing was lost: the parts are still there and completing again works.
    done = alice.post(f"/upload/multipart/{upload_id}/complete")
    assert done.status_code == 200, done.text
    assert done.json()["size"] == len(data)


# --- a database locked for longer than the busy timeout -----------------------------------------


@pytest.mark.sqlite_only  # PostgreSQL's lock timeout: tests/local/test_postgres.py
def test_a_database_locked_too_long_answers_503_and_reads_go_on(start_platform) -> None:
    server = start_platform(settings={"db_busy_timeout": 1})
    alice = _caller(server, "alice")
    project = alice.create_project("locked")
    with closing(sqlite3.connect(server.data_dir / "platform.db", isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            started = time.monotonic()
            response = _folder(alice, project, "waits")
            waited = time.monotonic() - started
            body = assert_error(response, 503, 90005)
            assert "busy" in body["message"] and "Try again" in body["message"]
            assert response.headers["Retry-After"] == "2"
            assert waited >= 0.9  # it did wait for the lock first
            assert alice.get("/files", params={"project": project["id"]}).status_code == 200
        finally:
            db.execute("ROLLBACK")
    assert _folder(alice, project, "waits").status_code == 201

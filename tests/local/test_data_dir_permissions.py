"""The data directory is private to the platform's user (issue 7): what an older version left
open is tightened at start, and everything the server creates is born private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from local_helpers import Caller
from test_tasks_support import CAT_TOOL, created, file_ref, install_app, wait_for_status
from test_uploads import send_parts, start_upload

from sevenbridges_local.embedded import EmbeddedServer

OPEN_BITS = 0o077
# A root platform lets its sandboxed tasks (group nogroup, see docs/security.md) read their own
# work dir and input blobs: group bits for that group only, never for others.
SANDBOX_GID = 65534


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Files this test creates get the usual 0644/0755, as an older platform's did."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _caller(server: EmbeddedServer, username: str) -> Caller:
    http = requests.Session()
    http.trust_env = False
    return Caller(http, server.url, server.token(username), username)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _is_open(path: Path) -> bool:
    info = os.lstat(path)
    mode = stat.S_IMODE(info.st_mode)
    if os.getuid() == 0 and info.st_gid == SANDBOX_GID and not mode & 0o007:
        return bool(mode & 0o020)  # shared with the task sandbox's group: reading only
    return bool(mode & OPEN_BITS)


def _open_entries(root: Path, skip: set[Path] = frozenset()) -> list[str]:
    """Entries under ``root`` (itself included) that group or others may use; links excluded."""
    found = [f"{root} {oct(_mode(root))}"] if _is_open(root) else []
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory, name)
            if path in skip or path.is_symlink():
                continue
            if _is_open(path):
                found.append(f"{path} {oct(_mode(path))}")
    return found


def _upload(caller: Caller, project: dict, name: str, data: bytes) -> str:
    upload = start_upload(caller, name, len(data), project=project["id"])
    send_parts(caller, upload, data)
    done = caller.post(f"/upload/multipart/{upload['upload_id']}/complete")
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


def test_an_open_data_dir_is_tightened_at_start_and_nothing_else_is(
    tmp_path: Path, loose_umask: None
) -> None:
    data_dir = tmp_path / "data"
    server = EmbeddedServer(data_dir)
    server.start()
    try:
        alice = _caller(server, "alice")
        project = alice.create_project("perms")
        _upload(alice, project, "a.txt", b"secret data\n")
        in_progress = start_upload(alice, "b.txt", 6 * 1024 * 1024, project=project["id"])
        part = alice.get(f"/upload/multipart/{in_progress['upload_id']}/part/1").json()["url"]
        assert alice.http.put(part, data=b"x" * 5 * 1024 * 1024, timeout=60).status_code == 200
    finally:
        server.stop()

    # What an older version (or a copy with default permissions) left behind: all of it open.
    for directory, dirs, files in os.walk(data_dir):
        for name in dirs:
            os.chmod(Path(directory, name), 0o755)
        for name in files:
            os.chmod(Path(directory, name), 0o644)
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "secret.key", 0o664)
    # Things that are not the platform's to change.
    outside = tmp_path / "outside.txt"
    outside.write_text("not in the data directory\n")
    os.chmod(outside, 0o644)
    (data_dir / "storage" / "objects" / "link-out").symlink_to(outside)
    notes = data_dir / "my-notes.txt"
    notes.write_text("the user's own file\n")
    os.chmod(notes, 0o644)
    (data_dir / "my-folder").mkdir(mode=0o755)
    before = _open_entries(data_dir, skip={notes, data_dir / "my-folder"})
    assert len(before) > 10

    server.start()
    try:
        assert _open_entries(data_dir, skip={notes, data_dir / "my-folder"}) == []
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "secret.key") == 0o600
        if server.database_url.startswith("sqlite"):
            assert _mode(data_dir / "platform.db") == 0o600
        assert _mode(outside) == 0o644  # the link was not followed
        assert _mode(notes) == 0o644 and _mode(data_dir / "my-folder") == 0o755
        log = server.log_path.read_text()
        assert f"tightened permissions of {len(before)} entries" in log
        # The platform still works with its tightened files.
        alice = _caller(server, "alice")
        [item] = alice.get("/files", params={"project": project["id"]}).json()["items"]
        link = alice.get(f"/files/{item['id']}/download_info").json()["url"]
        assert alice.http.get(link, timeout=30).content == b"secret data\n"
        server.restart()  # a second start finds nothing to change
        assert server.log_path.read_text().count("tightened permissions of") == 1
        assert "all private" in server.log_path.read_text()
    finally:
        server.stop()


def test_what_the_server_creates_is_born_private(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "fresh"
    server = EmbeddedServer(data_dir, settings={"keep_task_dirs": True})
    server.start()
    try:
        alice = _caller(server, "alice")
        project = alice.create_project("born private")
        file_id = _upload(alice, project, "input.txt", b"1\n2\n")
        staged = start_upload(alice, "half.bin", 6 * 1024 * 1024, project=project["id"])
        part = alice.get(f"/upload/multipart/{staged['upload_id']}/part/1").json()["url"]
        assert alice.http.put(part, data=b"y" * 5 * 1024 * 1024, timeout=60).status_code == 200
        cat = install_app(alice, project["id"], "cat", CAT_TOOL)
        task = created(
            alice,
            run=True,
            name="cat",
            project=project["id"],
            app=cat,
            inputs={"files": [file_ref(file_id)]},
        )
        assert wait_for_status(alice, task["id"])["status"] == "COMPLETED"

        assert _open_entries(data_dir) == []
        sqlite_files = ("platform.db", "platform.db-wal", "platform.db-shm")
        on_sqlite = server.database_url.startswith("sqlite")
        for name in (*sqlite_files, "server.log") if on_sqlite else ("server.log",):
            assert _mode(data_dir / name) == 0o600, name
        assert (data_dir / "tasks" / task["id"]).is_dir()  # kept, and private like the rest
        assert (data_dir / "storage" / "uploads" / staged["upload_id"]).is_dir()
        assert "tightened permissions" not in server.log_path.read_text()
    finally:
        server.stop()


def test_the_api_processes_folder_is_the_platforms(
    tmp_path: Path, loose_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    """`serve --workers N` keeps its processes' ready files in the data directory: a start
    tightens them like the rest and does not call them someone else's."""
    from sevenbridges_local.bootstrap import tighten_data_dir
    from sevenbridges_local.supervisor import mark_ready, ready_file

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    mark_ready(data_dir, 0)
    ready = ready_file(data_dir, 0)
    os.chmod(ready.parent, 0o755)
    os.chmod(ready, 0o644)
    with caplog.at_level("INFO", logger="sevenbridges_local.bootstrap"):
        tighten_data_dir(data_dir)
    assert _mode(ready.parent) == 0o700 and _mode(ready) == 0o600
    assert "not the platform's" not in caplog.text

"""Parts written in place (issue 13): one data file per upload, a journal of acknowledged parts,
complete as a link, crash safety, and the WAN emulation switches of the data plane."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from local_helpers import TOKEN_HEADER, Caller
from test_uploads import (
    PART,
    complete,
    download,
    md5,
    part_url,
    put_part,
    report,
    send_parts,
    staging_dir,
    start_upload,
    upload_bytes,
)

from sevenbridges_local.embedded import EmbeddedServer


def stored_parts(caller: Caller, upload_id: str) -> dict[int, str]:
    info = caller.get(f"/upload/multipart/{upload_id}", params={"list_parts": "True"})
    assert info.status_code == 200, info.text
    return {part["part_number"]: part["etag"] for part in info.json()["parts"]}


def object_with_inode(server: EmbeddedServer, inode: int) -> list[str]:
    found = []
    for root, _, names in os.walk(server.data_dir / "storage" / "objects"):
        found += [name for name in names if os.stat(os.path.join(root, name)).st_ino == inode]
    return found


@contextmanager
def partial_put(url: str, length: int, sent: bytes) -> Iterator[socket.socket]:
    """A part PUT announcing ``length`` bytes that sends only ``sent`` and then waits."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head.encode() + sent)
        yield connection


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_parts_land_in_one_file_and_complete_is_a_link(
    alice: Caller, platform: EmbeddedServer
) -> None:
    project = alice.create_project("in place")
    data = os.urandom(2 * PART + 7)
    upload = start_upload(alice, "linked.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    staged = staging_dir(platform, upload_id)
    assert os.stat(staged / "data").st_size == len(data)  # the final size from the start
    # Parts in any order, the first one twice with other bytes before the right ones: the
    # second copy rewrites the range.
    wrong = os.urandom(PART)
    assert put_part(alice, upload_id, 1, wrong).headers["ETag"].strip('"') == md5(wrong)
    send_parts(alice, upload, data)
    assert stored_parts(alice, upload_id)[1] == md5(data[:PART])
    assert sorted(os.listdir(staged)) == ["data", "journal"]  # no per-part files
    inode = os.stat(staged / "data").st_ino

    created = complete(alice, upload["upload_id"])
    assert created.status_code == 200, created.text
    assert download(alice, created.json()["id"]) == data
    assert len(object_with_inode(platform, inode)) == 1  # the same bytes on disk, not a copy
    assert not staged.exists()


def test_an_abort_removes_the_data_file(alice: Caller, platform: EmbeddedServer) -> None:
    project = alice.create_project("in place abort")
    upload = start_upload(alice, "gone.bin", PART + 1, project=project["id"])
    staged = staging_dir(platform, upload["upload_id"])
    assert put_part(alice, upload["upload_id"], 1, b"a" * PART).status_code == 200
    assert alice.delete(f"/upload/multipart/{upload['upload_id']}").status_code == 204
    assert not staged.exists()
    late = put_part_raw(alice, platform, upload["upload_id"])
    assert late is None or late.status_code == 404


def put_part_raw(caller: Caller, server: EmbeddedServer, upload_id: str) -> Any:
    """A part URL can no longer be had for an aborted upload: None when the API refuses."""
    response = caller.get(f"/upload/multipart/{upload_id}/part/1")
    return None if response.status_code == 404 else response


def test_a_killed_server_keeps_exactly_the_acknowledged_parts(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform()
    alice = Caller(http, server.url, server.token("alice"), "alice")
    project = alice.create_project("crash")
    data = os.urandom(3 * PART)
    chunks = [data[i * PART : (i + 1) * PART] for i in range(3)]
    upload = start_upload(alice, "crash.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    for number in (1, 2):
        response = put_part(alice, upload_id, number, chunks[number - 1])
        assert response.status_code == 200
        report(alice, upload_id, number, response.headers["ETag"])
    assert stored_parts(alice, upload_id) == {1: md5(chunks[0]), 2: md5(chunks[1])}

    # Part 2 is being sent again (other bytes) and part 3 for the first time, both halfway,
    # when the server dies without any chance to clean up.
    url_2 = part_url(alice, upload_id, 2)["url"]
    url_3 = part_url(alice, upload_id, 3)["url"]
    with (
        partial_put(url_2, PART, os.urandom(PART // 2)),
        partial_put(url_3, PART, chunks[2][: PART // 2]),
    ):
        staged = staging_dir(server, upload_id) / "data"
        # Part 3's first half has reached its place in the file.
        wait_for(lambda: os.stat(staged).st_blocks * 512 >= 2 * PART + PART // 4)
        # A half-sent new copy never replaces an acknowledged part.
        assert stored_parts(alice, upload_id) == {1: md5(chunks[0]), 2: md5(chunks[1])}
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        wait_for(lambda: not server.running)
    server.stop()
    server.start()

    assert stored_parts(alice, upload_id) == {1: md5(chunks[0]), 2: md5(chunks[1])}
    # The resumed upload sends what is missing and finishes with the right bytes.
    response = put_part(alice, upload_id, 3, chunks[2])
    assert response.status_code == 200
    report(alice, upload_id, 3, response.headers["ETag"])
    created = complete(alice, upload_id)
    assert created.status_code == 200, created.text
    assert download(alice, created.json()["id"]) == data


# --- WAN emulation ----------------------------------------------------------------------------


@contextmanager
def wan(server: EmbeddedServer, http: requests.Session, **switches: int) -> Iterator[None]:
    faults = server.url + "/_local/faults"
    admin = {TOKEN_HEADER: server.token("admin")}
    changed = http.put(faults, headers=admin, json=switches)
    assert changed.status_code == 200, changed.text
    try:
        yield
    finally:
        http.put(faults, headers=admin, json={name: 0 for name in switches})


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_wan_latency_delays_every_transfer_request(
    alice: Caller, platform: EmbeddedServer, http: requests.Session
) -> None:
    project = alice.create_project("wan latency")
    data = os.urandom(1000)
    stored = upload_bytes(alice, project["id"], "far.bin", data)
    link = alice.get(f"/files/{stored['id']}/download_info").json()["url"]
    upload = start_upload(alice, "far-up.bin", 10, project=project["id"])
    put_url = part_url(alice, upload["upload_id"], 1)["url"]
    with wan(platform, http, wan_latency_ms=300):
        fetched, fetch_seconds = timed(lambda: http.get(link, timeout=30))
        sent, send_seconds = timed(lambda: http.put(put_url, data=b"x" * 10, timeout=30))
    assert fetched.status_code == 200 and fetched.content == data
    assert sent.status_code == 200 and sent.headers["ETag"].strip('"') == md5(b"x" * 10)
    assert fetch_seconds >= 0.3 and send_seconds >= 0.3


def test_wan_bandwidth_caps_each_connection(start_platform: Callable[..., EmbeddedServer]) -> None:
    # Set from the settings here (the /_local/faults switch is the same value at run time).
    server = start_platform(settings={"wan_bandwidth_mbps": 16})  # 2 MB/s
    http = requests.Session()
    alice = Caller(http, server.url, server.token("alice"), "alice")
    project = alice.create_project("wan bandwidth")
    data = os.urandom(2_000_000)
    upload = start_upload(alice, "capped.bin", len(data), project=project["id"])
    put_url = part_url(alice, upload["upload_id"], 1)["url"]
    sent, send_seconds = timed(lambda: http.put(put_url, data=data, timeout=60))
    assert sent.status_code == 200, sent.text
    report(alice, upload["upload_id"], 1, sent.headers["ETag"])
    created = complete(alice, upload["upload_id"]).json()
    link = alice.get(f"/files/{created['id']}/download_info").json()["url"]
    fetched, fetch_seconds = timed(lambda: http.get(link, timeout=60))
    assert fetched.content == data
    # 2,000,000 bytes at 2,000,000 bytes per second: about a second each way, never much less.
    assert send_seconds >= 0.9 and fetch_seconds >= 0.9

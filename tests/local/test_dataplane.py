"""The data plane: signed URLs, part PUTs, ranged downloads, keep-alive and the transfer faults."""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from local_helpers import TOKEN_HEADER, Caller, assert_error
from test_uploads import (
    PART,
    complete,
    md5,
    part_url,
    put_part,
    report,
    start_upload,
    upload_bytes,
)

from sevenbridges_local.dataplane import RangeNotSatisfiable, parse_range
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.security import load_or_create_secret_key
from sevenbridges_local.signing import ExpiredSignature, SignatureError, UrlSigner

CONTENT = bytes(range(256)) * 4  # 1024 recognisable bytes


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project("data plane")


@pytest.fixture
def stored_file(alice: Caller, project: dict) -> dict[str, Any]:
    return upload_bytes(alice, project["id"], "content.bin", CONTENT)


def download_url(caller: Caller, file_id: str) -> str:
    response = caller.get(f"/files/{file_id}/download_info")
    assert response.status_code == 200, response.text
    return response.json()["url"]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(item.split("=", 1) for item in parts.query.split("&"))
    query.update(changes)
    rebuilt = "&".join(f"{key}={value}" for key, value in query.items() if value is not None)
    return parts._replace(query=rebuilt).geturl()


def signer_for(server: EmbeddedServer) -> UrlSigner:
    """The platform's own signer: lets tests sign paths the API would never hand out."""
    return UrlSigner(load_or_create_secret_key(server.data_dir / "secret.key"))


def data_plane_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def raw_exchange(url: str, request_head: str, body: bytes = b"", *, close_write: bool) -> bytes:
    """Send bytes exactly as given (what ``requests`` will not do) and read the answer."""
    host, port = data_plane_address(url)
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(request_head.encode() + b"\r\n" + body)
        if close_write:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                return received
            received += chunk
        head, _, body_start = received.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body_start) < length:  # the body may come in later segments
            chunk = connection.recv(65536)
            if not chunk:
                break
            body_start += chunk
        return head + b"\r\n\r\n" + body_start


def netloc(url: str) -> str:
    return urlsplit(url).netloc


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- signing --------------------------------------------------------------------------------


def test_signer_round_trip_expiry_and_tampering() -> None:
    now = [1_700_000_000.5]
    signer = UrlSigner(b"k" * 32, clock=lambda: now[0])
    expires = signer.expiry_for(10)
    assert expires == 1_700_000_010
    query = dict(item.split("=") for item in signer.query("PUT", "/parts/u/1", expires).split("&"))
    assert set(query) == {"expires", "signature"}
    signer.verify("PUT", "/parts/u/1", query)  # valid
    signer.verify("put", "/parts/u/1", query)  # methods are case-insensitive
    for method, path, changes in (
        ("GET", "/parts/u/1", {}),
        ("PUT", "/parts/u/2", {}),
        ("PUT", "/parts/u/1", {"expires": str(expires + 1)}),
        ("PUT", "/parts/u/1", {"expires": "１７"}),
        ("PUT", "/parts/u/1", {"signature": "é" * 64}),
        ("PUT", "/parts/u/1", {"signature": ""}),
    ):
        with pytest.raises(SignatureError):
            signer.verify(method, path, {**query, **changes})
    with pytest.raises(SignatureError):
        UrlSigner(b"other key").verify("PUT", "/parts/u/1", query)
    now[0] = expires - 0.001
    signer.verify("PUT", "/parts/u/1", query)
    now[0] = expires  # valid strictly before the expiry second
    with pytest.raises(ExpiredSignature):
        signer.verify("PUT", "/parts/u/1", query)
    assert signer.expiry_for(0) <= now[0]  # a time-to-live of 0 is born expired
    assert "k" * 8 not in repr(signer)


# --- Range parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("", 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=2-5", 10, (2, 5)),
        ("bytes=2-", 10, (2, 9)),
        ("bytes=8-100", 10, (8, 9)),  # end past EOF is clamped
        ("bytes=9-9", 10, (9, 9)),
        ("bytes=-3", 10, (7, 9)),  # suffix
        ("bytes=-30", 10, (0, 9)),  # suffix longer than the object: all of it
        ("BYTES = 1-2", 10, (1, 2)),
        ("bytes=5-2", 10, None),  # invalid: ignored, whole object
        ("bytes=0-1,4-5", 10, None),  # several ranges: not supported, whole object
        ("items=0-1", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=-", 10, None),
        ("bytes", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-1", 0)],
)
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


# --- downloads ------------------------------------------------------------------------------


def test_whole_object_and_head(alice: Caller, stored_file: dict, http: requests.Session) -> None:
    url = download_url(alice, stored_file["id"])
    response = http.get(url, timeout=30)  # no token: the signature is the permission
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["Content-Length"] == str(len(CONTENT))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Range" not in response.headers

    head = http.head(url, timeout=30)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(CONTENT))
    ranged_head = http.head(url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert ranged_head.status_code == 206
    assert ranged_head.headers["Content-Range"] == f"bytes 10-19/{len(CONTENT)}"
    assert ranged_head.headers["Content-Length"] == "10"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-199", 100, 199),
        ("bytes=1000-5000", 1000, 1023),  # end past EOF clamped (what the official client sends)
        ("bytes=1023-", 1023, 1023),
        ("bytes=512-", 512, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=-4096", 0, 1023),
    ],
)
def test_ranges(
    alice: Caller, stored_file: dict, http: requests.Session, header: str, first: int, last: int
) -> None:
    response = http.get(
        download_url(alice, stored_file["id"]), headers={"Range": header}, timeout=30
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(CONTENT)}"
    assert response.headers["Content-Length"] == str(last - first + 1)
    assert response.content == CONTENT[first : last + 1]


def test_unsatisfiable_and_ignored_ranges(
    alice: Caller, project: dict, stored_file: dict, http: requests.Session
) -> None:
    url = download_url(alice, stored_file["id"])
    for header in ("bytes=1024-", "bytes=5000-6000", "bytes=-0"):
        response = http.get(url, headers={"Range": header}, timeout=30)
        assert_error(response, 416, 90000)
        assert response.headers["Content-Range"] == f"bytes */{len(CONTENT)}"
    for header in ("bytes=0-1,5-6", "bytes=9-2", "lines=1-2"):
        response = http.get(url, headers={"Range": header}, timeout=30)
        assert response.status_code == 200 and response.content == CONTENT

    empty = upload_bytes(alice, project["id"], "empty.bin", b"")
    empty_url = download_url(alice, empty["id"])
    whole = http.get(empty_url, timeout=30)
    assert whole.status_code == 200
    assert whole.headers["Content-Length"] == "0" and whole.content == b""
    response = http.get(empty_url, headers={"Range": "bytes=0-"}, timeout=30)
    assert_error(response, 416, 90000)
    assert response.headers["Content-Range"] == "bytes */0"


def test_connections_are_kept_alive(alice: Caller, stored_file: dict) -> None:
    url = download_url(alice, stored_file["id"])
    host, port = data_plane_address(url)
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", target_of(url), headers={"Range": "bytes=0-99"})
        first = connection.getresponse()
        assert first.status == 206 and first.read() == CONTENT[:100]
        socket_used = connection.sock
        connection.request("GET", target_of(url))
        second = connection.getresponse()
        assert second.status == 200 and second.read() == CONTENT
        assert connection.sock is socket_used  # same TCP connection for both requests
    finally:
        connection.close()


def test_large_object_download(alice: Caller, project: dict, http: requests.Session) -> None:
    data = os.urandom(2 * PART + 12345)
    created = upload_bytes(alice, project["id"], "large.bin", data)
    url = download_url(alice, created["id"])
    assert http.get(url, timeout=60).content == data
    middle = http.get(url, headers={"Range": f"bytes={PART - 10}-{PART + 9}"}, timeout=60)
    assert middle.status_code == 206 and middle.content == data[PART - 10 : PART + 10]


# --- signatures -----------------------------------------------------------------------------


def test_signatures_are_checked(
    alice: Caller, stored_file: dict, http: requests.Session, platform: EmbeddedServer
) -> None:
    url = download_url(alice, stored_file["id"])
    expires = dict(item.split("=") for item in urlsplit(url).query.split("&"))["expires"]
    signature = dict(item.split("=") for item in urlsplit(url).query.split("&"))["signature"]
    tampered = [
        with_query(url, expires=str(int(expires) + 3600)),  # a longer life is not for sale
        with_query(url, signature=signature[:-1] + ("0" if signature[-1] != "0" else "1")),
        with_query(url, signature=None),
        with_query(url, expires=None),
        with_query(url, expires="soon"),
        url.split("?")[0],
        url.replace(urlsplit(url).path, "/objects/" + "0" * 32),  # another object
    ]
    for candidate in tampered:
        error = assert_error(http.get(candidate, timeout=30), 403, 90002)
        assert "signature" in error["message"] or "signed" in error["message"]
    # A genuine signature for a key that does not exist.
    signer = signer_for(platform)
    path = "/objects/" + "0" * 32
    base = url.split("/objects/")[0]
    missing = f"{base}{path}?{signer.query('GET', path, signer.expiry_for(60))}"
    assert_error(http.get(missing, timeout=30), 404, 5002)
    # A signature is tied to the method: a download signature cannot upload.
    assert_error(http.put(url, data=b"x", timeout=30), 405, 90006)
    assert_error(http.post(url, timeout=30), 405, 90006)
    assert_error(http.get(base + "/nothing/here", timeout=30), 404, 90003)


def test_part_urls_are_tied_to_their_part(
    alice: Caller, project: dict, http: requests.Session, platform: EmbeddedServer
) -> None:
    upload = start_upload(alice, "tied.bin", PART + 5, project=project["id"])
    upload_id = upload["upload_id"]
    url = part_url(alice, upload_id, 1)["url"]
    other_part = url.replace(f"/{upload_id}/1?", f"/{upload_id}/2?")
    assert_error(http.put(other_part, data=b"x", timeout=30), 403, 90002)
    assert_error(http.get(url, timeout=30), 405, 90006)
    # Signed with the GET method, a part path still cannot be written.
    signer = signer_for(platform)
    path = f"/parts/{upload_id}/1"
    wrong_method = f"{url.split('/parts/')[0]}{path}?{signer.query('GET', path, 2**40)}"
    assert_error(http.put(wrong_method, data=b"x", timeout=30), 403, 90002)
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert info["parts"] == []


# --- part PUT edge cases --------------------------------------------------------------------


def test_part_put_needs_a_complete_body_with_a_length(
    alice: Caller, project: dict, http: requests.Session
) -> None:
    upload = start_upload(alice, "edges.bin", 100, project=project["id"])
    upload_id = upload["upload_id"]
    url = part_url(alice, upload_id, 1)["url"]
    target = target_of(url)
    host = netloc(url)

    def chunks() -> Iterator[bytes]:
        yield b"abc"

    assert_error(http.put(url, data=chunks(), timeout=30), 411, 90000)  # chunked: no length
    answer = raw_exchange(url, f"PUT {target} HTTP/1.1\r\nHost: {host}\r\n", close_write=True)
    assert answer.startswith(b"HTTP/1.1 411 ")
    answer = raw_exchange(
        url, f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: lots\r\n", close_write=True
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    answer = raw_exchange(
        url,
        f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {5 * 1024**3 + 1}\r\n",
        close_write=True,
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    # The sender stops after 10 of 100 bytes: 400, and nothing is stored.
    answer = raw_exchange(
        url,
        f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n",
        b"0123456789",
        close_write=True,
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"code": 90000' in answer
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert info["parts"] == []
    # A proper PUT still works afterwards.
    assert http.put(url, data=b"z" * 100, timeout=30).headers["ETag"] == f'"{md5(b"z" * 100)}"'


def test_expect_continue_is_refused_before_the_body(
    alice: Caller, project: dict, http: requests.Session
) -> None:
    upload = start_upload(alice, "expect.bin", 4, project=project["id"])
    url = part_url(alice, upload["upload_id"], 1)["url"]
    host = netloc(url)
    head = "PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
    bad = with_query(url, signature="0" * 64)
    refused = raw_exchange(bad, head.format(target=target_of(bad), host=host), close_write=False)
    assert refused.startswith(b"HTTP/1.1 403 ")
    accepted = raw_exchange(url, head.format(target=target_of(url), host=host), close_write=False)
    assert accepted.startswith(b"HTTP/1.1 100 Continue")


# --- fault injection ------------------------------------------------------------------------

TRANSFER_DEFAULTS = {
    "signed_url_ttl": 3600,
    "drop_transfers": 0,
    "corrupt_parts": 0,
    "transfer_delay_ms": 0,
}


@pytest.fixture
def switched(
    platform: EmbeddedServer, platform_faults, admin: Caller, alice: Caller
) -> tuple[EmbeddedServer, Caller, Caller, dict]:
    """The shared platform, its admin, a new user and a project of theirs. The switches are
    global to the platform: ``platform_faults`` puts them back after the test, even a failed one."""
    return platform, admin, alice, alice.create_project("faults")


def set_faults(admin: Caller, **changes: int) -> dict[str, Any]:
    response = admin.put("/_local/faults", json=changes)
    assert response.status_code == 200, response.text
    return response.json()


def test_transfer_switches_are_validated(switched: tuple) -> None:
    server, admin, alice, _ = switched
    state = admin.get("/_local/faults").json()
    assert {key: state[key] for key in TRANSFER_DEFAULTS} == TRANSFER_DEFAULTS
    for body in (
        {"signed_url_ttl": -1},
        {"signed_url_ttl": 7 * 24 * 3600 + 1},
        {"drop_transfers": -1},
        {"corrupt_parts": "2"},
        {"transfer_delay_ms": 1.5},
        {"transfer_delay_ms": 600_001},
    ):
        error = assert_error(admin.put("/_local/faults", json=body), 400, 90000)
        assert next(iter(body)) in error["message"]
    assert_error(alice.put("/_local/faults", json={"drop_transfers": 1}), 403, 90002)
    state = admin.get("/_local/faults").json()
    assert {key: state[key] for key in TRANSFER_DEFAULTS} == TRANSFER_DEFAULTS


def test_expired_urls_are_refused_and_fresh_ones_work(switched: tuple) -> None:
    _server, admin, alice, project = switched
    upload = start_upload(alice, "expiry.bin", 3, project=project["id"])
    upload_id = upload["upload_id"]
    assert set_faults(admin, signed_url_ttl=0)["signed_url_ttl"] == 0  # born expired
    expired = part_url(alice, upload_id, 1)
    error = assert_error(alice.http.put(expired["url"], data=b"abc", timeout=30), 403, 90002)
    assert "expired" in error["message"]
    set_faults(admin, signed_url_ttl=3600)
    stored = put_part(alice, upload_id, 1, b"abc")  # the client simply asks for a new URL
    assert stored.status_code == 200
    report(alice, upload_id, 1, stored.headers["ETag"])
    created = complete(alice, upload_id).json()

    set_faults(admin, signed_url_ttl=0)
    stale = download_url(alice, created["id"])
    error = assert_error(alice.http.get(stale, timeout=30), 403, 90002)
    assert "expired" in error["message"]
    set_faults(admin, signed_url_ttl=3600)
    assert alice.http.get(download_url(alice, created["id"]), timeout=30).content == b"abc"


def test_dropped_transfers(switched: tuple) -> None:
    _server, admin, alice, project = switched
    data = os.urandom(1024 * 1024)
    upload = start_upload(alice, "dropped.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    url = part_url(alice, upload_id, 1)["url"]
    assert set_faults(admin, drop_transfers=1)["drop_transfers"] == 1
    with requests.Session() as fresh:
        fresh.trust_env = False
        with pytest.raises(requests.ConnectionError):
            fresh.put(url, data=data, timeout=30)
    assert admin.get("/_local/faults").json()["drop_transfers"] == 0  # used up
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert info["parts"] == []  # nothing half-received was kept
    stored = alice.http.put(url, data=data, timeout=30)  # the same URL works on retry
    assert stored.status_code == 200
    report(alice, upload_id, 1, stored.headers["ETag"])
    created = complete(alice, upload_id).json()

    download = download_url(alice, created["id"])
    set_faults(admin, drop_transfers=1)
    with requests.Session() as fresh:
        fresh.trust_env = False
        with pytest.raises(requests.RequestException):
            fresh.get(download, timeout=30)  # cut off after half the body
    assert alice.http.get(download, timeout=30).content == data


def test_corrupted_parts_are_detected(switched: tuple) -> None:
    _server, admin, alice, project = switched
    data = os.urandom(PART + 100)
    upload = start_upload(alice, "corrupt.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    set_faults(admin, corrupt_parts=1)
    first = put_part(alice, upload_id, 1, data[:PART])
    assert first.status_code == 200
    damaged_etag = first.headers["ETag"].strip('"')
    assert damaged_etag != md5(data[:PART])  # the client can tell at once
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert info["parts"] == [{"part_number": 1, "size": PART, "etag": damaged_etag}]
    second = put_part(alice, upload_id, 2, data[PART:])  # only one part was to be damaged
    assert second.headers["ETag"] == f'"{md5(data[PART:])}"'
    # A client that reports its own checksum is stopped at complete.
    report(alice, upload_id, 1, md5(data[:PART]))
    report(alice, upload_id, 2, md5(data[PART:]))
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "Part 1" in error["message"]
    resent = put_part(alice, upload_id, 1, data[:PART])
    assert resent.headers["ETag"] == f'"{md5(data[:PART])}"'
    created = complete(alice, upload_id).json()
    content = alice.http.get(download_url(alice, created["id"]), timeout=30).content
    assert content == data


def test_transfer_delay_keeps_transfers_working(switched: tuple) -> None:
    _server, admin, alice, project = switched
    assert set_faults(admin, transfer_delay_ms=200)["transfer_delay_ms"] == 200
    created = upload_bytes(alice, project["id"], "slow.bin", b"slow bytes")
    assert alice.http.get(download_url(alice, created["id"]), timeout=30).content == b"slow bytes"
    assert set_faults(admin, transfer_delay_ms=0)["transfer_delay_ms"] == 0


def test_data_plane_needs_no_token_and_ignores_one(
    alice: Caller, stored_file: dict, http: requests.Session
) -> None:
    url = download_url(alice, stored_file["id"])
    assert http.get(url, headers={TOKEN_HEADER: "0" * 32}, timeout=30).content == CONTENT

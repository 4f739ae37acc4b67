"""Multipart upload (rest-api.md §4) against a live local platform, with plain ``requests``.

Part bytes go to signed data-plane URLs without a token; everything else is the REST API.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from local_helpers import Caller, assert_error, run_sql

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.services import uploads as upload_rules

MIB = 1024 * 1024
PART = 5 * MIB  # the smallest part size the platform accepts
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def start_upload(
    caller: Caller,
    name: str,
    size: int,
    *,
    project: str | None = None,
    parent: str | None = None,
    part_size: int | None = PART,
    overwrite: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "size": size, "part_size": part_size}
    if project is not None:
        body["project"] = project
    if parent is not None:
        body["parent"] = parent
    params = {"overwrite": "True"} if overwrite else None
    response = caller.post("/upload/multipart", json=body, params=params)
    assert response.status_code == 201, response.text
    return response.json()


def part_url(caller: Caller, upload_id: str, number: int) -> dict[str, Any]:
    response = caller.get(f"/upload/multipart/{upload_id}/part/{number}")
    assert response.status_code == 200, response.text
    return response.json()


def put_part(caller: Caller, upload_id: str, number: int, data: bytes) -> requests.Response:
    """PUT one part to a fresh signed URL, without any token (as every client does)."""
    url = part_url(caller, upload_id, number)["url"]
    return caller.http.put(url, data=data, timeout=60)


def report(caller: Caller, upload_id: str, number: int, etag: str) -> requests.Response:
    body = {"part_number": number, "response": {"headers": {"ETag": etag}}}
    return caller.post(f"/upload/multipart/{upload_id}/part/", json=body)


def send_parts(caller: Caller, upload: dict[str, Any], data: bytes) -> list[str]:
    """Upload and report every part of ``data``; returns the ETags (without quotes)."""
    size, part_size = len(data), upload["part_size"]
    etags = []
    for number in range(1, upload_rules.part_count(size, part_size) + 1):
        chunk = data[(number - 1) * part_size : number * part_size]
        stored = put_part(caller, upload["upload_id"], number, chunk)
        assert stored.status_code == 200, stored.text
        etag = stored.headers["ETag"]
        assert etag == f'"{md5(chunk)}"'
        assert report(caller, upload["upload_id"], number, etag.strip('"')).status_code == 200
        etags.append(etag.strip('"'))
    return etags


def complete(caller: Caller, upload_id: str, body: str = "null") -> requests.Response:
    return caller.post(
        f"/upload/multipart/{upload_id}/complete",
        data=body,
        headers={"Content-Type": "application/json"},
    )


def upload_bytes(caller: Caller, project: str, name: str, data: bytes, **init: Any) -> dict:
    """The whole protocol; returns the new file's JSON."""
    upload = start_upload(caller, name, len(data), project=project, **init)
    send_parts(caller, upload, data)
    finished = complete(caller, upload["upload_id"])
    assert finished.status_code == 200, finished.text
    return finished.json()


def download(caller: Caller, file_id: str) -> bytes:
    info = caller.get(f"/files/{file_id}/download_info")
    assert info.status_code == 200, info.text
    response = caller.http.get(info.json()["url"], timeout=60)
    assert response.status_code == 200, response.text
    return response.content


def staging_dir(server: EmbeddedServer, upload_id: str):
    return server.data_dir / "storage" / "uploads" / upload_id


def create_folder(caller: Caller, name: str, **where: str) -> dict[str, Any]:
    response = caller.post("/files", json={"name": name, "type": "folder", **where})
    assert response.status_code in (200, 201), response.text
    return response.json()


def grant(owner: Caller, project: dict, member: Caller, **permissions: bool) -> None:
    response = owner.post(
        f"/projects/{project['id']}/members",
        json={"username": member.username, "permissions": permissions},
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project("uploads")


# --- part sizes -----------------------------------------------------------------------------


def test_part_size_rules() -> None:
    choose = upload_rules.choose_part_size
    assert choose(100 * MIB, PART) == PART  # a valid request is honoured
    assert choose(100 * MIB, 64 * MIB) == 64 * MIB
    assert choose(100 * MIB, None) == 32 * MIB  # the default
    assert choose(100 * MIB, PART - 1) == 32 * MIB  # too small: ours
    assert choose(100 * MIB, 6 * 1024**3) == 32 * MIB  # too large: ours
    tib5 = 5 * 1024**4
    chosen = choose(tib5, PART)  # 5 MiB parts would need a million parts
    assert upload_rules.part_count(tib5, chosen) <= 10_000
    assert chosen % MIB == 0 and PART <= chosen <= 5 * 1024**3
    assert upload_rules.part_count(0, PART) == 1  # an empty file is one empty part
    assert upload_rules.part_count(2 * PART, PART) == 2
    assert upload_rules.part_count(2 * PART + 1, PART) == 3


# --- the protocol ---------------------------------------------------------------------------


def test_init_answers_the_upload(alice: Caller, project: dict) -> None:
    upload = start_upload(alice, "reads.fastq", 12 * MIB, project=project["id"], part_size=None)
    assert set(upload) >= {
        "upload_id",
        "project",
        "name",
        "initiated",
        "part_size",
        "parallel_uploads",
        "uploaded_parts_count",
    }
    assert upload["project"] == project["id"]
    assert upload["name"] == "reads.fastq"
    assert upload["part_size"] == 32 * MIB
    assert upload["parallel_uploads"] is True
    assert upload["uploaded_parts_count"] == 0
    assert upload["initiated"].endswith("Z")
    assert upload["parent"] == project["root_folder"]

    url = part_url(alice, upload["upload_id"], 1)
    assert url["method"] == "PUT"
    assert url["headers"] == {}
    assert url["report"] == {"success_codes": [200], "headers": ["ETag"]}
    assert url["expires"].endswith("Z")
    assert "signature=" in url["url"] and "expires=" in url["url"]
    assert not url["url"].startswith(alice.url)  # the data plane, not the API


@pytest.mark.parametrize(
    ("size", "part_size", "parts"),
    [(2 * PART, PART, 2), (2 * PART + 3, PART, 3), (PART - 1, PART, 1)],
    ids=["exact-multiple", "short-last-part", "single-part"],
)
@pytest.mark.postgres
def test_upload_round_trip(
    alice: Caller, project: dict, platform: EmbeddedServer, size: int, part_size: int, parts: int
) -> None:
    data = os.urandom(size)
    upload = start_upload(alice, "sample one.bin", size, project=project["id"], part_size=part_size)
    assert upload_rules.part_count(size, upload["part_size"]) == parts
    send_parts(alice, upload, data)
    info = alice.get(f"/upload/multipart/{upload['upload_id']}", params={"list_parts": "true"})
    assert info.json()["uploaded_parts_count"] == parts

    finished = complete(alice, upload["upload_id"])
    assert finished.status_code == 200, finished.text
    created = finished.json()
    assert created["name"] == "sample one.bin"
    assert created["size"] == size
    assert created["type"] == "file"
    assert created["project"] == project["id"]
    assert alice.get(f"/files/{created['id']}").json()["size"] == size
    assert download(alice, created["id"]) == data
    # The upload is finished: gone from the API and from staging.
    assert_error(alice.get(f"/upload/multipart/{upload['upload_id']}"), 404, 8003)
    assert not staging_dir(platform, upload["upload_id"]).exists()


def test_zero_byte_file_is_one_empty_part(alice: Caller, project: dict) -> None:
    upload = start_upload(alice, "empty.txt", 0, project=project["id"])
    stored = put_part(alice, upload["upload_id"], 1, b"")
    assert stored.status_code == 200
    assert stored.headers["ETag"] == f'"{EMPTY_MD5}"'
    assert_error(alice.get(f"/upload/multipart/{upload['upload_id']}/part/2"), 400, 8012)
    assert report(alice, upload["upload_id"], 1, EMPTY_MD5).status_code == 200
    finished = complete(alice, upload["upload_id"])
    assert finished.status_code == 200, finished.text
    assert finished.json()["size"] == 0
    assert download(alice, finished.json()["id"]) == b""


def test_unicode_names_and_folders(alice: Caller, project: dict) -> None:
    folder = create_folder(alice, "results", project=project["id"])
    data = b"ACGT" * 1000
    upload = start_upload(alice, "résumé ü 試料.txt", len(data), parent=folder["id"])
    assert upload["parent"] == folder["id"]
    assert upload["project"] == project["id"]
    send_parts(alice, upload, data)
    created = complete(alice, upload["upload_id"]).json()
    assert created["name"] == "résumé ü 試料.txt"
    assert created["parent"] == folder["id"]
    listed = alice.get(f"/files/{folder['id']}/list").json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert download(alice, created["id"]) == data


@pytest.mark.postgres
def test_parts_can_be_sent_in_parallel_and_in_any_order(alice: Caller, project: dict) -> None:
    data = os.urandom(3 * PART + 11)
    upload = start_upload(alice, "parallel.bin", len(data), project=project["id"])
    urls = {number: part_url(alice, upload["upload_id"], number)["url"] for number in (4, 3, 2, 1)}
    etags: dict[int, str] = {}
    failures: list[BaseException] = []

    def send(number: int) -> None:
        try:
            with requests.Session() as own:  # one connection per thread, as a real client
                own.trust_env = False
                chunk = data[(number - 1) * PART : number * PART]
                response = own.put(urls[number], data=chunk, timeout=60)
                assert response.status_code == 200
                etags[number] = response.headers["ETag"].strip('"')
        except BaseException as exc:  # surfaced in the main thread below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(number,)) for number in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    for number in (2, 4, 1, 3):
        assert report(alice, upload["upload_id"], number, etags[number]).status_code == 200
    created = complete(alice, upload["upload_id"]).json()
    assert download(alice, created["id"]) == data


def test_upload_info_lists_stored_parts_reported_or_not(alice: Caller, project: dict) -> None:
    data = os.urandom(2 * PART + 100)
    upload = start_upload(alice, "resume.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    first = put_part(alice, upload_id, 1, data[:PART]).headers["ETag"].strip('"')
    put_part(alice, upload_id, 3, data[2 * PART :])
    report(alice, upload_id, 1, first)

    plain = alice.get(f"/upload/multipart/{upload_id}").json()
    assert "parts" not in plain
    assert plain["uploaded_parts_count"] == 1
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "True"}).json()
    assert info["upload_id"] == upload_id and info["size"] == len(data)
    assert info["parts"] == [
        {"part_number": 1, "size": PART, "etag": md5(data[:PART])},
        {"part_number": 3, "size": 100, "etag": md5(data[2 * PART :])},
    ]


# --- reports and completion checks ----------------------------------------------------------


def test_a_repeated_report_replaces_the_earlier_one(alice: Caller, project: dict) -> None:
    data = os.urandom(PART + 10)
    upload = start_upload(alice, "again.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    send_parts(alice, upload, data)
    assert report(alice, upload_id, 2, "0" * 32).status_code == 200  # a wrong one replaces it
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "Part 2" in error["message"]
    assert report(alice, upload_id, 2, f'"{md5(data[PART:])}"').status_code == 200  # quoted is ok
    assert complete(alice, upload_id).status_code == 200


def test_a_part_sent_again_must_be_reported_again(alice: Caller, project: dict) -> None:
    data = os.urandom(PART + 10)
    upload = start_upload(alice, "resent.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    send_parts(alice, upload, data)
    replacement = b"x" * 10
    assert put_part(alice, upload_id, 2, replacement).status_code == 200
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "Part 2" in error["message"]
    report(alice, upload_id, 2, md5(replacement))
    created = complete(alice, upload_id).json()
    assert download(alice, created["id"]) == data[:PART] + replacement


def test_missing_parts_are_named(alice: Caller, project: dict) -> None:
    data = os.urandom(2 * PART + 1)
    upload = start_upload(alice, "missing.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    etag = put_part(alice, upload_id, 1, data[:PART]).headers["ETag"].strip('"')
    report(alice, upload_id, 1, etag)
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "2, 3" in error["message"] and "not reported" in error["message"]
    # Reported but never stored.
    report(alice, upload_id, 2, md5(data[PART : 2 * PART]))
    report(alice, upload_id, 3, md5(data[2 * PART :]))
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "Part 2" in error["message"] and "never stored" in error["message"]
    # Nothing was created along the way.
    names = [
        item["name"]
        for item in alice.get("/files", params={"project": project["id"]}).json()["items"]
    ]
    assert "missing.bin" not in names


def test_sizes_must_add_up(alice: Caller, project: dict) -> None:
    upload = start_upload(alice, "short.bin", PART + 10, project=project["id"])
    upload_id = upload["upload_id"]
    for number, chunk in ((1, b"a" * PART), (2, b"b" * 5)):  # 5 bytes short
        report(alice, upload_id, number, put_part(alice, upload_id, number, chunk).headers["ETag"])
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert str(PART + 5) in error["message"] and str(PART + 10) in error["message"]


def test_parts_fit_their_places(alice: Caller, project: dict) -> None:
    # The local store writes parts in place, so each has its fixed place: a part longer than its
    # place is refused at once, a middle part shorter than the part size fails the complete.
    # (With files in S3 the parts go to S3 itself: tests/storage_fixtures.py skips this there.)
    upload = start_upload(alice, "uneven.bin", 2 * PART, project=project["id"])
    upload_id = upload["upload_id"]
    refused = assert_error(put_part(alice, upload_id, 2, b"b" * (PART + 1)), 400, 90000)
    assert "part size" in refused["message"]
    for number, chunk in ((1, b"a" * (PART - 1)), (2, b"b" * PART)):  # short middle part
        report(alice, upload_id, number, put_part(alice, upload_id, number, chunk).headers["ETag"])
    error = assert_error(complete(alice, upload_id), 400, 8007)
    assert "Part 1" in error["message"] and str(PART) in error["message"]


def test_complete_accepts_a_parts_list(alice: Caller, project: dict) -> None:
    data = os.urandom(PART + 3)
    upload = start_upload(alice, "listed.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    etags = [
        put_part(alice, upload_id, number, chunk).headers["ETag"]
        for number, chunk in ((1, data[:PART]), (2, data[PART:]))
    ]
    assert_error(complete(alice, upload_id, '{"parts": "all"}'), 400, 8015)
    assert_error(complete(alice, upload_id, '{"parts": [{"part_number": 1}]}'), 400, 8015)
    parts = [
        {"part_number": 1, "response": {"headers": {"ETag": etags[0]}}},  # quoted, as received
        {"part_number": 2, "etag": etags[1].strip('"')},
    ]
    finished = complete(alice, upload_id, json.dumps({"parts": parts}))
    assert finished.status_code == 200, finished.text
    assert download(alice, finished.json()["id"]) == data


def test_invalid_reports_and_part_numbers(alice: Caller, project: dict) -> None:
    upload = start_upload(alice, "checks.bin", PART + 1, project=project["id"])
    upload_id = upload["upload_id"]
    good = {"headers": {"ETag": EMPTY_MD5}}
    for body in (
        {"response": good},
        {"part_number": 0, "response": good},
        {"part_number": 3, "response": good},
        {"part_number": "one", "response": good},
        {"part_number": True, "response": good},
        {"part_number": 1},
        {"part_number": 1, "response": {"headers": {}}},
        {"part_number": 1, "response": {"headers": {"ETag": "not-an-md5"}}},
        {"part_number": 1, "response": {"headers": {"ETag": 12}}},
    ):
        assert_error(alice.post(f"/upload/multipart/{upload_id}/part", json=body), 400, 8014)
    assert_error(alice.post(f"/upload/multipart/{upload_id}/part", json=[1]), 400, 90000)
    for number in ("0", "3", "abc", "-1", "99999999999"):
        assert_error(alice.get(f"/upload/multipart/{upload_id}/part/{number}"), 400, 8012)
    # Any case of the header name works; the Java client's path without the slash too.
    lower = {"part_number": 1, "response": {"headers": {"etag": EMPTY_MD5}}}
    assert alice.post(f"/upload/multipart/{upload_id}/part", json=lower).status_code == 200
    unknown = "0" * 32
    assert_error(alice.get(f"/upload/multipart/{unknown}/part/1"), 404, 8003)
    assert_error(report(alice, unknown, 1, EMPTY_MD5), 404, 8003)
    assert_error(complete(alice, unknown), 404, 8003)


# --- init validation ------------------------------------------------------------------------


def test_init_validation(alice: Caller, project: dict) -> None:
    def init(body: dict[str, Any]) -> requests.Response:
        return alice.post("/upload/multipart", json=body)

    where = {"project": project["id"]}
    for body in (
        {"name": "a", **where},  # no size
        {"name": "a", "size": -1, **where},
        {"name": "a", "size": 5 * 1024**4 + 1, **where},  # over 5 TiB
        {"name": "a", "size": "10", **where},
        {"name": "a", "size": 1.5, **where},
        {"name": "a", "size": 10, "part_size": "big", **where},
        {"name": 7, "size": 10, **where},
        {"name": "a", "size": 10, "project": 5},
    ):
        assert_error(init(body), 400, 8013)
    for name in ("", "a/b", "x" * 256):
        assert_error(init({"name": name, "size": 1, **where}), 400, 5026)
    assert_error(init({"name": "a", "size": 1, "project": "no-slash"}), 400, 8010)
    assert_error(init({"name": "a", "size": 1}), 400, 5029)
    assert_error(
        init({"name": "a", "size": 1, "project": project["id"], "parent": "f" * 24}), 400, 5031
    )
    assert init({"name": "x" * 255, "size": 5 * 1024**4, **where}).status_code == 201
    # 5 TiB fits within 10,000 parts only with the server's larger part size.
    huge = init({"name": "huge", "size": 5 * 1024**4, "part_size": PART, **where}).json()
    assert upload_rules.part_count(5 * 1024**4, huge["part_size"]) <= 10_000


@pytest.mark.postgres
def test_overwrite(alice: Caller, project: dict) -> None:
    first = upload_bytes(alice, project["id"], "data.txt", b"first version")
    error = assert_error(
        alice.post(
            "/upload/multipart", json={"name": "data.txt", "size": 3, "project": project["id"]}
        ),
        409,
        8005,
    )
    assert "data.txt" in error["message"]
    second = upload_bytes(alice, project["id"], "data.txt", b"second", overwrite=True)
    assert second["id"] != first["id"]
    assert download(alice, second["id"]) == b"second"
    assert alice.get(f"/files/{first['id']}").status_code == 404
    names = [
        item["name"]
        for item in alice.get("/files", params={"project": project["id"]}).json()["items"]
    ]
    assert names.count("data.txt") == 1

    # A folder's name cannot be taken over, even with overwrite.
    create_folder(alice, "taken", project=project["id"])
    for params in (None, {"overwrite": "True"}):
        body = {"name": "taken", "size": 1, "project": project["id"]}
        assert_error(alice.post("/upload/multipart", json=body, params=params), 409, 8005)


def test_overwrite_is_checked_again_at_complete(alice: Caller, project: dict) -> None:
    slow = start_upload(alice, "race.txt", 4, project=project["id"])
    send_parts(alice, slow, b"slow")
    winner = upload_bytes(alice, project["id"], "race.txt", b"fast")
    assert_error(complete(alice, slow["upload_id"]), 409, 8005)
    assert download(alice, winner["id"]) == b"fast"

    replacing = start_upload(alice, "race.txt", 4, project=project["id"], overwrite=True)
    send_parts(alice, replacing, b"last")
    replaced = complete(alice, replacing["upload_id"]).json()
    assert download(alice, replaced["id"]) == b"last"


# --- abort ----------------------------------------------------------------------------------


def test_abort_discards_everything(alice: Caller, project: dict, platform: EmbeddedServer) -> None:
    upload = start_upload(alice, "aborted.bin", PART + 1, project=project["id"])
    upload_id = upload["upload_id"]
    later_url = part_url(alice, upload_id, 2)["url"]
    report(alice, upload_id, 1, put_part(alice, upload_id, 1, b"a" * PART).headers["ETag"])
    assert staging_dir(platform, upload_id).is_dir()

    response = alice.delete(f"/upload/multipart/{upload_id}", json={})
    assert response.status_code == 204 and response.content == b""
    assert not staging_dir(platform, upload_id).exists()
    assert_error(alice.get(f"/upload/multipart/{upload_id}"), 404, 8003)
    assert_error(alice.get(f"/upload/multipart/{upload_id}/part/2"), 404, 8003)
    assert_error(complete(alice, upload_id), 404, 8003)
    assert_error(alice.delete(f"/upload/multipart/{upload_id}"), 404, 8003)
    # A URL handed out before the abort stores nothing any more.
    assert_error(alice.http.put(later_url, data=b"b", timeout=30), 404, 8003)
    assert not staging_dir(platform, upload_id).exists()


# --- permissions ----------------------------------------------------------------------------


def test_upload_needs_write_permission(
    alice: Caller, bob: Caller, carol: Caller, anonymous: Caller, project: dict
) -> None:
    body = {"name": "x.txt", "size": 1, "project": project["id"]}
    assert_error(anonymous.post("/upload/multipart", json=body), 401, 90001)
    assert bob.post("/upload/multipart", json=body).status_code == 404  # not a member
    grant(alice, project, bob, read=True, copy=True, write=False)
    assert_error(bob.post("/upload/multipart", json=body), 403, 8001)
    grant(alice, project, carol, read=True, write=True)
    assert carol.post("/upload/multipart", json=body).status_code == 201
    # Into a folder: the same rules.
    folder = create_folder(alice, "inbox", project=project["id"])
    by_parent = {"name": "y.txt", "size": 1, "parent": folder["id"]}
    assert_error(bob.post("/upload/multipart", json=by_parent), 403, 8001)
    assert carol.post("/upload/multipart", json=by_parent).status_code == 201


def test_an_upload_belongs_to_its_starter(alice: Caller, bob: Caller, project: dict) -> None:
    grant(alice, project, bob, read=True, write=True)
    upload = start_upload(alice, "mine.bin", 3, project=project["id"])
    upload_id = upload["upload_id"]
    for response in (
        bob.get(f"/upload/multipart/{upload_id}"),
        bob.get(f"/upload/multipart/{upload_id}/part/1"),
        report(bob, upload_id, 1, EMPTY_MD5),
        complete(bob, upload_id),
        bob.delete(f"/upload/multipart/{upload_id}"),
    ):
        assert_error(response, 403, 8001)
    send_parts(alice, upload, b"abc")
    assert complete(alice, upload_id).status_code == 200


def test_losing_write_permission_mid_upload(alice: Caller, bob: Caller, project: dict) -> None:
    grant(alice, project, bob, read=True, write=True)
    upload = start_upload(bob, "revoked.bin", 3, project=project["id"])
    send_parts(bob, upload, b"abc")
    revoked = alice.patch(
        f"/projects/{project['id']}/members/{bob.username}/permissions", json={"write": False}
    )
    assert revoked.status_code == 200, revoked.text
    assert_error(bob.get(f"/upload/multipart/{upload['upload_id']}/part/1"), 403, 8001)
    assert_error(complete(bob, upload["upload_id"]), 403, 8001)
    alice.patch(
        f"/projects/{project['id']}/members/{bob.username}/permissions", json={"write": True}
    )
    assert complete(bob, upload["upload_id"]).status_code == 200


def test_deleting_the_destination_folder_ends_the_upload(alice: Caller, project: dict) -> None:
    folder = create_folder(alice, "temporary", project=project["id"])
    upload = start_upload(alice, "orphan.bin", 3, parent=folder["id"])
    send_parts(alice, upload, b"abc")
    assert alice.delete(f"/files/{folder['id']}").status_code == 204
    assert_error(complete(alice, upload["upload_id"]), 404, 8003)


# --- durability -----------------------------------------------------------------------------


def test_an_upload_survives_a_restart(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform()
    alice = Caller(http, server.url, server.token("alice"), "alice")
    project = alice.create_project("restart")
    data = os.urandom(2 * PART + 7)
    upload = start_upload(alice, "long.bin", len(data), project=project["id"])
    upload_id = upload["upload_id"]
    report(alice, upload_id, 1, put_part(alice, upload_id, 1, data[:PART]).headers["ETag"])
    put_part(alice, upload_id, 2, data[PART : 2 * PART])  # stored, not reported yet
    early_url = part_url(alice, upload_id, 3)["url"]

    server.restart()

    # A new process learns what is there and continues with fresh URLs.
    info = alice.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert info["uploaded_parts_count"] == 1
    assert [(part["part_number"], part["etag"]) for part in info["parts"]] == [
        (1, md5(data[:PART])),
        (2, md5(data[PART : 2 * PART])),
    ]
    report(alice, upload_id, 2, info["parts"][1]["etag"])
    # The data plane came back on its port, so a URL signed before the restart still works.
    stored = http.put(early_url, data=data[2 * PART :], timeout=30)
    assert stored.status_code == 200, stored.text
    report(alice, upload_id, 3, stored.headers["ETag"])
    created = complete(alice, upload_id).json()
    assert download(alice, created["id"]) == data


def test_stale_uploads_are_cleaned_up_at_start(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform()
    alice = Caller(http, server.url, server.token("alice"), "alice")
    project = alice.create_project("stale")
    old = start_upload(alice, "old.bin", 3, project=project["id"])
    fresh = start_upload(alice, "fresh.bin", 3, project=project["id"])
    put_part(alice, old["upload_id"], 1, b"abc")
    orphan = staging_dir(server, "f" * 32)
    orphan.mkdir()
    (orphan / f"00001-{EMPTY_MD5}").write_bytes(b"")

    eight_days_ago = time.time() - 8 * 24 * 3600
    # Naive UTC text, as the platform stores times on SQLite and PostgreSQL reads it.
    stale = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(eight_days_ago))
    run_sql(
        server,
        "UPDATE uploads SET touched_on = ? WHERE id = ?",
        (stale, old["upload_id"]),
    )
    for directory in (staging_dir(server, old["upload_id"]), orphan):
        # Parts written in place show their activity on the staged files, not the directory.
        for path in (*directory.iterdir(), directory):
            os.utime(path, (eight_days_ago, eight_days_ago))

    server.restart()

    assert_error(alice.get(f"/upload/multipart/{old['upload_id']}"), 404, 8003)
    assert not staging_dir(server, old["upload_id"]).exists()
    assert not orphan.exists()
    assert alice.get(f"/upload/multipart/{fresh['upload_id']}").status_code == 200
    assert staging_dir(server, fresh["upload_id"]).is_dir()

"""``GET /files/{id}/download_info`` (rest-api.md §5): signed URLs, permissions, egress ledger."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import requests
from local_helpers import Caller, assert_error
from test_uploads import PART, create_folder, grant, upload_bytes


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project("downloads")


def test_download_info_is_a_signed_url_usable_without_a_token(
    alice: Caller, project: dict, http: requests.Session
) -> None:
    data = os.urandom(PART + 321)
    created = upload_bytes(alice, project["id"], "genome.fa", data)
    response = alice.get(f"/files/{created['id']}/download_info")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url"}
    url = urlsplit(body["url"])
    api = urlsplit(alice.url)
    assert url.scheme == "http" and url.hostname == api.hostname
    assert url.port != api.port  # served by the data plane
    assert "expires=" in url.query and "signature=" in url.query
    assert created["id"] not in body["url"]  # only the storage key, expiry and signature

    fetched = http.get(body["url"], timeout=60)  # the shared session never sends a token
    assert fetched.status_code == 200
    assert fetched.headers["Content-Length"] == str(len(data))
    assert fetched.content == data
    # Every call hands out a working URL (clients fetch a new one when theirs expired).
    again = alice.get(f"/files/{created['id']}/download_info").json()["url"]
    assert http.get(again, timeout=60).content == data


def test_download_needs_the_copy_permission(
    alice: Caller, bob: Caller, carol: Caller, anonymous: Caller, project: dict
) -> None:
    """``read`` shows a file and its details; taking its content out (download, as a copy)
    needs ``copy``."""
    created = upload_bytes(alice, project["id"], "private.txt", b"secret")
    path = f"/files/{created['id']}/download_info"
    assert_error(anonymous.get(path), 401, 90001)
    assert_error(bob.get(path), 404, 5002)  # a non-member cannot even see the file
    grant(alice, project, carol, read=True, copy=False, write=True, execute=True)
    assert carol.get(f"/files/{created['id']}").status_code == 200
    refused = assert_error(carol.get(path), 403, 5001)
    assert "'copy' permission" in refused["message"]
    assert alice.patch(
        f"/projects/{project['id']}/members/{carol.username}/permissions", json={"copy": True}
    ).ok
    url = carol.get(path).json()["url"]
    assert carol.http.get(url, timeout=30).content == b"secret"


def test_folders_and_unknown_files(alice: Caller, project: dict) -> None:
    folder = create_folder(alice, "nested", project=project["id"])
    assert_error(alice.get(f"/files/{folder['id']}/download_info"), 400, 5017)
    assert_error(alice.get(f"/files/{project['root_folder']}/download_info"), 400, 5017)
    assert_error(alice.get(f"/files/{'a' * 24}/download_info"), 404, 5002)


def test_a_copy_downloads_the_same_bytes(alice: Caller, project: dict) -> None:
    created = upload_bytes(alice, project["id"], "original.bin", b"shared content")
    other = alice.create_project("downloads copy")
    copied = alice.post(f"/files/{created['id']}/actions/copy", json={"project": other["id"]})
    assert copied.status_code in (200, 201), copied.text
    url = alice.get(f"/files/{copied.json()['id']}/download_info").json()["url"]
    assert alice.http.get(url, timeout=30).content == b"shared content"
    # Deleting the original leaves the copy's content in place (they share the stored object).
    assert alice.delete(f"/files/{created['id']}").status_code == 204
    url = alice.get(f"/files/{copied.json()['id']}/download_info").json()["url"]
    assert alice.http.get(url, timeout=30).content == b"shared content"


def test_downloads_are_written_to_the_egress_ledger(alice: Caller, project: dict) -> None:
    created = upload_bytes(alice, project["id"], "billed.bin", b"x" * 2048)
    group = project["billing_group"]
    ledger = f"/billing/groups/{group}/breakdown/egress"
    before = alice.get(ledger).json()["items"]
    assert alice.get(f"/files/{created['id']}/download_info").status_code == 200
    after = alice.get(ledger).json()["items"]
    assert len(after) == len(before) + 1
    row = after[-1]
    assert row["project_name"] == project["name"]
    assert row["downloaded_by"] == alice.username
    assert row["downloaded"]["unit"] == "GB" and row["downloaded"]["size"] > 0
    assert row["egress_cost"] == {"currency": "USD", "amount": "0.00"}

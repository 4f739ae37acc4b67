"""GA4GH DRS v1 served by the local platform (``/ga4gh/drs/v1``): object fields, checksums,
access URLs, permissions and DRS-shaped errors."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
import requests
from files_support import blob_key_of, database_for, make_member, new_folder, seed_file
from local_helpers import Caller

from sevenbridges_local.db.drs import BlobChecksum
from sevenbridges_local.embedded import EmbeddedServer

CONTENT = b"ACGT" * 1000 + b"\n"


def drs_root(server: EmbeddedServer) -> str:
    return server.url.removesuffix("/v2") + "/ga4gh/drs/v1"


def assert_drs_error(response: requests.Response, status: int) -> dict:
    """DRS's own error shape on DRS routes, never the platform's."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"msg", "status_code"}, body
    assert body["status_code"] == status
    assert isinstance(body["msg"], str) and body["msg"]
    return body


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"drs-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def file_id(platform: EmbeddedServer, project: dict) -> str:
    return seed_file(platform, project=project["id"], name="reads.fastq", content=CONTENT)


def test_service_info_needs_no_token(platform: EmbeddedServer, http: requests.Session) -> None:
    response = http.get(drs_root(platform) + "/service-info", timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"]["group"] == "org.ga4gh"
    assert body["type"]["artifact"] == "drs"
    assert body["type"]["version"].startswith("1.")
    assert body["id"] and body["name"]


def test_object_has_the_drs_fields_and_true_checksums(
    platform: EmbeddedServer, alice: Caller, file_id: str
) -> None:
    response = alice.get(f"{drs_root(platform)}/objects/{file_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == file_id
    assert body["name"] == "reads.fastq"
    assert body["size"] == len(CONTENT)
    assert body["self_uri"] == f"drs://127.0.0.1:{platform.port}/{file_id}"
    assert body["created_time"].endswith("Z") and body["updated_time"].endswith("Z")
    checksums = {entry["type"]: entry["checksum"] for entry in body["checksums"]}
    assert checksums == {
        "sha-256": hashlib.sha256(CONTENT).hexdigest(),
        "md5": hashlib.md5(CONTENT).hexdigest(),
    }
    assert body["access_methods"] == [{"type": "https", "access_id": "https"}]


def test_self_uri_uses_the_host_the_client_reached(
    platform: EmbeddedServer, alice: Caller, file_id: str
) -> None:
    url = f"http://localhost:{platform.port}/ga4gh/drs/v1/objects/{file_id}"
    body = alice.get(url).json()
    assert body["self_uri"] == f"drs://localhost:{platform.port}/{file_id}"


def test_checksums_are_computed_once_and_stored(
    platform: EmbeddedServer, alice: Caller, file_id: str
) -> None:
    first = alice.get(f"{drs_root(platform)}/objects/{file_id}").json()
    key = blob_key_of(platform, file_id)
    with database_for(platform).read_session() as session:
        stored = session.get(BlobChecksum, key)
        assert stored is not None
        assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest()
    # Change the bytes behind the platform's back: a second request must not re-read the blob.
    path = platform.data_dir / "storage" / "objects" / key[:2] / key
    os.chmod(path, 0o600)
    path.write_bytes(b"X" * len(CONTENT))
    second = alice.get(f"{drs_root(platform)}/objects/{file_id}").json()
    assert second["checksums"] == first["checksums"]


def test_access_url_downloads_the_same_bytes_with_a_bearer_token(
    platform: EmbeddedServer, alice: Caller, http: requests.Session, file_id: str
) -> None:
    response = http.get(
        f"{drs_root(platform)}/objects/{file_id}/access/https",
        headers={"Authorization": f"Bearer {alice.token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    downloaded = http.get(url, timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == CONTENT


def test_permissions_match_downloads(
    platform: EmbeddedServer,
    alice: Caller,
    bob: Caller,
    carol: Caller,
    project: dict,
    file_id: str,
) -> None:
    root = drs_root(platform)
    # A stranger does not learn that the object exists.
    assert_drs_error(bob.get(f"{root}/objects/{file_id}"), 404)
    assert_drs_error(bob.get(f"{root}/objects/{file_id}/access/https"), 404)
    # A member who may read but not copy sees the object but gets no URL (as for downloads).
    make_member(alice, project["id"], carol, read=True, copy=False)
    assert carol.get(f"{root}/objects/{file_id}").status_code == 200
    assert_drs_error(carol.get(f"{root}/objects/{file_id}/access/https"), 403)
    assert carol.get(f"/files/{file_id}/download_info").status_code == 403
    # With copy, the URL is handed out.
    make_member(alice, project["id"], bob, read=True, copy=True)
    assert bob.get(f"{root}/objects/{file_id}/access/https").status_code == 200


def test_without_a_token_every_object_route_answers_401(
    platform: EmbeddedServer, anonymous: Caller, file_id: str
) -> None:
    root = drs_root(platform)
    assert_drs_error(anonymous.get(f"{root}/objects/{file_id}"), 401)
    assert_drs_error(anonymous.get(f"{root}/objects/{file_id}/access/https"), 401)
    bad = anonymous.get(f"{root}/objects/{file_id}", headers={"Authorization": "Bearer nope"})
    assert_drs_error(bad, 401)


def test_unknown_ids_folders_and_routes(
    platform: EmbeddedServer, alice: Caller, project: dict, file_id: str
) -> None:
    root = drs_root(platform)
    assert_drs_error(alice.get(f"{root}/objects/{'0' * 24}"), 404)
    folder = new_folder(alice, "dir", project=project["id"])
    assert_drs_error(alice.get(f"{root}/objects/{folder['id']}"), 400)
    assert_drs_error(alice.get(f"{root}/objects/{file_id}/access/s3"), 404)
    assert_drs_error(alice.get(f"{root}/bundles/{file_id}"), 404)
    # The platform's own routes keep the platform's error shape.
    response = alice.get(f"/files/{'0' * 24}")
    assert set(response.json()) == {"status", "code", "message", "more_info"}

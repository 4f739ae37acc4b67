"""The platform with its files in S3 (``--storage s3://bucket/prefix``, moto's server).

Clients upload parts to presigned S3 UploadPart URLs and download from presigned GET URLs: the
platform's data plane is not in the byte path, which the tests check by where the URLs point and
by what the bucket holds afterwards.
"""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from local_helpers import Caller
from storage_fixtures import S3Platform
from test_tasks_support import CAT_TOOL, created, file_ref, install_app, wait_for_status

import sevenbridges as sbg
from sevenbridges.models.enums import TransferState

pytestmark = pytest.mark.s3

MiB = 1024 * 1024
PART = 5 * MiB


def _bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def s3(s3_platform: S3Platform) -> S3Platform:
    return s3_platform


@pytest.fixture
def user(s3: S3Platform, http: requests.Session, new_username) -> Caller:
    name = new_username("s3user")
    return Caller(http, s3.server.url, s3.server.token(name), name)


@pytest.fixture
def api(s3: S3Platform, user: Caller) -> sbg.Api:
    return sbg.Api(url=s3.server.url, token=user.token)


@pytest.fixture
def project(api: sbg.Api) -> str:
    return api.projects.create(name="on-s3").id


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the client's resume journals


def _object_keys(s3: S3Platform) -> set[str]:
    return {key.rsplit("/", 1)[1] for key in s3.blobs.keys_under(f"{s3.prefix}/objects/")}


def _multipart_uploads(s3: S3Platform) -> set[str]:
    answer = s3.blobs.client().list_multipart_uploads(
        Bucket=s3.blobs.bucket, Prefix=f"{s3.prefix}/"
    )
    return {item["Key"].rsplit("/", 1)[1] for item in answer.get("Uploads", [])}


def _content(user: Caller, file_id: str, s3: S3Platform) -> bytes:
    info = user.get(f"/files/{file_id}/download_info")
    assert info.status_code == 200, info.text
    url = info.json()["url"]
    assert url.startswith(s3.blobs.url + "/"), url  # presigned S3, not the data plane
    fetched = user.http.get(url, timeout=30)
    assert fetched.status_code == 200, fetched.text
    return fetched.content


def _upload(api: sbg.Api, path, project: str, **kwargs: Any) -> sbg.File:
    upload = sbg.File.upload(path, project=project, api=api, **kwargs)
    assert upload.status == TransferState.COMPLETED, upload.error
    return upload.result()


def test_client_uploads_and_downloads_go_straight_to_s3(
    s3: S3Platform, api: sbg.Api, user: Caller, project: str, tmp_path
) -> None:
    small = _bytes(1000, 1)
    (tmp_path / "small.txt").write_bytes(small)
    big = _bytes(2 * PART + 4321, 2)
    (tmp_path / "big.bin").write_bytes(big)

    one = _upload(api, tmp_path / "small.txt", project)
    many = _upload(api, tmp_path / "big.bin", project, part_size=PART)

    assert (one.size, many.size) == (len(small), len(big))
    assert _content(user, one.id, s3) == small
    assert _content(user, many.id, s3) == big
    # The client's own download (ranged GETs against the presigned URL) gets the same bytes.
    many.download(tmp_path / "back.bin")
    assert _md5((tmp_path / "back.bin").read_bytes()) == _md5(big)
    # Both files are objects in the bucket; no multipart upload is left open.
    stored = _object_keys(s3)
    assert len(stored) >= 2
    assert not _multipart_uploads(s3) & stored


def test_part_urls_are_presigned_s3_urls_and_etags_are_checked(
    s3: S3Platform, user: Caller, project: str
) -> None:
    data = _bytes(PART + 10, 3)
    init = user.post(
        "/upload/multipart",
        json={"project": project, "name": "p.bin", "size": len(data), "part_size": PART},
    )
    assert init.status_code == 201, init.text
    upload_id = init.json()["upload_id"]
    urls = {}
    for number in (1, 2):
        answer = user.get(f"/upload/multipart/{upload_id}/part/{number}")
        assert answer.status_code == 200, answer.text
        urls[number] = answer.json()["url"]
        assert urls[number].startswith(s3.blobs.url + "/"), urls[number]
        assert "uploadId=" in urls[number] and f"partNumber={number}" in urls[number]
    first = user.http.put(urls[1], data=data[:PART], timeout=30)
    second = user.http.put(urls[2], data=data[PART:], timeout=30)
    assert first.status_code == second.status_code == 200
    assert first.headers["ETag"].strip('"') == _md5(data[:PART])  # S3's ETag: the part's MD5
    # A report that does not match what S3 stored is refused at completion.
    user.post(
        f"/upload/multipart/{upload_id}/part",
        json={"part_number": 1, "response": {"headers": {"ETag": _md5(b"other")}}},
    )
    user.post(
        f"/upload/multipart/{upload_id}/part",
        json={"part_number": 2, "response": {"headers": {"ETag": second.headers["ETag"]}}},
    )
    refused = user.post(f"/upload/multipart/{upload_id}/complete")
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == 8007
    assert "does not match" in refused.json()["message"]
    # Corrected report: the file is created from S3's parts.
    user.post(
        f"/upload/multipart/{upload_id}/part",
        json={"part_number": 1, "response": {"headers": {"ETag": first.headers["ETag"]}}},
    )
    done = user.post(f"/upload/multipart/{upload_id}/complete")
    assert done.status_code == 200, done.text
    assert _content(user, done.json()["id"], s3) == data
    assert upload_id in _object_keys(s3)  # the multipart upload became the file's object


def test_listing_parts_resumes_an_upload_and_abort_removes_it(
    s3: S3Platform, user: Caller, project: str
) -> None:
    data = _bytes(PART + 99, 4)
    body = {"project": project, "name": "resumed.bin", "size": len(data), "part_size": PART}
    upload_id = user.post("/upload/multipart", json=body).json()["upload_id"]
    url = user.get(f"/upload/multipart/{upload_id}/part/1").json()["url"]
    assert user.http.put(url, data=data[:PART], timeout=30).status_code == 200

    # A client that lost its state asks which parts S3 holds, and sends only the rest.
    listed = user.get(f"/upload/multipart/{upload_id}", params={"list_parts": "true"}).json()
    assert [(p["part_number"], p["size"], p["etag"]) for p in listed["parts"]] == [
        (1, PART, _md5(data[:PART]))
    ]
    url = user.get(f"/upload/multipart/{upload_id}/part/2").json()["url"]
    assert user.http.put(url, data=data[PART:], timeout=30).status_code == 200
    parts = [
        {"part_number": 1, "etag": _md5(data[:PART])},
        {"part_number": 2, "etag": _md5(data[PART:])},
    ]
    done = user.post(f"/upload/multipart/{upload_id}/complete", json={"parts": parts})
    assert done.status_code == 200, done.text
    assert _content(user, done.json()["id"], s3) == data

    # Abort: the S3 multipart upload goes with the platform's upload.
    other = user.post("/upload/multipart", json={**body, "name": "aborted.bin"}).json()
    url = user.get(f"/upload/multipart/{other['upload_id']}/part/1").json()["url"]
    assert user.http.put(url, data=data[:PART], timeout=30).status_code == 200
    assert other["upload_id"] in _multipart_uploads(s3)
    assert user.delete(f"/upload/multipart/{other['upload_id']}").status_code == 204
    assert other["upload_id"] not in _multipart_uploads(s3)
    gone = user.get(f"/upload/multipart/{other['upload_id']}/part/1")
    assert gone.status_code == 404 and gone.json()["code"] == 8003


def test_copies_share_the_object_until_the_last_file_goes(
    s3: S3Platform, api: sbg.Api, user: Caller, project: str, tmp_path
) -> None:
    data = _bytes(3000, 5)
    (tmp_path / "orig.txt").write_bytes(data)
    original = _upload(api, tmp_path / "orig.txt", project)
    before = _object_keys(s3)
    target = api.projects.create(name="copies").id
    copy = api.files.get(original.id).copy(project=target, name="copied.txt")
    assert _object_keys(s3) == before  # objects are immutable: the copy refers to the same one
    api.files.get(original.id).delete()
    assert _content(user, copy.id, s3) == data
    api.files.get(copy.id).delete()
    deadline = time.monotonic() + 20
    while _object_keys(s3) == before and time.monotonic() < deadline:
        time.sleep(0.1)  # the object is released by a background worker
    assert len(before - _object_keys(s3)) == 1


def test_task_inputs_come_from_s3_and_outputs_go_there(
    s3: S3Platform, api: sbg.Api, user: Caller, project: str, tmp_path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"first line\n")
    (tmp_path / "b.txt").write_bytes(b"second line\n")
    inputs = [_upload(api, tmp_path / name, project).id for name in ("a.txt", "b.txt")]
    app = install_app(user, project, "cat", CAT_TOOL)
    before = _object_keys(s3)
    task = created(
        user,
        run=True,
        name="cat on s3",
        project=project,
        app=app,
        inputs={"files": [file_ref(file_id) for file_id in inputs]},
    )
    finished = wait_for_status(user, task["id"])
    assert finished["status"] == "COMPLETED", finished
    output = finished["outputs"]["joined"]["path"]
    assert _content(user, output, s3) == b"first line\nsecond line\n"
    assert _object_keys(s3) - before  # the output (and logs) were stored in the bucket


@pytest.mark.parametrize("value", ["gs://somewhere", "s3://", "/var/blobs"])
def test_storage_settings_that_are_refused(value: str) -> None:
    from pydantic import ValidationError

    from sevenbridges_local.settings import Settings

    with pytest.raises(ValidationError, match="expected s3://bucket"):
        Settings(storage=value)


@pytest.mark.parametrize(
    ("value", "stored"), [("local", None), ("", None), ("s3://b/p/", "s3://b/p")]
)
def test_storage_settings(value: str, stored: str | None) -> None:
    from sevenbridges_local.settings import Settings

    assert Settings(storage=value).storage == stored


def test_a_missing_bucket_is_reported_when_the_store_opens(moto_blobs, monkeypatch) -> None:
    from sevenbridges_local.storage import StorageError, open_blob_store

    _, environment = moto_blobs.platform_settings()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StorageError, match="reach the bucket 'no-such-bucket-here'"):
        open_blob_store(
            Path("/nonexistent"),
            storage="s3://no-such-bucket-here/x",
            s3_endpoint_url=moto_blobs.url,
        )


def test_a_complete_refused_after_assembly_leaves_no_object_behind(
    s3: S3Platform, api: sbg.Api, user: Caller, project: str, tmp_path
) -> None:
    data = b"late content"
    body = {"project": project, "name": "dup.txt", "size": len(data)}
    upload_id = user.post("/upload/multipart", json=body).json()["upload_id"]
    url = user.get(f"/upload/multipart/{upload_id}/part/1").json()["url"]
    etag = user.http.put(url, data=data, timeout=30).headers["ETag"]
    # Meanwhile a file of the same name appears: the name is checked again at completion,
    # after S3 assembled the object.
    (tmp_path / "dup.txt").write_bytes(b"first")
    _upload(api, tmp_path / "dup.txt", project)
    parts = [{"part_number": 1, "etag": etag}]
    refused = user.post(f"/upload/multipart/{upload_id}/complete", json={"parts": parts})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == 8005
    assert upload_id not in _object_keys(s3)  # the assembled object was removed again
    assert user.get(f"/upload/multipart/{upload_id}").status_code == 200  # the upload stays

"""The ``BlobStore`` contract, run against the local directory store and the S3 store (moto).

Storage-level: the stores are used in-process, as the platform uses them. The platform-level
tests of the S3 store (clients uploading to presigned URLs) are in tests/client/test_s3_storage.py.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid

import pytest

from sevenbridges_local.storage import (
    BlobStore,
    IncompleteBody,
    LocalBlobStore,
    ObjectNotFound,
    StorageError,
    UploadNotFound,
)
from sevenbridges_local.storage.s3 import S3BlobStore, parse_storage_url

pytestmark = pytest.mark.s3

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part (but the last)


def _bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _key() -> str:
    return uuid.uuid4().hex


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "storage")
    blobs = request.getfixturevalue("moto_blobs")
    settings, environment = blobs.platform_settings()
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bucket, prefix = parse_storage_url(str(settings["storage"]))
    return S3BlobStore(bucket, prefix, endpoint_url=blobs.url)


def test_small_objects(store: BlobStore) -> None:
    key = _key()
    data = _bytes(70_000)
    assert store.put_bytes(key, data) == len(data)
    assert store.exists(key)
    assert store.size(key) == len(data)
    with store.open(key) as reader:
        assert reader.read(10) == data[:10]
        reader.seek(60_000)
        assert reader.read() == data[60_000:]
        reader.seek(5)
        assert reader.read(5) == data[5:10]
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting a missing object is not an error
    with pytest.raises(ObjectNotFound):
        store.size(key)
    with pytest.raises(ObjectNotFound):
        store.open(key)


def test_empty_object(store: BlobStore) -> None:
    key = _key()
    store.put_bytes(key, b"")
    assert store.size(key) == 0
    with store.open(key) as reader:
        assert reader.read() == b""


def test_multipart_upload_is_assembled_in_order(store: BlobStore) -> None:
    upload = _key()
    first, second = _bytes(PART, 2), _bytes(1234, 3)
    store.begin_upload(upload)
    assert store.upload_exists(upload)
    # Out of order on purpose; a retried part replaces the earlier copy.
    assert store.write_part(upload, 2, io.BytesIO(b"x" * 1234), 1234).etag == _md5(b"x" * 1234)
    stored = store.write_part(upload, 2, io.BytesIO(second), 1234)
    assert stored.etag == _md5(second)
    store.write_part(upload, 1, io.BytesIO(first), PART)
    parts = store.stored_parts(upload)
    assert sorted(parts) == [1, 2]
    assert (parts[1].size, parts[1].etag) == (PART, _md5(first))
    assert (parts[2].size, parts[2].etag) == (1234, _md5(second))
    assert upload in store.staged_uploads()

    key = store.upload_object_key(upload) or _key()
    expected = {1: _md5(first), 2: _md5(second)}
    assert store.assemble(upload, [1, 2], key, expected) == PART + 1234
    store.discard_upload(upload)
    assert not store.upload_exists(upload)
    assert store.stored_parts(upload) == {}
    assert upload not in store.staged_uploads()
    with store.open(key) as reader:
        assert _md5(reader.read()) == _md5(first + second)


def test_assembly_into_a_key_of_the_callers_choice(store: BlobStore) -> None:
    upload, key = _key(), _key()
    store.begin_upload(upload)
    store.write_part(upload, 1, io.BytesIO(b"just one part"), 13)
    assert store.assemble(upload, [1], key) == 13
    store.discard_upload(upload)
    with store.open(key) as reader:
        assert reader.read() == b"just one part"


def test_assembly_refuses_a_part_whose_checksum_changed(store: BlobStore) -> None:
    upload = _key()
    store.begin_upload(upload)
    store.write_part(upload, 1, io.BytesIO(b"checked"), 7)
    with pytest.raises(StorageError):
        store.assemble(upload, [1], store.upload_object_key(upload) or _key(), {1: _md5(b"other")})
    with pytest.raises(StorageError):  # a part that was never stored
        store.assemble(upload, [1, 2], store.upload_object_key(upload) or _key())
    store.discard_upload(upload)


def test_parts_of_unknown_uploads_and_short_bodies_are_refused(store: BlobStore) -> None:
    with pytest.raises(UploadNotFound):
        store.write_part(_key(), 1, io.BytesIO(b"data"), 4)
    upload = _key()
    store.begin_upload(upload)
    with pytest.raises(IncompleteBody):
        store.write_part(upload, 1, io.BytesIO(b"short"), 100)
    assert store.stored_parts(upload) == {}  # nothing of the short part was kept
    store.discard_upload(upload)
    store.discard_upload(upload)  # twice is fine


def test_copy_and_delete(store: BlobStore) -> None:
    source, target = _key(), _key()
    data = _bytes(3000, 4)
    store.put_bytes(source, data)
    store.copy(source, target)
    store.delete(source)  # the copy does not depend on the source
    with store.open(target) as reader:
        assert reader.read() == data
    with pytest.raises(ObjectNotFound):
        store.copy(source, _key())


def test_put_file_streams_exactly_the_size_given(store: BlobStore) -> None:
    key = _key()
    data = _bytes(10_000, 5)
    assert store.put_file(key, io.BytesIO(data + b"ignored tail"), len(data)) == len(data)
    assert store.size(key) == len(data)
    with store.open(key) as reader:
        assert reader.read() == data


def test_s3_copies_above_the_copy_object_limit_part_by_part(moto_blobs, monkeypatch) -> None:
    settings, environment = moto_blobs.platform_settings()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bucket, prefix = parse_storage_url(str(settings["storage"]))
    # Limits scaled down so that a small object takes the UploadPartCopy path (as >5 GiB would).
    store = S3BlobStore(
        bucket, prefix, endpoint_url=moto_blobs.url, copy_object_limit=PART, copy_part_bytes=PART
    )
    source, target = _key(), _key()
    data = _bytes(2 * PART + 17, 6)
    store.put_file(source, io.BytesIO(data), len(data))
    store.copy(source, target)
    with store.open(target) as reader:
        assert _md5(reader.read()) == _md5(data)
    assert {key.rsplit("/", 1)[1] for key in moto_blobs.keys_under(prefix)} == {source, target}
    assert store.staged_uploads() == {}  # the copy's multipart upload was completed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/a/b/", ("bucket", "a/b")),
    ],
)
def test_storage_urls(url: str, expected: tuple[str, str]) -> None:
    assert parse_storage_url(url) == expected


@pytest.mark.parametrize("url", ["bucket/prefix", "s3:///prefix", "gs://bucket", "s3://b?x=1"])
def test_storage_urls_that_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_storage_url(url)

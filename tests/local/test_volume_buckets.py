"""The bucket layer of volumes (``storage/buckets``) against moto and the GCS emulator.

These are the operations imports, exports and DRS imports build on: checks, one-level listings
with continuation, object details, ranged and streamed reads, multipart writes that appear only
when completed, and failures turned into the layer's own errors within bounded time.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from sevenbridges_local.storage.buckets import (
    GCS,
    OSS,
    S3,
    AccessRefused,
    BucketMissing,
    BucketSpec,
    CloudSettings,
    CredentialsInvalid,
    InvalidToken,
    ObjectMissing,
    Unreachable,
    open_bucket,
)

PART = 5 * 1024 * 1024  # S3's smallest part but the last


@pytest.fixture(scope="module")
def settings(moto_cloud, gcs_emulator) -> CloudSettings:
    return CloudSettings(
        s3_endpoint_url=moto_cloud.url, gcs_endpoint_url=gcs_emulator.url, timeout=1.0, attempts=2
    )


def s3_spec(moto_cloud, bucket: str, prefix: str = "", keys=None) -> BucketSpec:
    keys = keys or moto_cloud.reader
    return BucketSpec(
        type=S3,
        bucket=bucket,
        prefix=prefix,
        credentials={
            "access_key_id": keys.access_key_id,
            "secret_access_key": keys.secret_access_key,
        },
    )


def gcs_spec(bucket: str, prefix: str = "") -> BucketSpec:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return BucketSpec(
        type=GCS,
        bucket=bucket,
        prefix=prefix,
        credentials={"client_email": "reader@project.iam.gserviceaccount.com", "private_key": pem},
    )


@pytest.fixture(params=[S3, GCS])
def kind(request) -> str:
    return request.param


@pytest.fixture
def bucket_of(kind, moto_cloud, gcs_emulator, settings):
    """``bucket_of(prefix)``: (a Bucket on a fresh bucket of this kind, a writer callable)."""

    def make(prefix: str = ""):
        if kind == S3:
            name = moto_cloud.new_bucket()
            return open_bucket(s3_spec(moto_cloud, name, prefix), settings), (
                lambda key, data=b"x": moto_cloud.put(name, key, data)
            )
        name = gcs_emulator.new_bucket()
        return open_bucket(gcs_spec(name, prefix), settings), (
            lambda key, data=b"x": gcs_emulator.put(name, key, data)
        )

    return make


def test_listing_one_level_with_continuation(bucket_of) -> None:
    bucket, put = bucket_of("root/")
    names = ["a.txt", "b.txt", "c/1.txt", "c/2.txt", "d.txt", "e/x/y.txt", "f.txt"]
    for name in names:
        put("root/" + name, name.encode())
    put("outside.txt")
    bucket.check_access()

    seen_objects, seen_prefixes, token, pages = [], [], None, 0
    while True:
        page = bucket.list(limit=2, token=token)
        assert len(page.objects) + len(page.prefixes) <= 2
        seen_objects += [item.location for item in page.objects]
        seen_prefixes += page.prefixes
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert seen_objects == ["a.txt", "b.txt", "d.txt", "f.txt"]
    assert seen_prefixes == ["c/", "e/"]
    assert pages == 3
    inner = bucket.list("c/", limit=50)
    assert [(item.location, item.size) for item in inner.objects] == [
        ("c/1.txt", 7),
        ("c/2.txt", 7),
    ]
    assert inner.prefixes == [] and inner.next_token is None


def test_object_details_and_reads(bucket_of) -> None:
    bucket, put = bucket_of()
    data = os.urandom(300_000)
    put("dir/blob.bin", data)
    info = bucket.head("dir/blob.bin")
    assert info.size == len(data) and info.etag
    assert bucket.read_range("dir/blob.bin", 1000, 10) == data[1000:1010]
    assert bucket.read_range("dir/blob.bin", len(data) - 5, 100) == data[-5:]
    assert bucket.read_range("dir/blob.bin", len(data), 10) == b""
    streamed = b"".join(bucket.stream("dir/blob.bin", start=7, chunk_bytes=65536))
    assert streamed == data[7:]
    with pytest.raises(ObjectMissing):
        bucket.head("dir/none.bin")
    with pytest.raises(ObjectMissing):
        bucket.stream("dir/none.bin")


def test_multipart_write_appears_only_when_completed(bucket_of) -> None:
    bucket, _ = bucket_of("out/")
    first, last = os.urandom(PART), os.urandom(1234)
    upload = bucket.begin_upload("big.bin")
    parts = [
        bucket.upload_part("big.bin", upload, 2, last),
        bucket.upload_part("big.bin", upload, 1, first),
    ]
    with pytest.raises(ObjectMissing):
        bucket.head("big.bin")  # nothing under the destination before complete
    info = bucket.complete_upload("big.bin", upload, parts)
    assert info.size == PART + 1234
    whole = b"".join(bucket.stream("big.bin"))
    assert hashlib.sha256(whole).digest() == hashlib.sha256(first + last).digest()
    listing = bucket.list(limit=50)
    assert [item.location for item in listing.objects] == ["big.bin"]
    assert listing.prefixes == []  # no staged leftovers

    aborted = bucket.begin_upload("gone.bin")
    bucket.upload_part("gone.bin", aborted, 1, b"abc")
    bucket.abort_upload("gone.bin", aborted)
    bucket.abort_upload("gone.bin", aborted)  # twice is fine
    with pytest.raises(ObjectMissing):
        bucket.head("gone.bin")
    assert bucket.list(limit=50).prefixes == []
    bucket.put_bytes("small.txt", b"hello", content_type="text/plain")
    assert bucket.head("small.txt").content_type == "text/plain"
    bucket.delete("small.txt")
    bucket.delete("small.txt")
    with pytest.raises(ObjectMissing):
        bucket.head("small.txt")


def test_gcs_compose_of_many_parts(gcs_emulator, settings) -> None:
    bucket = open_bucket(gcs_spec(gcs_emulator.new_bucket()), settings)
    upload = bucket.begin_upload("many.bin")
    chunks = [bytes([index]) * 10 for index in range(40)]  # more than one compose (32)
    parts = [bucket.upload_part("many.bin", upload, n + 1, c) for n, c in enumerate(chunks)]
    bucket.complete_upload("many.bin", upload, parts)
    assert bucket.read_range("many.bin", 0, 400) == b"".join(chunks)
    assert bucket.list(limit=10).prefixes == []


def test_missing_bucket_and_refused_keys(moto_cloud, gcs_emulator, settings) -> None:
    with pytest.raises(BucketMissing, match="no-such-bucket"):
        open_bucket(s3_spec(moto_cloud, "no-such-bucket"), settings).check_access()
    with pytest.raises(BucketMissing):
        open_bucket(gcs_spec("no-such-gcs-bucket"), settings).check_access()
    bucket = moto_cloud.new_bucket()
    wrong_secret = type(moto_cloud.reader)(moto_cloud.reader.access_key_id, "not-the-secret")
    with pytest.raises(AccessRefused, match="SignatureDoesNotMatch"):
        open_bucket(s3_spec(moto_cloud, bucket, keys=wrong_secret), settings).check_access()
    unknown = type(moto_cloud.reader)("AKIAUNKNOWNKEY000000", "whatever")
    with pytest.raises(AccessRefused, match="InvalidAccessKeyId"):
        open_bucket(s3_spec(moto_cloud, bucket, keys=unknown), settings).check_access()


def test_role_needs_the_platform_identity_and_external_id(
    moto_cloud, settings, monkeypatch
) -> None:
    bucket = moto_cloud.new_bucket()
    moto_cloud.put(bucket, "k.txt", b"role")

    def role_spec(external_id: str) -> BucketSpec:
        return BucketSpec(
            type=S3,
            bucket=bucket,
            credentials={"role_arn": moto_cloud.role_arn, "external_id": external_id},
        )

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_cloud.platform.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_cloud.platform.secret_access_key)
    good = open_bucket(role_spec(moto_cloud.external_id), settings)
    good.check_access()
    assert good.read_range("k.txt", 0, 4) == b"role"
    with pytest.raises(AccessRefused, match="assume the role"):
        open_bucket(role_spec("wrong-external-id"), settings).check_access()
    # Another identity (not trusted by the role) is refused too; a fresh bucket (what volume
    # checks use) does not reuse the role session the kept one assumed before.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_cloud.reader.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_cloud.reader.secret_access_key)
    with pytest.raises(AccessRefused):
        open_bucket(role_spec(moto_cloud.external_id), settings, fresh=True).check_access()


def test_unreachable_endpoints_fail_quickly(silent_endpoint, closed_endpoint) -> None:
    settings = CloudSettings(timeout=0.5, attempts=2)
    for endpoint in (silent_endpoint, closed_endpoint):
        spec = BucketSpec(
            type=OSS,
            bucket="b",
            endpoint=endpoint,
            credentials={"access_key_id": "k", "secret_access_key": "s"},
        )
        started = time.monotonic()
        with pytest.raises(Unreachable, match=endpoint):
            open_bucket(spec, settings).check_access()
        # timeout 0.5 s, two attempts: well under the few seconds a client would wait
        assert time.monotonic() - started < 4
    hung_gcs = CloudSettings(gcs_endpoint_url=silent_endpoint, timeout=0.5, attempts=2)
    started = time.monotonic()
    with pytest.raises(Unreachable):
        open_bucket(gcs_spec("b"), hung_gcs).check_access()
    assert time.monotonic() - started < 4


def test_malformed_gcs_credentials_and_tokens(gcs_emulator, settings) -> None:
    spec = BucketSpec(
        type=GCS,
        bucket=gcs_emulator.new_bucket(),
        credentials={"client_email": "x@y.z", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA"},
    )
    with pytest.raises(CredentialsInvalid, match="private_key"):
        open_bucket(spec, settings).check_access()
    good = open_bucket(gcs_spec(spec.bucket), settings)
    with pytest.raises(InvalidToken):
        good.list(token="not base64 json")


def test_opened_buckets_are_kept_per_spec_and_settings(moto_cloud, settings) -> None:
    keys = {
        "access_key_id": moto_cloud.reader.access_key_id,
        "secret_access_key": moto_cloud.reader.secret_access_key,
    }
    spec = BucketSpec(type=S3, bucket="kept-bucket", credentials=keys)
    first = open_bucket(spec, settings)
    assert (
        open_bucket(BucketSpec(type=S3, bucket="kept-bucket", credentials=dict(keys)), settings)
        is first
    )
    # Other credentials, another waiting profile or a fresh check: another client.
    other = BucketSpec(
        type=S3, bucket="kept-bucket", credentials={**keys, "secret_access_key": "x"}
    )
    assert open_bucket(other, settings) is not first
    assert open_bucket(spec, settings, background=True) is not first
    renewed = open_bucket(spec, settings, fresh=True)
    assert renewed is not first and open_bucket(spec, settings) is renewed

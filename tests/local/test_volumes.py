"""Volumes over HTTP against a live platform pointed at moto (S3, STS, IAM) and a GCS emulator.

Creation really reaches the bucket: wrong keys, a missing bucket, a refused role and endpoints
that do not answer are refused with the volume codes, and nothing is stored then.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import requests
from local_helpers import Caller, assert_error, database_path, run_sql
from volume_support import (
    gcs_body,
    iam_configuration,
    oss_body,
    private_key_pem,
    role_body,
    s3_body,
    volume_name,
)

from sevenbridges_local.embedded import EmbeddedServer

VOLUMES = "/storage/volumes"


@pytest.fixture
def on_cloud(
    cloud_platform: EmbeddedServer, http: requests.Session, new_username
) -> Callable[[str], Caller]:
    """``on_cloud("alice")``: a fresh user on the cloud platform (name made unique)."""

    def make(prefix: str) -> Caller:
        username = new_username(prefix)
        return Caller(http, cloud_platform.url, cloud_platform.token(username), username)

    return make


@pytest.fixture
def owner(on_cloud) -> Caller:
    return on_cloud("volowner")


def create(caller: Caller, body: dict) -> dict:
    response = caller.post(VOLUMES, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def volume_count(caller: Caller) -> int:
    return int(caller.get(VOLUMES).headers["X-Total-Matching-Query"])


def test_create_get_list_an_s3_volume(owner: Caller, moto_cloud) -> None:
    bucket = moto_cloud.new_bucket()
    body = s3_body(moto_cloud, bucket, description="drop box")
    body["service"]["type"] = "s3"  # any case is accepted, answered in upper case
    body["service"]["prefix"] = "runs/"
    body["service"]["properties"] = {"sse_algorithm": "AES256"}
    created = create(owner, body)
    identifier = f"{owner.username}/{body['name']}"
    assert created["id"] == identifier
    assert created["href"] == f"{owner.url}{VOLUMES}/{identifier}"
    assert created["access_mode"] == "RW" and created["active"] is True
    assert created["description"] == "drop box"
    service = created["service"]
    assert service["type"] == "S3" and service["bucket"] == bucket and service["prefix"] == "runs/"
    assert service["credentials"] == {"access_key_id": moto_cloud.reader.access_key_id}
    assert service["properties"] == {"sse_algorithm": "AES256"}
    assert service["root_url"] == moto_cloud.url
    assert created["created_on"].endswith("Z")

    fetched = owner.get(f"{VOLUMES}/{identifier}")
    assert fetched.status_code == 200 and fetched.json() == created
    listed = owner.get(VOLUMES, params={"fields": "_all"})
    assert listed.status_code == 200
    assert listed.headers["X-Total-Matching-Query"] == "1"
    assert [item["id"] for item in listed.json()["items"]] == [identifier]


def test_every_kind_of_volume_is_created_and_listed(
    owner: Caller, moto_cloud, gcs_emulator
) -> None:
    s3_bucket = moto_cloud.new_bucket()
    moto_cloud.put(s3_bucket, "a.txt", b"aaa")
    gcs_bucket = gcs_emulator.new_bucket()
    gcs_emulator.put(gcs_bucket, "g.txt", b"ggg")
    iam = gcs_body(gcs_bucket, volume_name("iam"))
    iam["service"]["credentials"] = {"configuration": iam_configuration()}
    bodies = {
        "role": role_body(moto_cloud, s3_bucket),
        "gcs": gcs_body(gcs_bucket),
        "iam": iam,
        "oss": oss_body(moto_cloud, s3_bucket, moto_cloud.url),
    }
    expected_public = {
        "role": {"role_arn": moto_cloud.role_arn},
        "gcs": {"client_email": bodies["gcs"]["service"]["credentials"]["client_email"]},
        "iam": {
            "configuration": {
                "type": "external_account",
                "audience": iam_configuration()["audience"],
            }
        },
        "oss": {"access_key_id": moto_cloud.reader.access_key_id},
    }
    for kind, body in bodies.items():
        created = create(owner, body)
        assert created["service"]["credentials"] == expected_public[kind], kind
        listing = owner.get(f"{VOLUMES}/{created['id']}/list")
        assert listing.status_code == 200, (kind, listing.text)
        items = listing.json()["items"]
        assert [item["location"] for item in items] == (
            ["g.txt"] if kind in ("gcs", "iam") else ["a.txt"]
        ), kind
    assert volume_count(owner) == 4


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda b: b.pop("name"), 400, 9013),
        (lambda b: b.update(name=""), 400, 9013),
        (lambda b: b.update(name="has-dash"), 400, 9014),
        (lambda b: b.update(name="x" * 33), 400, 9014),
        (lambda b: b.update(name=12), 400, 9014),
        (lambda b: b.update(access_mode="RX"), 400, 9015),
        (lambda b: b.pop("service"), 400, 9016),
        (lambda b: b.update(service="s3://bucket"), 400, 9017),
        (lambda b: b["service"].update(type="FTP"), 400, 9017),
        (lambda b: b["service"].update(type="azure"), 400, 9017),
        (lambda b: b["service"].pop("bucket"), 400, 9017),
        (lambda b: b["service"].pop("credentials"), 400, 9017),
        (lambda b: b["service"]["credentials"].pop("secret_access_key"), 400, 9017),
        (lambda b: b["service"]["credentials"].update(access_key_id="k" * 3000), 400, 9017),
        (lambda b: b["service"].update(properties={"sse_algorithm": "ROT13"}), 400, 9032),
        (lambda b: b["service"].update(properties={"aws_canned_acl": "open"}), 400, 9021),
        (lambda b: b["service"].update(properties={"aws_storage_class": "ICE"}), 400, 9023),
        (lambda b: b["service"]["credentials"].update(secret_access_key="wrong"), 400, 9001),
        (lambda b: b["service"]["credentials"].update(access_key_id="AKIANOSUCHKEY"), 400, 9001),
        (lambda b: b["service"].update(bucket="no-such-bucket-anywhere"), 400, 9000),
    ],
    ids=[
        "no-name", "empty-name", "name-dash", "name-33", "name-number", "access-mode",
        "no-service", "service-text", "type-ftp", "type-azure", "no-bucket", "no-credentials",
        "half-keys", "key-too-long", "sse", "canned-acl", "storage-class", "wrong-secret",
        "unknown-key", "missing-bucket",
    ],
)  # fmt: skip
def test_bad_volume_bodies_are_refused_with_volume_codes(
    owner: Caller, moto_cloud, change, status, code
) -> None:
    body = s3_body(moto_cloud, moto_cloud.ensure_bucket("shared-refusals"))
    change(body)
    error = assert_error(owner.post(VOLUMES, json=body), status, code)
    assert moto_cloud.reader.secret_access_key not in error["message"]
    assert volume_count(owner) == 0  # nothing stored


def test_gcs_and_role_refusals(owner: Caller, moto_cloud, gcs_emulator) -> None:
    bad_key = gcs_body(gcs_emulator.new_bucket())
    bad_key["service"]["credentials"]["private_key"] = "-----BEGIN PRIVATE KEY-----\nnope\n"
    assert_error(owner.post(VOLUMES, json=bad_key), 400, 9024)
    missing = gcs_body("no-such-gcs-bucket")
    assert_error(owner.post(VOLUMES, json=missing), 400, 9000)
    file_source = gcs_body(gcs_emulator.new_bucket())
    configuration = iam_configuration()
    configuration["credential_source"] = {"file": "/etc/passwd"}
    file_source["service"]["credentials"] = {"configuration": configuration}
    assert "file" in assert_error(owner.post(VOLUMES, json=file_source), 400, 9017)["message"]

    bucket = moto_cloud.new_bucket()
    refused = role_body(moto_cloud, bucket)
    refused["service"]["credentials"]["external_id"] = "not-the-external-id"
    message = assert_error(owner.post(VOLUMES, json=refused), 400, 9001)["message"]
    assert "assume the role" in message
    bad_arn = role_body(moto_cloud, bucket)
    bad_arn["service"]["credentials"]["role_arn"] = "role/sbg"
    assert_error(owner.post(VOLUMES, json=bad_arn), 400, 9017)
    assert volume_count(owner) == 0


def test_unreachable_endpoints_are_refused_within_seconds(
    owner: Caller, moto_cloud, silent_endpoint, closed_endpoint
) -> None:
    for endpoint in (closed_endpoint, silent_endpoint):
        started = time.monotonic()
        response = owner.post(VOLUMES, json=oss_body(moto_cloud, "any-bucket", endpoint))
        elapsed = time.monotonic() - started
        message = assert_error(response, 400, 9000)["message"]
        assert endpoint in message
        assert elapsed < 8, f"{endpoint}: {elapsed:.1f} s"  # 1.5 s timeout, two attempts
    no_endpoint = oss_body(moto_cloud, "b", "")
    no_endpoint["service"]["endpoint"] = "not a host!"
    assert_error(owner.post(VOLUMES, json=no_endpoint), 400, 9017)


def test_names_are_unique_per_owner(owner: Caller, on_cloud, moto_cloud) -> None:
    bucket = moto_cloud.new_bucket()
    body = s3_body(moto_cloud, bucket)
    create(owner, body)
    assert_error(owner.post(VOLUMES, json=body), 409, 9010)
    other = on_cloud("other")
    assert create(other, body)["id"] == f"{other.username}/{body['name']}"


def test_patch_volume_details_and_credentials(owner: Caller, moto_cloud) -> None:
    bucket = moto_cloud.new_bucket()
    moto_cloud.put(bucket, "k.txt")
    first = create(owner, s3_body(moto_cloud, bucket))
    path = f"{VOLUMES}/{first['id']}"
    changed = owner.patch(path, json={"description": "new", "access_mode": "ro"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "new" and changed.json()["access_mode"] == "RO"

    # Wrong new credentials: refused, the stored ones keep working.
    wrong = {"service": {"credentials": {"secret_access_key": "not-it"}}}
    assert_error(owner.patch(path, json=wrong), 400, 9001)
    assert owner.get(f"{path}/list").status_code == 200
    # A switch to role credentials is tried, then kept; only the role's public part shows.
    role = {"role_arn": moto_cloud.role_arn, "external_id": moto_cloud.external_id}
    switched = owner.patch(path, json={"service": {"credentials": role}})
    assert switched.status_code == 200, switched.text
    assert switched.json()["service"]["credentials"] == {"role_arn": moto_cloud.role_arn}
    assert owner.get(f"{path}/list").json()["items"][0]["location"] == "k.txt"
    assert_error(owner.patch(path, json={"service": {"bucket": "another"}}), 400, 9017)
    assert_error(owner.patch(path, json={"access_mode": "XX"}), 400, 9015)

    # Rename (the id follows), and a name already taken.
    taken = create(owner, s3_body(moto_cloud, bucket))
    assert_error(owner.patch(path, json={"name": taken["name"]}), 409, 9010)
    new_name = volume_name("renamed")
    renamed = owner.patch(path, json={"name": new_name})
    assert renamed.json()["id"] == f"{owner.username}/{new_name}"
    path = f"{VOLUMES}/{owner.username}/{new_name}"

    # Delete only once deactivated.
    assert_error(owner.delete(path), 409, 90007)
    assert owner.patch(path, json={"active": False}).json()["active"] is False
    assert owner.delete(path).status_code == 204
    assert_error(owner.get(path), 404, 9007)
    assert moto_cloud.client().head_object(Bucket=bucket, Key="k.txt")  # the bucket is untouched


def test_listing_prefixes_and_continuation(owner: Caller, moto_cloud, gcs_emulator) -> None:
    s3_bucket, gcs_bucket = moto_cloud.new_bucket(), gcs_emulator.new_bucket()
    keys = ["top.txt", "runs/a.fq", "runs/b.fq", "runs/c.fq", "runs/sub/x.fq", "runs/sub2/y"]
    for key in keys:
        moto_cloud.put(s3_bucket, key, b"12345")
        gcs_emulator.put(gcs_bucket, key, b"12345")
    for body in (s3_body(moto_cloud, s3_bucket), gcs_body(gcs_bucket)):
        volume = create(owner, body)
        path = f"{VOLUMES}/{volume['id']}/list"
        first = owner.get(path)
        assert first.status_code == 200
        page = first.json()
        assert set(page) == {"href", "items", "prefixes", "links"}
        assert page["href"].startswith(owner.url + path)
        assert [item["location"] for item in page["items"]] == ["top.txt"]
        assert page["prefixes"] == [
            {
                "href": f"{owner.url}{VOLUMES}/{volume['id']}/list?prefix=runs%2F",
                "prefix": "runs/",
                "volume": volume["id"],
            }
        ]
        assert page["links"] == []
        item = page["items"][0]
        assert item["volume"] == volume["id"]
        assert item["type"] == ("s3" if volume["service"]["type"] == "S3" else "gcs")
        assert item["metadata"]["size"] == "5"

        # One level under runs/, two entries per page, followed by next links.
        seen, url, pages = [], f"{owner.url}{path}?prefix=runs/&limit=2", 0
        while url:
            answer = owner.get(url).json()
            pages += 1
            entries = [i["location"] for i in answer["items"]] + [
                p["prefix"] for p in answer["prefixes"]
            ]
            assert len(entries) <= 2
            seen += entries
            url = answer["links"][0]["next"] if answer["links"] else None
            if url:
                assert "continuation_token=" in url and "prefix=runs" in url
        assert sorted(seen) == ["runs/a.fq", "runs/b.fq", "runs/c.fq", "runs/sub/", "runs/sub2/"]
        assert pages == 3

        narrowed = owner.get(path, params={"fields": "location"}).json()["items"][0]
        assert narrowed == {"href": item["href"], "location": "top.txt"}
        assert_error(owner.get(path, params={"limit": 0}), 400, 90000)
        clamped = owner.get(path, params={"limit": 1000})
        assert clamped.status_code == 200
        assert_error(owner.get(path, params={"continuation_token": "%%%not-a-token"}), 400, 9011)

        info = owner.get(item["href"])
        assert info.status_code == 200, info.text
        assert info.json()["location"] == "top.txt" and info.json()["metadata"]["size"] == "5"
        object_path = f"{VOLUMES}/{volume['id']}/object"
        assert_error(owner.get(object_path, params={"location": "none.txt"}), 404, 9105)
        assert_error(owner.get(object_path), 400, 90000)
        assert_error(owner.get(object_path, params={"location": "x" * 2000}), 400, 90000)
        assert_error(owner.get(path, params={"prefix": "p" * 2000}), 400, 90000)


def test_members_and_permissions(owner: Caller, on_cloud, moto_cloud) -> None:
    volume = create(owner, s3_body(moto_cloud, moto_cloud.new_bucket()))
    path = f"{VOLUMES}/{volume['id']}"
    reader, stranger, later = on_cloud("reader"), on_cloud("stranger"), on_cloud("later")

    # Strangers learn nothing: 404 everywhere.
    for method, suffix in [
        ("get", ""), ("patch", ""), ("delete", ""), ("get", "/list"), ("get", "/members"),
        ("get", "/object?location=a"), ("post", "/members"),
    ]:  # fmt: skip
        assert_error(stranger.request(method.upper(), path + suffix, json={}), 404, 9007)

    added = owner.post(f"{path}/members", json={"username": reader.username, "type": "USER"})
    assert added.status_code == 201, added.text
    member = added.json()
    assert member["href"] == f"{owner.url}{path}/members/{reader.username}"
    assert member["permissions"] == {"read": True, "copy": False, "write": False, "admin": False}
    assert_error(owner.post(f"{path}/members", json={"username": reader.username}), 409, 90007)
    execute = {"username": later.username, "permissions": {"read": True, "execute": True}}
    assert_error(owner.post(f"{path}/members", json=execute), 400, 90000)

    # A read member sees the volume and its objects, changes nothing.
    assert reader.get(path).status_code == 200
    assert reader.get(f"{path}/list").status_code == 200
    assert [v["id"] for v in reader.get(VOLUMES).json()["items"]] == [volume["id"]]
    assert_error(reader.patch(path, json={"description": "x"}), 403, 9019)
    assert_error(reader.delete(path), 403, 9019)
    assert_error(reader.post(f"{path}/members", json={"username": later.username}), 403, 9019)

    members = owner.get(f"{path}/members")
    assert members.headers["X-Total-Matching-Query"] == "2"
    assert [m["username"] for m in members.json()["items"]] == [owner.username, reader.username]
    one = owner.get(f"{path}/members/{reader.username}")
    assert one.json()["permissions"]["write"] is False
    granted = owner.patch(f"{path}/members/{reader.username}/permissions", json={"admin": True})
    assert granted.status_code == 200
    assert granted.json()["permissions"] == {
        "read": True,
        "copy": True,
        "write": True,
        "admin": True,
    }
    assert reader.patch(path, json={"description": "by an admin member"}).status_code == 200
    assert_error(
        owner.patch(f"{path}/members/{reader.username}/permissions", json={"execute": True}),
        400,
        90000,
    )
    assert_error(owner.get(f"{path}/members/{stranger.username}"), 404, 9012)
    assert_error(reader.delete(f"{path}/members/{owner.username}"), 403, 9019)
    assert owner.delete(f"{path}/members/{reader.username}").status_code == 204
    assert_error(reader.get(path), 404, 9007)


def test_hostile_input_at_the_boundary(owner: Caller, moto_cloud) -> None:
    body = s3_body(moto_cloud, "b")
    raw = '{"name": "a\\ud800b", "service": {"type": "S3"}}'
    headers = {"Content-Type": "application/json"}
    assert_error(owner.post(VOLUMES, data=raw, headers=headers), 400, 9014)
    assert_error(owner.post(VOLUMES, data="[1, 2]", headers=headers), 400, 90000)
    assert_error(owner.post(VOLUMES, data='{"name": NaN}', headers=headers), 400, 90009)
    body["service"]["properties"] = {f"k{index}": "v" for index in range(101)}
    assert_error(owner.post(VOLUMES, json=body), 400, 9017)
    body["service"]["properties"] = {"nested": {"a": 1}}
    assert_error(owner.post(VOLUMES, json=body), 400, 9017)
    body["service"].pop("properties")
    body["description"] = "d" * 100_001
    assert_error(owner.post(VOLUMES, json=body), 400, 90000)
    assert volume_count(owner) == 0


def test_secrets_never_leave_the_platform(
    owner: Caller, cloud_platform: EmbeddedServer, moto_cloud, gcs_emulator
) -> None:
    """Secrets are in no answer (also failed ones), in no log line and not in clear on disk."""
    s3_bucket = moto_cloud.new_bucket()
    pem = private_key_pem()
    # A key pair moto does not know: its secret goes into a refused request only.
    refused_secret = f"refused-{uuid.uuid4().hex}"
    answers = []
    body = s3_body(moto_cloud, s3_bucket)
    answers.append(create(owner, body))
    failing = s3_body(moto_cloud, s3_bucket)
    failing["service"]["credentials"]["secret_access_key"] = refused_secret
    answers.append(owner.post(VOLUMES, json=failing).json())
    answers.append(create(owner, role_body(moto_cloud, s3_bucket)))
    answers.append(create(owner, gcs_body(gcs_emulator.new_bucket())))
    patch = {"service": {"credentials": {"secret_access_key": refused_secret}}}
    answers.append(owner.patch(f"{VOLUMES}/{answers[0]['id']}", json=patch).json())
    answers.append(owner.get(VOLUMES).json())
    for answer in answers[:1] + answers[2:4]:
        answers.append(owner.get(f"{VOLUMES}/{answer['id']}").json())
    text = str(answers)
    secrets = {
        "S3 secret": moto_cloud.reader.secret_access_key,
        "refused secret": refused_secret,
        "external id": moto_cloud.external_id,
        "private key": pem.splitlines()[1],
    }
    for label, secret in secrets.items():
        assert secret not in text, f"{label} in an answer"
    log = cloud_platform.log_path.read_text(errors="replace")
    assert owner.username in log  # the log does record this user's requests
    for label, secret in secrets.items():
        assert secret not in log, f"{label} in the server log"
    if cloud_platform.database_url.startswith("sqlite"):
        stored = database_path(cloud_platform).read_bytes()
        for suffix in ("", "-wal"):
            extra = database_path(cloud_platform).with_name("platform.db" + suffix)
            if extra.exists():
                stored += extra.read_bytes()
    else:  # every row of every volume, as the database server holds them
        stored = repr(run_sql(cloud_platform, "SELECT * FROM volumes")).encode()
    assert moto_cloud.reader.access_key_id.encode() in stored  # the public part is in clear
    for label, secret in secrets.items():
        assert secret.encode() not in stored, f"{label} in clear in the database"


def test_volumes_survive_a_restart(
    owner: Caller, cloud_platform: EmbeddedServer, moto_cloud
) -> None:
    bucket = moto_cloud.new_bucket()
    moto_cloud.put(bucket, "kept.txt", b"kept")
    volume = create(owner, role_body(moto_cloud, bucket))
    cloud_platform.restart()
    fetched = owner.get(f"{VOLUMES}/{volume['id']}")
    assert fetched.status_code == 200 and fetched.json() == volume
    # The sealed role credentials open again after the restart.
    listing = owner.get(f"{VOLUMES}/{volume['id']}/list")
    assert [item["location"] for item in listing.json()["items"]] == ["kept.txt"]

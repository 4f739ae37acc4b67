"""``api.volumes`` of our client against the live platform pointed at moto and a GCS emulator."""

from __future__ import annotations

import pytest
from volume_support import (
    GCS_EMAIL,
    iam_configuration,
    private_key_pem,
    volume_name,
)

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Conflict, Forbidden, NotFound, ResourceNotModified
from sevenbridges.meta.collection import VolumeCollection
from sevenbridges.models.compound.volumes.service import VolumeService
from sevenbridges.models.compound.volumes.volume_prefix import VolumePrefix
from sevenbridges.models.link import VolumeLink


@pytest.fixture
def cloud_api(cloud_platform, new_username):
    """``cloud_api("alice")``: our client as a fresh user of the cloud platform."""

    def make(prefix: str) -> sbg.Api:
        return sbg.Api(url=cloud_platform.url, token=cloud_platform.token(new_username(prefix)))

    return make


def test_the_seed_example_runs_unchanged(cloud_api, moto_cloud) -> None:
    api = cloud_api("seed")
    moto_cloud.ensure_bucket("my_bucket")  # moto accepts AWS's legacy names (underscores)
    access_key_id = moto_cloud.reader.access_key_id
    secret_access_key = moto_cloud.reader.secret_access_key

    volume = api.volumes.create_s3_volume(
        name="my_s3_volume",
        bucket="my_bucket",
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        access_mode="RO",
    )

    assert isinstance(volume, sbg.Volume)
    assert volume.name == "my_s3_volume" and volume.access_mode == sbg.VolumeAccessMode.READ_ONLY
    assert volume.service["type"] == sbg.VolumeType.S3
    assert volume.service["bucket"] == "my_bucket"
    assert volume.service["credentials"] == {"access_key_id": access_key_id}
    assert volume.active is True and volume.created_on is not None
    assert repr(volume) == f"<Volume: id={volume.id}>"


def test_create_helpers_query_get_save_delete(cloud_api, moto_cloud, gcs_emulator) -> None:
    api = cloud_api("helpers")
    s3_bucket, gcs_bucket = moto_cloud.new_bucket(), gcs_emulator.new_bucket()
    keys = moto_cloud.reader
    created = [
        api.volumes.create_s3_volume(
            volume_name("s3"), s3_bucket, keys.access_key_id, keys.secret_access_key, "RW",
            description="s3 keys", prefix="in/", properties={"sse_algorithm": "AES256"},
        ),
        api.volumes.create_s3_volume_role_auth(
            volume_name("role"), s3_bucket, moto_cloud.role_arn, moto_cloud.external_id, "RO"
        ),
        api.volumes.create_google_volume(
            volume_name("gcs"), gcs_bucket, GCS_EMAIL, private_key_pem(), "RO"
        ),
        api.volumes.create_google_iam_volume(
            volume_name("iam"), gcs_bucket, iam_configuration(), "RO"
        ),
        api.volumes.create_oss_volume(
            volume_name("oss"), s3_bucket, moto_cloud.url, keys.access_key_id,
            keys.secret_access_key, "RW",
        ),
    ]  # fmt: skip
    types = [volume.service["type"] for volume in created]
    assert types == ["S3", "S3", "GCS", "GCS", "OSS"]
    first = created[0]
    assert first.description == "s3 keys" and first.service["prefix"] == "in/"
    assert first.service["properties"] == {"sse_algorithm": "AES256"}
    assert isinstance(first.service, VolumeService)

    page = api.volumes.query(limit=2)
    assert page.total == 5 and len(page) == 2
    assert [volume.id for volume in page.all()] == [volume.id for volume in created]
    fetched = api.volumes.get(first.id)
    assert fetched == first and fetched.service["root_url"] == moto_cloud.url

    fetched.description = "changed"
    fetched.access_mode = sbg.VolumeAccessMode.READ_ONLY
    saved = fetched.save()
    assert saved is fetched and fetched.description == "changed"
    assert api.volumes.get(first.id).access_mode == "RO"
    with pytest.raises(ResourceNotModified):
        fetched.save()

    # New credentials go through service (only that sub-key is sent) and are tried first.
    fetched.service["credentials"] = {"secret_access_key": "wrong"}
    with pytest.raises(BadRequest) as refused:
        fetched.save()
    assert refused.value.code == 9001
    fetched.reload()
    fetched.service["credentials"] = {
        "role_arn": moto_cloud.role_arn,
        "external_id": moto_cloud.external_id,
    }
    fetched.save()
    assert fetched.service["credentials"] == {"role_arn": moto_cloud.role_arn}

    with pytest.raises(Conflict) as active:
        fetched.delete()
    assert active.value.code == 90007
    fetched.active = False
    fetched.save()
    fetched.delete()
    with pytest.raises(NotFound) as gone:
        api.volumes.get(first.id)
    assert gone.value.code == 9007


def test_listing_objects_and_object_info(cloud_api, moto_cloud) -> None:
    api = cloud_api("lister")
    bucket = moto_cloud.new_bucket()
    for key in ("root.txt", "data/a.bam", "data/b.bam", "data/c.bam", "data/deep/x", "data/z/y"):
        moto_cloud.put(bucket, key, b"0123456789")
    keys = moto_cloud.reader
    volume = api.volumes.create_s3_volume(
        volume_name(), bucket, keys.access_key_id, keys.secret_access_key, "RO"
    )

    top = volume.list()
    assert isinstance(top, VolumeCollection) and top.total == -1
    assert [item.location for item in top] == ["root.txt"]
    assert isinstance(top[0], sbg.VolumeObject) and top[0].metadata["size"] == "10"
    assert [type(p) for p in top.prefixes] == [VolumePrefix]
    assert [p.prefix for p in top.prefixes] == ["data/"]
    assert top.links == []
    with pytest.raises(sbg.PaginationError):
        top.next_page()
    with pytest.raises(sbg.PaginationError):
        top.previous_page()

    first = volume.list(prefix="data/", limit=2)
    assert len(first) + len(first.prefixes) == 2
    assert isinstance(first.links[0], VolumeLink) and "continuation_token=" in first.links[0].next
    pages = [first]
    while pages[-1].links:
        pages.append(pages[-1].next_page())
    entries = [[i.location for i in p] + [x.prefix for x in p.prefixes] for p in pages]
    assert entries == [["data/a.bam", "data/b.bam"], ["data/c.bam", "data/deep/"], ["data/z/"]]
    assert [item.location for item in first.all()] == ["data/a.bam", "data/b.bam", "data/c.bam"]

    info = volume.get_volume_object_info("data/b.bam")
    assert info.location == "data/b.bam" and info.volume == volume.id and info.type == "s3"
    assert info.metadata["size"] == "10" and info.metadata["etag"]
    assert repr(info) == "<VolumeObject: location=data/b.bam>"
    with pytest.raises(NotFound) as missing:
        volume.get_volume_object_info("data/none.bam")
    assert missing.value.code == 9105


def test_members(cloud_api, moto_cloud, cloud_platform) -> None:
    owner, friend = cloud_api("vowner"), cloud_api("vfriend")
    friend_name = friend.users.me().username
    keys = moto_cloud.reader
    volume = owner.volumes.create_s3_volume(
        volume_name(), moto_cloud.new_bucket(), keys.access_key_id, keys.secret_access_key, "RW"
    )
    permissions = {"read": True, "copy": True, "write": False, "execute": True, "admin": False}
    member = volume.add_member(friend_name, permissions)
    assert "execute" not in permissions  # dropped before sending, as the reference client does
    assert member.username == friend_name
    assert dict(member.permissions) == {"read": True, "copy": True, "write": False, "admin": False}

    page = volume.get_members()
    assert page.total == 2 and [m.username for m in page][1] == friend_name
    fetched = volume.get_member(friend_name)
    assert fetched == member
    shared = friend.volumes.get(volume.id)
    assert shared.id == volume.id
    shared.description = "members cannot"
    with pytest.raises(Forbidden) as refused:
        shared.save()
    assert refused.value.code == 9019

    fetched.permissions["write"] = True
    fetched.save()
    assert owner.volumes.get(volume.id).get_member(friend_name).permissions["write"] is True
    with pytest.raises(sbg.SbgError):
        volume.add_member_team("some-team", {"read": True})
    volume.remove_member(fetched)
    with pytest.raises(NotFound):
        friend.volumes.get(volume.id)


def test_bad_input_errors_reach_the_client(cloud_api, moto_cloud) -> None:
    api = cloud_api("badvol")
    keys = moto_cloud.reader
    bucket = moto_cloud.new_bucket()
    cases = [
        (dict(name="bad-name"), 9014),
        (dict(access_mode="READ"), 9015),
        (dict(secret_access_key="nope"), 9001),
        (dict(bucket="no-such-bucket-for-client"), 9000),
    ]
    for change, code in cases:
        arguments = dict(
            name=volume_name(),
            bucket=bucket,
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
            access_mode="RW",
        )
        arguments.update(change)
        with pytest.raises(BadRequest) as error:
            api.volumes.create_s3_volume(**arguments)
        assert error.value.code == code, (change, error.value.message)
    assert api.volumes.query().total == 0

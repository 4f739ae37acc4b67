"""``api.imports`` and ``api.exports`` of our client against the live platform pointed at moto:
every method and field of ``Import`` and ``Export``, the volume's own job lists, and errors
arriving as typed exceptions."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime

import pytest
from volume_support import volume_name

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Conflict, NotFound, SbgError
from sevenbridges.models.compound.error import Error
from sevenbridges.models.compound.volumes.import_destination import ImportDestination
from sevenbridges.models.compound.volumes.volume_file import VolumeFile
from sevenbridges.models.storage_export import ExportBulkRecord
from sevenbridges.models.storage_import import ImportBulkRecord


@pytest.fixture
def user(cloud_platform, new_username) -> sbg.Api:
    return sbg.Api(url=cloud_platform.url, token=cloud_platform.token(new_username("jobs")))


def settled(job, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while job.state not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
        job.reload()
    return job


def rw_volume(api: sbg.Api, moto_cloud, mode: str = "RW") -> tuple[sbg.Volume, str]:
    bucket = moto_cloud.new_bucket("cli")
    keys = moto_cloud.reader
    volume = api.volumes.create_s3_volume(
        volume_name("cli"), bucket, keys.access_key_id, keys.secret_access_key, mode
    )
    return volume, bucket


def new_project(api: sbg.Api) -> sbg.Project:
    group = api.billing_groups.query()[0]
    return api.projects.create(name=f"jobs {uuid.uuid4().hex[:6]}", billing_group=group.id)


def test_import_methods_and_fields(user: sbg.Api, moto_cloud) -> None:
    volume, bucket = rw_volume(user, moto_cloud)
    for key in ("one.txt", "dir/a.txt", "dir/sub/b.txt", "clash/x", "clash/x/y"):
        moto_cloud.put(bucket, key, key.encode())
    project = new_project(user)

    job = user.imports.submit_import(volume, "one.txt", project=project, name="first.txt")
    assert isinstance(job, sbg.Import) and job.state == "PENDING"
    assert str(job) == f"<Import: id={job.id}>"
    job = settled(job)
    assert job.state == "COMPLETED" and job.error is None
    assert isinstance(job.source, VolumeFile)
    assert (job.source.volume, job.source.location) == (volume.id, "one.txt")
    assert isinstance(job.destination, ImportDestination)
    assert (job.destination.project, job.destination.name) == (project.id, "first.txt")
    assert job.overwrite is False and job.autorename is False
    assert isinstance(job.started_on, datetime) and isinstance(job.finished_on, datetime)
    assert job.href.endswith(f"/storage/imports/{job.id}")
    result = job.result
    assert isinstance(result, sbg.File) and result.name == "first.txt" and result.size == 7
    assert user.imports.get(job.id) == job

    # Into a folder (parent), a prefix without its structure, then overwrite and autorename.
    folder = user.files.create_folder(name="inbox", project=project)
    flat = settled(
        user.imports.submit_import(volume, "dir/", parent=folder, preserve_folder_structure=False)
    )
    assert flat.state == "COMPLETED" and flat.result.type == "folder"
    assert flat.destination.parent == folder.id
    assert sorted(f.name for f in flat.result.list_files()) == ["a.txt", "b.txt"]
    renamed = settled(
        user.imports.submit_import(volume, "one.txt", project=project, name="first.txt",
                                   autorename=True)
    )  # fmt: skip
    assert renamed.autorename is True and renamed.result.name == "_1_first.txt"
    replaced = settled(
        user.imports.submit_import(volume, "one.txt", project=project, name="first.txt",
                                   overwrite=True)
    )  # fmt: skip
    assert replaced.overwrite is True and replaced.result.id != result.id

    # A prefix whose object "x" and folder "x/" collide fails at run time with an error object.
    failed = settled(user.imports.submit_import(volume, "clash/", project=project))
    assert failed.state == "FAILED" and failed.result is None
    assert isinstance(failed.error, Error)
    assert (failed.error.status, failed.error.code) == (409, 9108) and failed.error.message

    # Queries with each filter, and the volume's own list.
    everything = {j.id for j in user.imports.query(volume=volume).all()}
    assert everything == {job.id, flat.id, renamed.id, replaced.id, failed.id}
    assert {j.id for j in user.imports.query(volume=volume, state="FAILED")} == {failed.id}
    assert {j.id for j in user.imports.query(project=project, state="COMPLETED").all()} == {
        job.id, renamed.id, replaced.id, flat.id  # the folder's project is this project too
    }  # fmt: skip
    page = user.imports.query(volume=volume, limit=2)
    assert len(page) == 2 and page.total == 5
    assert {j.id for j in volume.get_imports().all()} == everything
    assert {j.id for j in volume.get_imports(state="FAILED")} == {failed.id}
    assert {j.id for j in volume.get_imports(project=project.id, limit=1).all()} == everything
    # The project's own list: imports into it (from this volume, or in one state).
    assert {j.id for j in project.get_imports().all()} == everything
    assert {j.id for j in project.get_imports(volume=volume, state="FAILED")} == {failed.id}
    assert {j.id for j in new_project(user).get_imports().all()} == set()
    with pytest.raises(BadRequest):
        user.imports.query(state="SLEEPING")

    # Bulk submit and bulk get: one record per item, in order.
    records = user.imports.bulk_submit(
        [
            {"volume": volume, "location": "one.txt", "project": project, "name": "bulk.txt"},
            {"volume": volume.id, "location": "none.txt", "project": project.id},
            {"volume": volume, "location": "dir/", "parent": folder.id, "autorename": True,
             "preserve_folder_structure": True},
        ]
    )  # fmt: skip
    assert all(isinstance(r, ImportBulkRecord) for r in records)
    assert [r.valid for r in records] == [True, False, True]
    assert records[1].error.code == 9105 and records[1].resource is None
    ids = [records[0].resource.id, records[2].resource.id]
    for record in (records[0], records[2]):
        settled(record.resource)
    got = user.imports.bulk_get([*ids, "not-an-import"])
    assert [r.valid for r in got] == [True, True, False]
    assert [r.resource.state for r in got[:2]] == ["COMPLETED", "COMPLETED"]
    assert got[2].error.code == 9008
    assert got[1].resource.result.name == "_1_dir"  # autorenamed next to the first "dir"

    # Errors arrive typed.
    with pytest.raises(NotFound):
        user.imports.submit_import(volume, "none.txt", project=project)
    with pytest.raises(Conflict):
        user.imports.submit_import(volume, "one.txt", project=project, name="first.txt")
    with pytest.raises(NotFound):
        user.imports.get("not-an-import")
    with pytest.raises(SbgError):  # refused by the client: neither project nor parent
        user.imports.submit_import(volume, "one.txt")
    with pytest.raises(BadRequest):
        user.imports.bulk_submit([{"volume": volume, "location": "x", "project": project}] * 101)


def test_export_methods_and_fields(user: sbg.Api, moto_cloud, tmp_path) -> None:
    volume, bucket = rw_volume(user, moto_cloud)
    read_only, _ = rw_volume(user, moto_cloud, mode="RO")
    project = new_project(user)
    contents = {name: os.urandom(2000) for name in ("e1.bin", "e2.bin", "e3.bin", "e4.bin")}
    files = {}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        upload = user.files.upload(str(tmp_path / name), project=project, file_name=name)
        files[name] = upload.result()

    job = user.exports.submit_export(
        files["e1.bin"], volume, "out/e1.bin", properties={"sse_algorithm": "AES256"}
    )
    assert isinstance(job, sbg.Export) and job.state == "PENDING"
    assert str(job) == f"<Export: id={job.id}>"
    job = settled(job)
    assert job.state == "COMPLETED" and job.error is None
    assert job.source.id == files["e1.bin"].id
    assert (job.destination.volume, job.destination.location) == (volume.id, "out/e1.bin")
    assert job.properties["sse_algorithm"] == "AES256" and job.overwrite is False
    assert isinstance(job.started_on, datetime) and isinstance(job.finished_on, datetime)
    assert job.result.storage.type == "VOLUME"  # not copy_only: the file became an alias
    stored = moto_cloud.client().get_object(Bucket=bucket, Key="out/e1.bin")
    assert stored["Body"].read() == contents["e1.bin"]
    assert user.exports.get(job.id) == job

    copied = settled(user.exports.submit_export(files["e2.bin"], volume, "out/", copy_only=True))
    assert copied.destination.location == "out/e2.bin"
    assert copied.result.storage.type == "PLATFORM"
    again = settled(
        user.exports.submit_export(files["e3.bin"], volume, "out/e2.bin", overwrite=True,
                                   copy_only=True)
    )  # fmt: skip
    assert again.overwrite is True
    assert (
        moto_cloud.client().get_object(Bucket=bucket, Key="out/e2.bin")["Body"].read()
        == (contents["e3.bin"])
    )

    everything = {j.id for j in user.exports.query(volume=volume).all()}
    assert everything == {job.id, copied.id, again.id}
    assert {j.id for j in user.exports.query(volume=volume, state="FAILED")} == set()
    assert {j.id for j in user.exports.query(state="COMPLETED", limit=1).all()} >= everything
    assert {j.id for j in volume.get_exports().all()} == everything
    assert {j.id for j in volume.get_exports(state="COMPLETED", limit=1).all()} == everything
    # Exports are not filed under a project: the project's list is the caller's, by volume/state.
    assert {j.id for j in new_project(user).get_exports(volume=volume).all()} == everything

    records = user.exports.bulk_submit(
        [
            {"file": files["e4.bin"], "volume": volume, "location": "bulk/e4.bin"},
            {"file": files["e2.bin"], "volume": volume, "location": "out/e2.bin"},  # taken
        ],
        copy_only=True,
    )
    assert all(isinstance(r, ExportBulkRecord) for r in records)
    assert [r.valid for r in records] == [True, False]
    assert records[1].error.code == 9107
    done = settled(records[0].resource)
    got = user.exports.bulk_get([done.id, "not-an-export"])
    assert got[0].resource.state == "COMPLETED" and got[1].error.code == 9008

    with pytest.raises(BadRequest) as refused:
        user.exports.submit_export(files["e4.bin"], read_only, "x.bin")
    assert refused.value.code == 9026
    with pytest.raises(BadRequest):  # an alias cannot be exported again
        user.exports.submit_export(files["e1.bin"], volume, "again.bin")
    with pytest.raises(Conflict):
        user.exports.submit_export(files["e4.bin"], volume, "out/e2.bin")
    with pytest.raises(NotFound):
        user.exports.get("not-an-export")
    with pytest.raises(BadRequest):
        user.exports.bulk_submit(
            [{"file": files["e4.bin"], "volume": volume, "location": "y"}] * 101
        )

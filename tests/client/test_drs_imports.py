"""DRS bulk imports through ``api.drs_imports`` on the live local platform. The objects are the
platform's own files (``drs://127.0.0.1:<port>/<id>``), which it imports without a token."""

from __future__ import annotations

import time

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, NotFound, SbgError
from sevenbridges.models.compound.error import Error
from sevenbridges.models.compound.import_result import FileImportResult
from sevenbridges.models.drs_import import DRSImportBulk
from sevenbridges.models.file import File, FileBulkRecord

from .test_files import names_of, new_project, put_file

POLL_LIMIT_SECONDS = 60


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("drs"))


@pytest.fixture
def source(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "drs source")


@pytest.fixture
def target(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "drs target")


def drs_uri(platform, file_: File) -> str:
    return f"drs://127.0.0.1:{platform.port}/{file_.id}"


def finished(job: DRSImportBulk) -> DRSImportBulk:
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while job.state != "FINISHED":
        assert time.monotonic() < deadline, f"{job} still {job.state}"
        time.sleep(0.2)
        job.reload()
    return job


def test_bulk_submit_reload_result_and_result_files(platform, owner, source, target) -> None:
    data = put_file(owner, "sample.txt", b"drs bytes\n", project=source)
    folder = owner.files.create_folder(name="landing", project=target)
    imports = [
        {"drs_uri": drs_uri(platform, data), "project": target, "metadata": {"sample": "S1"}},
        {"drs_uri": drs_uri(platform, data), "parent": folder, "name": "copy.txt"},
        {"drs_uri": "drs://not a uri", "project": target.id},
    ]
    job = owner.drs_imports.bulk_submit(imports, tags=["from-drs"], conflict_resolution="SKIP")
    assert isinstance(job, DRSImportBulk)
    assert str(job) == repr(job) == f"<DRSBulkImport: id={job.id}>"
    # Objects in the dicts were replaced by their ids, as the reference client does.
    assert imports[0]["project"] == target.id and imports[1]["parent"] == folder.id

    finished(job)
    assert job.started_on is not None and job.finished_on is not None
    first, second, third = job.result
    assert all(isinstance(entry, FileImportResult) for entry in job.result)
    assert isinstance(first.resource, File) and first.error is None
    assert first.resource.name == "sample.txt"
    assert first.resource.tags == ["from-drs"]
    assert first.resource.metadata["sample"] == "S1"
    assert second.resource.parent == folder.id and second.resource.name == "copy.txt"
    assert isinstance(third.error, Error) and third.error.status == 400
    assert str(third) == str(third.error)
    assert str(first) == str(first.resource)

    records = job.result_files
    assert [type(record) for record in records] == [FileBulkRecord, FileBulkRecord]
    assert sorted(record.resource.id for record in records) == sorted(
        [first.resource.id, second.resource.id]
    )
    assert job.result_files is records or job.result_files == records  # cached, not refetched
    assert names_of(owner.files.query(project=target)) == ["landing", "sample.txt"]

    again = owner.drs_imports.bulk_get(job.id)
    assert again == job and again.state == "FINISHED"
    with pytest.raises(TypeError):
        hash(job)


def test_result_files_is_none_when_nothing_was_imported(owner, target) -> None:
    job = finished(owner.drs_imports.bulk_submit([{"drs_uri": "drs://", "project": target}]))
    assert job.result[0].error.code == 90000
    assert job.result_files is None


def test_client_side_and_platform_refusals(platform, owner, target) -> None:
    with pytest.raises(SbgError):
        owner.drs_imports.bulk_submit([])
    with pytest.raises(SbgError):
        owner.drs_imports.bulk_submit([{"drs_uri": "drs://h/x"}])
    with pytest.raises(SbgError):
        owner.drs_imports.bulk_submit(
            [{"drs_uri": "drs://h/x", "project": target, "parent": "f" * 24}]
        )
    with pytest.raises(SbgError):
        owner.drs_imports.bulk_get("")
    with pytest.raises(SbgError):
        owner.drs_imports.bulk_get(123)
    too_many = [{"drs_uri": f"drs://h/{number}", "project": target} for number in range(101)]
    with pytest.raises(BadRequest):
        owner.drs_imports.bulk_submit(too_many)
    with pytest.raises(BadRequest):
        owner.drs_imports.bulk_submit(
            [{"drs_uri": "drs://h/x", "project": target}], conflict_resolution="MERGE"
        )
    with pytest.raises(NotFound):
        owner.drs_imports.bulk_get("0" * 32)

"""Asynchronous file jobs (copy, move, delete) through ``api.async_jobs``, polled to completion
on the live local platform."""

from __future__ import annotations

import time

import pytest

from sevenbridges.errors import NotFound, SbgError
from sevenbridges.meta.collection import Collection
from sevenbridges.models.async_jobs import AsyncFileBulkRecord, AsyncJob
from sevenbridges.models.enums import AsyncJobStates
from sevenbridges.models.file import File

from .test_files import names_of, new_project, put_file

MISSING_ID = "0" * 24
POLL_LIMIT_SECONDS = 60


@pytest.fixture
def owner(api_for, new_username):
    return api_for(new_username("jobs"))


@pytest.fixture
def project(owner):
    return new_project(owner, "jobs")


def finished(job: AsyncJob) -> AsyncJob:
    """Poll the job until the platform says FINISHED (a generous cap keeps a hang visible)."""
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while job.state != AsyncJobStates.FINISHED:
        assert time.monotonic() < deadline, f"{job} still {job.state}"
        time.sleep(0.2)
        job.reload()
    return job


def test_bulk_copy_job_to_a_project_and_a_folder(owner, project):
    first = put_file(owner, "one.txt", b"1", project=project)
    second = put_file(owner, "two.txt", b"22", project=project)
    destination = new_project(owner, "job target")
    folder = owner.files.create_folder(name="copies", project=project)

    job = owner.async_jobs.file_bulk_copy(
        [
            {"file": first.id, "project": destination.id},
            {"file": second, "parent": folder, "name": "two copy.txt"},
            {"file": MISSING_ID, "project": destination.id},
        ]
    )

    assert isinstance(job, AsyncJob)
    assert job.type == "COPY"
    assert job.state in (
        AsyncJobStates.SUBMITTED,
        AsyncJobStates.RESOLVING,
        AsyncJobStates.RUNNING,
        AsyncJobStates.FINISHED,
    )
    assert str(job) == repr(job) == f"<AsyncJob: type=COPY id={job.id}>"
    finished(job)
    assert (job.total_files, job.completed_files, job.failed_files) == (3, 2, 1)
    assert job.started_on is not None and job.finished_on is not None
    records = job.get_result()
    assert [type(record) for record in records] == [AsyncFileBulkRecord] * 3
    assert [record.valid for record in records] == [True, True, False]
    assert isinstance(records[0].resource, File)
    assert records[0].resource.project == destination.id
    assert records[1].resource.name == "two copy.txt"
    assert records[2].error.code == 5002
    assert names_of(owner.files.query(project=destination)) == ["one.txt"]
    assert names_of(folder.list_files()) == ["two copy.txt"]
    assert b"".join(records[1].resource.stream()) == b"22"
    fetched = owner.async_jobs.get_file_copy_job(job.id)
    assert fetched == job
    assert fetched.state == AsyncJobStates.FINISHED


def test_bulk_copy_of_a_folder_keeps_its_structure(owner, project):
    top = owner.files.create_folder(name="tree", project=project)
    inner = owner.files.create_folder(name="inner", parent=top)
    put_file(owner, "leaf.txt", b"leaf", parent=inner)
    destination = new_project(owner, "tree copy")

    job = finished(owner.async_jobs.file_bulk_copy([{"file": top.id, "project": destination}]))

    copied_top = job.get_result()[0].resource
    assert copied_top.is_folder()
    copied_inner = copied_top.list_files()[0]
    assert copied_inner.name == "inner"
    assert names_of(copied_inner.list_files()) == ["leaf.txt"]


def test_bulk_move_job(owner, project):
    folder = owner.files.create_folder(name="archive", project=project)
    files = [put_file(owner, f"m{index}.txt", project=project) for index in range(3)]

    job = owner.async_jobs.file_bulk_move(
        [{"file": f.id, "parent": folder.id} for f in files[:2]]
        + [{"file": files[2], "parent": folder, "name": "renamed.txt"}]
    )
    finished(job)

    assert job.type == "MOVE"
    records = job.get_result()
    assert [record.valid for record in records] == [True, True, True]
    assert [record.resource.id for record in records] == [f.id for f in files]
    assert names_of(folder.list_files()) == ["m0.txt", "m1.txt", "renamed.txt"]
    assert {f.parent for f in (owner.files.get(f.id) for f in files)} == {folder.id}
    assert names_of(owner.files.query(project=project)) == ["archive"]
    assert owner.async_jobs.get_file_move_job(job.id).type == "MOVE"


def test_bulk_delete_job_removes_files_and_non_empty_folders(owner, project):
    folder = owner.files.create_folder(name="doomed", project=project)
    inside = put_file(owner, "inside.txt", parent=folder)
    loose = put_file(owner, "loose.txt", project=project)
    kept = put_file(owner, "kept.txt", project=project)

    job = finished(
        owner.async_jobs.file_bulk_delete([{"file": folder.id}, {"file": loose}])
    )

    assert job.type == "DELETE"
    assert [record.valid for record in job.get_result()] == [True, True]
    for gone in (folder, inside, loose):
        with pytest.raises(NotFound):
            owner.files.get(gone.id)
    assert [f.id for f in owner.files.query(project=project)] == [kept.id]
    assert owner.async_jobs.get_file_delete_job(job).state == AsyncJobStates.FINISHED


def test_list_file_jobs_shows_the_callers_jobs(owner, project, api_for, new_username):
    file_ = put_file(owner, "listed.txt", project=project)
    copy_job = finished(
        owner.async_jobs.file_bulk_copy(
            [{"file": file_.id, "project": project, "name": "listed copy.txt"}]
        )
    )
    delete_job = finished(owner.async_jobs.file_bulk_delete([{"file": file_.id}]))

    jobs = owner.async_jobs.list_file_jobs()
    paged = owner.async_jobs.list_file_jobs(limit=1)

    assert isinstance(jobs, Collection)
    assert {job.id for job in jobs} == {copy_job.id, delete_job.id}
    assert jobs.total == 2
    assert len(paged) == 1
    assert {job.id for job in paged.all()} == {copy_job.id, delete_job.id}
    other = api_for(new_username("otherjobs"))
    assert len(other.async_jobs.list_file_jobs()) == 0
    with pytest.raises(NotFound):
        other.async_jobs.get_file_copy_job(copy_job.id)


def test_jobs_respect_permissions(owner, project, api_for, new_username):
    file_ = put_file(owner, "not yours.txt", project=project)
    stranger = api_for(new_username("jobstranger"))

    job = finished(stranger.async_jobs.file_bulk_delete([{"file": file_.id}]))

    assert job.failed_files == 1
    assert not job.get_result()[0].valid
    assert owner.files.get(file_.id).name == "not yours.txt"


def test_unknown_job_is_not_found(owner):
    with pytest.raises(NotFound):
        owner.async_jobs.get_file_copy_job("no-such-job")


def test_jobs_need_items_and_have_no_generic_get(owner):
    with pytest.raises(SbgError):
        owner.async_jobs.file_bulk_copy([])
    with pytest.raises(SbgError):
        owner.async_jobs.get("anything")


def test_result_of_a_job_without_result_is_empty():
    assert AsyncJob(id="j", state="SUBMITTED").get_result() == []

"""Bulk file calls (get, update, edit, delete) and search, against the live local platform."""

from __future__ import annotations

import pytest

from sevenbridges.errors import BadRequest, SbgError
from sevenbridges.models.bulk import BulkRecord
from sevenbridges.models.compound.error import Error
from sevenbridges.models.file import File, FileBulkRecord, SearchResponse

from .test_files import new_project, put_file

MISSING_ID = "0" * 24


@pytest.fixture
def owner(api_for, new_username):
    return api_for(new_username("bulk"))


@pytest.fixture
def project(owner):
    return new_project(owner, "bulk")


def test_bulk_get_returns_one_record_per_id_in_order(owner, project):
    first = put_file(owner, "first.txt", project=project)
    second = put_file(owner, "second.txt", project=project)

    records = owner.files.bulk_get([second, MISSING_ID, first.id])

    assert [type(record) for record in records] == [FileBulkRecord] * 3
    assert [record.valid for record in records] == [True, False, True]
    assert isinstance(records[0].resource, File)
    assert records[0].resource.id == second.id
    assert records[0].resource.name == "second.txt"
    assert records[2].resource.size == first.size
    assert records[0].error is None
    error = records[1].error
    assert isinstance(error, Error)
    assert (error.status, error.code) == (404, 5002)
    assert error.message
    assert str(records[1]) == "<FileBulkRecord valid=False>"
    assert isinstance(records[1], BulkRecord)


def test_bulk_update_replaces_and_erases_what_is_missing(owner, project):
    file_ = put_file(owner, "update me.txt", project=project)
    file_.metadata = {"a": "1", "b": "2"}
    file_.tags = ["old"]
    file_.save()

    file_.name = "updated.txt"
    file_.metadata = {"a": "10"}
    file_.tags = ["new"]
    records = owner.files.bulk_update([file_])

    assert records[0].valid
    assert records[0].resource.name == "updated.txt"
    fresh = owner.files.get(file_.id)
    assert (fresh.name, fresh.metadata, fresh.tags) == ("updated.txt", {"a": "10"}, ["new"])


def test_bulk_edit_modifies_and_keeps_what_is_missing(owner, project):
    file_ = put_file(owner, "edit me.txt", project=project)
    file_.metadata = {"a": "1", "b": "2"}
    file_.save()
    other = put_file(owner, "edit other.txt", project=project)

    stale = owner.files.get(file_.id)
    stale.metadata = {"a": "10"}
    other.tags = ["edited"]
    records = owner.files.bulk_edit([stale, other])

    assert [record.valid for record in records] == [True, True]
    assert owner.files.get(file_.id).metadata == {"a": "10", "b": "2"}
    assert owner.files.get(other.id).tags == ["edited"]


def test_bulk_update_reports_missing_files_per_item(owner, project):
    real = put_file(owner, "real.txt", project=project)
    ghost = File(id=MISSING_ID, name="ghost.txt", tags=[], metadata={}, api=owner)

    records = owner.files.bulk_update([real, ghost])

    assert [record.valid for record in records] == [True, False]
    assert records[1].error.code == 5002


def test_bulk_delete(owner, project):
    doomed = [put_file(owner, f"doomed{index}.txt", project=project) for index in range(3)]
    survivor = put_file(owner, "survivor.txt", project=project)

    records = owner.files.bulk_delete(doomed + [MISSING_ID])

    assert [record.valid for record in records] == [True, True, True, False]
    remaining = owner.files.query(project=project)
    assert [f.id for f in remaining] == [survivor.id]
    again = owner.files.bulk_get([f.id for f in doomed])
    assert not any(record.valid for record in again)


def test_more_than_100_items_are_refused(owner, project):
    file_ = put_file(owner, "one.txt", project=project)
    ids = [file_.id] + [f"{index:024x}" for index in range(1, 101)]

    with pytest.raises(BadRequest):
        owner.files.bulk_get(ids)
    with pytest.raises(BadRequest):
        owner.files.bulk_delete(ids)
    with pytest.raises(BadRequest):
        owner.files.bulk_edit([file_] * 101)

    assert owner.files.get(file_.id).name == "one.txt"


def test_exactly_100_items_are_accepted(owner, project):
    file_ = put_file(owner, "hundred.txt", project=project)

    records = owner.files.bulk_get([file_.id] * 100)

    assert len(records) == 100
    assert all(record.valid for record in records)


def test_bulk_calls_need_files(owner):
    for method in (
        owner.files.bulk_get,
        owner.files.bulk_delete,
        owner.files.bulk_update,
        owner.files.bulk_edit,
    ):
        with pytest.raises(SbgError):
            method([])


def test_bulk_update_takes_file_objects_only(owner):
    with pytest.raises(SbgError):
        owner.files.bulk_update([MISSING_ID])


def test_bulk_calls_respect_permissions(owner, project, api_for, new_username):
    file_ = put_file(owner, "theirs.txt", project=project)
    stranger = api_for(new_username("bulkstranger"))

    assert not stranger.files.bulk_get([file_.id])[0].valid
    assert not stranger.files.bulk_delete([file_.id])[0].valid
    assert owner.files.get(file_.id).name == "theirs.txt"


def test_search_counts_and_pages_with_a_token(owner, project):
    for index in range(3):
        put_file(owner, f"found{index}.txt", project=project)

    first = owner.files.search(query=f'IN "{project.id}"', limit=2)

    assert isinstance(first, SearchResponse)
    assert first.count == 3
    assert len(first.result_set) == 2
    assert first.cont_token
    rest = owner.files.search(query=f'IN "{project.id}"', cont_token=first.cont_token, limit=2)
    names = {row["name"] for row in first.result_set + rest.result_set}
    assert names == {"found0.txt", "found1.txt", "found2.txt"}


def test_search_refuses_empty_queries_and_bad_limits(owner):
    with pytest.raises(SbgError):
        owner.files.search(query="")
    with pytest.raises(SbgError):
        owner.files.search(query='IN "a/b"', limit=0)

"""Folders through ``api.files``: create (nested), list, copy and move files into folders, and
every folder rule surfaced as the right exception, against the live local platform."""

from __future__ import annotations

import pytest

from sevenbridges.errors import BadRequest, Conflict, NotFound, SbgError
from sevenbridges.meta.collection import Collection
from sevenbridges.models.file import File

from .test_files import names_of, new_project, put_file

MISSING_ID = "0" * 24


@pytest.fixture
def owner(api_for, new_username):
    return api_for(new_username("folders"))


@pytest.fixture
def project(owner):
    return new_project(owner, "folders")


def test_create_folder_at_the_project_root(owner, project):
    folder = owner.files.create_folder(name="inputs", project=project)

    assert isinstance(folder, File)
    assert folder.is_folder() is True
    assert folder.type == "folder"
    assert folder.name == "inputs"
    assert folder.project == project.id
    assert folder.parent == project.root_folder
    assert owner.files.get(folder.id).is_folder()
    assert names_of(owner.files.query(project=project)) == ["inputs"]


def test_nested_folders_and_listing(owner, project):
    top = owner.files.create_folder(name="top", project=project.id)
    middle = owner.files.create_folder(name="middle", parent=top)
    bottom = owner.files.create_folder(name="bottom", parent=middle.id)
    put_file(owner, "in middle.txt", parent=middle)

    assert bottom.parent == middle.id
    assert middle.parent == top.id
    listing = middle.list_files()
    assert isinstance(listing, Collection)
    assert names_of(listing) == ["bottom", "in middle.txt"]
    assert {f.name: f.is_folder() for f in listing} == {"bottom": True, "in middle.txt": False}
    assert names_of(top.list_files()) == ["middle"]
    assert len(bottom.list_files()) == 0
    assert names_of(owner.files.query(parent=middle)) == ["bottom", "in middle.txt"]
    assert names_of(owner.files.query(parent=middle.id, names=["bottom"])) == ["bottom"]


def test_list_files_paginates_with_offset_and_with_token(owner, project):
    folder = owner.files.create_folder(name="many", project=project)
    for index in range(5):
        put_file(owner, f"f{index}.txt", parent=folder)
    expected = [f"f{index}.txt" for index in range(5)]

    page = folder.list_files(limit=2)
    scrolled = folder.list_files(limit=2, cont_token="init")

    assert page.total == 5
    assert len(page) == 2
    assert names_of(page.next_page()) != names_of(page)
    assert names_of(page.all()) == expected
    assert len(scrolled) == 2
    assert names_of(scrolled.all()) == expected
    assert names_of(folder.list_files(offset=3, limit=10)) == expected[3:]


def test_list_files_is_only_for_folders(owner, project):
    file_ = put_file(owner, "plain.txt", project=project)

    with pytest.raises(SbgError):
        file_.list_files()


def test_list_files_refuses_offset_with_a_token(owner, project):
    folder = owner.files.create_folder(name="tok", project=project)

    with pytest.raises(SbgError):
        folder.list_files(offset=1, cont_token="init")


def test_create_folder_needs_exactly_one_place(owner, project):
    folder = owner.files.create_folder(name="somewhere", project=project)

    with pytest.raises(SbgError):
        owner.files.create_folder(name="nowhere")
    with pytest.raises(SbgError):
        owner.files.create_folder(name="twice", parent=folder, project=project)


def test_platform_refuses_folder_requests_without_or_with_both_places(owner, project):
    folder = owner.files.create_folder(name="raw", project=project)

    with pytest.raises(BadRequest) as neither:
        owner.post("/files", data={"name": "x", "type": "folder"})
    with pytest.raises(BadRequest) as both:
        owner.post(
            "/files",
            data={"name": "x", "type": "folder", "project": project.id, "parent": folder.id},
        )
    with pytest.raises(BadRequest) as wrong_type:
        owner.post("/files", data={"name": "x", "type": "file", "project": project.id})

    assert neither.value.code == 5029
    assert both.value.code == 5031
    assert wrong_type.value.code == 5012


def test_existing_folder_name_is_a_conflict(owner, project):
    owner.files.create_folder(name="dup", project=project)

    with pytest.raises(Conflict) as caught:
        owner.files.create_folder(name="dup", project=project)

    assert caught.value.code == 5030


@pytest.mark.parametrize("bad_name", ["a/b", "", "x" * 256])
def test_invalid_folder_names_are_refused(owner, project, bad_name):
    with pytest.raises(BadRequest) as caught:
        owner.files.create_folder(name=bad_name, project=project)

    assert caught.value.code == 5026


def test_a_file_cannot_be_a_parent(owner, project):
    file_ = put_file(owner, "not a folder.txt", project=project)

    with pytest.raises(BadRequest) as caught:
        owner.files.create_folder(name="child", parent=file_)

    assert caught.value.code == 5022


def test_unknown_parent_folder(owner):
    with pytest.raises(NotFound):
        owner.files.create_folder(name="orphan", parent=MISSING_ID)


def test_copy_to_folder(owner, project):
    folder = owner.files.create_folder(name="copies", project=project)
    source = put_file(owner, "source.txt", b"to copy", project=project)

    copied = source.copy_to_folder(parent=folder)
    renamed = source.copy_to_folder(parent=folder.id, name="renamed copy.txt")

    assert copied.id != source.id
    assert copied.parent == folder.id
    assert copied.name == "source.txt"
    assert renamed.name == "renamed copy.txt"
    assert b"".join(renamed.stream()) == b"to copy"
    assert names_of(folder.list_files()) == ["renamed copy.txt", "source.txt"]
    assert owner.files.get(source.id).parent == project.root_folder


def test_move_to_folder_keeps_the_id_and_can_rename(owner, project):
    folder = owner.files.create_folder(name="moved here", project=project)
    file_ = put_file(owner, "mover.txt", b"moving", project=project)

    moved = file_.move_to_folder(parent=folder, name="moved.txt")

    assert moved.id == file_.id
    assert moved.parent == folder.id
    assert moved.name == "moved.txt"
    assert names_of(folder.list_files()) == ["moved.txt"]
    assert names_of(owner.files.query(project=project)) == ["moved here"]
    assert b"".join(moved.stream()) == b"moving"


def test_move_into_an_occupied_name_is_a_conflict(owner, project):
    folder = owner.files.create_folder(name="occupied", project=project)
    put_file(owner, "same.txt", parent=folder)
    file_ = put_file(owner, "same.txt", project=project)

    with pytest.raises(Conflict):
        file_.move_to_folder(parent=folder)

    assert owner.files.get(file_.id).parent == project.root_folder


def test_move_across_projects_is_refused(owner, project):
    elsewhere = owner.files.create_folder(name="other", project=new_project(owner, "other"))
    file_ = put_file(owner, "stay.txt", project=project)

    with pytest.raises(BadRequest) as caught:
        file_.move_to_folder(parent=elsewhere)

    assert caught.value.code == 5015


def test_copy_or_move_to_a_missing_folder(owner, project):
    file_ = put_file(owner, "lost.txt", project=project)

    with pytest.raises(NotFound):
        file_.copy_to_folder(parent=MISSING_ID)
    with pytest.raises(NotFound):
        file_.move_to_folder(parent=MISSING_ID)


def test_copy_or_move_into_a_file_is_refused(owner, project):
    target = put_file(owner, "target.txt", project=project)
    file_ = put_file(owner, "into file.txt", project=project)

    with pytest.raises(BadRequest):
        file_.copy_to_folder(parent=target)
    with pytest.raises(BadRequest):
        file_.move_to_folder(parent=target)


def test_the_client_refuses_to_copy_or_move_folders_into_folders(owner, project):
    folder = owner.files.create_folder(name="f1", project=project)
    target = owner.files.create_folder(name="f2", project=project)

    with pytest.raises(SbgError):
        folder.copy_to_folder(parent=target)
    with pytest.raises(SbgError):
        folder.move_to_folder(parent=target)


def test_folders_cannot_be_copied_downloaded_or_edited(owner, project):
    folder = owner.files.create_folder(name="locked rules", project=project)

    with pytest.raises(BadRequest) as copy_error:
        folder.copy(project=new_project(owner, "folder copy"))
    with pytest.raises(BadRequest) as download_error:
        folder.download_info()
    folder.metadata["k"] = "v"
    with pytest.raises(BadRequest) as metadata_error:
        folder.save()
    folder.reload()
    folder.tags.append("t")
    with pytest.raises(BadRequest) as tags_error:
        folder.save()

    assert copy_error.value.code == 5018
    assert download_error.value.code == 5017
    assert metadata_error.value.code == 5024
    assert tags_error.value.code == 5025


def test_deleting_folders(owner, project):
    folder = owner.files.create_folder(name="full", project=project)
    child = put_file(owner, "child.txt", parent=folder)

    with pytest.raises(BadRequest) as caught:
        folder.delete()
    assert caught.value.code == 5021

    child.delete()
    folder.delete()
    with pytest.raises(NotFound):
        owner.files.get(folder.id)

"""``api.files``: query and paginate, get, save (name, metadata, tags), reload, copy, delete,
streaming and content, permissions and bad input, against the live local platform.

Files are created with :func:`put_file`, which speaks the multipart upload protocol with plain
HTTP calls, so these tests do not depend on the client's transfer engine.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
import requests

import sevenbridges as sbg
from sevenbridges.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LocalFileAlreadyExists,
    NotFound,
    ReadOnlyPropertyError,
    ResourceNotModified,
    SbgError,
    ValidationError,
)
from sevenbridges.meta.collection import Collection
from sevenbridges.models.compound.files.download_info import DownloadInfo
from sevenbridges.models.compound.files.file_origin import FileOrigin
from sevenbridges.models.compound.files.file_storage import FileStorage
from sevenbridges.models.compound.files.metadata import Metadata
from sevenbridges.models.file import File

READ_ONLY = {"read": True, "copy": False, "write": False, "execute": False, "admin": False}
READ_COPY = {"read": True, "copy": True, "write": False, "execute": False, "admin": False}
FIVE_MIB = 5 * 1024 * 1024

# ------------------------------------------------------------------------------ helpers


def _loopback_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never route through an environment proxy
    return session


def put_file(
    api: sbg.Api,
    name: str,
    data: bytes = b"hello\n",
    project: Any = None,
    parent: Any = None,
    overwrite: bool = False,
) -> File:
    """Create a file with the raw multipart protocol (init, part URLs, PUTs, reports, complete)."""
    body: dict[str, Any] = {"name": name, "size": len(data), "part_size": FIVE_MIB}
    if project is not None:
        body["project"] = project if isinstance(project, str) else project.id
    if parent is not None:
        body["parent"] = parent if isinstance(parent, str) else parent.id
    params = {"overwrite": True} if overwrite else None
    init = api.post("/upload/multipart", data=body, params=params).json()
    upload_id = init["upload_id"]
    part_size = init.get("part_size") or FIVE_MIB
    offsets = range(0, max(len(data), 1), part_size)
    with _loopback_session() as storage:
        for number, offset in enumerate(offsets, start=1):
            chunk = data[offset : offset + part_size]
            target = api.get(f"/upload/multipart/{upload_id}/part/{number}").json()
            stored = storage.put(target["url"], data=chunk, timeout=60)
            assert stored.status_code == 200, stored.text
            etag = stored.headers["ETag"].strip('"')
            assert etag == hashlib.md5(chunk).hexdigest()
            api.post(
                f"/upload/multipart/{upload_id}/part/",
                data={"part_number": number, "response": {"headers": {"ETag": etag}}},
            )
    created = api.post(f"/upload/multipart/{upload_id}/complete").json()
    return api.files.get(created["id"])


def new_project(api: sbg.Api, name: str = "files") -> sbg.Project:
    return api.projects.create(name=f"{name} {uuid.uuid4().hex[:8]}")


def names_of(files: Any) -> list[str]:
    return sorted(f.name for f in files)


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("fowner"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return new_project(owner)


# ------------------------------------------------------------------------------ get


def test_get_returns_every_field(owner, project, platform):
    created = put_file(owner, "reads 1.fastq", b"ACGT\n" * 10, project=project)

    file_ = owner.files.get(created.id)

    assert isinstance(file_, File)
    assert file_ == created
    assert file_.href == f"{platform.url}/files/{file_.id}"
    assert file_.type == "file"
    assert file_.is_folder() is False
    assert file_.name == "reads 1.fastq"
    assert file_.size == 50
    assert file_.project == project.id
    assert file_.parent == project.root_folder
    assert isinstance(file_.created_on, datetime)
    assert isinstance(file_.modified_on, datetime)
    assert isinstance(file_.origin, FileOrigin)
    assert file_.origin.task is None
    assert isinstance(file_.storage, FileStorage)
    assert file_.storage.type == "PLATFORM"
    assert isinstance(file_.metadata, Metadata)
    assert file_.metadata == {}
    assert file_.metadata["missing"] is None
    assert file_.tags == []
    assert file_.secondary_files is None
    assert str(file_) == repr(file_) == f"<File: id={file_.id}>"


def test_get_accepts_a_file_object_and_a_lazy_file_loads_on_access(owner, project):
    created = put_file(owner, "lazy.txt", project=project)

    assert owner.files.get(created).id == created.id
    lazy = File(id=created.id, api=owner)
    assert lazy.name == "lazy.txt"
    assert lazy.size == len(b"hello\n")


def test_get_unknown_file_is_not_found(owner):
    with pytest.raises(NotFound) as caught:
        owner.files.get("0" * 24)
    assert caught.value.status == 404
    assert caught.value.code == 5002


def test_get_without_id_is_refused(owner):
    with pytest.raises(SbgError):
        owner.files.get("")


# ------------------------------------------------------------------------------ query


def test_query_by_project_paginates(owner, project):
    for index in range(5):
        put_file(owner, f"page{index}.txt", project=project)

    first = owner.files.query(project=project, limit=2)

    assert isinstance(first, Collection)
    assert first.total == 5
    assert len(first) == 2
    assert all(isinstance(item, File) for item in first)
    second = first.next_page()
    assert len(second) == 2
    assert not {f.id for f in first} & {f.id for f in second}
    assert second.previous_page()[0].id == first[0].id
    assert names_of(first.all()) == [f"page{index}.txt" for index in range(5)]


def test_query_by_project_id_string_and_offset(owner, project):
    for index in range(3):
        put_file(owner, f"off{index}.txt", project=project)

    everything = owner.files.query(project=project.id, limit=100)
    skipped = owner.files.query(project=project.id, offset=1, limit=100)

    assert len(everything) == 3
    assert [f.id for f in skipped] == [f.id for f in everything][1:]


def test_query_by_names(owner, project):
    for name in ("a.txt", "b.txt", "c.txt"):
        put_file(owner, name, project=project)

    found = owner.files.query(project=project, names=["a.txt", "c.txt"])

    assert names_of(found) == ["a.txt", "c.txt"]
    assert found.total == 2
    assert len(owner.files.query(project=project, names=["nothing.txt"])) == 0


def test_query_by_metadata_and_tags(owner, project):
    tumor = put_file(owner, "tumor.bam", project=project)
    normal = put_file(owner, "normal.bam", project=project)
    put_file(owner, "other.bam", project=project)
    tumor.metadata["sample_type"] = "tumor"
    tumor.metadata["case"] = "c1"
    tumor.tags = ["wgs", "batch1"]
    tumor.save()
    normal.metadata["sample_type"] = "normal"
    normal.metadata["case"] = "c1"
    normal.tags = ["wgs"]
    normal.save()

    by_case = owner.files.query(project=project, metadata={"case": "c1"})
    by_both = owner.files.query(project=project, metadata={"case": "c1", "sample_type": "tumor"})
    by_tag = owner.files.query(project=project, tags=["batch1"])
    by_any_tag = owner.files.query(project=project, tags=["wgs", "batch1"])

    assert names_of(by_case) == ["normal.bam", "tumor.bam"]
    assert names_of(by_both) == ["tumor.bam"]
    assert names_of(by_tag) == ["tumor.bam"]
    assert names_of(by_any_tag) == ["normal.bam", "tumor.bam"]


def test_query_by_origin_task_matches_only_files_of_that_task(owner, project):
    put_file(owner, "uploaded.txt", project=project)

    produced = owner.files.query(project=project, origin={"task": str(uuid.uuid4())})

    assert len(produced) == 0
    assert produced.total == 0


def test_query_filters_combine_with_pagination(owner, project):
    for index in range(4):
        f = put_file(owner, f"m{index}.txt", project=project)
        f.metadata["group"] = "even" if index % 2 == 0 else "odd"
        f.save()

    page = owner.files.query(project=project, metadata={"group": "even"}, limit=1)

    assert page.total == 2
    assert len(page) == 1
    assert names_of(page.all()) == ["m0.txt", "m2.txt"]


def test_query_with_continuation_token(owner, project):
    for index in range(5):
        put_file(owner, f"scroll{index}.txt", project=project)

    page = owner.files.query(project=project, cont_token="init", limit=2)

    assert len(page) == 2
    assert page.total == 5
    assert names_of(page.all()) == [f"scroll{index}.txt" for index in range(5)]
    filtered = owner.files.query(project=project, names=["scroll3.txt"], cont_token="init")
    assert names_of(filtered) == ["scroll3.txt"]


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"project": "someone/p", "parent": "0" * 24},
        {"project": "someone/p", "dataset": "someone/d"},
        {"project": "someone/p", "cont_token": "init", "offset": 0},
        {"project": "someone/p", "cont_token": "init", "metadata": {"k": "v"}},
    ],
)
def test_query_refuses_bad_argument_combinations(owner, arguments):
    with pytest.raises(SbgError):
        owner.files.query(**arguments)


def test_query_of_a_project_without_access_is_refused(owner, api_for, new_username, project):
    stranger = api_for(new_username("stranger"))

    # The platform does not reveal that someone else's project exists.
    with pytest.raises(NotFound) as caught:
        stranger.files.query(project=project)
    assert caught.value.code == 3002


# ------------------------------------------------------------------------------ save


def test_rename_with_save(owner, project):
    file_ = put_file(owner, "old name.txt", project=project)

    file_.name = "new name ü.txt"
    result = file_.save()

    assert result is file_
    assert file_.name == "new name ü.txt"
    assert owner.files.get(file_.id).name == "new name ü.txt"
    with pytest.raises(ResourceNotModified):
        file_.save()


def test_save_without_changes(owner, project):
    file_ = put_file(owner, "same.txt", project=project)

    with pytest.raises(ResourceNotModified):
        file_.save()
    assert file_.save(silent=True) is file_


def test_metadata_item_assignment_patches_only_changed_keys(owner, project):
    file_ = put_file(owner, "meta.txt", project=project)
    file_.metadata = {"sample_id": "s1", "platform": "Illumina"}
    file_.save()
    # Someone else changes a key behind our back; a PATCH of other keys must not undo it.
    other_view = owner.files.get(file_.id)
    other_view.metadata["platform"] = "PacBio"
    other_view.save()

    file_.metadata["sample_id"] = "s2"
    file_.metadata["new_key"] = "x"
    file_.save()

    assert file_.metadata == {"sample_id": "s2", "platform": "PacBio", "new_key": "x"}
    assert owner.files.get(file_.id).metadata == file_.metadata


def test_metadata_update_and_delete_of_a_key(owner, project):
    file_ = put_file(owner, "meta2.txt", project=project)
    file_.metadata.update({"a": "1", "b": "2"}, c="3")
    file_.save()

    del file_.metadata["b"]
    file_.save()

    assert owner.files.get(file_.id).metadata == {"a": "1", "c": "3"}


def test_metadata_assignment_replaces_everything(owner, project):
    file_ = put_file(owner, "replace.txt", project=project)
    file_.metadata["keep_me_not"] = "1"
    file_.save()

    file_.metadata = {"only": "this"}
    file_.save()

    assert file_.metadata == {"only": "this"}
    assert owner.files.get(file_.id).metadata == {"only": "this"}


def test_metadata_cannot_be_none(owner, project):
    file_ = put_file(owner, "none.txt", project=project)

    with pytest.raises(ValidationError):
        file_.metadata = None


def test_reload_drops_unsaved_edits_and_the_pending_replace(owner, project):
    file_ = put_file(owner, "reload.txt", project=project)
    file_.metadata["kept"] = "yes"
    file_.save()

    file_.metadata = {"would_replace": "all"}
    file_.name = "not saved.txt"
    assert file_.reload() is file_

    assert file_.name == "reload.txt"
    assert file_.metadata == {"kept": "yes"}
    # After the reload an item change is a PATCH again, not a replace.
    file_.metadata["added"] = "later"
    file_.save()
    assert owner.files.get(file_.id).metadata == {"kept": "yes", "added": "later"}


def test_tags_append_in_place_is_saved(owner, project):
    file_ = put_file(owner, "tags.txt", project=project)

    file_.tags.append("first")
    file_.save()
    file_.tags.append("second")
    file_.save()

    assert file_.tags == ["first", "second"]
    assert owner.files.get(file_.id).tags == ["first", "second"]
    file_.tags = []
    file_.save()
    assert owner.files.get(file_.id).tags == []


def test_save_name_metadata_and_tags_together(owner, project):
    file_ = put_file(owner, "all.txt", project=project)

    file_.name = "all renamed.txt"
    file_.metadata["k"] = "v"
    file_.tags.append("t")
    file_.save()

    fresh = owner.files.get(file_.id)
    assert (fresh.name, fresh.metadata, fresh.tags) == ("all renamed.txt", {"k": "v"}, ["t"])
    assert (file_.name, file_.metadata, file_.tags) == ("all renamed.txt", {"k": "v"}, ["t"])


def test_save_not_in_place_returns_a_new_object(owner, project):
    file_ = put_file(owner, "inplace.txt", project=project)

    file_.name = "elsewhere.txt"
    saved = file_.save(inplace=False)

    assert saved is not file_
    assert saved.name == "elsewhere.txt"
    assert owner.files.get(file_.id).name == "elsewhere.txt"


def test_read_only_fields_cannot_be_assigned(owner, project):
    file_ = put_file(owner, "ro.txt", project=project)

    for field, value in (("size", 1), ("id", "x"), ("project", "a/b"), ("type", "folder")):
        with pytest.raises(ReadOnlyPropertyError):
            setattr(file_, field, value)


@pytest.mark.parametrize("bad_name", ["a/b.txt", "", "x" * 256])
def test_rename_to_an_invalid_name_is_refused(owner, project, bad_name):
    file_ = put_file(owner, "valid.txt", project=project)

    file_.name = bad_name
    with pytest.raises(BadRequest) as caught:
        file_.save()

    assert (caught.value.status, caught.value.code) == (400, 5026)
    assert owner.files.get(file_.id).name == "valid.txt"


def test_rename_to_an_existing_name_is_a_conflict(owner, project):
    put_file(owner, "taken.txt", project=project)
    file_ = put_file(owner, "free.txt", project=project)

    file_.name = "taken.txt"
    with pytest.raises(Conflict) as caught:
        file_.save()

    assert (caught.value.status, caught.value.code) == (409, 5003)
    assert owner.files.get(file_.id).name == "free.txt"


def test_upload_with_an_existing_name_is_a_conflict_unless_overwrite(owner, project):
    put_file(owner, "twice.txt", b"one", project=project)

    with pytest.raises(Conflict) as caught:
        put_file(owner, "twice.txt", b"two", project=project)
    assert caught.value.code == 8005
    replaced = put_file(owner, "twice.txt", b"three", project=project, overwrite=True)

    assert replaced.size == 5
    assert names_of(owner.files.query(project=project, names=["twice.txt"])) == ["twice.txt"]
    assert b"".join(replaced.stream()) == b"three"


# ------------------------------------------------------------------------------ copy, delete


def test_copy_to_another_project_keeps_content_metadata_and_tags(owner, project):
    source = put_file(owner, "copy me.txt", b"copied bytes", project=project)
    source.metadata["sample"] = "s1"
    source.tags = ["keep"]
    source.save()
    destination = new_project(owner, "copy target")

    copied = source.copy(project=destination)
    renamed = source.copy(project=destination.id, name="copy renamed.txt")

    assert isinstance(copied, File)
    assert copied.id != source.id
    assert copied.project == destination.id
    assert copied.name == "copy me.txt"
    assert copied.size == source.size
    assert copied.metadata == {"sample": "s1"}
    assert copied.tags == ["keep"]
    assert renamed.name == "copy renamed.txt"
    assert b"".join(renamed.stream()) == b"copied bytes"
    assert names_of(owner.files.query(project=destination)) == [
        "copy me.txt",
        "copy renamed.txt",
    ]


def test_copy_over_an_existing_name_is_a_conflict(owner, project):
    source = put_file(owner, "dup.txt", project=project)
    destination = new_project(owner, "dup target")
    put_file(owner, "dup.txt", project=destination)

    with pytest.raises(Conflict) as caught:
        source.copy(project=destination)
    assert caught.value.code == 5003


def test_delete_removes_the_file(owner, project):
    file_ = put_file(owner, "delete me.txt", project=project)

    assert file_.delete() is None

    with pytest.raises(NotFound):
        owner.files.get(file_.id)
    assert len(owner.files.query(project=project, names=["delete me.txt"])) == 0


def test_deleting_a_copy_keeps_the_original_readable(owner, project):
    source = put_file(owner, "shared blob.txt", b"shared", project=project)
    copied = source.copy(project=new_project(owner, "blob"))

    copied.delete()

    assert b"".join(source.stream()) == b"shared"


# ------------------------------------------------------------------------------ permissions


def test_read_only_member_can_read_but_not_change(owner, project, api_for, new_username):
    file_ = put_file(owner, "guarded.txt", b"guarded", project=project)
    reader_name = new_username("reader")
    reader = api_for(reader_name)
    project.add_member(reader_name, READ_ONLY)

    seen = reader.files.get(file_.id)
    assert seen.name == "guarded.txt"
    assert names_of(reader.files.query(project=project)) == ["guarded.txt"]

    seen.name = "hijacked.txt"
    with pytest.raises(Forbidden):
        seen.save()
    seen.reload()
    seen.metadata["x"] = "y"
    with pytest.raises(Forbidden):
        seen.save()
    seen.reload()
    seen.tags.append("x")
    with pytest.raises(Forbidden):
        seen.save()
    with pytest.raises(Forbidden):
        seen.delete()
    assert owner.files.get(file_.id).name == "guarded.txt"


def test_copy_and_download_need_the_copy_permission(
    owner, project, api_for, new_username, tmp_path, sandbox_home
):
    file_ = put_file(owner, "precious.txt", b"precious", project=project)
    reader_name, copier_name = new_username("nocopy"), new_username("copier")
    reader, copier = api_for(reader_name), api_for(copier_name)
    project.add_member(reader_name, READ_ONLY)
    project.add_member(copier_name, READ_COPY)

    seen = reader.files.get(file_.id)
    with pytest.raises(Forbidden) as refused:
        seen.copy(project=new_project(reader, "mine"))
    assert (refused.value.status, refused.value.code) == (403, 5014)
    # Taking the bytes out is a copy too: download_info, download, stream and content.
    for take_out in (
        seen.download_info,
        lambda: seen.download(str(tmp_path / "stolen.txt")),
        lambda: b"".join(seen.stream()),
        seen.content,
    ):
        with pytest.raises(Forbidden) as refused:
            take_out()
        assert (refused.value.status, refused.value.code) == (403, 5001)
        assert "'copy' permission" in refused.value.message
    assert not (tmp_path / "stolen.txt").exists()

    allowed = copier.files.get(file_.id)
    copied = allowed.copy(project=new_project(copier, "mine"))
    assert copied.name == "precious.txt"
    assert b"".join(allowed.stream()) == b"precious"
    allowed.download(str(tmp_path / "fetched.txt"))
    assert (tmp_path / "fetched.txt").read_bytes() == b"precious"


def test_strangers_cannot_see_or_copy_files(owner, project, api_for, new_username):
    file_ = put_file(owner, "private.txt", project=project)
    stranger = api_for(new_username("outsider"))

    # Files of projects one is not a member of look like files that do not exist.
    with pytest.raises(NotFound):
        stranger.files.get(file_.id)
    with pytest.raises(NotFound):
        File(id=file_.id, api=stranger).copy(project=new_project(stranger, "loot"))
    with pytest.raises(NotFound):
        File(id=file_.id, api=stranger).download_info()
    assert names_of(owner.files.query(project=project)) == ["private.txt"]


# ------------------------------------------------------------------------------ bytes


def test_download_info_gives_a_signed_url_usable_without_a_token(owner, project):
    file_ = put_file(owner, "signed.txt", b"signed content", project=project)

    info = file_.download_info()

    assert isinstance(info, DownloadInfo)
    assert info.url.startswith("http://127.0.0.1")
    # The signature must not leak through repr (it grants access until it expires).
    assert "?" not in repr(info) or repr(info).endswith("?…>")
    with _loopback_session() as plain:
        response = plain.get(info.url, timeout=30)
    assert response.content == b"signed content"


def test_stream_yields_the_bytes_in_chunks(owner, project):
    payload = bytes(range(256)) * 1000
    file_ = put_file(owner, "stream.bin", payload, project=project)

    chunks = list(file_.stream(part_size=4096))

    assert b"".join(chunks) == payload
    assert max(len(chunk) for chunk in chunks) <= 4096
    assert len(chunks) >= len(payload) // 4096


def test_stream_of_an_empty_file(owner, project):
    file_ = put_file(owner, "empty.txt", b"", project=project)

    assert file_.size == 0
    assert b"".join(file_.stream()) == b""


def test_download_refuses_an_existing_path_without_overwrite(owner, project, tmp_path):
    file_ = put_file(owner, "exists.txt", project=project)
    target = tmp_path / "exists.txt"
    target.write_text("mine")

    with pytest.raises(LocalFileAlreadyExists) as caught:
        file_.download(str(target))

    assert caught.value.message == str(target)
    assert target.read_text() == "mine"


def test_upload_needs_exactly_one_destination(owner, project, tmp_path):
    source = tmp_path / "up.txt"
    source.write_text("x")

    with pytest.raises(SbgError):
        owner.files.upload(str(source))
    with pytest.raises(SbgError):
        owner.files.upload(str(source), project=project, parent=project.root_folder)


# ------------------------------------------------------------------------------ transfers


@pytest.fixture
def sandbox_home(tmp_path, monkeypatch):
    """Transfer state (``~/.sevenbridges/transfers``) goes to a temporary home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_upload_then_download_the_same_bytes(owner, project, tmp_path, sandbox_home):
    payload = b"round trip \xe2\x9c\x93\n" * 1000
    source = tmp_path / "round trip ✓.txt"
    source.write_bytes(payload)

    upload = owner.files.upload(str(source), project=project)

    assert upload.status == sbg.TransferState.COMPLETED
    uploaded = upload.result()
    assert isinstance(uploaded, File)
    assert (uploaded.name, uploaded.size) == (source.name, len(payload))
    assert uploaded.project == project.id
    target = tmp_path / "back.txt"
    assert uploaded.download(str(target)) is None
    assert target.read_bytes() == payload
    assert b"".join(uploaded.stream()) == payload
    assert uploaded.content() == payload.decode("utf-8")


def test_upload_into_a_folder_under_another_name(owner, project, tmp_path, sandbox_home):
    folder = owner.files.create_folder(name="uploads", project=project)
    source = tmp_path / "local.txt"
    source.write_bytes(b"in a folder")

    upload = owner.files.upload(source, parent=folder, file_name="remote name.txt")

    assert upload.status == sbg.TransferState.COMPLETED
    assert upload.result().parent == folder.id
    assert names_of(folder.list_files()) == ["remote name.txt"]


def test_upload_without_waiting_returns_an_unstarted_handle(owner, project, tmp_path, sandbox_home):
    source = tmp_path / "later.txt"
    source.write_bytes(b"started by the caller")

    upload = owner.files.upload(str(source), project=project.id, wait=False)

    assert upload.status == sbg.TransferState.PREPARING
    assert upload.result() is None
    assert len(owner.files.query(project=project, names=["later.txt"])) == 0
    upload.start()
    upload.wait()
    assert upload.status == sbg.TransferState.COMPLETED
    assert b"".join(upload.result().stream()) == b"started by the caller"


def test_upload_over_an_existing_name_fails_unless_overwrite(
    owner, project, tmp_path, sandbox_home
):
    source = tmp_path / "existing.txt"
    source.write_bytes(b"first")
    owner.files.upload(str(source), project=project)
    source.write_bytes(b"second version")

    refused = owner.files.upload(str(source), project=project)
    replaced = owner.files.upload(str(source), project=project, overwrite=True)

    assert refused.status == sbg.TransferState.FAILED
    assert refused.result() is None
    assert isinstance(refused.error, Conflict)
    assert replaced.status == sbg.TransferState.COMPLETED
    [stored] = owner.files.query(project=project, names=["existing.txt"])
    assert b"".join(stored.stream()) == b"second version"


def test_download_without_waiting_and_with_overwrite(owner, project, tmp_path, sandbox_home):
    file_ = put_file(owner, "later download.txt", b"fresh bytes", project=project)
    target = tmp_path / "target.txt"
    target.write_bytes(b"stale")

    download = file_.download(str(target), wait=False, overwrite=True)

    assert download.status == sbg.TransferState.PREPARING
    assert target.read_bytes() == b"stale"
    download.start()
    download.wait()
    assert download.status == sbg.TransferState.COMPLETED
    assert target.read_bytes() == b"fresh bytes"


def test_content_saved_to_a_path(owner, project, tmp_path, sandbox_home):
    file_ = put_file(owner, "notes.txt", "Grüße\n".encode(), project=project)
    target = tmp_path / "notes.txt"

    assert file_.content(path=str(target)) == "Grüße\n"
    assert target.read_text(encoding="utf-8") == "Grüße\n"
    assert file_.content(path=str(target)) == "Grüße\n"  # overwrite defaults to True
    with pytest.raises(LocalFileAlreadyExists):
        file_.content(path=str(target), overwrite=False)
    assert "Gr" in file_.content(encoding="latin-1")


def test_download_of_a_folder_is_refused(owner, project, tmp_path, sandbox_home):
    folder = owner.files.create_folder(name="not downloadable", project=project)

    with pytest.raises(BadRequest):
        folder.download(str(tmp_path / "folder"))
    assert not (tmp_path / "folder").exists()


def test_expired_download_url_is_replaced(owner, project, platform_faults, tmp_path, sandbox_home):
    file_ = put_file(owner, "expiring.bin", b"\x00\x01" * 5000, project=project)
    platform_faults(signed_url_ttl=1)
    target = tmp_path / "expiring.bin"

    download = file_.download(str(target), wait=False)
    time.sleep(2.5)  # the URL handed to the download has expired now
    download.start()
    download.wait()

    assert download.status == sbg.TransferState.COMPLETED
    assert download.url_refreshes >= 1
    assert target.read_bytes() == b"\x00\x01" * 5000


def test_stream_notices_a_connection_cut_mid_body(owner, project, platform_faults):
    file_ = put_file(owner, "cut.bin", b"x" * 200_000, project=project)
    platform_faults(drop_transfers=1)

    with pytest.raises(SbgError):
        b"".join(file_.stream())
    assert b"".join(file_.stream()) == b"x" * 200_000

"""Files API on the live local platform: list and filters, get, update, metadata, tags, copy,
move, delete, permissions and name rules (rest-api.md §3.7)."""

from __future__ import annotations

import re
import uuid

import pytest
from files_support import (
    blob_key_of,
    blob_store_for,
    make_member,
    names_of,
    new_folder,
    seed_file,
    wait_for,
    work_settled,
)
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer

FILE_ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"files-{uuid.uuid4().hex[:8]}")


# --- shapes and listing --------------------------------------------------------------------------


def test_new_project_has_a_root_folder(alice: Caller, project: dict) -> None:
    root_id = project["root_folder"]
    assert FILE_ID.match(root_id)
    root = alice.get(f"/files/{root_id}").json()
    assert root["type"] == "folder"
    assert root["project"] == project["id"]
    assert "parent" not in root
    # Listing the project lists the root folder's contents: empty for a new project.
    listing = alice.get("/files", params={"project": project["id"]})
    assert listing.status_code == 200
    assert listing.json()["items"] == []
    assert listing.headers["X-Total-Matching-Query"] == "0"


def test_file_json_has_every_documented_key(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    task = str(uuid.uuid4())
    file_id = seed_file(
        platform,
        project=project["id"],
        name="NA12878.bam",
        content=b"x" * 1000,
        metadata={"sample_id": "NA12878"},
        tags=["wgs"],
        origin_task=task,
    )
    response = alice.get(f"/files/{file_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["href"] == f"{platform.url}/files/{file_id}"
    assert FILE_ID.match(body["id"]) and body["id"] == file_id
    assert body["name"] == "NA12878.bam"
    assert body["size"] == 1000
    assert body["type"] == "file"
    assert body["project"] == project["id"]
    assert body["parent"] == project["root_folder"]
    assert TIMESTAMP.match(body["created_on"]) and TIMESTAMP.match(body["modified_on"])
    assert body["origin"] == {"task": task}
    assert body["storage"] == {"type": "PLATFORM"}
    assert body["metadata"] == {"sample_id": "NA12878"}
    assert body["tags"] == ["wgs"]
    # a field selection keeps href and id
    short = alice.get(f"/files/{file_id}", params={"fields": "name,size"}).json()
    assert short == {"href": body["href"], "id": file_id, "name": "NA12878.bam", "size": 1000}
    listed = alice.get("/files", params={"project": project["id"], "fields": "name"}).json()
    assert listed["items"] == [{"href": body["href"], "id": file_id, "name": "NA12878.bam"}]


@pytest.mark.postgres
def test_list_paginates_with_links_and_total(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    for number in range(5):
        seed_file(platform, project=project["id"], name=f"f{number}.txt")
    first = alice.get("/files", params={"project": project["id"], "limit": 2, "fields": "_all"})
    assert first.status_code == 200
    assert first.headers["X-Total-Matching-Query"] == "5"
    body = first.json()
    assert names_of(body) == ["f0.txt", "f1.txt"]
    assert [link["rel"] for link in body["links"]] == ["next"]
    second = alice.get(body["links"][0]["href"]).json()
    assert names_of(second) == ["f2.txt", "f3.txt"]
    assert {link["rel"] for link in second["links"]} == {"next", "prev"}
    last = alice.get("/files", params={"project": project["id"], "offset": 4, "limit": 2})
    assert names_of(last.json()) == ["f4.txt"]
    assert [link["rel"] for link in last.json()["links"]] == ["prev"]
    # href repeats this very page with its filters
    again = alice.get(second["href"]).json()
    assert names_of(again) == ["f2.txt", "f3.txt"]


def test_list_by_parent_lists_only_that_folder(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    folder = new_folder(alice, "reads", project=project["id"])
    seed_file(platform, project=project["id"], name="top.txt")
    seed_file(platform, parent=folder["id"], name="inner.txt")
    by_project = alice.get("/files", params={"project": project["id"]}).json()
    assert sorted(names_of(by_project)) == ["reads", "top.txt"]
    by_parent = alice.get("/files", params={"parent": folder["id"]}).json()
    assert names_of(by_parent) == ["inner.txt"]
    assert by_parent["items"][0]["parent"] == folder["id"]


@pytest.mark.postgres
def test_filters_by_name_metadata_tag_and_origin(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    task = str(uuid.uuid4())
    pid = project["id"]
    seed_file(
        platform,
        project=pid,
        name="a.bam",
        metadata={"sample": "S1", "lane": 1},
        tags=["wgs", "tumor"],
    )
    seed_file(
        platform,
        project=pid,
        name="b.bam",
        metadata={"sample": "S2", "lane": 2},
        tags=["wgs"],
        origin_task=task,
    )
    seed_file(
        platform,
        project=pid,
        name="c.vcf",
        metadata={"sample": "S1", "lane": 2},
        tags=["normal"],
        origin_task=task,
    )

    def names(**params: object) -> list[str]:
        response = alice.get("/files", params={"project": pid, **params})
        assert response.status_code == 200, response.text
        total = int(response.headers["X-Total-Matching-Query"])
        assert total == len(response.json()["items"])
        return sorted(names_of(response.json()))

    assert names(name=["a.bam", "c.vcf", "missing"]) == ["a.bam", "c.vcf"]
    assert names(name="b.bam") == ["b.bam"]
    assert names(**{"metadata.sample": "S1"}) == ["a.bam", "c.vcf"]
    # two keys must both match; a number matches its text form
    assert names(**{"metadata.sample": "S1", "metadata.lane": "2"}) == ["c.vcf"]
    # several values of one key: any of them
    assert names(**{"metadata.sample": ["S1", "S2"]}) == ["a.bam", "b.bam", "c.vcf"]
    assert names(tag="wgs") == ["a.bam", "b.bam"]
    assert names(tag=["tumor", "normal"]) == ["a.bam", "c.vcf"]
    assert names(**{"origin.task": task}) == ["b.bam", "c.vcf"]
    assert names(**{"origin.task": task, "tag": "wgs", "metadata.lane": "2"}) == ["b.bam"]
    assert names(**{"metadata.sample": "nobody"}) == []
    # an empty name list (the client sends "name=") does not filter
    assert names(name="") == ["a.bam", "b.bam", "c.vcf"]


def test_listing_rules_and_codes(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    pid = project["id"]
    file_id = seed_file(platform, project=pid, name="plain.txt")
    assert_error(alice.get("/files"), 400, 5029)
    assert_error(alice.get("/files", params={"project": pid, "parent": file_id}), 400, 5031)
    assert_error(alice.get("/files", params={"dataset": "someone/data"}), 404, 12002)
    assert_error(alice.get("/files", params={"dataset": "no-slash"}), 404, 12002)
    assert_error(alice.get("/files", params={"dataset": "a/b", "project": pid}), 400, 5031)
    assert_error(alice.get("/files", params={"project": "no-slash"}), 400, 5005)
    assert_error(alice.get("/files", params={"parent": file_id}), 400, 5022)
    assert_error(alice.get("/files", params={"parent": "0" * 24}), 404, 5002)
    assert_error(alice.get("/files", params={"project": pid, "metadata.": "x"}), 400, 5035)
    # a non-member sees neither the project nor its folders
    assert_error(bob.get("/files", params={"project": pid}), 404, 3002)
    assert_error(bob.get("/files", params={"parent": project["root_folder"]}), 404, 5002)


def test_get_unknown_and_foreign_files(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="secret.txt")
    assert_error(alice.get("/files/" + "f" * 24), 404, 5002)
    assert_error(bob.get(f"/files/{file_id}"), 404, 5002)
    assert_error(bob.get(f"/files/{file_id}/metadata"), 404, 5002)


# --- changing a file ---------------------------------------------------------------------------


def test_patch_renames_and_put_replaces(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    file_id = seed_file(
        platform, project=project["id"], name="old.txt", metadata={"a": "1"}, tags=["t"]
    )
    renamed = alice.patch(f"/files/{file_id}", json={"name": "new name ü.txt"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "new name ü.txt"
    assert renamed.json()["metadata"] == {"a": "1"}  # untouched by PATCH
    assert alice.get(f"/files/{file_id}").json()["name"] == "new name ü.txt"

    replaced = alice.put(f"/files/{file_id}", json={"metadata": {"b": "2"}})
    assert replaced.status_code == 200
    assert replaced.json()["name"] == "new name ü.txt"
    assert replaced.json()["metadata"] == {"b": "2"}
    assert replaced.json()["tags"] == []  # PUT erases what it does not name

    patched = alice.patch(f"/files/{file_id}", json={"metadata": {"c": "3"}, "tags": ["x", "y"]})
    assert patched.json()["metadata"] == {"b": "2", "c": "3"}
    assert patched.json()["tags"] == ["x", "y"]


@pytest.mark.parametrize("bad_name", ["", "   ", "a/b", "/", ".", "..", "x" * 256, "tab\there"])
def test_invalid_names_are_refused(
    platform: EmbeddedServer, alice: Caller, project: dict, bad_name: str
) -> None:
    file_id = seed_file(platform, project=project["id"], name="keep.txt")
    assert_error(alice.patch(f"/files/{file_id}", json={"name": bad_name}), 400, 5026)
    assert_error(
        alice.post("/files", json={"name": bad_name, "type": "folder", "project": project["id"]}),
        400,
        5026,
    )
    assert alice.get(f"/files/{file_id}").json()["name"] == "keep.txt"


def test_longest_allowed_name_is_accepted(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="short.txt")
    response = alice.patch(f"/files/{file_id}", json={"name": "n" * 255})
    assert response.status_code == 200
    assert response.json()["name"] == "n" * 255


def test_rename_onto_an_existing_name_conflicts(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    first = seed_file(platform, project=project["id"], name="one.txt")
    seed_file(platform, project=project["id"], name="two.txt")
    new_folder(alice, "dir", project=project["id"])
    assert_error(alice.patch(f"/files/{first}", json={"name": "two.txt"}), 409, 5003)
    assert_error(alice.patch(f"/files/{first}", json={"name": "dir"}), 409, 5030)
    # renaming to its own name is a no-op, not a conflict
    assert alice.patch(f"/files/{first}", json={"name": "one.txt"}).status_code == 200


def test_metadata_endpoints(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    file_id = seed_file(
        platform, project=project["id"], name="m.txt", metadata={"a": "1"}, tags=["stay"]
    )
    assert alice.get(f"/files/{file_id}/metadata").json() == {"a": "1"}

    patched = alice.patch(f"/files/{file_id}/metadata", json={"b": 2, "flag": True})
    assert patched.status_code == 200
    assert patched.json() == {"a": "1", "b": 2, "flag": True}
    # null removes a key in a partial update
    assert alice.patch(f"/files/{file_id}/metadata", json={"a": None}).json() == {
        "b": 2,
        "flag": True,
    }
    replaced = alice.put(f"/files/{file_id}/metadata", json={"only": "this"})
    assert replaced.json() == {"only": "this"}
    assert alice.get(f"/files/{file_id}").json()["metadata"] == {"only": "this"}
    # replacing the metadata leaves the name and the tags alone
    assert alice.get(f"/files/{file_id}").json()["tags"] == ["stay"]
    assert alice.get(f"/files/{file_id}").json()["name"] == "m.txt"
    # typed values are found by their text form
    alice.patch(f"/files/{file_id}/metadata", json={"flag": True, "n": 7})
    found = alice.get(
        "/files", params={"project": project["id"], "metadata.flag": "true", "metadata.n": "7"}
    )
    assert names_of(found.json()) == ["m.txt"]


def test_metadata_rules(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    file_id = seed_file(platform, project=project["id"], name="m.txt")
    assert_error(alice.put(f"/files/{file_id}/metadata", json=["a"]), 400, 5006)
    assert_error(alice.patch(f"/files/{file_id}/metadata", json={"a": {"b": 1}}), 400, 5006)
    assert_error(alice.patch(f"/files/{file_id}/metadata", json={"a": [1]}), 400, 5006)
    assert_error(alice.patch(f"/files/{file_id}/metadata", json={"": "x"}), 400, 5035)
    assert_error(alice.patch(f"/files/{file_id}", json={"metadata": "text"}), 400, 5006)
    assert alice.get(f"/files/{file_id}/metadata").json() == {}


def test_tags_endpoint(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    file_id = seed_file(platform, project=project["id"], name="t.txt", tags=["old"])
    response = alice.put(f"/files/{file_id}/tags", json=["a", "b", "a"])
    assert response.status_code == 200
    assert response.json() == ["a", "b"]
    assert alice.get(f"/files/{file_id}").json()["tags"] == ["a", "b"]
    assert alice.get(f"/files/{file_id}/tags").json() == ["a", "b"]
    assert names_of(alice.get("/files", params={"project": project["id"], "tag": "b"}).json()) == [
        "t.txt"
    ]
    assert (
        alice.get("/files", params={"project": project["id"], "tag": "old"}).json()["items"] == []
    )
    assert_error(alice.put(f"/files/{file_id}/tags", json={"a": 1}), 400, 90000)
    assert_error(alice.put(f"/files/{file_id}/tags", json=[""]), 400, 90000)
    assert alice.put(f"/files/{file_id}/tags", json=[]).json() == []


def test_write_permission_is_needed_to_change(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="ro.txt")
    make_member(alice, project["id"], bob)  # read only
    assert bob.get(f"/files/{file_id}").status_code == 200
    assert_error(bob.patch(f"/files/{file_id}", json={"name": "x"}), 403, 5001)
    assert_error(bob.put(f"/files/{file_id}", json={"name": "x"}), 403, 5001)
    assert_error(bob.patch(f"/files/{file_id}/metadata", json={"a": "b"}), 403, 5001)
    assert_error(bob.put(f"/files/{file_id}/metadata", json={"a": "b"}), 403, 5001)
    assert_error(bob.put(f"/files/{file_id}/tags", json=["a"]), 403, 5001)
    assert_error(bob.delete(f"/files/{file_id}"), 403, 5001)
    assert_error(
        bob.post("/files", json={"name": "d", "type": "folder", "project": project["id"]}),
        403,
        5001,
    )
    assert alice.get(f"/files/{file_id}").json()["name"] == "ro.txt"


# --- copy ----------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_copy_to_another_project_keeps_content_metadata_and_tags(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    other = alice.create_project(f"copy-target-{uuid.uuid4().hex[:6]}")
    file_id = seed_file(
        platform, project=project["id"], name="src.txt", metadata={"k": "v"}, tags=["t"]
    )
    response = alice.post(f"/files/{file_id}/actions/copy", json={"project": other["id"]})
    assert response.status_code == 200, response.text
    copied = response.json()
    assert copied["id"] != file_id
    assert copied["project"] == other["id"]
    assert copied["parent"] == other["root_folder"]
    assert copied["name"] == "src.txt"
    assert copied["metadata"] == {"k": "v"} and copied["tags"] == ["t"]
    assert copied["size"] == len(b"hello\n")
    # content is shared, not duplicated: objects are immutable
    assert blob_key_of(platform, copied["id"]) == blob_key_of(platform, file_id)

    renamed = alice.post(
        f"/files/{file_id}/actions/copy", json={"project": other["id"], "name": "copy 2.txt"}
    )
    assert renamed.json()["name"] == "copy 2.txt"
    # the same name again conflicts
    assert_error(
        alice.post(f"/files/{file_id}/actions/copy", json={"project": other["id"]}), 409, 5003
    )


def test_copy_to_folder_and_copy_rules(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    folder = new_folder(alice, "into", project=project["id"])
    file_id = seed_file(platform, project=project["id"], name="c.txt")
    copied = alice.post(f"/files/{file_id}/actions/copy", json={"parent": folder["id"]})
    assert copied.status_code == 200
    assert copied.json()["parent"] == folder["id"]
    assert_error(alice.post(f"/files/{file_id}/actions/copy", json={}), 400, 5029)
    assert_error(
        alice.post(
            f"/files/{file_id}/actions/copy",
            json={"parent": folder["id"], "project": project["id"]},
        ),
        400,
        5031,
    )
    assert_error(
        alice.post(f"/files/{folder['id']}/actions/copy", json={"project": project["id"]}),
        400,
        5018,
    )
    assert_error(alice.post(f"/files/{file_id}/actions/copy", json={"parent": file_id}), 400, 5022)
    assert_error(alice.post(f"/files/{file_id}/actions/copy", json={"parent": "a" * 24}), 404, 5027)
    assert_error(
        alice.post(f"/files/{file_id}/actions/copy", json={"parent": folder["id"], "name": "a/b"}),
        400,
        5026,
    )


def test_copy_needs_copy_permission_on_source_and_write_on_destination(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="guarded.txt")
    bobs = bob.create_project(f"bobs-{uuid.uuid4().hex[:6]}")
    make_member(alice, project["id"], bob)  # read only: no copy
    assert_error(
        bob.post(f"/files/{file_id}/actions/copy", json={"project": bobs["id"]}), 403, 5014
    )
    # with copy permission it works
    bob_member = alice.patch(
        f"/projects/{project['id']}/members/{bob.username}/permissions", json={"copy": True}
    )
    assert bob_member.status_code in (200, 204)
    assert (
        bob.post(f"/files/{file_id}/actions/copy", json={"project": bobs["id"]}).status_code == 200
    )
    # alice may copy out but cannot write into bob's project (read-only member there)
    make_member(bob, bobs["id"], alice)
    assert_error(
        alice.post(
            f"/files/{file_id}/actions/copy", json={"project": bobs["id"], "name": "again.txt"}
        ),
        403,
        5001,
    )


# --- move ----------------------------------------------------------------------------------------


def test_move_to_folder_and_rename(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    folder = new_folder(alice, "dest", project=project["id"])
    file_id = seed_file(platform, project=project["id"], name="mv.txt")
    moved = alice.post(
        f"/files/{file_id}/actions/move", json={"parent": folder["id"], "name": "moved.txt"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == file_id
    assert moved.json()["parent"] == folder["id"]
    assert moved.json()["name"] == "moved.txt"
    assert names_of(alice.get(f"/files/{folder['id']}/list").json()) == ["moved.txt"]
    assert "mv.txt" not in names_of(alice.get("/files", params={"project": project["id"]}).json())
    # rename in place: no parent
    renamed = alice.post(f"/files/{file_id}/actions/move", json={"name": "final.txt"})
    assert renamed.json()["name"] == "final.txt" and renamed.json()["parent"] == folder["id"]
    # back to the root by project
    back = alice.post(f"/files/{file_id}/actions/move", json={"project": project["id"]})
    assert back.json()["parent"] == project["root_folder"]


@pytest.mark.postgres
def test_move_rules(platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict) -> None:
    other = alice.create_project(f"move-other-{uuid.uuid4().hex[:6]}")
    file_id = seed_file(platform, project=project["id"], name="m.txt")
    seed_file(platform, project=project["id"], name="taken.txt")
    outer = new_folder(alice, "outer", project=project["id"])
    inner = new_folder(alice, "inner", parent=outer["id"])
    assert_error(
        alice.post(f"/files/{file_id}/actions/move", json={"parent": other["root_folder"]}),
        400,
        5015,
    )
    assert_error(alice.post(f"/files/{file_id}/actions/move", json={"parent": file_id}), 400, 5022)
    assert_error(alice.post(f"/files/{file_id}/actions/move", json={"parent": "b" * 24}), 404, 5027)
    assert_error(
        alice.post(f"/files/{file_id}/actions/move", json={"name": "taken.txt"}), 409, 5003
    )
    assert_error(
        alice.post(f"/files/{outer['id']}/actions/move", json={"parent": inner["id"]}), 400, 5033
    )
    assert_error(
        alice.post(f"/files/{outer['id']}/actions/move", json={"parent": outer["id"]}), 400, 5033
    )
    assert_error(
        alice.post(f"/files/{project['root_folder']}/actions/move", json={"name": "x"}), 400, 5033
    )
    make_member(alice, project["id"], bob)
    assert_error(bob.post(f"/files/{file_id}/actions/move", json={"name": "x.txt"}), 403, 5032)
    # a folder moves with its contents
    seed_file(platform, parent=inner["id"], name="deep.txt")
    target = new_folder(alice, "target", project=project["id"])
    assert (
        alice.post(f"/files/{outer['id']}/actions/move", json={"parent": target["id"]}).status_code
        == 200
    )
    assert names_of(alice.get(f"/files/{inner['id']}/list").json()) == ["deep.txt"]
    assert alice.get(f"/files/{outer['id']}").json()["parent"] == target["id"]


# --- delete --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_delete_file_and_release_blob_with_last_reference(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    store = blob_store_for(platform)
    file_id = seed_file(platform, project=project["id"], name="d.txt", content=b"shared bytes")
    key = blob_key_of(platform, file_id)
    assert key and store.exists(key)
    copy_id = alice.post(
        f"/files/{file_id}/actions/copy", json={"project": project["id"], "name": "d2.txt"}
    ).json()["id"]

    assert alice.delete(f"/files/{file_id}").status_code == 204
    assert_error(alice.get(f"/files/{file_id}"), 404, 5002)
    # once the background clean-up has looked at the key, the copy's content is still there
    wait_for(lambda: work_settled(platform))
    assert store.exists(key)

    assert alice.delete(f"/files/{copy_id}").status_code == 204
    wait_for(lambda: not store.exists(key))
    assert_error(alice.delete(f"/files/{copy_id}"), 404, 5002)


def test_deleting_the_only_file_releases_its_blob(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    store = blob_store_for(platform)
    file_id = seed_file(platform, project=project["id"], name="gone.txt", content=b"bye")
    key = blob_key_of(platform, file_id)
    assert key is not None
    assert alice.delete(f"/files/{file_id}").status_code == 204
    wait_for(lambda: not store.exists(key))


def test_root_folder_cannot_be_deleted_or_renamed(alice: Caller, project: dict) -> None:
    root = project["root_folder"]
    assert_error(alice.delete(f"/files/{root}"), 400, 5033)
    assert_error(alice.patch(f"/files/{root}", json={"name": "x"}), 400, 5023)


def test_deleting_a_project_deletes_its_files_and_blobs(
    platform: EmbeddedServer, alice: Caller
) -> None:
    store = blob_store_for(platform)
    doomed = alice.create_project(f"doomed-{uuid.uuid4().hex[:6]}")
    folder = new_folder(alice, "sub", project=doomed["id"])
    top = seed_file(platform, project=doomed["id"], name="top.txt", content=b"top")
    deep = seed_file(platform, parent=folder["id"], name="deep.txt", content=b"deep")
    keys = [blob_key_of(platform, top), blob_key_of(platform, deep)]
    assert alice.delete(f"/projects/{doomed['id']}").status_code == 204
    assert_error(alice.get(f"/files/{top}"), 404, 5002)
    assert_error(alice.get(f"/files/{folder['id']}"), 404, 5002)
    wait_for(lambda: not any(store.exists(key) for key in keys if key))


def test_storage_breakdown_counts_file_sizes(platform: EmbeddedServer, alice: Caller) -> None:
    project = alice.create_project(f"metered-{uuid.uuid4().hex[:6]}")
    seed_file(platform, project=project["id"], name="big.bin", content=b"\0" * (1024 * 1024))
    group = project["billing_group"]
    response = alice.get(f"/billing/groups/{group}/breakdown/storage")
    assert response.status_code == 200, response.text
    rows = [row for row in response.json()["items"] if row["project_name"] == project["name"]]
    assert len(rows) == 1
    assert rows[0]["active"]["size"] == pytest.approx(1 / 1024, rel=1e-3)


def test_blank_file_id_is_refused(alice: Caller) -> None:
    assert_error(alice.get("/files/%20"), 400, 5004)
    items = alice.post("/bulk/files/get", json={"file_ids": ["", 5]}).json()["items"]
    assert [item["error"]["code"] for item in items] == [5004, 5004]

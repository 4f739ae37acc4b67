"""Folders on the live local platform: creation, nesting, contents (offset and token paging),
and every folder rule with its 50xx code (rest-api.md §1.9, §3.7)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from files_support import make_member, names_of, new_folder, seed_file
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"folders-{uuid.uuid4().hex[:8]}")


def test_create_nested_folders(alice: Caller, project: dict) -> None:
    top = new_folder(alice, "level 1", project=project["id"])
    assert top["type"] == "folder"
    assert top["parent"] == project["root_folder"]
    assert top["project"] == project["id"]
    assert "size" not in top
    middle = new_folder(alice, "level 2", parent=top["id"])
    bottom = new_folder(alice, "lévél 3", parent=middle["id"])
    assert middle["parent"] == top["id"] and bottom["parent"] == middle["id"]
    assert alice.get(f"/files/{bottom['id']}").json()["name"] == "lévél 3"
    assert names_of(alice.get(f"/files/{top['id']}/list").json()) == ["level 2"]
    assert names_of(alice.get("/files", params={"parent": middle["id"]}).json()) == ["lévél 3"]
    # the type is case-insensitive on input and always lower case on output
    upper = alice.post("/files", json={"name": "UP", "type": "FOLDER", "parent": top["id"]})
    assert upper.status_code == 201 and upper.json()["type"] == "folder"


def test_folder_creation_rules(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    pid = project["id"]
    folder = new_folder(alice, "exists", project=pid)
    file_id = seed_file(platform, project=pid, name="a-file")

    def create(**body: object):
        return alice.post("/files", json=body)

    assert_error(create(name="x", project=pid), 400, 5012)
    assert_error(create(name="x", type="file", project=pid), 400, 5012)
    assert_error(create(name="x", type="folder"), 400, 5029)
    assert_error(create(name="x", type="folder", project=pid, parent=folder["id"]), 400, 5031)
    assert_error(create(name="exists", type="folder", project=pid), 409, 5030)
    assert_error(create(name="a-file", type="folder", project=pid), 409, 5003)
    assert_error(create(name="x", type="folder", parent=file_id), 400, 5022)
    assert_error(create(name="x", type="folder", parent="c" * 24), 404, 5027)
    assert_error(create(name="x", type="folder", project="bad"), 400, 5005)
    assert_error(create(name="", type="folder", project=pid), 400, 5026)
    assert_error(create(type="folder", project=pid), 400, 5026)
    # the same name in another folder is fine
    assert create(name="exists", type="folder", parent=folder["id"]).status_code == 201


def test_folder_details_metadata_and_tags_cannot_change(alice: Caller, project: dict) -> None:
    folder = new_folder(alice, "fixed", project=project["id"])
    path = f"/files/{folder['id']}"
    assert_error(alice.patch(path, json={"name": "other"}), 400, 5023)
    assert_error(alice.patch(path, json={"metadata": {"a": "b"}}), 400, 5024)
    assert_error(alice.patch(f"{path}/metadata", json={"a": "b"}), 400, 5024)
    assert_error(alice.put(f"{path}/metadata", json={}), 400, 5024)
    assert_error(alice.put(f"{path}/tags", json=["t"]), 400, 5025)
    assert_error(alice.patch(path, json={"tags": ["t"]}), 400, 5025)
    # a request that changes nothing is harmless
    assert alice.patch(path, json={"name": "fixed"}).status_code == 200
    assert alice.get(path).json()["name"] == "fixed"


def test_only_empty_folders_can_be_deleted(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    outer = new_folder(alice, "outer", project=project["id"])
    inner = new_folder(alice, "inner", parent=outer["id"])
    assert_error(alice.delete(f"/files/{outer['id']}"), 400, 5021)
    file_id = seed_file(platform, parent=inner["id"], name="keep.txt")
    assert_error(alice.delete(f"/files/{inner['id']}"), 400, 5021)
    assert alice.delete(f"/files/{file_id}").status_code == 204
    assert alice.delete(f"/files/{inner['id']}").status_code == 204
    assert alice.delete(f"/files/{outer['id']}").status_code == 204
    assert_error(alice.get(f"/files/{outer['id']}"), 404, 5002)


def test_listing_a_file_as_a_folder_is_refused(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="not-a-folder.txt")
    assert_error(alice.get(f"/files/{file_id}/list"), 400, 5022)
    assert_error(alice.get(f"/files/{file_id}/scroll"), 400, 5022)
    assert_error(alice.get("/files/" + "d" * 24 + "/list"), 404, 5002)


def test_folder_list_pages(platform: EmbeddedServer, alice: Caller, project: dict) -> None:
    folder = new_folder(alice, "many", project=project["id"])
    expected = [f"item-{number:02d}" for number in range(7)]
    for name in expected:
        seed_file(platform, parent=folder["id"], name=name)
    first = alice.get(f"/files/{folder['id']}/list", params={"limit": 3, "fields": "_all"})
    assert first.headers["X-Total-Matching-Query"] == "7"
    seen = names_of(first.json())
    page = first.json()
    while any(link["rel"] == "next" for link in page["links"]):
        next_href = next(link["href"] for link in page["links"] if link["rel"] == "next")
        page = alice.get(next_href).json()
        seen += names_of(page)
    assert seen == expected


def test_scroll_with_continuation_tokens(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    folder = new_folder(alice, "scrolled", project=project["id"])
    expected = sorted(f"s{number}" for number in range(11))
    for name in expected:
        seed_file(platform, parent=folder["id"], name=name, tags=["keep"] if name != "s3" else [])

    def walk(path: str, **params: object) -> list[str]:
        response = alice.get(path, params={"token": "init", "limit": 4, **params})
        assert response.status_code == 200, response.text
        total = int(response.headers["X-Total-Matching-Query"])
        names = names_of(response.json())
        page = response.json()
        assert alice.get(page["href"]).json()["items"] == page["items"]  # href repeats the page
        while page["links"]:
            [link] = page["links"]
            assert link["rel"] == "next" and "token=" in link["href"]
            follow = alice.get(link["href"])
            assert follow.headers["X-Total-Matching-Query"] == str(total)
            page = follow.json()
            names += names_of(page)
        assert len(names) == total
        return names

    assert walk(f"/files/{folder['id']}/scroll") == expected
    assert walk("/files/scroll", parent=folder["id"]) == expected
    assert walk("/files/scroll", parent=folder["id"], tag="keep") == [
        name for name in expected if name != "s3"
    ]
    assert_error(
        alice.get("/files/scroll", params={"parent": folder["id"], "token": "!!"}), 400, 5033
    )
    assert_error(alice.get("/files/scroll", params={"token": "init"}), 400, 5029)


def test_folders_need_read_to_list_and_write_to_create(
    alice: Caller, bob: Caller, carol: Caller, project: dict
) -> None:
    folder = new_folder(alice, "shared", project=project["id"])
    make_member(alice, project["id"], bob)
    assert bob.get(f"/files/{folder['id']}/list").status_code == 200
    assert_error(
        bob.post("/files", json={"name": "b", "type": "folder", "parent": folder["id"]}), 403, 5001
    )
    assert_error(bob.delete(f"/files/{folder['id']}"), 403, 5001)
    assert_error(carol.get(f"/files/{folder['id']}/list"), 404, 5002)
    assert_error(
        carol.post("/files", json={"name": "c", "type": "folder", "parent": folder["id"]}),
        404,
        5027,
    )


def test_concurrent_creation_of_one_name_gives_one_folder(alice: Caller, project: dict) -> None:
    body = {"name": "race", "type": "folder", "project": project["id"]}
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: alice.post("/files", json=body), range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 11, [response.text for response in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == 5030
    listing = alice.get("/files", params={"project": project["id"], "name": "race"})
    assert listing.headers["X-Total-Matching-Query"] == "1"


def test_folders_have_no_download(alice: Caller, project: dict) -> None:
    folder = new_folder(alice, "no-bytes", project=project["id"])
    assert_error(alice.get(f"/files/{folder['id']}/download_info"), 400, 5017)

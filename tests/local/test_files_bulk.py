"""Bulk file operations on the live local platform: ``/bulk/files/get|delete|update|edit``."""

from __future__ import annotations

import uuid

import pytest
from files_support import make_member, new_folder, seed_file
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"bulk-{uuid.uuid4().hex[:8]}")


def _error_code(item: dict) -> int:
    assert set(item) == {"error"}, item
    assert set(item["error"]) == {"status", "code", "message", "more_info"}
    return item["error"]["code"]


def test_bulk_get_answers_in_request_order(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    first = seed_file(platform, project=project["id"], name="1.txt")
    second = seed_file(platform, project=project["id"], name="2.txt")
    foreign = bob.create_project(f"bobs-{uuid.uuid4().hex[:6]}")
    hidden = seed_file(platform, project=foreign["id"], name="hidden.txt")
    response = alice.post("/bulk/files/get", json={"file_ids": [second, "e" * 24, first, hidden]})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item.get("resource", {}).get("name") for item in items] == [
        "2.txt",
        None,
        "1.txt",
        None,
    ]
    assert items[0]["resource"]["href"].endswith(f"/files/{second}")
    assert _error_code(items[1]) == 5002
    assert _error_code(items[3]) == 5002  # not a member: indistinguishable from missing


def test_bulk_limits_and_shapes(alice: Caller) -> None:
    assert_error(alice.post("/bulk/files/get", json={"file_ids": ["a" * 24] * 101}), 400, 90000)
    assert_error(alice.post("/bulk/files/delete", json={"file_ids": "nope"}), 400, 90000)
    assert_error(alice.post("/bulk/files/update", json={"items": [{}] * 101}), 400, 90000)
    assert_error(alice.post("/bulk/files/edit", json={}), 400, 90000)
    assert alice.post("/bulk/files/get", json={"file_ids": []}).json() == {"items": []}
    # exactly 100 is allowed
    full = alice.post("/bulk/files/get", json={"file_ids": ["a" * 24] * 100})
    assert full.status_code == 200 and len(full.json()["items"]) == 100


def test_bulk_delete(platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict) -> None:
    doomed = seed_file(platform, project=project["id"], name="doomed.txt")
    folder = new_folder(alice, "full", project=project["id"])
    seed_file(platform, parent=folder["id"], name="inside.txt")
    protected = seed_file(platform, project=project["id"], name="protected.txt")
    response = alice.post("/bulk/files/delete", json={"file_ids": [doomed, folder["id"]]})
    items = response.json()["items"]
    assert items[0]["resource"]["id"] == doomed
    assert _error_code(items[1]) == 5021
    assert_error(alice.get(f"/files/{doomed}"), 404, 5002)
    assert alice.get(f"/files/{folder['id']}").status_code == 200
    make_member(alice, project["id"], bob)
    denied = bob.post("/bulk/files/delete", json={"file_ids": [protected]}).json()["items"]
    assert _error_code(denied[0]) == 5001
    assert alice.get(f"/files/{protected}").status_code == 200


def test_bulk_update_replaces_and_bulk_edit_merges(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    one = seed_file(
        platform, project=project["id"], name="one.txt", metadata={"a": "1"}, tags=["t1"]
    )
    two = seed_file(
        platform, project=project["id"], name="two.txt", metadata={"a": "1"}, tags=["t2"]
    )
    updated = alice.post(
        "/bulk/files/update",
        json={"items": [{"id": one, "metadata": {"b": "2"}}, {"id": two, "name": "deux.txt"}]},
    ).json()["items"]
    assert updated[0]["resource"]["metadata"] == {"b": "2"}
    assert updated[0]["resource"]["tags"] == []  # omitted: erased
    assert updated[0]["resource"]["name"] == "one.txt"
    assert updated[1]["resource"]["name"] == "deux.txt"
    assert updated[1]["resource"]["metadata"] == {} and updated[1]["resource"]["tags"] == []

    seed_file(platform, project=project["id"], name="taken.txt")
    edited = alice.post(
        "/bulk/files/edit",
        json={
            "items": [
                {"id": one, "metadata": {"c": "3"}, "tags": ["new"]},
                {"id": two, "name": "taken.txt"},
                {"id": "9" * 24, "name": "x"},
                {"id": one, "name": "bad/name"},
            ]
        },
    ).json()["items"]
    assert edited[0]["resource"]["metadata"] == {"b": "2", "c": "3"}
    assert edited[0]["resource"]["tags"] == ["new"]
    assert _error_code(edited[1]) == 5003
    assert _error_code(edited[2]) == 5002
    assert _error_code(edited[3]) == 5026
    # failed items changed nothing
    assert alice.get(f"/files/{two}").json()["name"] == "deux.txt"
    assert alice.get(f"/files/{one}").json()["name"] == "one.txt"

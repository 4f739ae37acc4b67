"""Size limits of request bodies (docs/internals.md, "Limits") and the codes of invalid values."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from files_support import seed_file
from local_helpers import Caller, assert_error
from test_tasks_support import PUBLIC_LINE_COUNT, created, file_ref

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.limits import MAX_FILTER_VALUES


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project(f"limits-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def text_file(platform: EmbeddedServer, project: dict[str, Any]) -> str:
    return seed_file(
        platform, project=project["id"], name="data.txt", metadata={"a": "1"}, tags=["keep"]
    )


def _names(body: dict[str, Any], field: str) -> None:
    """The message names the offending field (``field`` is the start of its path)."""
    assert f"'{field}" in body["message"], body


def test_file_tag_limits(alice: Caller, text_file: str) -> None:
    tags = f"/files/{text_file}/tags"
    assert alice.put(tags, json=[f"t{n}" for n in range(100)]).status_code == 200
    _names(assert_error(alice.put(tags, json=[f"t{n}" for n in range(101)]), 400, 90000), "tags")
    _names(assert_error(alice.put(tags, json=["x" * 256]), 400, 90000), "tags")
    assert alice.put(tags, json=["x" * 255]).json() == ["x" * 255]
    too_many = {"tags": [f"t{n}" for n in range(101)]}
    _names(assert_error(alice.patch(f"/files/{text_file}", json=too_many), 400, 90000), "tags")
    assert alice.get(tags).json() == ["x" * 255]


def test_metadata_limits(alice: Caller, text_file: str) -> None:
    path = f"/files/{text_file}/metadata"
    full = {f"k{n}": "v" for n in range(200)}
    assert alice.put(path, json=full).json() == full
    body = assert_error(alice.put(path, json={**full, "one more": "v"}), 400, 5006)
    _names(body, "metadata")
    # A partial update may not push the stored total over the limit either.
    body = assert_error(alice.patch(path, json={"extra": "v"}), 400, 5006)
    assert "200" in body["message"]
    assert alice.patch(path, json={"k0": None, "extra": "v"}).status_code == 200  # one out, one in
    assert_error(alice.patch(path, json={"k" * 256: "v"}), 400, 5006)
    assert_error(alice.patch(path, json={"long": "v" * 1001}), 400, 5006)
    assert_error(alice.patch(path, json={"nested": {"a": 1}}), 400, 5006)
    assert_error(alice.put(path, json=["not", "an", "object"]), 400, 5006)
    assert len(alice.get(path).json()) == 200


def test_project_limits(alice: Caller, project: dict[str, Any]) -> None:
    path = f"/projects/{project['id']}"
    for body, field in (
        ({"tags": [f"t{n}" for n in range(101)]}, "tags"),
        ({"tags": ["x" * 256]}, "tags"),
        ({"description": "d" * 100_001}, "description"),
        ({"settings": {f"s{n}": True for n in range(101)}}, "settings"),
    ):
        _names(assert_error(alice.patch(path, json=body), 400, 90000), field)
    changed = alice.patch(path, json={"tags": ["t"] * 100, "description": "d" * 100_000})
    assert changed.status_code == 200, changed.text


def test_list_limits(alice: Caller, project: dict[str, Any], text_file: str) -> None:
    assert_error(
        alice.post("/async/files/copy", json={"items": [{"file": text_file}] * 1001}), 400, 90000
    )
    upload = alice.post(
        "/upload/multipart", json={"name": "u.bin", "size": 1, "project": project["id"]}
    ).json()
    parts = [{"part_number": 1, "etag": "0" * 32}] * 10_001
    complete = f"/upload/multipart/{upload['upload_id']}/complete"
    assert_error(alice.post(complete, json={"parts": parts}), 400, 8015)
    draft = created(
        alice,
        name="inputs",
        project=project["id"],
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": file_ref(text_file)},
    )
    many = {f"i{n}": n for n in range(1001)}
    body = assert_error(alice.patch(f"/tasks/{draft['id']}", json={"inputs": many}), 400, 90000)
    _names(body, "inputs")
    member = {"username": "u" * 256}
    body = assert_error(alice.post(f"/projects/{project['id']}/members", json=member), 400, 90000)
    _names(body, "username")


def test_repeated_query_filters_are_bounded(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    """Found by the schemathesis run: 1,100 ``tags`` made one SQL expression too deep for
    SQLite (a 500); every repeated filter now takes at most 100 values."""
    pid = project["id"]
    owner = pid.split("/")[0]
    many = [f"v{n}" for n in range(MAX_FILTER_VALUES + 1)]
    fits = many[:MAX_FILTER_VALUES]
    repeated_filters = [
        ("/projects", "tags", {}),
        (f"/projects/{owner}", "tags", {}),
        ("/files", "name", {"project": pid}),
        ("/files", "tag", {"project": pid}),
        ("/files/scroll", "tag", {"project": pid}),
        ("/apps", "q", {}),
        ("/apps", "id", {}),
    ]
    for path, name, params in repeated_filters:
        values = [f"{owner}/p/{value}" for value in fits] if name == "id" else fits
        assert alice.get(path, params={**params, name: values}).status_code == 200, path
        refused = assert_error(alice.get(path, params={**params, name: many}), 400, 90000)
        _names(refused, name)
    # metadata.<key> and origin.<key> filters count together.
    listing = {"project": pid, "metadata.a": "1"}
    found = alice.get("/files", params={**listing, **{f"origin.k{n}": "x" for n in range(99)}})
    assert found.status_code == 200, found.text
    pairs = [("project", pid)] + [(f"metadata.k{n}", "v") for n in range(1_100)]
    message = assert_error(alice.get("/files", params=pairs), 400, 90000)["message"]
    assert f"at most {MAX_FILTER_VALUES}" in message
    assert_error(alice.get("/files/scroll", params=pairs), 400, 90000)
    # The document says so.
    document = alice.get(alice.url.removesuffix("/v2") + "/openapi.json").json()
    tags = document["paths"]["/v2/projects"]["get"]["parameters"]
    schema = next(item for item in tags if item["name"] == "tags")["schema"]
    assert {"type": "array", "items": {"type": "string"}, "maxItems": 100} in schema["anyOf"]


def test_invalid_json_types_get_their_resource_codes(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    pid = project["id"]
    task = {"name": "t", "project": pid, "app": PUBLIC_LINE_COUNT, "inputs": {}}
    upload = alice.post("/upload/multipart", json={"name": "c.bin", "size": 1, "project": pid})
    upload_id = upload.json()["upload_id"]
    for method, path, body, code, field in (
        ("PATCH", f"/files/{text_file}", {"name": 5}, 5026, "name"),
        ("PATCH", f"/files/{text_file}", {"metadata": "x"}, 5006, "metadata"),
        ("POST", "/files", {"name": "f", "type": 7, "project": pid}, 5012, "type"),
        ("POST", f"/files/{text_file}/actions/copy", {"project": pid, "name": []}, 5026, "name"),
        ("POST", "/files/search", {"query": 5}, 5033, "query"),
        ("POST", "/async/files/delete", {"items": [{"file": 5}]}, 5004, "items[0].file"),
        ("POST", "/tasks", {**task, "app": 5}, 7016, "app"),
        (
            "POST",
            "/tasks",
            {**task, "batch_input": 5, "batch_by": {"type": "item"}},
            7018,
            "batch_input",
        ),
        ("POST", "/tasks", {**task, "batch_input": "f", "batch_by": "item"}, 7020, "batch_by"),
        (
            "POST",
            "/tasks",
            {**task, "batch_input": "f", "batch_by": {"criteria": "x"}},
            7019,
            "batch_by.criteria",
        ),
        ("POST", "/upload/multipart", {"name": "x", "size": "1"}, 8013, "size"),
        ("POST", f"/upload/multipart/{upload_id}/part", {"part_number": 1.5}, 8014, "part_number"),
        ("POST", f"/upload/multipart/{upload_id}/complete", {"parts": "x"}, 8015, "parts"),
        ("POST", "/projects", {"name": "p", "billing_group": 5}, 90000, "billing_group"),
    ):
        response = alice.request(method, path, json=body)
        _names(assert_error(response, 400, code), field)
    assert_error(alice.post("/bulk/files/get", json=None), 400, 90000)  # a body is required
    assert_error(alice.post("/upload/multipart"), 400, 8013)  # nothing to start from


def test_refusals_are_quick_and_other_writers_go_on(
    platform: EmbeddedServer, alice: Caller, bob: Caller, text_file: str
) -> None:
    """Huge tag lists and metadata objects are refused before any database work, so they never
    hold the write lock that other projects' writers need."""
    file_ids = [text_file] * 100
    hostile: list[tuple[Callable[..., requests.Response], str, Any]] = [
        (alice.put, f"/files/{text_file}/tags", [f"t{n}" for n in range(100_000)]),
        (alice.put, f"/files/{text_file}/metadata", {f"k{n}": "v" for n in range(100_000)}),
        (
            alice.post,
            "/bulk/files/update",
            {"items": [{"id": i, "tags": [f"t{n}" for n in range(1000)]} for i in file_ids]},
        ),
    ]
    outcomes: dict[int, Any] = {}

    def attack(index: int) -> None:
        send, path, body = hostile[index]
        try:
            outcomes[index] = send(path, json=body).status_code
        except requests.RequestException as exc:  # a timeout is a failure too
            outcomes[index] = exc

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(len(hostile))]
    for thread in threads:
        thread.start()
    # Meanwhile another user writes in another project.
    elsewhere = bob.create_project(f"elsewhere-{uuid.uuid4().hex[:6]}")
    renamed = bob.patch(f"/projects/{elsewhere['id']}", json={"description": "still writable"})
    for thread in threads:
        thread.join(timeout=120)
    assert renamed.status_code == 200, renamed.text
    assert outcomes == {0: 400, 1: 400, 2: 400}
    assert alice.get(f"/files/{text_file}/tags").json() == ["keep"]
    assert alice.get(f"/files/{text_file}/metadata").json() == {"a": "1"}

"""The request boundary on the live platform: strict JSON, nesting, body size, paging bounds and
the OpenAPI document (issue 7)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from files_support import seed_file
from local_helpers import Caller, assert_error
from test_tasks_support import PUBLIC_LINE_COUNT, created, file_ref

from sevenbridges_local.embedded import EmbeddedServer

JSON = {"Content-Type": "application/json"}
# Not JSON numbers (Python's json module would accept them) and a number no float can hold.
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")
MIB = 1024 * 1024


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project(f"boundary-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def text_file(platform: EmbeddedServer, project: dict[str, Any]) -> str:
    return seed_file(platform, project=project["id"], name="notes.txt", content=b"a\nb\n")


RAW = "<raw>"


def raw(body: Any, token: str) -> str:
    """``body`` as JSON text with ``token`` written verbatim where the string RAW stands:
    JSON the client libraries would never produce (NaN, huge numbers, deep nesting)."""
    return json.dumps(body).replace(json.dumps(RAW), token)


def _send(caller: Caller, method: str, path: str, text: str) -> requests.Response:
    return caller.request(method, path, data=text.encode(), headers=JSON)


def _refused(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert_error(response, 400, response.json()["code"])
    assert response.json()["code"] in (90000, 90009)


def test_non_finite_numbers_are_refused_everywhere_and_never_stored(
    alice: Caller, bob: Caller, project: dict[str, Any], text_file: str
) -> None:
    pid = project["id"]
    alice.post(f"/projects/{pid}/members", json={"username": bob.username})
    draft = created(
        alice,
        name="draft",
        project=pid,
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": file_ref(text_file)},
    )
    task = {"name": "t", "project": pid, "app": PUBLIC_LINE_COUNT, "inputs": {"input_file": RAW}}
    permissions = f"/projects/{pid}/members/{bob.username}/permissions"
    upload = {"name": "a", "size": RAW, "project": pid}
    for number in NON_FINITE:
        cases = [
            ("POST", "/projects", {"name": "n", "settings": {"location": RAW}}),
            ("PATCH", f"/projects/{pid}", {"settings": {"retention": RAW}}),
            ("PUT", f"/projects/{pid}", {"name": "n", "settings": {"x": [RAW]}}),
            ("PATCH", f"/files/{text_file}/metadata", {"score": RAW}),
            ("PUT", f"/files/{text_file}/metadata", {"score": RAW}),
            ("PATCH", f"/files/{text_file}", {"metadata": {"score": RAW}}),
            ("POST", "/bulk/files/edit", {"items": [{"id": text_file, "metadata": {"s": RAW}}]}),
            ("POST", "/tasks", task),
            ("PATCH", f"/tasks/{draft['id']}", {"inputs": {"input_file": RAW}}),
            ("PATCH", permissions, {"write": RAW}),
            ("POST", "/upload/multipart", upload),
        ]
        for method, path, body in cases:
            _refused(_send(alice, method, path, raw(body, number)))
    # Nothing was stored, so every listing and resource still renders.
    assert alice.get("/projects").status_code == 200
    assert alice.get("/files", params={"project": pid}).status_code == 200
    assert alice.get("/tasks", params={"project": pid}).status_code == 200
    assert alice.get(f"/projects/{pid}").json()["settings"] == project["settings"]
    assert alice.get(f"/files/{text_file}/metadata").json() == {}
    assert alice.get(f"/tasks/{draft['id']}").json()["inputs"] == draft["inputs"]
    member = alice.get(f"/projects/{pid}/members/{bob.username}").json()
    assert member["permissions"]["write"] is False


def test_integers_must_fit_in_64_bits(alice: Caller, project: dict[str, Any]) -> None:
    pid = project["id"]
    path = f"/projects/{pid}"
    for number in (str(2**63), str(-(2**63) - 1), "1" + "0" * 5000):
        text = raw({"settings": {"n": RAW}}, number)
        body = assert_error(_send(alice, "PATCH", path, text), 400, 90000)
        assert "64 bits" in body["message"]
    # The extremes themselves are fine.
    changed = alice.patch(path, json={"settings": {"big": 2**63 - 1, "small": -(2**63)}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["big"] == 2**63 - 1


def test_deep_nesting_is_refused_without_a_server_error(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    pid = project["id"]
    deep = "[" * 100_000 + "]" * 100_000
    objects = '{"a": ' * 50_000 + "1" + "}" * 50_000
    for method, path, text in (
        ("POST", "/projects", deep),
        ("POST", "/projects", raw({"name": "x", "settings": {"x": RAW}}, deep)),
        ("PUT", f"/files/{text_file}/tags", deep),
        ("PATCH", f"/files/{text_file}/metadata", raw({"a": RAW}, objects)),
        ("POST", "/tasks", raw({"project": pid, "inputs": {"x": RAW}}, deep)),
    ):
        body = assert_error(_send(alice, method, path, text), 400, 90000)
        assert "nested" in body["message"]
    # 64 levels are allowed (body, settings, 62 arrays), 65 are not.
    fine = raw({"settings": {"x": RAW}}, "[" * 62 + "]" * 62)
    assert _send(alice, "PATCH", f"/projects/{pid}", fine).status_code == 200
    too_deep = raw({"settings": {"x": RAW}}, "[" * 63 + "]" * 63)
    assert_error(_send(alice, "PATCH", f"/projects/{pid}", too_deep), 400, 90000)
    # Brackets inside strings (escaped quotes and backslashes included) nest nothing.
    text = "[{" * 1000 + '"\\' + "[" * 100
    in_a_string = alice.patch(f"/projects/{pid}", json={"description": text})
    assert in_a_string.status_code == 200, in_a_string.text
    assert in_a_string.json()["description"] == text


def test_bodies_over_the_limit_are_413(alice: Caller, project: dict[str, Any]) -> None:
    big_name = b'{"name": "' + b"x" * (5 * MIB) + b'"}'
    body = assert_error(alice.post("/projects", data=big_name, headers=JSON), 413, 90000)
    assert "larger than" in body["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while reading
        yield b'{"description": "'
        for _ in range(6):
            yield b"y" * MIB
        yield b'"}'

    streamed = alice.patch(f"/projects/{project['id']}", data=chunks(), headers=JSON)
    assert_error(streamed, 413, 90000)
    assert alice.get(f"/projects/{project['id']}").json()["description"] == ""
    # Raw app documents have a larger limit of their own.
    app = f"/apps/{project['id']}/huge/raw"
    huge_app = b'{"class": "CommandLineTool", "doc": "' + b"z" * (17 * MIB) + b'"}'
    assert_error(alice.post(app, data=huge_app, headers=JSON), 413, 90000)


# JSON text escaping half of a surrogate pair: valid JSON syntax, but no UTF-8 text can hold it.
LONE = '"a\\ud800b"'
PAIRED = '"a\\ud83d\\ude00b"'  # an escaped pair is one character (U+1F600)


def test_unpaired_surrogates_are_refused_everywhere_and_never_stored(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    """Found while fuzzing (the fuzz test's hostile values hit them): these were 500s, as the
    database could not encode them."""
    pid = project["id"]
    draft = created(alice, name="draft", project=pid, app=PUBLIC_LINE_COUNT)
    task = {"project": pid, "app": PUBLIC_LINE_COUNT, "inputs": {"note": RAW}}
    # (method, path, body, expected code, field named in the message)
    cases = [
        ("POST", "/projects", {"name": RAW}, 90000, "'name'"),
        ("PATCH", f"/projects/{pid}", {"settings": {"location": [RAW]}}, 90000, "settings"),
        ("PATCH", f"/files/{text_file}/metadata", {"k": RAW}, 5006, "'metadata.k'"),
        ("PATCH", f"/files/{text_file}", {"metadata": {"k": RAW}}, 5006, "'metadata.k'"),
        ("PUT", f"/files/{text_file}/tags", [RAW], 90000, "'tags[0]'"),
        ("PATCH", f"/files/{text_file}", {"name": RAW}, 5026, "'name'"),
        ("POST", "/tasks", task, 90000, "'inputs.note'"),
        ("PATCH", f"/tasks/{draft['id']}", {"inputs": {"x": RAW}}, 90000, "'inputs.x'"),
        ("POST", "/bulk/files/get", {"file_ids": [RAW]}, 90000, "'file_ids[0]'"),
        ("POST", "/files/search", {"query": RAW}, 5033, "'query'"),
    ]
    for method, path, body, code, field in cases:
        error = assert_error(_send(alice, method, path, raw(body, LONE)), 400, code)
        assert "unpaired surrogate" in error["message"] and field in error["message"], error
        assert "U+D800" in error["message"]
    # A key with one: the message shows it escaped and still renders as UTF-8.
    key_body = '{"metadata": {' + LONE + ': "v"}}'
    error = assert_error(_send(alice, "PATCH", f"/files/{text_file}", key_body), 400, 5006)
    assert "(key)" in error["message"] and "\\ud800" in error["message"]
    # Nothing was stored; an escaped pair (one real character) is accepted as before.
    assert alice.get(f"/files/{text_file}/metadata").json() == {}
    paired = _send(alice, "PATCH", f"/files/{text_file}/metadata", raw({"k": RAW}, PAIRED))
    assert paired.status_code == 200, paired.text
    assert paired.json() == {"k": "a\U0001f600b"}


def test_app_documents_with_unpaired_surrogates_are_refused(
    alice: Caller, project: dict[str, Any]
) -> None:
    app = f"/apps/{project['id']}/surrogate/raw"
    tool = {"cwlVersion": "v1.2", "class": "CommandLineTool", "inputs": {}, "outputs": {}}
    as_json = raw({**tool, "label": RAW}, LONE)
    assert_error(_send(alice, "POST", app, as_json), 400, 90000)
    as_yaml = (
        'cwlVersion: v1.2\nclass: CommandLineTool\ninputs: {}\noutputs: {}\nlabel: "\\ud800"\n'
    )
    yaml_post = alice.post(app, data=as_yaml.encode(), headers={"Content-Type": "application/yaml"})
    assert "unpaired surrogate" in assert_error(yaml_post, 400, 90000)["message"]
    assert_error(alice.get(f"/apps/{project['id']}/surrogate"), 404, 6002)


def test_app_documents_get_the_same_number_and_depth_rules(
    alice: Caller, project: dict[str, Any]
) -> None:
    app = f"/apps/{project['id']}/strict/raw"
    tool = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "baseCommand": ["true"],
        "inputs": {"x": {"type": "float", "default": RAW}},
        "outputs": {},
    }
    for number in ("NaN", "Infinity", "1e999"):
        _refused(_send(alice, "POST", app, raw(tool, number)))
    yaml_tool = (
        'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: ["true"]\n'
        "inputs:\n  x:\n    type: float\n    default: .nan\noutputs: {}\n"
    )
    yaml_post = alice.post(
        app, data=yaml_tool.encode(), headers={"Content-Type": "application/yaml"}
    )
    assert_error(yaml_post, 400, 90000)
    _refused(_send(alice, "POST", app, raw({"class": RAW}, "[" * 100_000 + "]" * 100_000)))
    # Nothing was installed; the project's apps still list.
    assert_error(alice.get(f"/apps/{project['id']}/strict"), 404, 6002)
    assert alice.get("/apps", params={"project": project["id"]}).status_code == 200


def test_block_yaml_apps_cannot_nest_or_expand_without_bound(
    alice: Caller, project: dict[str, Any]
) -> None:
    """YAML nests by indentation (no bracket to count) and aliases can multiply a small text."""
    app = f"/apps/{project['id']}/yaml/raw"
    head = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs: []\noutputs: []\n"
    deep = (
        head + "sbg:deep:\n" + "".join(" " * (level + 1) + f"k{level}:\n" for level in range(3000))
    )
    bomb = (
        head
        + "sbg:bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n"
            for level in range(1, 12)
        )
    )
    for document in (deep, bomb):
        started = time.monotonic()
        response = alice.post(
            app, data=document.encode(), headers={"Content-Type": "application/yaml"}
        )
        assert_error(response, 400, 6013)
        assert time.monotonic() - started < 10
    assert_error(alice.get(f"/apps/{project['id']}/yaml"), 404, 6002)


# Offset-paged lists, as path templates of the OpenAPI document.
LIST_PATHS = (
    "/projects",
    "/projects/{owner}",
    "/projects/{owner}/{slug}/members",
    "/files",
    "/files/{file_id}/list",
    "/tasks",
    "/apps",
    "/users",
    "/billing/groups",
    "/billing/invoices",
    "/async/files",
)


def test_offsets_beyond_a_bigint_are_400_on_every_list(
    alice: Caller, project: dict[str, Any]
) -> None:
    owner, slug = project["id"].split("/")
    root = project["root_folder"]
    for template in LIST_PATHS:
        path = template.format(owner=owner, slug=slug, file_id=root)
        scope = {"project": project["id"]} if path == "/files" else {}
        scope.update({"division": "none"} if path == "/users" else {})
        for offset in (2**63, 2**64, 10**30):
            response = alice.get(path, params={**scope, "offset": offset})
            body = assert_error(response, 400, 90000)
            assert "offset" in body["message"]
        if path != "/users":  # listing a division's users needs one
            last = alice.get(path, params={**scope, "offset": 2**63 - 1})
            assert last.status_code == 200, (path, last.text)
            assert last.json()["items"] == []


def test_json_bodies_are_read_whatever_the_content_type_says(alice: Caller) -> None:
    # curl -d sends a form content type; older clients send none at all.
    for headers in ({"Content-Type": "application/x-www-form-urlencoded"}, {}):
        name = f"labelled-{uuid.uuid4().hex[:6]}"
        response = alice.post("/projects", data=f'{{"name": "{name}"}}'.encode(), headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name


def test_openapi_describes_every_body_and_the_paging(anonymous: Caller) -> None:
    document = anonymous.get(anonymous.url.removesuffix("/v2") + "/openapi.json").json()
    paths = document["paths"]
    # Operations that act on a resource without reading a body.
    bodyless = (
        "/actions/run",
        "/actions/abort",
        "/actions/clone",
        "/actions/sync",
        "/actions/stop",
        "/actions/rerun",
        "/{action}",
    )
    writes = [
        (path, method, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch") and not path.endswith(bodyless)
    ]
    assert len(writes) >= 30
    for path, method, operation in writes:
        assert "requestBody" in operation, f"{method.upper()} {path} has no body schema"
        content = operation["requestBody"]["content"]
        assert "application/json" in content and content["application/json"]["schema"]
    schemas = document["components"]["schemas"]
    assert schemas["InitBody"]["required"] == ["size", "name"]
    assert schemas["TagsBody"]["maxItems"] == 100
    assert schemas["MetadataBody"]["maxProperties"] == 200
    assert schemas["Permissions"]["additionalProperties"] is False
    for template in LIST_PATHS:
        query = [p for p in paths["/v2" + template]["get"]["parameters"] if p["in"] == "query"]
        parameters = {p["name"]: p for p in query}
        offset, limit = parameters["offset"]["schema"], parameters["limit"]["schema"]
        assert (offset["type"], offset["minimum"], offset["maximum"]) == ("integer", 0, 2**63 - 1)
        assert (limit["type"], limit["minimum"]) == ("integer", 1)


def test_openapi_parameters_are_the_ones_the_server_reads(
    alice: Caller, project: dict[str, Any]
) -> None:
    """What the fuzzing runs and a read of the routers showed: ``fields`` was read but not
    documented, ``division`` was documented as optional, ids and job kinds had no form, and a
    catch-all that only refuses was listed as an operation."""
    document = alice.get(alice.url.removesuffix("/v2") + "/openapi.json").json()
    paths = document["paths"]

    def parameters(path: str, method: str = "get") -> dict[str, Any]:
        return {item["name"]: item for item in paths["/v2" + path][method].get("parameters", [])}

    # Every documented operation exists: none answers "no such route" or "method not allowed".
    for path, operations in paths.items():
        for method, operation in operations.items():
            concrete = path
            for item in operation.get("parameters", []):
                value = item["schema"].get("enum", ["x"])[0]  # a listed value where there is a list
                concrete = concrete.replace("{" + item["name"] + "}", value)
            response = alice.request(method.upper(), alice.url.removesuffix("/v2") + concrete)
            assert response.status_code != 405, (method, path)
            assert response.json().get("code") != 90003, (method, path, response.text)
    assert "/v2/tasks/{task_id}/actions/{action}" not in paths  # only there to refuse
    assert_error(alice.post(f"/tasks/{uuid.uuid4()}/actions/pause"), 400, 7013)
    # `fields` is documented wherever it is honoured, and it narrows the answer.
    with_fields = [
        (path, method)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if any(item["name"] == "fields" for item in operation.get("parameters", []))
    ]
    assert len(with_fields) >= 20
    assert ("/v2/projects/{owner}/{slug}", "get") in with_fields
    narrowed = alice.get(f"/projects/{project['id']}", params={"fields": "name"})
    assert set(narrowed.json()) == {"href", "id", "name"}
    # Keys the services require are required in the document; their answers keep their codes.
    schemas = document["components"]["schemas"]
    assert schemas["WholeProjectBody"]["required"] == ["name"]
    assert "required" not in schemas["ProjectBody"]  # PATCH changes only what is sent
    assert schemas["NewTaskBody"]["required"] == ["project", "app"]
    assert "required" not in schemas["TaskChangesBody"]
    assert schemas["FolderBody"]["required"] == ["name", "type"]
    assert schemas["SearchBody"]["required"] == ["query"]
    assert_error(alice.post("/projects", json={"description": "no name"}), 400, 3007)
    assert_error(alice.post("/files/search", json={}), 400, 5033)
    # Listing users needs a division: required in the document, 400/2105 when missing.
    assert parameters("/users")["division"]["required"] is True
    message = assert_error(alice.get("/users"), 400, 2105)["message"]
    assert "'division'" in message
    # Ids are documented with the form the server checks (and refuses with its own codes).
    assert parameters("/tasks/{task_id}")["task_id"]["schema"]["format"] == "uuid"
    assert_error(alice.get("/tasks/not-a-uuid"), 400, 7005)
    assert parameters("/billing/groups/{group_id}")["group_id"]["schema"]["format"] == "uuid"
    assert_error(alice.get("/billing/groups/not-a-uuid"), 400, 4005)
    revision_path = "/apps/{owner}/{project}/{app}/{revision}"
    app_schema = parameters(revision_path)["app"]["schema"]
    revision_schema = parameters(revision_path)["revision"]["schema"]
    assert re.fullmatch(app_schema["pattern"].strip("^$"), "line-count_2.1")
    assert not re.fullmatch(app_schema["pattern"].strip("^$"), "-bad")
    assert_error(alice.get(f"/apps/{project['id']}/-bad"), 400, 6010)
    assert revision_schema["pattern"] == "^[0-9]+$"
    assert_error(alice.get(f"/apps/{project['id']}/tool/first"), 400, 6007)

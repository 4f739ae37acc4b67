"""Apps on the wire: install, revisions, raw JSON/YAML, listing, copy and sync, validation with
cwltool's loader, permissions, and the public apps (which are run with cwltool here)."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from local_helpers import Caller, assert_error, run_sql
from ruamel.yaml import YAML

APP_INVALID = 6013
PUBLIC_PROJECT = "admin/public-apps"
PUBLIC_APPS = ("line-count", "checksum", "fastq-stats", "fastq-summary")

TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Word count",
    "doc": "Counts words with wc.",
    "sbg:toolkit": "coreutils",
    "baseCommand": ["wc", "-w"],
    "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
    "outputs": {"words": {"type": "stdout"}},
    "stdout": "words.txt",
}

TOOL_YAML = """\
cwlVersion: v1.1
class: CommandLineTool
label: Echo greeting
baseCommand: echo
inputs:
  greeting:
    type: string
    inputBinding: {position: 1}
outputs:
  out: {type: stdout}
"""

FASTQ = "@read1\nACGTGG\n+\nIIIIII\n@read2\nACG\n+\nIII\n"


def tool(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(TOOL)
    document.update(changes)
    return document


def install(caller: Caller, app_id: str, document: Any, **kwargs: Any) -> requests.Response:
    return caller.post(f"/apps/{app_id}/raw", json=document, **kwargs)


def installed(caller: Caller, app_id: str, document: Any) -> dict[str, Any]:
    response = install(caller, app_id, document)
    assert response.status_code == 200, response.text
    return response.json()


def add_member(owner: Caller, project_id: str, member: Caller, **permissions: bool) -> None:
    response = owner.post(
        f"/projects/{project_id}/members",
        json={"username": member.username, "permissions": permissions},
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project("workbench")


# ---------------------------------------------------------------------------------------------
# Install and read


def test_install_returns_the_stored_raw_and_the_app_reads_back(
    alice: Caller, project: dict[str, Any]
) -> None:
    app_id = f"{project['id']}/word-count"
    raw = installed(alice, app_id, tool())

    assert raw["sbg:id"] == f"{app_id}/0"
    assert raw["sbg:revision"] == 0
    assert raw["sbg:latestRevision"] == 0
    assert raw["sbg:createdBy"] == alice.username
    assert raw["sbg:modifiedBy"] == alice.username
    assert isinstance(raw["sbg:createdOn"], int) and raw["sbg:createdOn"] > 1_600_000_000
    assert isinstance(raw["sbg:modifiedOn"], int)
    assert raw["sbg:project"] == project["id"]
    assert raw["sbg:appVersion"] == ["v1.2"]
    assert raw["sbg:validationErrors"] == []
    assert raw["$namespaces"]["sbg"] == "https://sevenbridges.com"
    # The document itself is kept as sent.
    for key, value in TOOL.items():
        assert raw[key] == value

    app = alice.get(f"/apps/{raw['sbg:id']}")
    assert app.status_code == 200
    body = app.json()
    assert body["href"] == f"{alice.url}/apps/{app_id}/0"
    assert body["id"] == f"{app_id}/0"
    assert body["project"] == project["id"]
    assert body["name"] == "Word count"
    assert body["revision"] == 0
    assert body["raw"] == raw
    # Without a revision the latest one is served; href and raw endpoint agree.
    assert alice.get(f"/apps/{app_id}").json() == body
    assert alice.get(body["href"]).json() == body
    assert alice.get(f"/apps/{app_id}/raw").json() == raw
    assert alice.get(f"/apps/{app_id}/0/raw").json() == raw


def test_name_falls_back_to_the_app_slug(alice: Caller, project: dict[str, Any]) -> None:
    document = tool()
    del document["label"]
    installed(alice, f"{project['id']}/unlabelled", document)
    assert alice.get(f"/apps/{project['id']}/unlabelled").json()["name"] == "unlabelled"


def test_yaml_install_as_json_string_and_as_yaml_body(
    alice: Caller, project: dict[str, Any]
) -> None:
    # What the official client sends for raw_format='yaml': a JSON string holding YAML text.
    raw = installed(alice, f"{project['id']}/echo", TOOL_YAML)
    assert raw["class"] == "CommandLineTool"
    assert raw["cwlVersion"] == "v1.1"
    assert raw["inputs"]["greeting"]["inputBinding"] == {"position": 1}

    # YAML sent as such, with a YAML content type.
    response = alice.post(
        f"/apps/{project['id']}/echo-yaml/raw",
        data=TOOL_YAML.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["label"] == "Echo greeting"

    # JSON text inside a JSON string works too.
    as_text = installed(alice, f"{project['id']}/wc-text", json.dumps(tool()))
    assert as_text["baseCommand"] == ["wc", "-w"]


def test_raw_as_yaml_on_request(alice: Caller, project: dict[str, Any]) -> None:
    app_id = f"{project['id']}/word-count"
    raw = installed(alice, app_id, tool())
    yaml = YAML(typ="safe", pure=True)

    by_accept = alice.get(f"/apps/{app_id}/raw", headers={"Accept": "application/yaml"})
    assert by_accept.status_code == 200
    assert by_accept.headers["Content-Type"].startswith("application/yaml")
    assert yaml.load(by_accept.text) == raw

    by_query = alice.get(f"/apps/{app_id}/0/raw", params={"format": "yaml"})
    assert by_query.headers["Content-Type"].startswith("application/yaml")
    assert yaml.load(by_query.text) == raw

    # JSON stays the default, and wins when preferred.
    preferred = alice.get(
        f"/apps/{app_id}/raw", headers={"Accept": "application/json, application/yaml;q=0.5"}
    )
    assert preferred.headers["Content-Type"].startswith("application/json")
    assert preferred.json() == raw
    assert_error(alice.get(f"/apps/{app_id}/raw", params={"format": "xml"}), 400, 90000)


def test_installing_over_an_existing_app_is_a_conflict(
    alice: Caller, project: dict[str, Any]
) -> None:
    installed(alice, f"{project['id']}/word-count", tool())
    body = assert_error(install(alice, f"{project['id']}/word-count", tool()), 409, 6003)
    assert "revision" in body["message"]


def test_platform_keys_of_a_fetched_raw_are_replaced(
    alice: Caller, project: dict[str, Any]
) -> None:
    original = installed(alice, f"{project['id']}/first", tool())
    # A raw fetched from the platform (with its sbg: keys) installs cleanly under another id.
    again = installed(alice, f"{project['id']}/second", original)
    assert again["sbg:id"] == f"{project['id']}/second/0"
    assert again["sbg:revision"] == 0
    assert "sbg:copyOf" not in again
    assert again["sbg:toolkit"] == "coreutils"  # other sbg: keys are the author's and stay


# ---------------------------------------------------------------------------------------------
# Revisions


def test_revisions_must_follow_the_latest(alice: Caller, project: dict[str, Any]) -> None:
    app_id = f"{project['id']}/word-count"
    installed(alice, app_id, tool())

    response = alice.post(
        f"/apps/{app_id}/1/raw",
        json=tool(label="Word count v2", **{"sbg:revisionNotes": "Second try"}),
    )
    assert response.status_code == 200, response.text
    raw = response.json()
    assert raw["sbg:id"] == f"{app_id}/1"
    assert raw["sbg:revision"] == 1
    assert raw["sbg:latestRevision"] == 1
    assert raw["sbg:revisionNotes"] == "Second try"
    assert [entry["sbg:revision"] for entry in raw["sbg:revisionsInfo"]] == [0, 1]

    latest = alice.get(f"/apps/{app_id}").json()
    assert (latest["revision"], latest["name"]) == (1, "Word count v2")
    first = alice.get(f"/apps/{app_id}/0").json()
    assert (first["revision"], first["name"]) == (0, "Word count")
    assert first["raw"]["sbg:latestRevision"] == 1

    assert_error(alice.post(f"/apps/{app_id}/1/raw", json=tool()), 409, 6003)
    body = assert_error(alice.post(f"/apps/{app_id}/5/raw", json=tool()), 409, 6003)
    assert "must be 2" in body["message"]
    assert_error(alice.post(f"/apps/{app_id}/two/raw", json=tool()), 400, 6007)
    assert_error(alice.post(f"/apps/{project['id']}/missing/1/raw", json=tool()), 404, 6002)
    assert_error(alice.get(f"/apps/{app_id}/2"), 404, 6002)
    assert_error(alice.get(f"/apps/{app_id}/latest"), 400, 6007)


def test_an_invalid_revision_leaves_the_app_unchanged(
    alice: Caller, project: dict[str, Any]
) -> None:
    app_id = f"{project['id']}/word-count"
    installed(alice, app_id, tool())
    assert_error(alice.post(f"/apps/{app_id}/1/raw", json=tool(inputs=7)), 400, APP_INVALID)
    assert alice.get(f"/apps/{app_id}").json()["revision"] == 0


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("version", ["v1.0", "v1.1", "v1.2"])
def test_each_supported_cwl_version_installs(
    alice: Caller, project: dict[str, Any], version: str
) -> None:
    raw = installed(
        alice, f"{project['id']}/tool-{version.replace('.', '-')}", tool(cwlVersion=version)
    )
    assert raw["cwlVersion"] == version
    assert raw["sbg:appVersion"] == [version]


def test_workflows_and_expression_tools_install(alice: Caller, project: dict[str, Any]) -> None:
    expression = {
        "cwlVersion": "v1.2",
        "class": "ExpressionTool",
        "requirements": [{"class": "InlineJavascriptRequirement"}],
        "inputs": {"n": "int"},
        "outputs": {"doubled": "int"},
        "expression": "${ return {'doubled': inputs.n * 2}; }",
    }
    workflow = {
        "cwlVersion": "v1.2",
        "class": "Workflow",
        "label": "Counting workflow",
        "inputs": {"text": "File"},
        "outputs": {"words": {"type": "File", "outputSource": "count/words"}},
        "steps": {"count": {"run": tool(), "in": {"text": "text"}, "out": ["words"]}},
    }
    assert installed(alice, f"{project['id']}/doubler", expression)["class"] == "ExpressionTool"
    assert installed(alice, f"{project['id']}/counting", workflow)["class"] == "Workflow"


INVALID_DOCUMENTS = [
    pytest.param(tool(inputs={"text": {"type": "Filez"}}), "Filez", id="unknown-type"),
    pytest.param(tool(bogus_field=1), "bogus_field", id="unknown-field"),
    pytest.param({k: v for k, v in TOOL.items() if k != "class"}, "class", id="no-class"),
    pytest.param(tool(**{"class": "Operation"}), "Operation", id="class-operation"),
    pytest.param(tool(**{"class": "Pipeline"}), "Pipeline", id="class-unknown"),
    pytest.param(
        {k: v for k, v in TOOL.items() if k != "cwlVersion"}, "cwlVersion", id="no-version"
    ),
    pytest.param(tool(cwlVersion="v2.7"), "v2.7", id="unknown-version"),
    pytest.param(tool(cwlVersion="draft-3"), "cwl-upgrader", id="draft-3"),
    pytest.param(
        {
            "cwlVersion": "v1.2",
            "class": "Workflow",
            "inputs": {"text": "File"},
            "outputs": {"words": {"type": "int", "outputSource": "count/words"}},
            "steps": {"count": {"run": tool(), "in": {"text": "text"}, "out": ["words"]}},
        },
        "incompatible",
        id="wrong-output-type",
    ),
    pytest.param(
        {
            "cwlVersion": "v1.2",
            "class": "Workflow",
            "inputs": {"text": "File"},
            "outputs": {},
            "steps": {"count": {"run": "count.cwl", "in": {"text": "text"}, "out": ["words"]}},
        },
        "count.cwl",
        id="external-run",
    ),
    pytest.param(
        tool(inputs={"text": {"$include": "/etc/hostname"}}), "$include", id="include-file"
    ),
    pytest.param(["not", "a", "document"], "CWL document", id="list"),
    pytest.param("cwlVersion: [v1.2\n", "YAML", id="broken-yaml"),
    pytest.param({"$graph": [tool()], "cwlVersion": "v1.2"}, "$graph", id="graph"),
]


@pytest.mark.parametrize(("document", "mentioned"), INVALID_DOCUMENTS)
def test_invalid_documents_are_refused_with_the_reason(
    alice: Caller, project: dict[str, Any], document: Any, mentioned: str
) -> None:
    body = assert_error(install(alice, f"{project['id']}/broken", document), 400, APP_INVALID)
    message = body["message"]
    assert mentioned in message
    assert "Traceback" not in message
    assert "file:///" not in message and "sbg-local-app" not in message
    assert len(message) <= 1500
    # Nothing was stored.
    assert_error(alice.get(f"/apps/{project['id']}/broken"), 404, 6002)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"": []}, "the document"),
        ({"inputs": {"text": {"type": "File", "": 1}}}, "inputs.text"),
    ],
)
def test_empty_keys_are_refused_not_a_server_error(
    alice: Caller, project: dict[str, Any], changes: dict[str, Any], where: str
) -> None:
    """Found by the schemathesis run (a 500): schema-salad indexes the first character of every
    key it validates, so an empty key crashed the loader."""
    response = install(alice, f"{project['id']}/empty-key", tool(**changes))
    message = assert_error(response, 400, APP_INVALID)["message"]
    assert f"empty key in {where}" in message
    assert_error(alice.get(f"/apps/{project['id']}/empty-key"), 404, 6002)


def test_draft2_is_accepted_but_plain_draft_versions_are_refused(
    alice: Caller, project: dict[str, Any]
) -> None:
    draft2 = {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "baseCommand": ["wc"],
        "inputs": [],
        "outputs": [],
    }
    body = installed(alice, f"{project['id']}/sbg-draft", draft2)
    assert body["cwlVersion"] == "sbg:draft-2" and body["sbg:appVersion"] == ["sbg:draft-2"]

    body = assert_error(
        install(alice, f"{project['id']}/old", {**draft2, "cwlVersion": "draft-2"}),
        400,
        APP_INVALID,
    )
    assert "sbg_cwl_upgrader" in body["message"] and "v1" in body["message"]


def test_empty_and_undecodable_bodies(alice: Caller, project: dict[str, Any]) -> None:
    path = f"/apps/{project['id']}/empty/raw"
    assert_error(alice.post(path), 400, APP_INVALID)
    assert_error(alice.post(path, data=b"null"), 400, APP_INVALID)
    assert_error(alice.post(path, data=b"{not json"), 400, 90009)
    assert_error(alice.post(path, data=b"\xff\xfe"), 400, APP_INVALID)


def test_malformed_app_ids(alice: Caller, project: dict[str, Any]) -> None:
    assert_error(install(alice, f"{project['id']}/-dash-first", tool()), 400, 6010)
    assert_error(alice.get("/apps", params={"id": "only/two"}), 400, 6010)
    assert_error(alice.get("/apps", params={"project": "no-slash"}), 400, 3012)


# ---------------------------------------------------------------------------------------------
# Permissions


def test_non_members_see_nothing_and_readers_cannot_install(
    alice: Caller, bob: Caller, carol: Caller, project: dict[str, Any]
) -> None:
    app_id = f"{project['id']}/word-count"
    installed(alice, app_id, tool())

    # Not a member: the app and its raw do not exist for bob; installing hides the project.
    assert_error(bob.get(f"/apps/{app_id}"), 404, 6002)
    assert_error(bob.get(f"/apps/{app_id}/0"), 404, 6002)
    assert_error(bob.get(f"/apps/{app_id}/raw"), 404, 6002)
    assert_error(install(bob, f"{project['id']}/intruder", tool()), 404, 3002)
    assert_error(bob.get("/apps", params={"project": project["id"]}), 404, 3002)
    assert bob.get("/apps", params={"id": app_id}).json()["items"] == []

    # A member without write reads but cannot install, revise or sync.
    add_member(alice, project["id"], carol, read=True, copy=True)
    assert carol.get(f"/apps/{app_id}").status_code == 200
    assert_error(install(carol, f"{project['id']}/mine", tool()), 403, 6001)
    assert_error(carol.post(f"/apps/{app_id}/1/raw", json=tool()), 403, 6001)

    # With write, bob may install.
    add_member(alice, project["id"], bob, read=True, write=True)
    assert installed(bob, f"{project['id']}/by-bob", tool())["sbg:createdBy"] == bob.username


# ---------------------------------------------------------------------------------------------
# Listing


def test_listing_filters(alice: Caller, bob: Caller, project: dict[str, Any]) -> None:
    other = alice.create_project("other bench")
    installed(alice, f"{project['id']}/word-count", tool())
    installed(alice, f"{project['id']}/echo", TOOL_YAML)
    installed(alice, f"{other['id']}/word-count", tool(label="Counter of WORDS"))
    alice.post(f"/apps/{project['id']}/echo/1/raw", json=TOOL_YAML)

    mine = alice.get("/apps")
    assert mine.status_code == 200
    ids = [item["id"] for item in mine.json()["items"]]
    assert ids == [
        f"{project['id']}/word-count/0",
        f"{project['id']}/echo/1",
        f"{other['id']}/word-count/0",
    ]
    assert mine.headers["X-Total-Matching-Query"] == "3"
    # Public apps are listed only when asked for.
    assert not any(item.startswith(PUBLIC_PROJECT) for item in ids)
    private = alice.get("/apps", params={"visibility": "private"}).json()["items"]
    assert private == mine.json()["items"]

    in_project = alice.get("/apps", params={"project": project["id"]}).json()["items"]
    assert [item["id"] for item in in_project] == ids[:2]

    # Search terms: case-insensitive, all must match (name, label, toolkit, description ...).
    def search(*terms: str) -> list[str]:
        response = alice.get("/apps", params={"q": list(terms)})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert search("WORDS") == [ids[0], ids[2]]
    assert search("Counter") == [ids[2]]
    assert search("COREUTILS") == [ids[0], ids[2]]
    assert search("coreutils", "counter") == [ids[2]]
    assert search("greeting") == [ids[1]]
    assert search("nothing-like-this") == []
    assert search("100%_") == []  # LIKE wildcards are taken literally

    # By id, with or without a revision.
    by_id = alice.get(
        "/apps", params={"id": [f"{project['id']}/echo/0", f"{other['id']}/word-count"]}
    ).json()["items"]
    assert [(item["id"], item["revision"]) for item in by_id] == [
        (f"{project['id']}/echo/0", 0),
        (f"{other['id']}/word-count/0", 0),
    ]
    assert alice.get("/apps", params={"id": f"{project['id']}/echo/9"}).json()["items"] == []

    # Paging with totals and links.
    first = alice.get("/apps", params={"limit": 2})
    assert first.headers["X-Total-Matching-Query"] == "3"
    assert len(first.json()["items"]) == 2
    follow = [link for link in first.json()["links"] if link["rel"] == "next"]
    assert follow and alice.get(follow[0]["href"]).json()["items"][0]["id"] == ids[2]

    # Other users see none of it; abbreviated items on request.
    assert bob.get("/apps").json()["items"] == []
    slim = alice.get("/apps", params={"fields": "!raw"}).json()["items"]
    assert "raw" not in slim[0] and slim[0]["name"] == "Word count"
    assert_error(alice.get("/apps", params={"visibility": "everyone"}), 400, 6011)


# ---------------------------------------------------------------------------------------------
# Copy and sync


@pytest.fixture
def source_app(alice: Caller, project: dict[str, Any]) -> str:
    """An app with revisions 0 and 1."""
    app_id = f"{project['id']}/word-count"
    installed(alice, app_id, tool())
    response = alice.post(f"/apps/{app_id}/1/raw", json=tool(label="Word count v2"))
    assert response.status_code == 200, response.text
    return app_id


def copy_app(caller: Caller, app_id: str, destination: str, **options: Any) -> requests.Response:
    return caller.post(f"/apps/{app_id}/actions/copy", json={"project": destination, **options})


@pytest.mark.parametrize(
    ("strategy", "revisions"),
    [("clone", [0, 1]), ("clone_direct", [0, 1]), ("direct", [0]), ("transient", [0])],
)
def test_copy_strategies(
    alice: Caller, source_app: str, strategy: str, revisions: list[int]
) -> None:
    target = alice.create_project(f"copies {strategy}")
    response = copy_app(alice, source_app, target["id"], strategy=strategy)
    assert response.status_code == 200, response.text
    app = response.json()
    expected_id = f"{target['id']}/word-count"
    assert app["id"] == f"{expected_id}/{revisions[-1]}"
    assert app["project"] == target["id"]
    assert app["name"] == "Word count v2"
    assert app["raw"]["sbg:copyOf"] == f"{source_app}/1"
    assert [entry["sbg:revision"] for entry in app["raw"]["sbg:revisionsInfo"]] == revisions
    if strategy in ("clone", "clone_direct"):
        older = alice.get(f"/apps/{expected_id}/0").json()
        assert older["name"] == "Word count"
        assert older["raw"]["sbg:copyOf"] == f"{source_app}/0"


def test_copy_options_and_refusals(
    alice: Caller, bob: Caller, project: dict[str, Any], source_app: str
) -> None:
    target = alice.create_project("copies")
    # A chosen revision, under a new name.
    response = alice.post(
        f"/apps/{source_app}/0/actions/copy",
        json={"project": target["id"], "name": "My Counter", "strategy": "direct"},
    )
    assert response.status_code == 200, response.text
    renamed = response.json()
    assert renamed["id"] == f"{target['id']}/my-counter/0"
    assert renamed["name"] == "My Counter"
    assert renamed["raw"]["label"] == "My Counter"
    assert renamed["raw"]["sbg:copyOf"] == f"{source_app}/0"

    # Default strategy is clone; a second copy under the same name conflicts.
    assert copy_app(alice, source_app, target["id"]).json()["revision"] == 1
    assert_error(copy_app(alice, source_app, target["id"]), 409, 6003)
    assert_error(alice.post(f"/apps/{source_app}/actions/copy", json={}), 400, 6008)
    assert_error(copy_app(alice, source_app, target["id"], strategy="deep"), 400, 90000)
    assert_error(copy_app(alice, source_app, "nobody/nowhere"), 404, 3002)
    assert_error(copy_app(alice, f"{project['id']}/missing", target["id"]), 404, 6002)

    # Copying needs read on the source and write on the destination.
    bobs = bob.create_project("bob copies")
    assert_error(copy_app(bob, source_app, bobs["id"]), 404, 6002)
    add_member(alice, target["id"], bob, read=True)
    add_member(alice, project["id"], bob, read=True)
    assert_error(copy_app(bob, source_app, target["id"], name="x"), 403, 6001)
    assert copy_app(bob, source_app, bobs["id"]).status_code == 200


def test_sync_brings_in_newer_revisions(
    alice: Caller, project: dict[str, Any], source_app: str
) -> None:
    target = alice.create_project("synced")
    copied = copy_app(alice, source_app, target["id"], strategy="direct").json()
    copy_id = f"{target['id']}/word-count"
    assert copied["revision"] == 0

    # Up to date: sync changes nothing.
    unchanged = alice.post(f"/apps/{copy_id}/actions/sync")
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["revision"] == 0

    alice.post(f"/apps/{source_app}/2/raw", json=tool(label="Word count v3"))
    synced = alice.post(f"/apps/{copy_id}/actions/sync").json()
    assert synced["id"] == f"{copy_id}/1"
    assert synced["name"] == "Word count v3"
    assert synced["raw"]["sbg:copyOf"] == f"{source_app}/2"
    assert alice.post(f"/apps/{copy_id}/actions/sync").json()["revision"] == 1

    # A clone of this copy follows the same origin (the source), not the copy.
    second = alice.create_project("second generation")
    clone = copy_app(alice, copy_id, second["id"], strategy="clone").json()
    assert clone["revision"] == 1
    alice.post(f"/apps/{source_app}/3/raw", json=tool(label="Word count v4"))
    followed = alice.post(f"/apps/{second['id']}/word-count/actions/sync").json()
    assert followed["name"] == "Word count v4"
    assert followed["raw"]["sbg:copyOf"] == f"{source_app}/3"

    # An original has nothing to sync with.
    assert_error(alice.post(f"/apps/{source_app}/actions/sync"), 400, 6009)


# ---------------------------------------------------------------------------------------------
# Public apps


def test_public_apps_are_visible_to_everyone(bob: Caller) -> None:
    response = bob.get("/apps", params={"visibility": "public"})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [f"{PUBLIC_PROJECT}/{slug}/0" for slug in PUBLIC_APPS]
    names = {item["id"].split("/")[2]: item["name"] for item in items}
    assert names == {
        "line-count": "Line count",
        "checksum": "Checksum",
        "fastq-stats": "FASTQ statistics",
        "fastq-summary": "FASTQ summary",
    }
    for item in items:
        assert item["raw"]["cwlVersion"] == "v1.2"
        assert item["raw"]["sbg:createdBy"] == "admin"
    workflow = items[3]["raw"]
    assert workflow["class"] == "Workflow"
    assert isinstance(workflow["steps"]["statistics"]["run"], dict)  # embedded, self-contained

    # Readable, searchable and copyable by any user, but not writable.
    assert bob.get(f"/apps/{PUBLIC_PROJECT}/checksum").status_code == 200
    found = bob.get("/apps", params={"visibility": "public", "q": "fastq"}).json()["items"]
    assert [item["id"].split("/")[2] for item in found] == ["fastq-stats", "fastq-summary"]
    assert len(bob.get("/apps", params={"project": PUBLIC_PROJECT}).json()["items"]) == 4
    assert_error(install(bob, f"{PUBLIC_PROJECT}/mine", tool()), 404, 3002)
    mine = bob.create_project("from public")
    copied = copy_app(bob, f"{PUBLIC_PROJECT}/line-count", mine["id"]).json()
    assert copied["raw"]["sbg:copyOf"] == f"{PUBLIC_PROJECT}/line-count/0"
    assert bob.get("/apps").json()["items"][0]["id"] == f"{mine['id']}/line-count/0"


def _run_cwltool(tmp_path: Path, raw: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """Run an app's raw document with cwltool (no containers); returns the output object."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    document = tmp_path / "app.cwl"
    document.write_text(json.dumps(raw))
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    outdir = tmp_path / "out"
    cwltool = Path(sys.executable).with_name("cwltool")
    completed = subprocess.run(
        [str(cwltool), "--quiet", "--outdir", str(outdir), str(document), str(job_file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _file(path: Path) -> dict[str, str]:
    return {"class": "File", "path": str(path)}


def _public_raw(caller: Caller, slug: str) -> dict[str, Any]:
    response = caller.get(f"/apps/{PUBLIC_PROJECT}/{slug}/raw")
    assert response.status_code == 200, response.text
    return response.json()


def test_public_line_count_and_checksum_run_with_cwltool(bob: Caller, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("one\ntwo\nthree\n")

    counted = _run_cwltool(
        tmp_path / "wc", _public_raw(bob, "line-count"), {"input_file": _file(text)}
    )
    assert Path(counted["line_count"]["path"]).read_text().strip() == "3"

    for algorithm in ("sha256", "md5"):
        job = {"input_file": _file(text), "algorithm": algorithm}
        summed = _run_cwltool(tmp_path / algorithm, _public_raw(bob, "checksum"), job)
        digest = Path(summed["checksum"]["path"]).read_text().strip()
        assert digest == hashlib.new(algorithm, text.read_bytes()).hexdigest()


def test_public_fastq_apps_run_with_cwltool(bob: Caller, tmp_path: Path) -> None:
    reads = tmp_path / "sample1.fastq.gz"
    reads.write_bytes(gzip.compress(FASTQ.encode()))

    stats = _run_cwltool(
        tmp_path / "stats", _public_raw(bob, "fastq-stats"), {"reads": _file(reads)}
    )
    assert (stats["read_count"], stats["base_count"]) == (2, 9)
    assert stats["mean_length"] == 4.5
    assert stats["gc_percent"] == pytest.approx(66.67)
    report = json.loads(Path(stats["stats"]["path"]).read_text())
    assert report["sample"] == "sample1"
    assert (report["min_length"], report["max_length"]) == (3, 6)

    plain = tmp_path / "sample2.fq"
    plain.write_text(FASTQ * 2)
    summary = _run_cwltool(
        tmp_path / "summary", _public_raw(bob, "fastq-summary"), {"reads": _file(plain)}
    )
    assert (summary["read_count"], summary["base_count"]) == (4, 18)
    text = Path(summary["summary"]["path"]).read_text()
    assert Path(summary["summary"]["path"]).name == "sample2.summary.txt"
    assert "Reads             4" in text and "Bases             18" in text


def test_public_apps_are_installed_once_and_restored_when_missing(
    start_platform: Callable, http: requests.Session
) -> None:
    server = start_platform()
    admin = Caller(http, server.url, server.token("admin"), "admin")

    def public_ids() -> list[str]:
        response = admin.get("/apps", params={"visibility": "public"})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    expected = [f"{PUBLIC_PROJECT}/{slug}/0" for slug in PUBLIC_APPS]
    assert public_ids() == expected
    server.restart()
    assert public_ids() == expected  # no duplicates, no new revisions

    # A data directory from before the public apps existed gets them on the next start.
    server.stop()
    run_sql(server, "DELETE FROM app_revisions")
    run_sql(server, "DELETE FROM apps")
    server.start()
    assert public_ids() == expected


def test_deleting_a_project_removes_its_apps_but_not_their_copies(
    alice: Caller, project: dict[str, Any], source_app: str
) -> None:
    target = alice.create_project("survivors")
    copy_app(alice, source_app, target["id"], strategy="direct")
    assert alice.delete(f"/projects/{project['id']}").status_code == 204

    assert_error(alice.get(f"/apps/{source_app}"), 404, 6002)
    survivor = alice.get(f"/apps/{target['id']}/word-count")
    assert survivor.status_code == 200
    assert survivor.json()["raw"]["sbg:copyOf"] == f"{source_app}/1"
    body = assert_error(alice.post(f"/apps/{target['id']}/word-count/actions/sync"), 404, 6002)
    assert "no longer exists" in body["message"]

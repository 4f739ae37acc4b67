"""Apps may not reach the server's disk or network: every reference from an app document to
something outside itself is refused at install, revision, copy and sync (400/6013 naming the
field), apps stored before that check cannot run, and the loader itself never fetches."""

from __future__ import annotations

import copy
import json
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from files_support import database_for
from local_helpers import Caller, assert_error
from sqlalchemy import select
from test_tasks_support import created, download, wait_for_status

from sevenbridges_local.db.apps import App, AppRevision
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.embedded import EmbeddedServer

APP_INVALID = 6013
APP_NOT_FOUND = 6002


# ---------------------------------------------------------------------------------------------
# A loopback HTTP server that records every request: references to it must never be followed.


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def _record(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        body = b"class: CommandLineTool\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------
# Documents

HTTP = "http://RECORDER"  # replaced by the recorder's address


def tool(version: str = "v1.2", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "cwlVersion": version,
        "class": "CommandLineTool",
        "baseCommand": ["cat"],
        "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
        "outputs": {"words": {"type": "stdout"}},
        "stdout": "words.txt",
    }
    document.update(changes)
    return document


def workflow(step_run: Any, version: str = "v1.2", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "cwlVersion": version,
        "class": "Workflow",
        "inputs": {"text": "File"},
        "outputs": {"words": {"type": "File", "outputSource": "count/words"}},
        "steps": {"count": {"run": step_run, "in": {"text": "text"}, "out": ["words"]}},
    }
    document.update(changes)
    return document


def file_input(default: Any, **extra: Any) -> dict[str, Any]:
    return {"text": {"type": "File", "inputBinding": {"position": 1}, "default": default, **extra}}


def located(location: str, key: str = "location") -> dict[str, Any]:
    return {"class": "File", key: location}


def inline_tool(**changes: Any) -> dict[str, Any]:
    embedded = tool(**changes)
    embedded.pop("cwlVersion")
    return embedded


EXPRESSION_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "ExpressionTool",
    "requirements": [{"class": "InlineJavascriptRequirement"}],
    "inputs": {"reference": {"type": "File", "default": located("file:///etc/passwd")}},
    "outputs": {"out": "File"},
    "expression": "${ return {'out': inputs.reference}; }",
}

# (document, field the message must name, text of the target the message must quote)
REFUSED = [
    pytest.param(
        tool(
            "v1.0", inputs={"reference": {"type": "File", "default": located("file:///etc/passwd")}}
        ),
        "inputs.reference.default.location",
        "file:///etc/passwd",
        id="v1.0-default-location-file-url",
    ),
    pytest.param(
        tool("v1.1", inputs=file_input(located("/etc/passwd", "path"))),
        "inputs.text.default.path",
        "/etc/passwd",
        id="v1.1-default-path-absolute",
    ),
    pytest.param(
        tool(inputs=file_input(located("../../secret.key"))),
        "inputs.text.default.location",
        "../../secret.key",
        id="default-location-relative-dotdot",
    ),
    pytest.param(
        tool(inputs=file_input(located("notes.txt"))),
        "inputs.text.default.location",
        "notes.txt",
        id="default-location-relative-name",
    ),
    pytest.param(
        tool(inputs=file_input(located(f"{HTTP}/data.txt"))),
        "inputs.text.default.location",
        "/data.txt",
        id="default-location-http",
    ),
    pytest.param(
        tool(
            inputs=[
                {"id": "sample", "type": "string"},
                {"id": "threads", "type": "int"},
                {"id": "reference", "type": "File", "default": located("file:///etc/hosts")},
            ]
        ),
        "inputs[2].default.location",
        "file:///etc/hosts",
        id="list-form-inputs",
    ),
    pytest.param(
        EXPRESSION_TOOL,
        "inputs.reference.default.location",
        "file:///etc/passwd",
        id="expression-tool-default",
    ),
    pytest.param(
        workflow(
            inline_tool(), inputs={"text": {"type": "File", "default": located("/etc/hosts")}}
        ),
        "inputs.text.default.location",
        "/etc/hosts",
        id="workflow-input-default",
    ),
    pytest.param(
        workflow(
            inline_tool(),
            inputs={},
            steps={
                "count": {
                    "run": inline_tool(),
                    "in": {"text": {"default": located("file:///etc/hostname")}},
                    "out": ["words"],
                }
            },
        ),
        "steps.count.in.text.default.location",
        "file:///etc/hostname",
        id="step-in-default",
    ),
    pytest.param(
        workflow(inline_tool(inputs=file_input(located("file:///etc/passwd")))),
        "steps.count.run.inputs.text.default.location",
        "file:///etc/passwd",
        id="inline-step-tool-default",
    ),
    pytest.param(
        tool(outputs={"words": {"type": "stdout", "default": located("file:///etc/passwd")}}),
        "outputs.words.default.location",
        "file:///etc/passwd",
        id="output-default",
    ),
    pytest.param(
        tool(
            requirements=[
                {"class": "InitialWorkDirRequirement", "listing": [located("file:///etc/passwd")]}
            ]
        ),
        "requirements[0].listing[0].location",
        "file:///etc/passwd",
        id="initial-workdir-listing",
    ),
    pytest.param(
        tool(
            "v1.1",
            requirements={
                "InitialWorkDirRequirement": {
                    "listing": [{"class": "Directory", "location": "file:///etc"}]
                }
            },
        ),
        "requirements.InitialWorkDirRequirement.listing[0].location",
        "file:///etc",
        id="initial-workdir-map-form-directory",
    ),
    pytest.param(
        tool(
            inputs=file_input(
                {
                    "class": "File",
                    "basename": "reads.bam",
                    "contents": "x",
                    "secondaryFiles": [located("file:///etc/shadow")],
                },
                secondaryFiles=[".bai"],
            )
        ),
        "inputs.text.default.secondaryFiles[0].location",
        "file:///etc/shadow",
        id="secondary-file-of-a-literal",
    ),
    pytest.param(
        tool(
            inputs={
                "folder": {
                    "type": "Directory",
                    "default": {
                        "class": "Directory",
                        "basename": "refs",
                        "listing": [located("file:///etc/passwd")],
                    },
                }
            }
        ),
        "inputs.folder.default.listing[0].location",
        "file:///etc/passwd",
        id="directory-literal-listing",
    ),
    pytest.param(
        tool(
            requirements=[
                {"class": "SchemaDefRequirement", "types": [{"$import": f"{HTTP}/types.yml"}]}
            ]
        ),
        "requirements[0].types[0].$import",
        "/types.yml",
        id="schema-def-import",
    ),
    pytest.param(
        tool("v1.0", arguments=[{"$include": "/etc/hostname"}]),
        "arguments[0].$include",
        "/etc/hostname",
        id="include-file",
    ),
    pytest.param(
        tool(
            requirements=[
                {"class": "InlineJavascriptRequirement", "expressionLib": [{"$include": "lib.js"}]}
            ]
        ),
        "requirements[0].expressionLib[0].$include",
        "lib.js",
        id="include-expression-lib",
    ),
    pytest.param(
        tool(inputs={"text": {"$import": f"{HTTP}/input.yml"}}),
        "inputs.text.$import",
        "/input.yml",
        id="import-url",
    ),
    pytest.param(
        tool(inputs={"text": {"$mixin": f"{HTTP}/mixin.yml", "type": "File"}}),
        "inputs.text.$mixin",
        "/mixin.yml",
        id="mixin-url",
    ),
    pytest.param(
        tool(**{"sbg:extra": {"$import": f"{HTTP}/extension.yml"}}),
        "sbg:extra.$import",
        "/extension.yml",
        id="import-in-an-extension-field",
    ),
    pytest.param(
        tool(**{"$schemas": [f"{HTTP}/EDAM.owl"]}),
        "$schemas",
        "/EDAM.owl",
        id="schemas",
    ),
    pytest.param(tool(**{"$base": "file:///etc/"}), "$base", "file:///etc/", id="base"),
    pytest.param(
        tool(**{"$namespaces": {"local": "file:///var/lib/"}}),
        "$namespaces.local",
        "file:///var/lib/",
        id="namespace-file-url",
    ),
    pytest.param(workflow("tools/count.cwl"), "steps.count.run", "tools/count.cwl", id="run-name"),
    pytest.param(workflow("../count.cwl"), "steps.count.run", "../count.cwl", id="run-dotdot"),
    pytest.param(
        workflow("/opt/tools/count.cwl", version="v1.0"),
        "steps.count.run",
        "/opt/tools/count.cwl",
        id="run-absolute-path",
    ),
    pytest.param(
        workflow(f"{HTTP}/count.cwl", version="v1.1"),
        "steps.count.run",
        "/count.cwl",
        id="run-url",
    ),
    pytest.param(
        workflow(
            {
                "class": "Workflow",
                "inputs": {"text": "File"},
                "outputs": {"words": {"type": "File", "outputSource": "inner/words"}},
                "steps": {
                    "inner": {
                        "run": "file:///tmp/count.cwl",
                        "in": {"text": "text"},
                        "out": ["words"],
                    }
                },
            },
            requirements=[{"class": "SubworkflowFeatureRequirement"}],
        ),
        "steps.count.run.steps.inner.run",
        "file:///tmp/count.cwl",
        id="run-in-a-nested-workflow",
    ),
    # Under 'hints' such classes are left out of what runs (see the test below).
    pytest.param(
        tool(requirements=[{"class": f"{HTTP}/Probe"}]),
        "requirements[0].class",
        "/Probe",
        id="requirement-class-url",
    ),
    pytest.param(
        tool(**{"$namespaces": {"probe": f"{HTTP}/ns#"}}, requirements=[{"class": "probe:Thing"}]),
        "requirements[0].class",
        "probe:Thing",
        id="requirement-class-through-a-namespace",
    ),
    pytest.param(
        tool(**{"$namespaces": {"probe": f"{HTTP}/ns#"}}, requirements={"probe:Thing": {}}),
        "requirements.probe:Thing",
        "probe:Thing",
        id="requirement-map-through-a-namespace",
    ),
    pytest.param(
        workflow(inline_tool(id=f"{HTTP}/tools/", hints=[{"class": "Anything"}])),
        "steps.count.run.hints[0].class",
        "/tools/",
        id="identifier-as-base",
    ),
    pytest.param(
        tool(outputs={"words": {"type": "File", "outputBinding": {"glob": "../../secret.key"}}}),
        "outputs.words.outputBinding.glob",
        "../../secret.key",
        id="glob-dotdot",
    ),
    pytest.param(
        tool(inputs={"text": {"type": "File", "secondaryFiles": ["/../../../secret.key"]}}),
        "inputs.text.secondaryFiles[0]",
        "/../../../secret.key",
        id="secondary-pattern-path",
    ),
    pytest.param(
        tool(
            inputs={
                "folder": {
                    "type": "Directory",
                    "default": {
                        "class": "Directory",
                        "basename": "refs",
                        "listing": [
                            {"class": "File", "basename": "../../../evil.txt", "contents": "x"}
                        ],
                    },
                }
            }
        ),
        "inputs.folder.default.listing[0].basename",
        "../../../evil.txt",
        id="literal-basename-dotdot",
    ),
    pytest.param(tool(inputs={}, stdin="/etc/passwd"), "stdin", "/etc/passwd", id="stdin-absolute"),
    pytest.param(
        tool(
            requirements=[
                {
                    "class": "InitialWorkDirRequirement",
                    "listing": [{"entryname": "../../platform.db", "entry": "x"}],
                }
            ]
        ),
        "requirements[0].listing[0].entryname",
        "../../platform.db",
        id="entryname-dotdot",
    ),
    pytest.param(
        tool(hints=[{"class": "DockerRequirement", "dockerLoad": f"{HTTP}/image.tar"}]),
        "hints[0].dockerLoad",
        "/image.tar",
        id="docker-load",
    ),
]


def _with_recorder(document: Any, address: str) -> Any:
    return json.loads(json.dumps(document).replace(HTTP, address))


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project("references")


def refused_install(caller: Caller, app_id: str, document: Any, **kwargs: Any) -> str:
    if "data" not in kwargs:
        kwargs["json"] = document
    body = assert_error(caller.post(f"/apps/{app_id}/raw", **kwargs), 400, APP_INVALID)
    assert_error(caller.get(f"/apps/{app_id}"), 404, APP_NOT_FOUND)  # nothing stored
    return str(body["message"])


@pytest.mark.parametrize(("document", "field", "target"), REFUSED)
def test_references_outside_the_document_are_refused_at_install(
    alice: Caller,
    project: dict[str, Any],
    recorder: tuple[str, list[str]],
    document: dict[str, Any],
    field: str,
    target: str,
) -> None:
    address, seen = recorder
    before = len(seen)
    message = refused_install(alice, f"{project['id']}/outside", _with_recorder(document, address))
    assert message.startswith(f"App refused: {field} "), message
    assert target in message
    assert "Traceback" not in message
    assert seen[before:] == []  # nothing was fetched or probed while validating


def test_a_yaml_body_and_a_new_revision_go_through_the_same_check(
    alice: Caller, project: dict[str, Any]
) -> None:
    yaml_text = (
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  reference:\n    type: File\n    inputBinding: {position: 1}\n"
        "    default: {class: File, location: 'file:///etc/passwd'}\n"
        "outputs: {}\n"
    )
    message = refused_install(
        alice,
        f"{project['id']}/from-yaml",
        None,
        data=yaml_text.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert message.startswith("App refused: inputs.reference.default.location points outside")

    app_id = f"{project['id']}/revised"
    assert alice.post(f"/apps/{app_id}/raw", json=tool()).status_code == 200
    bad = tool(inputs=file_input(located("file:///etc/passwd")))
    body = assert_error(alice.post(f"/apps/{app_id}/1/raw", json=bad), 400, APP_INVALID)
    assert body["message"].startswith("App refused: inputs.text.default.location")
    assert alice.get(f"/apps/{app_id}").json()["latest_revision"] == 0
    assert_error(alice.get(f"/apps/{app_id}/1"), 404, APP_NOT_FOUND)


def test_the_message_names_the_first_reference_and_counts_the_others(
    alice: Caller, project: dict[str, Any]
) -> None:
    document = tool(
        inputs=file_input(located("file:///etc/passwd")),
        arguments=[{"$include": "/etc/hostname"}],
        **{"$schemas": ["https://example.org/onto.owl"]},
    )
    message = refused_install(alice, f"{project['id']}/many", document)
    assert message.startswith("App refused: ")
    for field in ("$schemas", "inputs.text.default.location", "arguments[0].$include"):
        assert field in message
    assert "Other references outside the app" in message


def test_the_secret_key_cannot_be_read_through_a_default(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any]
) -> None:
    # A task's document lives in DATA_DIR/tasks/<task id>/, so '../../secret.key' is the key.
    for location in ("../../secret.key", (platform.data_dir / "secret.key").resolve().as_uri()):
        document = tool(inputs=file_input(located(location)))
        message = refused_install(alice, f"{project['id']}/steal-key", document)
        assert "inputs.text.default.location" in message and location in message
    names = [
        app["id"] for app in alice.get("/apps", params={"project": project["id"]}).json()["items"]
    ]
    assert names == []


# ---------------------------------------------------------------------------------------------
# What stays legitimate


def test_self_contained_documents_still_install(alice: Caller, project: dict[str, Any]) -> None:
    document = tool(
        "v1.2",
        inputs={
            "location": {"type": "string", "default": "not a file"},
            "path": "string?",
            "greeting": {
                "type": "File",
                "default": {"class": "File", "basename": "hello.txt", "contents": "hello\n"},
                "secondaryFiles": [".idx?", {"pattern": "^.fai", "required": False}],
                "format": "edam:format_2330",
                "sbg:suggestedValue": {"class": "File", "path": "5772b6c4507c1752", "name": "r"},
            },
        },
        outputs={"words": {"type": "File", "outputBinding": {"glob": "*.txt"}}},
        hints=[
            {"class": "sbg:SaveLogs", "value": "*.log"},
            {"class": "cwltool:LoadListingRequirement", "loadListing": "no_listing"},
        ],
        **{
            "$namespaces": {
                "edam": "http://edamontology.org/",
                "cwltool": "http://commonwl.org/cwltool#",
            },
            "sbg:links": [{"id": "https://github.com/example/tool", "label": "Source"}],
            "id": "https://api.sbgenomics.com/v2/apps/someone/project/tool/3/raw/",
        },
    )
    response = alice.post(f"/apps/{project['id']}/legit/raw", json=document)
    assert response.status_code == 200, response.text


def test_the_public_apps_pass_the_check(alice: Caller, project: dict[str, Any]) -> None:
    # A copy goes through the same check as an install.
    for slug in ("line-count", "checksum", "fastq-stats", "fastq-summary"):
        response = alice.post(
            f"/apps/admin/public-apps/{slug}/actions/copy", json={"project": project["id"]}
        )
        assert response.status_code == 200, response.text


def test_literal_files_with_contents_run_as_a_task(alice: Caller, project: dict[str, Any]) -> None:
    document = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "label": "Greeting from literals",
        "baseCommand": ["cat"],
        "inputs": {
            "greeting": {
                "type": "File",
                "inputBinding": {"position": 1},
                "default": {"class": "File", "basename": "hello.txt", "contents": "hello\n"},
            },
            "folder": {
                "type": "Directory",
                "inputBinding": {"position": 2, "valueFrom": "$(self.path)/names.txt"},
                "default": {
                    "class": "Directory",
                    "basename": "lists",
                    "listing": [{"class": "File", "basename": "names.txt", "contents": "world\n"}],
                },
            },
        },
        "outputs": {"joined": {"type": "stdout"}},
        "stdout": "joined.txt",
    }
    response = alice.post(f"/apps/{project['id']}/greeting/raw", json=document)
    assert response.status_code == 200, response.text
    task = created(
        alice, run=True, name="literals", project=project["id"], app=response.json()["sbg:id"]
    )
    done = wait_for_status(alice, task["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(alice, done["outputs"]["joined"]["path"]) == b"hello\nworld\n"


def test_hints_of_unknown_namespaces_are_kept_but_never_looked_up(
    alice: Caller, project: dict[str, Any], recorder: tuple[str, list[str]]
) -> None:
    address, seen = recorder
    before = len(seen)
    document = tool(
        **{"$namespaces": {"probe": f"{address}/ns#"}},
        hints=[
            {"class": "probe:FakeRequirement", "level": 3},
            {"class": f"{address}/Probe"},
            {"class": "ResourceRequirement", "coresMin": 1},
        ],
        inputs={},
        baseCommand=["echo", "ran"],
    )
    app_id = f"{project['id']}/fake-hints"
    response = alice.post(f"/apps/{app_id}/raw", json=document)
    assert response.status_code == 200, response.text
    # The app as installed keeps its hints; only the document cwltool sees goes without them.
    assert alice.get(f"/apps/{app_id}/raw").json()["hints"] == document["hints"]
    task = created(alice, run=True, name="fake hints", project=project["id"], app=app_id)
    done = wait_for_status(alice, task["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(alice, done["outputs"]["words"]["path"]) == b"ran\n"
    assert seen[before:] == []  # neither validating nor running probed the classes' URLs
    # A workflow step's tool with such a hint (map form) installs too.
    inner = inline_tool(hints={"probe:Other": {}})
    nested = workflow(inner)
    nested["$namespaces"] = {"probe": f"{address}/ns#"}
    answer = alice.post(f"/apps/{project['id']}/fake-hints-wf/raw", json=nested)
    assert answer.status_code == 200, answer.text
    assert seen[before:] == []


# ---------------------------------------------------------------------------------------------
# Apps stored before the check (rows written straight into the database)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def store_old_app(server: EmbeddedServer, project_id: str, slug: str, raw: dict[str, Any]) -> str:
    """An app row as an older platform would have stored it (no check); returns its id."""
    owner, project_slug = project_id.split("/")
    with database_for(server).write_session() as session:
        project_row = session.scalar(
            select(Project)
            .join(User, User.id == Project.owner_id)
            .where(User.username == owner, Project.slug == project_slug)
        )
        assert project_row is not None
        now = _now()
        app = App(
            project_id=project_row.id,
            slug=slug,
            latest_revision=0,
            created_by_id=project_row.owner_id,
            created_on=now,
            modified_on=now,
            search_text=slug,
        )
        session.add(app)
        session.flush()
        session.add(
            AppRevision(
                app_id=app.id,
                revision=0,
                name=slug,
                raw=raw,
                cwl_version=raw["cwlVersion"],
                cwl_class=raw["class"],
                notes="",
                created_by_id=project_row.owner_id,
                created_on=now,
            )
        )
        session.commit()
    return f"{project_id}/{slug}"


def add_old_revision(server: EmbeddedServer, app_id: str, raw: dict[str, Any]) -> None:
    """A new latest revision stored without the check."""
    owner, project_slug, slug = app_id.split("/")
    with database_for(server).write_session() as session:
        app = session.scalar(
            select(App)
            .join(Project, Project.id == App.project_id)
            .join(User, User.id == Project.owner_id)
            .where(User.username == owner, Project.slug == project_slug, App.slug == slug)
        )
        assert app is not None
        number = app.latest_revision + 1
        session.add(
            AppRevision(
                app_id=app.id,
                revision=number,
                name=slug,
                raw=raw,
                cwl_version=raw["cwlVersion"],
                cwl_class=raw["class"],
                notes="",
                created_by_id=app.created_by_id,
                created_on=_now(),
            )
        )
        app.latest_revision = number
        session.commit()


def _project_file_contents(caller: Caller, project_id: str) -> list[bytes]:
    listing = caller.get("/files", params={"project": project_id, "limit": 100})
    assert listing.status_code == 200, listing.text
    return [
        download(caller, item["id"]) for item in listing.json()["items"] if item["type"] == "file"
    ]


def test_a_stored_app_that_reads_the_secret_key_cannot_run(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any]
) -> None:
    key_file = (platform.data_dir / "secret.key").resolve()
    raw = tool(inputs=file_input(located(key_file.as_uri())))
    app_id = store_old_app(platform, project["id"], "old-steal-key", raw)

    task = created(alice, run=True, name="old app", project=project["id"], app=app_id)
    done = wait_for_status(alice, task["id"])
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert "cannot run" in message
    assert "App refused: inputs.text.default.location points outside the app document" in message
    assert done["outputs"] in ({}, None) or not any(done["outputs"].values())
    secret = key_file.read_bytes().strip()
    assert all(secret not in content for content in _project_file_contents(alice, project["id"]))
    # Nothing stored was removed or changed: the app still reads back as it was.
    stored = alice.get(f"/apps/{app_id}/0/raw")
    assert stored.status_code == 200
    assert stored.json()["inputs"] == raw["inputs"]


def test_a_stored_app_with_a_run_file_cannot_run_either(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any]
) -> None:
    document = workflow("/etc/count.cwl", inputs={"text": "File?"})
    app_id = store_old_app(platform, project["id"], "old-run-file", document)
    task = created(alice, run=True, name="old workflow", project=project["id"], app=app_id)
    done = wait_for_status(alice, task["id"])
    assert done["status"] == "FAILED"
    assert "App refused: steps.count.run points outside" in done["execution_status"]["message"]


def test_a_stored_app_cannot_be_copied_or_synced(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any]
) -> None:
    other = alice.create_project("references-copies")
    bad = tool(inputs=file_input(located("file:///etc/passwd")))
    old = store_old_app(platform, project["id"], "old-copy", bad)
    for strategy in ("clone", "direct", "transient", "clone_direct"):
        response = alice.post(
            f"/apps/{old}/actions/copy", json={"project": other["id"], "strategy": strategy}
        )
        body = assert_error(response, 400, APP_INVALID)
        assert "App refused: inputs.text.default.location" in body["message"]
        assert f"{old}/0" in body["message"]
    assert_error(alice.get(f"/apps/{other['id']}/old-copy"), 404, APP_NOT_FOUND)

    # A good app is copied; its source later gains a revision stored without the check.
    source = f"{project['id']}/synced-source"
    assert alice.post(f"/apps/{source}/raw", json=tool()).status_code == 200
    copied = alice.post(f"/apps/{source}/actions/copy", json={"project": other["id"]})
    assert copied.status_code == 200, copied.text
    add_old_revision(platform, source, bad)
    synced = alice.post(f"/apps/{other['id']}/synced-source/actions/sync")
    body = assert_error(synced, 400, APP_INVALID)
    assert f"{source}/1" in body["message"]
    assert "App refused: inputs.text.default.location" in body["message"]
    assert alice.get(f"/apps/{other['id']}/synced-source").json()["latest_revision"] == 0


# ---------------------------------------------------------------------------------------------
# The loader on its own (without the check in front of it) never fetches anything


def test_the_loader_alone_never_reads_files_or_urls(
    recorder: tuple[str, list[str]], tmp_path: Path
) -> None:
    from sevenbridges_local.services import cwl

    address, seen = recorder
    secret = tmp_path / "secret.yml"
    secret.write_text("type: File\n", encoding="utf-8")
    opened: list[str] = []

    def audit(event: str, arguments: tuple[Any, ...]) -> None:
        if event == "open" and arguments and str(arguments[0]).startswith(str(tmp_path)):
            opened.append(str(arguments[0]))

    sys.addaudithook(audit)
    documents = [
        tool(inputs={"text": {"$import": secret.as_uri()}}),
        tool(inputs={"text": {"$import": f"{address}/input.yml"}}),
        tool(arguments=[{"$include": str(secret)}]),
        tool(arguments=[{"$include": f"{address}/args.txt"}]),
        tool(inputs={"text": {"$mixin": f"{address}/mixin.yml", "type": "File"}}),
        workflow(f"{address}/count.cwl"),
        workflow(secret.as_uri()),
        tool(
            requirements=[
                {"class": "SchemaDefRequirement", "types": [{"$import": secret.as_uri()}]}
            ]
        ),
        tool(hints=[{"class": f"{address}/Probe"}]),
        tool(inputs=file_input(located(f"{address}/data.txt"))),
        tool(**{"$schemas": [f"{address}/EDAM.owl"]}),
    ]
    loader = cwl._shared_loader()
    before = len(seen)
    for document in documents:
        candidate = copy.deepcopy(document)
        candidate["id"] = "file:///sbg-local-app/app.cwl"
        try:
            loader.load(candidate)
        except loader.errors:
            pass
    assert seen[before:] == []
    assert opened == []
    # The recorder itself works, so the empty list means something.
    assert requests.get(f"{address}/ping", timeout=10).status_code == 200
    assert seen[before:] == ["GET /ping"]

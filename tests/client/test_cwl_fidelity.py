"""What an app and a task carry must survive the platform exactly: characters outside the Basic
Multilingual Plane, URL-special characters in file names, the form of numbers, input and output
names that are also attribute names of the client's objects, packed ``$graph`` documents.

Each test runs the client against the live local platform (tasks really run with cwltool).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import sevenbridges as sbg
from sevenbridges.errors import BadRequest
from sevenbridges.models.enums import TaskStatus
from sevenbridges.models.file import File

from .test_files import new_project, put_file
from .test_tasks import finish

DANCER = "\U0001f57a"  # outside the BMP: a surrogate pair in UTF-16 and in JSON escapes
# Every character a URL treats specially, and a non-BMP one, in one file name.
AWKWARD_NAME = f"b {DANCER} #1?x=%41&y;.txt"

# Inputs and outputs named like the client's own attributes.
CLASHING_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": f"Copy and say {DANCER}",
    "doc": f"Copies its file under the same name and echoes a greeting {DANCER}.",
    "baseCommand": ["cp"],
    "arguments": [{"valueFrom": "copy of $(inputs.self.basename)", "position": 2}],
    "inputs": {
        "self": {"type": "File", "inputBinding": {"position": 1}},
        "api": {"type": "string", "default": f"{DANCER} singular sensation"},
        "_parent": {"type": "int", "default": 123000},
    },
    "outputs": {
        "self": {"type": "File", "outputBinding": {"glob": "copy of $(inputs.self.basename)"}},
        "api": {"type": "string", "outputBinding": {"outputEval": "$(inputs.api)"}},
        "_parent": {"type": "int", "outputBinding": {"outputEval": "$(inputs._parent)"}},
    },
}


@pytest.fixture
def http_session() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # loopback only
    yield session
    session.close()


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("fidelity"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "fidelity")


@pytest.fixture
def clashing_app(owner: sbg.Api, project: sbg.Project) -> sbg.App:
    return owner.apps.install_app(id=f"{project.id}/clashing", raw=copy.deepcopy(CLASHING_TOOL))


def _document(raw: dict[str, Any]) -> dict[str, Any]:
    """The stored document without the keys the platform adds."""
    return {key: value for key, value in raw.items() if not key.startswith("sbg:")}


def test_non_bmp_text_and_url_characters_survive_a_run(owner, project, clashing_app):
    stored = _document(owner.apps.get(clashing_app.id).raw)
    stored.pop("$namespaces", None)
    assert stored == CLASHING_TOOL

    data = f"{DANCER} content\n".encode()
    source = put_file(owner, AWKWARD_NAME, data, project=project)
    assert source.name == AWKWARD_NAME
    said = f"hello {DANCER}"
    task = owner.tasks.create(
        name=f"copy {DANCER}",
        project=project,
        app=clashing_app,
        inputs={"self": source, "api": said},
        run=True,
    )
    finish(task)
    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    assert task.name == f"copy {DANCER}"
    assert task.inputs["api"] == said

    outputs = task.outputs
    assert set(outputs) == {"self", "api", "_parent"}
    assert outputs["api"] == said
    assert outputs["_parent"] == 123000 and isinstance(outputs["_parent"], int)
    copied = outputs["self"]
    assert isinstance(copied, File)
    copied.reload()
    assert copied.name == f"copy of {AWKWARD_NAME}"
    assert copied.content() == data.decode()


def test_inputs_named_like_client_attributes_read_and_write(owner, project, clashing_app):
    source = put_file(owner, "in.txt", b"x\n", project=project)
    task = owner.tasks.create(
        name="draft",
        project=project,
        app=clashing_app,
        inputs={"self": source, "api": "first", "_parent": 1},
    )
    assert task.inputs["api"] == "first"
    assert task.inputs["_parent"] == 1
    assert isinstance(task.inputs["self"], File) and task.inputs["self"].id == source.id

    task.inputs["api"] = "second"
    task.inputs["_parent"] = 2
    task.save()
    again = owner.tasks.get(task.id)
    assert again.inputs["api"] == "second"
    assert again.inputs["_parent"] == 2
    assert dict(again.inputs.items())["self"].id == source.id


# What ``cwltool --pack`` writes: processes side by side, steps naming them by fragment.
PACKED_WORKFLOW: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "$graph": [
        {
            "class": "CommandLineTool",
            "id": "#shout",
            "baseCommand": ["tr", "a-z", "A-Z"],
            "stdin": "$(inputs.text.path)",
            "stdout": "shouted.txt",
            "inputs": [{"id": "#shout/text", "type": "File"}],
            "outputs": [{"id": "#shout/loud", "type": "stdout"}],
        },
        {
            "class": "Workflow",
            "id": "#main",
            "label": "Packed shout",
            "inputs": [{"id": "#main/text", "type": "File"}],
            "outputs": [{"id": "#main/result", "type": "File", "outputSource": "#main/first/loud"}],
            "steps": [
                {
                    "id": "#main/first",
                    "run": "#shout",
                    "in": [{"id": "#main/first/text", "source": "#main/text"}],
                    "out": ["#main/first/loud"],
                },
            ],
        },
    ],
}

# The same workflow as sbpack writes it: one process, the step's tool embedded in 'run'.
INLINE_WORKFLOW: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "inputs": {"text": "File"},
    "outputs": {"result": {"type": "File", "outputSource": "first/loud"}},
    "steps": {
        "first": {
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["tr", "a-z", "A-Z"],
                "stdin": "$(inputs.text.path)",
                "stdout": "shouted.txt",
                "inputs": {"text": "File"},
                "outputs": {"loud": "stdout"},
            },
            "in": {"text": "text"},
            "out": ["loud"],
        }
    },
}


@pytest.mark.parametrize("document", [PACKED_WORKFLOW, INLINE_WORKFLOW], ids=["graph", "inline"])
def test_packed_and_inline_workflows_install_and_run(owner, project, document):
    app = owner.apps.install_app(id=f"{project.id}/shout", raw=copy.deepcopy(document))
    stored = _document(owner.apps.get(app.id).raw)
    stored.pop("$namespaces", None)
    assert stored == document

    text = put_file(owner, "quiet.txt", b"hello\n", project=project)
    task = owner.tasks.create(
        name="shout", project=project, app=app, inputs={"text": text}, run=True
    )
    finish(task)
    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    assert task.outputs["result"].content() == "HELLO\n"


def _graph_with_ids(*ids: str) -> dict[str, Any]:
    tool = PACKED_WORKFLOW["$graph"][0]
    return {"cwlVersion": "v1.2", "$graph": [{**tool, "id": name} for name in ids]}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_graph_with_ids("#first", "#second"), "no process with the id '#main'"),
        (_graph_with_ids("#main", "main"), "2 processes with the id '#main'"),
        ({"cwlVersion": "v1.2", "$graph": []}, "non-empty list"),
    ],
    ids=["no-main", "two-mains", "empty"],
)
def test_a_graph_without_one_main_is_refused(owner, project, document, expected):
    with pytest.raises(BadRequest) as refused:
        owner.apps.install_app(id=f"{project.id}/graph", raw=document)
    assert refused.value.code == 6013
    assert expected in refused.value.message
    assert not list(owner.apps.query(project=project))


# Numbers in the forms a YAML author writes them; echo shows what cwltool put on the line.
NUMBERS_TOOL_YAML = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
arguments: [-n]
stdout: said.txt
sbg:limits: {count: 123000, ratio: 2.0}
inputs:
  tiny: {type: float, default: 0.00001, inputBinding: {position: 1}}
  large: {type: float, default: 1.23e5, inputBinding: {position: 2}}
  whole: {type: int, default: 123000, inputBinding: {position: 3}}
  given: {type: float, inputBinding: {position: 4}}
outputs:
  said:
    type: string
    outputBinding:
      glob: said.txt
      loadContents: true
      outputEval: $(self[0].contents)
"""


def test_numbers_keep_their_form_in_the_app_the_job_and_the_outputs(
    owner, project, platform, http_session
):
    app = owner.apps.install_app(
        id=f"{project.id}/numbers", raw=NUMBERS_TOOL_YAML, raw_format="yaml"
    )
    # On the wire the numbers are written as they were given.
    headers = {"X-SBG-Auth-Token": platform.token(owner.users.me().username)}
    wire = http_session.get(f"{platform.url}/apps/{app.id}/raw", headers=headers).text
    assert '"default":1.23e5' in wire and '"default":0.00001' in wire
    assert '"count":123000,' in wire and '"ratio":2.0' in wire
    yaml_text = http_session.get(
        f"{platform.url}/apps/{app.id}/raw", params={"format": "yaml"}, headers=headers
    ).text
    assert "default: 1.23e5" in yaml_text and "count: 123000\n" in yaml_text

    raw = owner.apps.get(app.id).raw
    assert raw["sbg:limits"] == {"count": 123000, "ratio": 2.0}
    assert isinstance(raw["sbg:limits"]["count"], int)
    assert isinstance(raw["sbg:limits"]["ratio"], float)
    assert isinstance(raw["inputs"]["whole"]["default"], int)

    # A task input sent as 4.5e2 reaches the tool in that form.
    body = {"name": "numbers", "project": project.id, "app": app.id, "inputs": {"given": 0}}
    sent = json.dumps(body).replace('"given": 0', '"given": 4.5e2')
    created = http_session.post(
        f"{platform.url}/tasks",
        params={"action": "run"},
        data=sent,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert '"given":4.5e2' in created.text
    task = finish(owner.tasks.get(created.json()["id"]))
    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    assert task.outputs["said"] == "0.00001 123000 123000 450"


BIG = 10**42  # 'double' defaults written like this are in the CWL conformance suite
BIG_INTEGERS_TOOL_YAML = f"""\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [echo, -n]
stdout: said.txt
inputs:
  huge: {{type: double, default: {BIG}, inputBinding: {{position: 1}}}}
  pair: {{type: 'double[]', default: [{BIG}, -{BIG}], inputBinding: {{position: 2}}}}
  small: {{type: long, inputBinding: {{position: 3}}}}
outputs:
  said: {{type: stdout}}
"""


def test_integers_beyond_64_bits_in_an_app_round_trip_exactly(
    owner, project, platform, http_session
):
    app = owner.apps.install_app(
        id=f"{project.id}/big-integers", raw=BIG_INTEGERS_TOOL_YAML, raw_format="yaml"
    )
    headers = {"X-SBG-Auth-Token": platform.token(owner.users.me().username)}
    wire = http_session.get(f"{platform.url}/apps/{app.id}/raw", headers=headers).text
    assert f'"default":{BIG},' in wire and f"[{BIG},-{BIG}]" in wire
    raw = owner.apps.get(app.id).raw
    assert raw["inputs"]["huge"]["default"] == BIG
    assert raw["inputs"]["pair"]["default"] == [BIG, -BIG]
    task = finish(
        owner.tasks.create(
            name="big", project=project, app=app, inputs={"small": 2**63 - 1}, run=True
        )
    )
    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    said = task.outputs["said"]
    assert said.content() == f"{BIG} {BIG} -{BIG} {2**63 - 1}"
    # Task inputs still stop at 64 bits (the request boundary's rule for every JSON body).
    with pytest.raises(BadRequest):
        owner.tasks.create(name="bigger", project=project, app=app, inputs={"small": 2**63})

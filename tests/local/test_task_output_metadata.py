"""Output file metadata set by a tool (a ``metadata`` field on an output File, as CWL apps on
the platform set it in ``outputEval``): stored with the new file through the live platform,
with what breaks the metadata rules left out rather than failing the task."""

from __future__ import annotations

import uuid

from sevenbridges.models.enums import TaskStatus
from sevenbridges_local.limits import MAX_METADATA_KEYS
from sevenbridges_local.services.file_rules import output_metadata

POLL_SECONDS = 0.2

# Every kind of value a tool could hand back: kept (string, number, boolean) or left out.
_EVAL = (
    "${ var f = self[0]; f.metadata = {"
    "'sample_id': inputs.sample, 'reads': 1200, 'paired': true, 'ratio': 0.5,"
    "'nested': {'a': 1}, 'list': [1], 'long': new Array(1002).join('x'), 'gone': null};"
    " return f; }"
)

TOOL = {
    "cwlVersion": "v1.0",
    "class": "CommandLineTool",
    "requirements": [{"class": "InlineJavascriptRequirement"}],
    "baseCommand": ["touch", "out.txt"],
    "inputs": [{"id": "sample", "type": "string"}],
    "outputs": [
        {"id": "out", "type": "File", "outputBinding": {"glob": "out.txt", "outputEval": _EVAL}}
    ],
}


def test_metadata_a_tool_sets_on_an_output_is_stored_and_checked(api_for, new_username):
    api = api_for(new_username("outmeta"))
    project = api.projects.create(name=f"output metadata {uuid.uuid4().hex[:8]}")
    app = api.apps.install_app(id=f"{project.id}/meta-tool", raw=TOOL)

    task = api.tasks.create(
        name="meta", project=project, app=app, inputs={"sample": "NA12878"}, run=True
    )
    task.wait(period=POLL_SECONDS)

    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    stored = api.files.get(task.outputs["out"].id)
    assert dict(stored.metadata) == {
        "sample_id": "NA12878",
        "reads": 1200,
        "paired": True,
        "ratio": 0.5,
    }
    # Queryable like any metadata set through the API.
    found = api.files.query(project=project, metadata={"sample_id": "NA12878"})
    assert [item.id for item in found] == [stored.id]


def test_output_metadata_rules_repair_what_a_tool_gives():
    kept, dropped = output_metadata({f"k{i}": i for i in range(MAX_METADATA_KEYS + 2)})
    assert len(kept) == MAX_METADATA_KEYS and len(dropped) == 2
    kept, dropped = output_metadata({"nan": float("nan"), " ": "x", "x" * 256: 1, "ok": False})
    assert kept == {"ok": False} and len(dropped) == 3
    assert output_metadata(["a"]) == ({}, ["the metadata is not an object"])
    assert output_metadata(None) == ({}, [])

"""Batch tasks against a live local platform: by item, by metadata criteria, turning batching
off, the children and their batch groups, the parent's aggregated status, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest
from sevenbridges.models.enums import TaskStatus
from sevenbridges.models.file import File
from sevenbridges.models.task import Task

from .test_files import new_project, put_file
from .test_tasks import (
    COUNT_TOOL,
    body_of,
    capture_requests,
    finish,
    install,
    query_of,
    requests_to,
)

BATCH_PAIRING = 7023  # batch_by and batch_input must come together

CONCAT_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Concatenate",
    "baseCommand": ["cat"],
    "inputs": {"parts": {"type": "File[]", "inputBinding": {"position": 1}}},
    "stdout": "joined.txt",
    "outputs": {"joined": {"type": "stdout"}},
}

# name -> (content, sample): two files of sample S1, one of S2.
SAMPLE_FILES = {
    "s1-lane1.txt": (b"a\nb\n", "S1"),
    "s1-lane2.txt": (b"c\n", "S1"),
    "s2-lane1.txt": (b"d\ne\nf\ng\n", "S2"),
}


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("batchowner"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "batches")


@pytest.fixture
def sample_files(owner: sbg.Api, project: sbg.Project) -> list[File]:
    files = []
    for name, (content, sample) in SAMPLE_FILES.items():
        uploaded = put_file(owner, name, content, project=project)
        uploaded = owner.files.get(uploaded.id)
        uploaded.metadata["sample_id"] = sample
        uploaded.save()
        files.append(uploaded)
    return files


def test_batch_by_item_runs_one_child_per_file(owner, project, sample_files):
    counter = install(owner, project, "count", COUNT_TOOL)
    sent = capture_requests(owner)

    parent = owner.tasks.create(
        name="count each",
        project=project,
        app=counter,
        inputs={"input_file": sample_files},
        batch_input="input_file",
        batch_by={"type": "item"},
        run=True,
    )

    request = requests_to(sent, "POST", "/tasks")[0]
    assert query_of(request) == {"action": ["run"]}
    body = body_of(request)
    assert body["batch_input"] == "input_file"
    assert body["batch_by"] == {"type": "item"}
    assert body["inputs"]["input_file"] == [
        {"class": "File", "path": f.id} for f in sample_files
    ]
    assert parent.batch is True
    assert parent.batch_input == "input_file"
    assert parent.batch_by["type"] == "item"

    finish(parent)
    assert parent.status == TaskStatus.COMPLETED
    children = list(parent.get_batch_children().all())
    assert len(children) == len(sample_files)
    assert all(isinstance(child, Task) for child in children)
    assert {child.parent for child in children} == {parent.id}
    assert all(child.status == TaskStatus.COMPLETED for child in children)
    assert all(child.batch_group is not None for child in children)
    lines_by_input = {
        child.inputs["input_file"].id: child.outputs["lines"] for child in children
    }
    expected = {f.id: SAMPLE_FILES[f.name][0].count(b"\n") for f in sample_files}
    assert lines_by_input == expected

    status = parent.execution_status
    assert status.completed == len(sample_files)
    assert (status.failed or 0, status.aborted or 0, status.running or 0) == (0, 0, 0)

    # Children are tasks of the project too, and the parent filters them.
    assert {t.id for t in owner.tasks.query(parent=parent)} == {c.id for c in children}
    assert len(parent.get_batch_children(status="COMPLETED", limit=1)) == 1
    assert list(parent.get_batch_children(status="FAILED")) == []


def test_batch_by_criteria_groups_files_by_metadata(owner, project, sample_files):
    concat = install(owner, project, "concat", CONCAT_TOOL)

    parent = owner.tasks.create(
        name="per sample",
        project=project,
        app=concat,
        inputs={"parts": sample_files},
        batch_input="parts",
        batch_by={"type": "criteria", "criteria": ["metadata.sample_id"]},
    )
    assert parent.status == TaskStatus.DRAFT
    assert parent.batch_by["criteria"] == ["metadata.sample_id"]
    parent.run()
    finish(parent)

    assert parent.status == TaskStatus.COMPLETED
    children = list(parent.get_batch_children().all())
    assert len(children) == 2
    by_sample: dict[str, Task] = {}
    for child in children:
        group = child.batch_group
        label = " ".join([str(group.value)] + [str(v) for v in (group.fields or {}).values()])
        sample = "S1" if "S1" in label else "S2"
        assert sample in label, label
        by_sample[sample] = child
    assert set(by_sample) == {"S1", "S2"}
    names_by_sample = {
        sample: sorted(f.name for f in child.inputs["parts"])
        for sample, child in by_sample.items()
    }
    assert names_by_sample == {"S1": ["s1-lane1.txt", "s1-lane2.txt"], "S2": ["s2-lane1.txt"]}
    assert by_sample["S1"].outputs["joined"].content() == "a\nb\nc\n"
    assert parent.execution_status.completed == 2


def test_disable_batch_runs_a_single_task(owner, project, sample_files):
    concat = install(owner, project, "concat", CONCAT_TOOL)
    sent = capture_requests(owner)

    task = owner.tasks.create(
        name="all at once",
        project=project,
        app=concat,
        inputs={"parts": sample_files},
        batch_input="parts",
        batch_by={"type": "item"},
        disable_batch=True,
        run=True,
    )

    request = requests_to(sent, "POST", "/tasks")[0]
    assert query_of(request) == {"action": ["run"], "batch": ["False"]}
    finish(task)
    assert task.status == TaskStatus.COMPLETED
    assert not task.batch
    assert len(task.outputs["joined"].content().splitlines()) == 7


def test_run_without_batching_sends_batch_false(owner, project, sample_files):
    concat = install(owner, project, "concat", CONCAT_TOOL)
    draft = owner.tasks.create(
        name="batched draft",
        project=project,
        app=concat,
        inputs={"parts": sample_files},
        batch_input="parts",
        batch_by={"type": "item"},
    )
    assert draft.batch is True
    sent = capture_requests(owner)

    draft.run(batch=False)

    (request,) = requests_to(sent, "POST", f"/tasks/{draft.id}/actions/run")
    assert query_of(request) == {"batch": ["False"]}
    finish(draft)
    assert draft.status == TaskStatus.COMPLETED
    assert not draft.batch


def test_changing_batch_by_on_a_draft(owner, project, sample_files):
    concat = install(owner, project, "concat", CONCAT_TOOL)
    draft = owner.tasks.create(
        name="regroup",
        project=project,
        app=concat,
        inputs={"parts": sample_files},
        batch_input="parts",
        batch_by={"type": "item"},
    )
    sent = capture_requests(owner)

    draft.batch_by["type"] = "criteria"
    draft.batch_by["criteria"] = ["metadata.sample_id"]
    draft.save()

    (patch,) = requests_to(sent, "PATCH", f"/tasks/{draft.id}")
    assert body_of(patch) == {
        "batch_by": {"type": "criteria", "criteria": ["metadata.sample_id"]}
    }
    stored = owner.tasks.get(draft.id)
    assert dict(stored.batch_by.items()) == {
        "type": "criteria", "criteria": ["metadata.sample_id"]
    }


def test_invalid_batch_descriptions_are_refused(owner, project, sample_files):
    counter = install(owner, project, "count", COUNT_TOOL)
    inputs = {"input_file": sample_files}

    with pytest.raises(BadRequest) as bad_type:
        owner.tasks.create(
            name="bad type", project=project, app=counter, inputs=inputs,
            batch_input="input_file", batch_by={"type": "shuffle"},
        )
    assert bad_type.value.code == 7020  # rest-api.md §1.9: batch type must be criteria or item
    assert "criteria" in bad_type.value.message and "item" in bad_type.value.message

    # The client only sends batch_by together with batch_input; the raw call shows the rule.
    with pytest.raises(BadRequest) as unpaired:
        owner.post(
            "/tasks",
            data={
                "name": "unpaired",
                "project": project.id,
                "app": f"{counter.id}/0",
                "inputs": {},
                "batch_by": {"type": "item"},
            },
        )
    assert unpaired.value.code == BATCH_PAIRING

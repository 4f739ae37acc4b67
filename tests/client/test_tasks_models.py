"""The Task model and its compounds without a platform: input/output mapping, input encoding,
dirty tracking of inputs and batch_by, execution details and logs, reprs.

Nothing here sends a request: every object is built from JSON the way the client builds it from a
platform answer, and the checks are about what the client does with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from sevenbridges.errors import ReadOnlyPropertyError, SbgError, ValidationError
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.bulk import TaskBulkRecord
from sevenbridges.models.compound.jobs.job import Job
from sevenbridges.models.compound.tasks import map_input_output
from sevenbridges.models.compound.tasks.batch_by import BatchBy
from sevenbridges.models.compound.tasks.batch_group import BatchGroup
from sevenbridges.models.compound.tasks.execution_status import ExecutionStatus
from sevenbridges.models.compound.tasks.input import Input
from sevenbridges.models.compound.tasks.output import Output
from sevenbridges.models.execution_details import ExecutionDetails
from sevenbridges.models.file import File
from sevenbridges.models.task import Task

TASK_ID = str(uuid.UUID(int=7))
FILE_ID = "65a1b2c3d4e5f60718293a4d"
FOLDER_ID = "65a1b2c3d4e5f60718293a4e"


def draft(**data) -> Task:
    """A task as the client holds it after reading a platform answer (nothing to fetch)."""
    task = Task(id=TASK_ID, status="DRAFT", **data)
    task._data.fetched = True
    return task


# --------------------------------------------------------------------------- input/output mapping


def test_a_cwl_file_object_becomes_a_file_with_its_details():
    value = {
        "class": "File",
        "path": FILE_ID,
        "basename": "reads.fq",
        "size": 42,
        "metadata": {"sample_id": "S1"},
        "secondaryFiles": [{"class": "File", "path": "aa11", "basename": "reads.fq.bai"}],
    }
    mapped = map_input_output(value, api=None)
    assert isinstance(mapped, File)
    assert (mapped.id, mapped.name, mapped.size, mapped.type) == (FILE_ID, "reads.fq", 42, "file")
    assert mapped.metadata["sample_id"] == "S1"
    assert not mapped.is_folder()
    secondary = mapped.secondary_files
    assert [(f.id, f.name) for f in secondary] == [("aa11", "reads.fq.bai")]


def test_directories_become_folders_and_the_class_is_case_insensitive():
    folder = map_input_output({"class": "directory", "path": FOLDER_ID}, api=None)
    assert isinstance(folder, File)
    assert folder.is_folder()
    assert folder.secondary_files is None
    lowercase_file = map_input_output({"class": "file", "path": FILE_ID, "name": "x"}, api=None)
    assert lowercase_file.type == "file" and lowercase_file.name == "x"


def test_lists_are_mapped_element_wise_and_other_values_are_kept():
    mapped = map_input_output(
        [{"class": "File", "path": "a1"}, 3, {"class": "Directory", "path": "b2"}], api=None
    )
    assert isinstance(mapped[0], File) and mapped[0].id == "a1"
    assert mapped[1] == 3
    assert mapped[2].is_folder()
    record = {"threads": 4, "mode": "fast"}
    assert map_input_output(record, api=None) is record
    assert map_input_output("text", api=None) == "text"
    assert map_input_output(None, api=None) is None


# --------------------------------------------------------------------------- input encoding


def test_serialize_inputs_encodes_files_and_folders_recursively():
    reads = File(id="f1", type="file")
    folder = File(id="d1", type="folder")
    encoded = Task._serialize_inputs(
        {
            "reads": [reads, File(id="f2", type="file")],
            "reference": folder,
            "nested": {"inner": [reads], "n": 1},
            "threads": 8,
            "flag": False,
            "already": {"class": "File", "path": "f9"},
        }
    )
    assert encoded == {
        "reads": [{"class": "File", "path": "f1"}, {"class": "File", "path": "f2"}],
        "reference": {"class": "Directory", "path": "d1"},
        "nested": {"inner": [{"class": "File", "path": "f1"}], "n": 1},
        "threads": 8,
        "flag": False,
        "already": {"class": "File", "path": "f9"},
    }


# --------------------------------------------------------------------------- inputs and outputs


def test_inputs_read_back_as_files_and_writes_mark_only_inputs_dirty():
    task = draft(
        name="t",
        inputs={"reads": {"class": "File", "path": "f1", "name": "a.fq"}, "threads": 2},
    )
    inputs = task.inputs
    assert isinstance(inputs, Input)
    assert isinstance(inputs["reads"], File) and inputs["reads"].id == "f1"
    assert inputs["threads"] == 2
    assert inputs["missing"] is None
    assert inputs.get("missing", "default") == "default"
    assert dict(inputs.items())["reads"].name == "a.fq"
    assert [type(value) for value in inputs.values()] == [File, int]
    assert task._modified_data() == {}

    replacement = File(id="f2", type="file")
    task.inputs["reads"] = replacement
    task.inputs["threads"] = 2  # unchanged: not dirty
    modified = task._modified_data()
    assert list(modified) == ["inputs"]
    assert modified["inputs"] == {"reads": replacement}


def test_assigning_the_whole_inputs_dict_is_a_change():
    task = draft(inputs={"threads": 1})
    task.inputs = {"threads": 3, "reads": File(id="f3", type="file")}
    assert task.field("inputs")["threads"] == 3
    assert "inputs" in task._modified_data()


def test_outputs_are_read_only_and_mapped():
    task = draft(
        outputs={
            "counts": {"class": "File", "path": "o1", "basename": "counts.txt"},
            "parts": [{"class": "File", "path": "o2"}, {"class": "File", "path": "o3"}],
            "total": 12,
        }
    )
    outputs = task.outputs
    assert isinstance(outputs, Output)
    assert outputs["counts"].name == "counts.txt"
    assert [f.id for f in outputs["parts"]] == ["o2", "o3"]
    assert outputs["total"] == 12
    with pytest.raises(ReadOnlyPropertyError):
        outputs["total"] = 13
    with pytest.raises(ReadOnlyPropertyError):
        outputs.update(total=1)
    with pytest.raises(ReadOnlyPropertyError):
        task.outputs = {}
    assert task.field("outputs")["total"] == 12


# --------------------------------------------------------------------------- other fields


def test_read_only_fields_refuse_assignment_and_writable_ones_are_tracked():
    task = draft(name="first", project="me/p", app="me/p/app/1", batch=False)
    for field_name in ("status", "id", "created_by", "parent", "errors", "price"):
        with pytest.raises(ReadOnlyPropertyError):
            setattr(task, field_name, "x")
    task.name = "second"
    task.description = "words"
    task.use_interruptible_instances = False
    assert task._modified_data() == {
        "name": "second",
        "description": "words",
        "use_interruptible_instances": False,
    }
    with pytest.raises(ValidationError):
        task.batch = "yes"


def test_task_id_must_be_a_uuid():
    with pytest.raises(ValidationError):
        Task(id="not-a-uuid")


def test_batch_by_marks_written_keys_dirty_even_when_equal():
    task = draft(batch_by={"type": "criteria", "criteria": ["metadata.sample_id"]})
    batch_by = task.batch_by
    assert isinstance(batch_by, BatchBy)
    assert batch_by["criteria"] == ["metadata.sample_id"]
    batch_by["type"] = "criteria"
    assert task._modified_data()["batch_by"] == {"type": "criteria"}


def test_task_fields_parse_platform_json():
    task = draft(
        origin_id="run-1",
        created_time="2024-03-05T09:00:00Z",
        start_time="2024-03-05T09:01:00.5Z",
        end_time=None,
        batch_group={"value": "S1", "fields": {"metadata.sample_id": "S1"}},
        price={"currency": "USD", "amount": 0.25, "breakdown": {"storage": "0.05",
                                                               "computation": "0.20"}},
        execution_status={"steps_completed": 1, "steps_total": 2, "message": "Running",
                          "duration": 1200, "queued": 0, "system_limit": False},
        errors=[{"code": 7012, "message": "missing input reads"}],
        warnings=[],
        execution_settings={"instance_type": "local", "max_parallel_instances": 1},
    )
    assert task.origin == "run-1"
    assert task.created_time == datetime(2024, 3, 5, 9, 0, 0)
    assert task.start_time == datetime(2024, 3, 5, 9, 1, 0, 500000)
    assert task.end_time is None
    group = task.batch_group
    assert isinstance(group, BatchGroup)
    assert (group.value, group.fields) == ("S1", {"metadata.sample_id": "S1"})
    assert str(group) == "<Batch group>"
    assert (task.price.amount, task.price.breakdown.computation) == (0.25, "0.20")
    status = task.execution_status
    assert isinstance(status, ExecutionStatus)
    assert (status.steps_completed, status.steps_total, status.duration) == (1, 2, 1200)
    assert status.message == "Running" and status.system_limit is False
    assert status.failed is None
    assert str(status) == "<ExecutionStatus>"
    assert task.errors == [{"code": 7012, "message": "missing input reads"}]
    assert task.warnings == []
    assert task.execution_settings["instance_type"] == "local"


def test_task_equality_repr_and_no_hash():
    first, second = draft(name="a"), draft(name="b")
    assert first == second
    assert first != Task(id=str(uuid.UUID(int=8)))
    assert repr(first) == f"<Task: id={TASK_ID}>" == str(first)
    with pytest.raises(TypeError):
        hash(first)


# --------------------------------------------------------------------------- execution details


def test_execution_details_jobs_instances_and_logs():
    details = ExecutionDetails(
        href="http://127.0.0.1:1/v2/tasks/x/execution_details",
        status="COMPLETED",
        message="",
        start_time="2024-03-05T09:01:00Z",
        end_time="2024-03-05T09:02:00Z",
        jobs=[
            {
                "name": "count",
                "status": "COMPLETED",
                "command_line": "wc -l a.txt",
                "start_time": "2024-03-05T09:01:01Z",
                "end_time": "2024-03-05T09:01:59Z",
                "retried": False,
                "instance": {"id": "local-1", "type": "local", "provider": "local",
                             "disk": {"size": 10, "unit": "GB", "type": "local"}},
                "docker": {"checksum": ""},
                "logs": {
                    "job.err.log": "http://127.0.0.1:1/v2/files/65a1f00d/download_info",
                    "cmd.log": "not a link",
                },
            }
        ],
    )
    details._data.fetched = True
    assert str(details) == "<Execution Details>"
    assert details.end_time - details.start_time == (
        datetime(2024, 3, 5, 9, 2) - datetime(2024, 3, 5, 9, 1)
    )
    (job,) = details.jobs
    assert isinstance(job, Job)
    assert str(job) == "<Job: name=count, status=COMPLETED>"
    assert job.command_line == "wc -l a.txt" and job.retried is False
    assert (job.instance.type, job.instance.disk.size, job.instance.disk.unit) == (
        "local", 10, "GB"
    )
    assert job.docker.checksum == ""
    log = job.logs["job.err.log"]
    assert isinstance(log, File) and log.id == "65a1f00d"
    assert job.logs["cmd.log"] is None
    assert job.logs["absent"] is None
    assert sorted(name for name, _ in job.logs.items()) == ["cmd.log", "job.err.log"]
    with pytest.raises(ReadOnlyPropertyError):
        job.logs["job.err.log"] = "x"


def test_execution_details_without_jobs_lists_none():
    details = ExecutionDetails(status="QUEUED")
    details._data.fetched = True
    assert details.jobs == []


# --------------------------------------------------------------------------- bulk records


def test_task_bulk_records_hold_tasks_or_errors():
    good = TaskBulkRecord(resource={"id": TASK_ID, "name": "ok", "status": "COMPLETED"})
    bad = TaskBulkRecord(error={"status": 404, "code": 7002, "message": "no such task"})
    for record in (good, bad):
        record._data.fetched = True
    assert good.valid and not bad.valid
    assert isinstance(good.resource, Task) and good.resource.name == "ok"
    assert bad.error.code == 7002 and bad.resource is None
    assert str(good) == "<TaskBulkRecord valid=True>"


# --------------------------------------------------------------------------- refused early


def test_batch_children_of_a_single_task_are_refused_without_a_request():
    task = draft(batch=False)
    with pytest.raises(SbgError, match="not a batch task"):
        task.get_batch_children()


def test_bulk_get_needs_tasks_and_create_needs_a_project_and_app():
    with pytest.raises(SbgError):
        Task.bulk_get([], api=object())
    with pytest.raises(SbgError, match="Project is required"):
        Task.create(name="t", project=None, app="a/b/c", api=object())
    with pytest.raises(SbgError, match="App is required"):
        Task.create(name="t", project="a/b", app=None, api=object())


def test_transform_to_task_takes_tasks_and_ids_only():
    assert Transform.to_task(draft()) == TASK_ID
    assert Transform.to_task(TASK_ID) == TASK_ID
    with pytest.raises(SbgError):
        Transform.to_task(File(id=FILE_ID))
    with pytest.raises(SbgError):
        Transform.to_task(None)

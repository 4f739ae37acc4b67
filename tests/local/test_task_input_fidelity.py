"""What a task's tool sees of its input files, through the client against the live platform:
the CWL fields a file object carries (``format``, ``checksum``, ``contents``), file and folder
literals, and secondary files declared on record fields and on workflow steps (issue 10)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import sevenbridges as sbg
from sevenbridges.errors import TaskValidationError

TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
FORMAT = "http://example.com/formats/reads"

# Prints what cwltool knows of its file: parameter references only (no JavaScript).
DESCRIBE_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["echo"],
    "inputs": {"reads": {"type": "File", "format": FORMAT}},
    "arguments": [
        "format=$(inputs.reads.format)",
        "size=$(inputs.reads.size)",
        "checksum=$(inputs.reads.checksum)",
        "name=$(inputs.reads.basename)",
    ],
    "stdout": "described.txt",
    "outputs": {"described": {"type": "stdout", "format": FORMAT}},
}

# Lists a folder (recursively) and prints a file.
LITERALS_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "requirements": {"ShellCommandRequirement": {}},
    "inputs": {"folder": "Directory", "note": "File"},
    "arguments": [
        {
            "valueFrom": "cd $(inputs.folder.path) && find . ! -type d | sort && cat */* * "
            "2>/dev/null; cat $(inputs.note.path)",
            "shellQuote": False,
        }
    ],
    "stdout": "listing.txt",
    "outputs": {"listing": {"type": "stdout"}},
}

# Fails unless the secondary files of the record's fields sit next to them.
RECORD_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["test"],
    "inputs": {
        "pair": {
            "type": {
                "type": "record",
                "fields": {
                    "first": {"type": "File", "secondaryFiles": ".idx"},
                    "rest": {"type": "File[]", "secondaryFiles": "^.bai"},
                },
            }
        }
    },
    "arguments": [
        "-f",
        "$(inputs.pair.first.path).idx",
        "-a",
        "-f",
        "$(inputs.pair.rest[0].secondaryFiles[0].path)",
    ],
    "outputs": {},
}

# A workflow whose input says nothing of secondary files; its step's tool requires one.
STEP_WORKFLOW: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "inputs": {"reads": "File"},
    "outputs": {},
    "steps": {
        "check": {
            "in": {"indexed": "reads"},
            "out": [],
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["test", "-f"],
                "inputs": {"indexed": {"type": "File", "secondaryFiles": [".idx"]}},
                "arguments": ["$(inputs.indexed.path).idx"],
                "outputs": {},
            },
        }
    },
}


@pytest.fixture
def api(api_for: Any, new_username: Any) -> sbg.Api:
    return api_for(new_username("fidelity"))


@pytest.fixture
def project(api: sbg.Api) -> Any:
    return api.projects.create(name="input fidelity")


def upload(api: sbg.Api, project: Any, folder: Path, name: str, text: str) -> Any:
    path = folder / name
    path.write_text(text)
    uploaded = api.files.upload(str(path), project=project, wait=True).result()
    assert uploaded is not None
    return uploaded


def run(api: sbg.Api, project: Any, slug: str, document: dict, inputs: dict) -> Any:
    app = api.apps.install_app(id=f"{project.id}/{slug}", raw=document)
    task = api.tasks.create(name=slug, project=project, app=app, inputs=inputs, run=True)
    deadline = time.monotonic() + 120
    while task.status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.2)
        task.reload()
    return task


def failure(task: Any) -> str:
    return getattr(task.execution_status, "message", None) or task.status


def test_a_files_format_and_checksum_reach_the_tool_and_the_output_keeps_its_format(
    api: sbg.Api, project: Any, tmp_path: Path
) -> None:
    reads = upload(api, project, tmp_path, "reads.fq", "@r1\nACGT\n+\n!!!!\n")
    checksum = "sha1$0123456789abcdef0123456789abcdef01234567"
    task = run(
        api,
        project,
        "describe",
        DESCRIBE_TOOL,
        {"reads": {"class": "File", "path": reads.id, "format": FORMAT, "checksum": checksum}},
    )
    assert task.status == "COMPLETED", failure(task)
    described = task.outputs["described"].content().split()
    assert described == [f"format={FORMAT}", "size=16", f"checksum={checksum}", "name=reads.fq"]
    raw = api.get(url=f"/tasks/{task.id}").json()["outputs"]["described"]
    assert raw["format"] == FORMAT


def test_file_and_folder_literals_are_created_for_the_tool(
    api: sbg.Api, project: Any, tmp_path: Path
) -> None:
    whale = upload(api, project, tmp_path, "whale.txt", "Call me Ishmael.\n")
    folder = {
        "class": "Directory",
        "basename": "made",
        "listing": [
            {"class": "File", "path": whale.id},
            {
                "class": "Directory",
                "basename": "inner",
                "listing": [{"class": "File", "basename": "deep.txt", "contents": "deep\n"}],
            },
        ],
    }
    note = {"class": "File", "basename": "note.txt", "contents": "a literal note\n"}
    task = run(api, project, "literals", LITERALS_TOOL, {"folder": folder, "note": note})
    assert task.status == "COMPLETED", failure(task)
    text = task.outputs["listing"].content()
    assert "./inner/deep.txt" in text and "./whale.txt" in text
    assert "deep\n" in text and "Call me Ishmael." in text and text.endswith("a literal note\n")
    # Kept as given in the task's inputs: a literal names no platform file, so the client shows
    # it as the plain CWL object (not a File without an id), and it can be sent again as it is.
    stored = api.get(url=f"/tasks/{task.id}").json()["inputs"]["note"]
    assert stored["contents"] == "a literal note\n" and "path" not in stored
    fetched = api.tasks.get(task.id)
    assert fetched.inputs["note"] == note
    again = run(api, project, "literals-again", LITERALS_TOOL, dict(fetched.inputs))
    assert again.status == "COMPLETED", failure(again)


def test_literal_contents_are_bounded_and_a_file_object_needs_an_id_or_contents(
    api: sbg.Api, project: Any
) -> None:
    app = api.apps.install_app(id=f"{project.id}/literals", raw=LITERALS_TOOL)
    folder = {"class": "Directory", "basename": "empty", "listing": []}
    too_big = {"class": "File", "basename": "big.txt", "contents": "x" * (1024 * 1024 + 1)}
    with pytest.raises(TaskValidationError) as refused:
        api.tasks.create(
            name="big",
            project=project,
            app=app,
            inputs={"folder": folder, "note": too_big},
            run=True,
        )
    errors = refused.value.task.errors
    assert [error["code"] for error in errors] == [7024]
    assert "at most 1048576 bytes" in errors[0]["message"]
    for name in ("../escape.txt", "..", "a/b"):
        climbing = {"class": "File", "basename": name, "contents": "x"}
        with pytest.raises(TaskValidationError) as refused:
            api.tasks.create(
                name="climb",
                project=project,
                app=app,
                inputs={"folder": folder, "note": climbing},
                run=True,
            )
        assert "must be a plain name" in refused.value.task.errors[0]["message"]
    nothing = {"class": "File", "basename": "nothing.txt"}
    with pytest.raises(TaskValidationError) as refused:
        api.tasks.create(
            name="none",
            project=project,
            app=app,
            inputs={"folder": folder, "note": nothing},
            run=True,
        )
    assert [error["code"] for error in refused.value.task.errors] == [7024]


def test_secondary_files_of_record_fields_are_staged(
    api: sbg.Api, project: Any, tmp_path: Path
) -> None:
    first = upload(api, project, tmp_path, "first.txt", "1")
    upload(api, project, tmp_path, "first.txt.idx", "index")
    rest = upload(api, project, tmp_path, "rest.bam", "2")
    upload(api, project, tmp_path, "rest.bai", "index")
    pair = {"first": {"class": "File", "path": first.id}, "rest": [rest]}
    task = run(api, project, "record", RECORD_TOOL, {"pair": pair})
    assert task.status == "COMPLETED", failure(task)


def test_secondary_files_a_workflow_step_declares_are_staged(
    api: sbg.Api, project: Any, tmp_path: Path
) -> None:
    reads = upload(api, project, tmp_path, "reads.txt", "r")
    upload(api, project, tmp_path, "reads.txt.idx", "index")
    task = run(api, project, "step-secondary", STEP_WORKFLOW, {"reads": reads})
    assert task.status == "COMPLETED", failure(task)


# Fails unless the renamed secondary folder sits next to the file, with its content.
RENAMED_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["test", "-f"],
    "inputs": {"reads": "File"},
    "arguments": ["$(inputs.reads.dirname)/index_dir/part.idx"],
    "outputs": {},
}


def test_an_explicit_secondary_file_is_staged_under_the_basename_it_is_given(
    api: sbg.Api, project: Any, tmp_path: Path
) -> None:
    reads = upload(api, project, tmp_path, "reads.bam", "r")
    folder = api.files.create_folder(name="stored_index", project=project)
    (tmp_path / "part.idx").write_text("i")
    assert api.files.upload(str(tmp_path / "part.idx"), parent=folder, wait=True).result()
    value = {
        "class": "File",
        "path": reads.id,
        "secondaryFiles": [{"class": "Directory", "path": folder.id, "basename": "index_dir"}],
    }
    task = run(api, project, "renamed", RENAMED_TOOL, {"reads": value})
    assert task.status == "COMPLETED", failure(task)


# Two outputs that name the same file.
TWICE_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["echo", "once"],
    "inputs": {},
    "stdout": "same.txt",
    "outputs": {
        "first": {"type": "File", "outputBinding": {"glob": "same.txt"}},
        "second": {"type": "File", "outputBinding": {"glob": "same.txt"}},
    },
}


def test_a_file_two_outputs_name_is_stored_once(api: sbg.Api, project: Any) -> None:
    task = run(api, project, "twice", TWICE_TOOL, {})
    assert task.status == "COMPLETED", failure(task)
    outputs = api.get(url=f"/tasks/{task.id}").json()["outputs"]
    assert outputs["first"]["path"] == outputs["second"]["path"]
    assert outputs["first"]["name"] == "same.txt"
    names = [item.name for item in api.files.query(project=project).all()]
    assert sorted(names) == [".task-logs", "same.txt"]


# File and folder literals inside defaults: a record's field, an array's item, a step's input.
DEFAULT_LITERALS_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["cat"],
    "inputs": {
        "pair": {
            "type": [
                "null",
                {"type": "record", "fields": {"note": "File", "folder": "Directory"}},
            ],
            "default": {
                "note": {"class": "File", "basename": "note.txt", "contents": "from a record\n"},
                "folder": {
                    "class": "Directory",
                    "basename": "made",
                    "listing": [{"class": "File", "basename": "deep.txt", "contents": "deep\n"}],
                },
            },
        },
        "notes": {
            "type": "File[]",
            "default": [{"class": "File", "basename": "first.txt", "contents": "from an array\n"}],
        },
    },
    "arguments": [
        "$(inputs.pair.note.path)",
        "$(inputs.pair.folder.path)/deep.txt",
        "$(inputs.notes[0].path)",
    ],
    "stdout": "all.txt",
    "outputs": {
        "all": {"type": "stdout"},
        # Passes the default's file through: it must outlive the tool's staging folder.
        "note": {"type": "File", "outputBinding": {"outputEval": "$(inputs.pair.note)"}},
    },
}


def test_file_and_folder_literals_in_record_and_array_defaults_are_created(
    api: sbg.Api, project: Any
) -> None:
    task = run(api, project, "default-literals", DEFAULT_LITERALS_TOOL, {})
    assert task.status == "COMPLETED", failure(task)
    assert task.outputs["all"].content() == "from a record\ndeep\nfrom an array\n"
    assert task.outputs["note"].content() == "from a record\n"
    # The app keeps its defaults as installed.
    app = api.apps.get(f"{project.id}/default-literals")
    assert app.raw["inputs"]["notes"]["default"][0]["contents"] == "from an array\n"


def test_a_literal_in_a_workflow_steps_default_is_created(api: sbg.Api, project: Any) -> None:
    tool = {key: value for key, value in DEFAULT_LITERALS_TOOL.items() if key != "cwlVersion"}
    workflow = {
        "cwlVersion": "v1.2",
        "class": "Workflow",
        "requirements": {"StepInputExpressionRequirement": {}},
        "inputs": {},
        "outputs": {
            "all": {"type": "File", "outputSource": "show/all"},
            "note": {"type": "File", "outputSource": "show/note"},
        },
        "steps": {
            "show": {
                "run": tool,
                "in": {
                    "notes": {
                        "default": [{"class": "File", "basename": "s.txt", "contents": "step\n"}]
                    }
                },
                "out": ["all", "note"],
            }
        },
    }
    task = run(api, project, "default-literals-wf", workflow, {})
    assert task.status == "COMPLETED", failure(task)
    assert task.outputs["all"].content() == "from a record\ndeep\nstep\n"
    assert task.outputs["note"].content() == "from a record\n"


def test_a_folder_that_is_an_outputs_secondary_file_is_kept(api: sbg.Api, project: Any) -> None:
    tool = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "requirements": {"ShellCommandRequirement": {}},
        "arguments": [
            {
                "valueFrom": "echo main > out.txt && touch out.idx && mkdir out.txt_idx && "
                "echo inner > out.txt_idx/index",
                "shellQuote": False,
            }
        ],
        "inputs": {},
        "outputs": {
            "indexed": {
                "type": "File",
                "outputBinding": {"glob": "out.txt"},
                "secondaryFiles": ["^.idx", "_idx"],
            }
        },
    }
    task = run(api, project, "folder-secondary", tool, {})
    assert task.status == "COMPLETED", failure(task)
    raw = api.get(url=f"/tasks/{task.id}").json()["outputs"]["indexed"]
    extras = {extra["name"]: extra for extra in raw.get("secondaryFiles", [])}
    assert sorted(extras) == ["out.idx", "out.txt_idx"], raw
    assert extras["out.txt_idx"]["class"] == "Directory"
    listed = api.files.get(extras["out.txt_idx"]["path"]).list_files()
    assert [item.name for item in listed] == ["index"]

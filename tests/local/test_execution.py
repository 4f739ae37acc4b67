"""Tasks that really run, with each executor: outputs as project files, logs, failures, aborts,
batch children, JavaScript expressions, live progress, platform restarts.

Every behaviour test runs with ``executor="cwltool"`` and ``executor="toil"`` (Toil's
single-machine batch system; skipped where Toil is not installed). Toil starts slowly (a few
seconds per task), so the default run keeps a small Toil slice (``both``); the other Toil variants
(``both_long``) are marked ``toil`` and run with ``make test-toil`` (``SBG_TEST_TOIL=all``).
Where the executors differ (their log files), the test says so per executor. Toil-only tests
(job stores, batch systems, ``--restart``) are in test_execution_toil.py."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from execution_support import (
    TOIL,
    TOIL_TASK_TIMEOUT,
    job_stores,
    needs_proc,
    needs_toil,
    processes_with,
)
from files_support import new_folder, seed_file, wait_for
from local_helpers import Caller, run_sql
from test_tasks_support import (
    CAT_TOOL,
    FAILING_TOOL,
    PUBLIC_FASTQ_SUMMARY,
    PUBLIC_LINE_COUNT,
    SLEEP_TOOL,
    created,
    download,
    download_url,
    file_ref,
    get_task,
    install_app,
    slow_copy_tool,
    transitions,
    wait_for_status,
)

from sevenbridges_local.embedded import EmbeddedServer

_long_toil = [
    needs_toil,
    pytest.mark.toil,
    pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test"),
]
# Both executors in the default run (the Toil slice), or Toil only with `make test-toil`.
both = pytest.mark.parametrize("executor", ["cwltool", pytest.param("toil", marks=needs_toil)])
both_long = pytest.mark.parametrize("executor", ["cwltool", pytest.param("toil", marks=_long_toil)])

FASTQ = b"@r1\nACGTGG\n+\nIIIIII\n@r2\nACG\n+\nIII\n"

SLOW_COPY_TOOL = slow_copy_tool()

# A JavaScript expression builds both the command's argument and the output's name.
JAVASCRIPT_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Shout",
    "requirements": {"InlineJavascriptRequirement": {}},
    "baseCommand": ["echo"],
    "arguments": [
        {
            "valueFrom": "${ return inputs.words.map(function (w) { return w.toUpperCase(); })"
            ".join('-'); }"
        }
    ],
    "inputs": {"words": "string[]", "label": "string"},
    "stdout": "$(inputs.label + '-' + inputs.words.length + '.txt')",
    "outputs": {
        "shouted": {"type": "stdout"},
        "count": {
            "type": "int",
            "outputBinding": {"outputEval": "$(inputs.words.length * 10)"},
        },
    },
}

# Step one is quick, step two sleeps: progress can be seen between them.
TWO_STEP_WORKFLOW: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "label": "Count then wait",
    "inputs": {"text": "File", "pause": "int"},
    "outputs": {"result": {"type": "File", "outputSource": "wait/copy"}},
    "steps": {
        "count": {
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["wc", "-l"],
                "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
                "stdout": "count.txt",
                "outputs": {"counted": {"type": "stdout"}},
            },
            "in": {"text": "text"},
            "out": ["counted"],
        },
        "wait": {
            "run": {key: value for key, value in SLOW_COPY_TOOL.items() if key != "cwlVersion"},
            "in": {"source": "count/counted", "seconds": "pause"},
            "out": ["copy"],
        },
    },
}

# Lists the directory its file sits in (to show secondary files are staged beside it).
LIST_NEIGHBOURS_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Neighbours",
    "requirements": {"ShellCommandRequirement": {}},
    "arguments": [
        {"valueFrom": "ls", "position": 0},
        {"valueFrom": "$(inputs.indexed.dirname)", "position": 1},
    ],
    "inputs": {"indexed": {"type": "File", "secondaryFiles": [".idx", "^.bai?"]}},
    "stdout": "listing.txt",
    "outputs": {"listing": {"type": "stdout"}},
}

# Copies a folder input into an output folder.
COPY_FOLDER_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Copy folder",
    "baseCommand": ["cp", "-rL"],
    "arguments": [
        {"valueFrom": "$(inputs.folder.path)", "position": 1},
        {"valueFrom": "copied", "position": 2},
    ],
    "inputs": {"folder": "Directory"},
    "outputs": {"copied": {"type": "Directory", "outputBinding": {"glob": "copied"}}},
}


# Each word on its own line of its own file (scatter), then all of them joined.
SCATTER_WORKFLOW: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "label": "Shout and join",
    "requirements": {"ScatterFeatureRequirement": {}},
    "inputs": {"words": "string[]", "extra": "File"},
    "outputs": {
        "each": {"type": "File[]", "outputSource": "shout/said"},
        "joined": {"type": "File", "outputSource": "join/joined"},
    },
    "steps": {
        "shout": {
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["echo"],
                "inputs": {"word": {"type": "string", "inputBinding": {"position": 1}}},
                "stdout": "$(inputs.word).txt",
                "outputs": {"said": {"type": "stdout"}},
            },
            "in": {"word": "words"},
            "scatter": "word",
            "out": ["said"],
        },
        "join": {
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["cat"],
                "inputs": {
                    "parts": {"type": "File[]", "inputBinding": {"position": 1}},
                    "tail": {"type": "File", "inputBinding": {"position": 2}},
                },
                "stdout": "joined.txt",
                "outputs": {"joined": {"type": "stdout"}},
            },
            "in": {"parts": "shout/said", "tail": "extra"},
            "out": ["joined"],
        },
    },
}


@pytest.fixture(scope="module")
def toil_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(tmp_path_factory.mktemp("toil-platform"), settings=TOIL)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(executor: str, request: pytest.FixtureRequest) -> EmbeddedServer:
    """The platform running tasks with ``executor``: the session's for cwltool."""
    return request.getfixturevalue("platform" if executor == "cwltool" else "toil_platform")


@pytest.fixture
def owner(
    server: EmbeddedServer, http: requests.Session, new_username: Callable[[str], str]
) -> Caller:
    name = new_username("runner")
    return Caller(http, server.url, server.token(name), name)


@pytest.fixture
def project(owner: Caller) -> dict[str, Any]:
    return owner.create_project("runs")


@pytest.fixture
def timeout(executor: str) -> float:
    """How long a task may take to end."""
    return TOIL_TASK_TIMEOUT if executor == "toil" else 90.0


def _engine_log(executor: str) -> str:
    """The log of the workflow engine itself, in a job's ``logs``."""
    return "cwltool.log" if executor == "cwltool" else "toil.log"


def _unique_seconds() -> int:
    """A sleep length no other process uses, so the test can find its own process."""
    return random.randint(10_000, 99_999)


@both
def test_outputs_and_logs_of_a_workflow(
    executor: str, owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    reads = seed_file(server, project=project["id"], name="sample7.fastq", content=FASTQ)
    task = created(
        owner,
        run=True,
        name="summary",
        project=project["id"],
        app=PUBLIC_FASTQ_SUMMARY,
        inputs={"reads": file_ref(reads)},
    )
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    assert transitions(server, task["id"])[-2:] == ["RUNNING", "COMPLETED"]
    status = done["execution_status"]
    assert (status["steps_completed"], status["steps_total"]) == (2, 2)
    outputs = done["outputs"]
    assert (outputs["read_count"], outputs["base_count"]) == (2, 9)
    assert outputs["summary"]["name"] == "sample7.summary.txt"
    summary = download(owner, outputs["summary"]["path"]).decode()
    assert "Reads             2" in summary
    stats = json.loads(download(owner, outputs["stats"]["path"]))
    assert stats["sample"] == "sample7"
    for output in (outputs["summary"], outputs["stats"]):
        assert owner.get(f"/files/{output['path']}").json()["origin"] == {"task": task["id"]}

    details = owner.get(f"/tasks/{task['id']}/execution_details")
    assert details.status_code == 200
    body = details.json()
    assert body["href"].endswith(f"/tasks/{task['id']}/execution_details")
    assert body["status"] == "COMPLETED" and body["start_time"] and body["end_time"]
    assert [job["name"] for job in body["jobs"]] == ["statistics", "report"]
    for job in body["jobs"]:
        assert job["status"] == "COMPLETED"
        assert job["start_time"] <= job["end_time"]
        assert job["command_line"].startswith("python3 ")
    first = body["jobs"][0]
    assert "sample7.fastq" in first["command_line"]
    engine_log = first["logs"][_engine_log(executor)]
    assert "/files/" in engine_log and engine_log.endswith("/download_info")
    log = download_url(owner, engine_log).decode()
    if executor == "cwltool":
        assert "[job statistics]" in log and "completed success" in log
    else:  # the leader's log, and the output object it wrote
        assert "Finished toil run successfully" in log
        output_object = download_url(owner, first["logs"]["cwl.output.json"]).decode()
        assert '"sample7.summary.txt"' in output_object
    # The logs are project files too, in a folder of their own.
    log_id = engine_log.split("/files/")[1].split("/")[0]
    log_file = owner.get(f"/files/{log_id}").json()
    assert log_file["name"] == _engine_log(executor) and log_file["project"] == project["id"]
    # Nothing of the run is left: no work directory, no job store (Toil).
    wait_for(lambda: not (server.data_dir / "tasks" / task["id"]).exists())
    assert os.path.isdir(server.data_dir / "tasks")
    wait_for(lambda: task["id"] not in job_stores(server))


@both
def test_a_failing_tool_ends_failed_with_its_error_and_logs(
    executor: str, owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "fails", FAILING_TOOL)
    task = created(owner, run=True, name="doomed", project=project["id"], app=app, inputs={})
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "FAILED"
    assert transitions(server, task["id"])[-2:] == ["RUNNING", "FAILED"]
    assert done["outputs"] == {}
    message = done["execution_status"]["message"]
    assert "fatal: reference genome missing" in message
    assert str(server.data_dir) not in message  # the server's paths stay private
    assert done["end_time"] >= done["start_time"]
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert details["status"] == "FAILED"
    assert "fatal: reference genome missing" in details["message"]
    (job,) = details["jobs"]
    assert job["status"] == "FAILED" and job["name"] == "fails"
    assert "exit 3" in job["command_line"]
    stderr = download_url(owner, job["logs"]["job.err.log"]).decode()
    assert "fatal: reference genome missing" in stderr
    # The tool's uncaptured stdout goes through the engine's stderr into the same log.
    assert "reading the input" in stderr
    engine_log = download_url(owner, job["logs"][_engine_log(executor)]).decode()
    # cwltool names the outcome; Toil's leader says the job failed.
    assert ("permanentFail" if executor == "cwltool" else "failed") in engine_log
    wait_for(lambda: task["id"] not in job_stores(server))


@needs_proc
@both
def test_abort_stops_the_running_process(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    seconds = _unique_seconds()
    task = created(
        owner, run=True, name="long", project=project["id"], app=app, inputs={"seconds": seconds}
    )
    wait_for_status(owner, task["id"], ("RUNNING",), timeout=timeout)
    marker = f"sleep {seconds}"
    wait_for(lambda: processes_with(marker), timeout=timeout)

    aborted = owner.post(f"/tasks/{task['id']}/actions/abort")
    assert aborted.status_code == 200
    assert aborted.json()["status"] in ("ABORTING", "ABORTED")
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "ABORTED"
    assert transitions(server, task["id"])[-3:] == ["RUNNING", "ABORTING", "ABORTED"]
    assert done["execution_status"]["message"] == "Aborted."
    wait_for(lambda: not processes_with(marker), timeout=10)
    # Nothing of the task runs any more (cwltool's runner, Toil's leader and workers).
    assert not processes_with(task["id"])
    wait_for(lambda: task["id"] not in job_stores(server))
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert [job["status"] for job in details["jobs"]] == ["ABORTED"]
    # Aborting twice is refused: the task is no longer running.
    assert owner.post(f"/tasks/{task['id']}/actions/abort").json()["code"] == 7011


@both_long
def test_batch_by_item_runs_one_child_per_file(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    contents = {"a.txt": b"1\n", "b.txt": b"1\n2\n", "c.txt": b"1\n2\n3\n"}
    file_ids = [
        seed_file(server, project=project["id"], name=name, content=content)
        for name, content in contents.items()
    ]
    parent = created(
        owner,
        run=True,
        name="count all",
        project=project["id"],
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": [file_ref(file_id) for file_id in file_ids]},
        batch_input="input_file",
        batch_by={"type": "item"},
    )
    assert parent["batch"] is True
    done = wait_for_status(owner, parent["id"], timeout=timeout)
    assert done["status"] == "COMPLETED"
    status = done["execution_status"]
    assert (status["completed"], status["failed"], status["queued"], status["running"]) == (
        3,
        0,
        0,
        0,
    )
    assert (status["steps_completed"], status["steps_total"]) == (3, 3)

    children = owner.get("/tasks", params={"parent": parent["id"], "fields": "_all"})
    assert children.headers["X-Total-Matching-Query"] == "3"
    items = children.json()["items"]
    assert [child["batch_group"] for child in items] == [
        {"value": name, "fields": {}} for name in contents
    ]
    for child, (name, content), file_id in zip(items, contents.items(), file_ids, strict=True):
        assert child["parent"] == parent["id"] and child["batch"] is False
        assert child["name"] == f"count all - {name}"
        assert child["status"] == "COMPLETED"
        assert child["inputs"]["input_file"]["path"] == file_id
        counted = download(owner, child["outputs"]["line_count"]["path"])
        assert int(counted) == content.count(b"\n")
    total = sum(float(child["price"]["amount"]) for child in items)
    assert done["price"]["amount"] == pytest.approx(round(total, 2), abs=0.011)
    # The parent's status follows its children; it cannot be run again.
    assert owner.post(f"/tasks/{parent['id']}/actions/run").json()["code"] == 7007


@both_long
def test_batch_by_criteria_groups_files_by_metadata(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "cat", CAT_TOOL)
    layout = [
        ("s1_a.txt", b"s1 lane a\n", {"sample_id": "S1"}),
        ("s2_a.txt", b"s2 lane a\n", {"sample_id": "S2"}),
        ("s1_b.txt", b"s1 lane b\n", {"sample_id": "S1"}),
        ("loose.txt", b"no sample\n", {}),
    ]
    file_ids = [
        seed_file(server, project=project["id"], name=name, content=content, metadata=metadata)
        for name, content, metadata in layout
    ]
    parent = created(
        owner,
        run=True,
        name="per sample",
        project=project["id"],
        app=app,
        inputs={"files": [file_ref(file_id) for file_id in file_ids]},
        batch_input="files",
        batch_by={"type": "criteria", "criteria": ["metadata.sample_id"]},
    )
    done = wait_for_status(owner, parent["id"], timeout=timeout)
    assert done["status"] == "COMPLETED"
    assert done["execution_status"]["completed"] == 3
    children = owner.get("/tasks", params={"parent": parent["id"]}).json()["items"]
    groups = {child["batch_group"]["value"]: child for child in children}
    assert set(groups) == {"S1", "S2", ""}
    assert groups["S1"]["batch_group"]["fields"] == {"sample_id": "S1"}
    assert groups[""]["batch_group"]["fields"] == {"sample_id": None}
    assert [item["path"] for item in groups["S1"]["inputs"]["files"]] == [
        file_ids[0],
        file_ids[2],
    ]
    joined = download(owner, groups["S1"]["outputs"]["joined"]["path"])
    assert joined == b"s1 lane a\ns1 lane b\n"
    assert download(owner, groups["S2"]["outputs"]["joined"]["path"]) == b"s2 lane a\n"


@both_long
def test_aborting_a_batch_parent_aborts_its_children(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "slow-copy", SLOW_COPY_TOOL)
    files = [seed_file(server, project=project["id"], name=f"{n}.txt") for n in range(3)]
    parent = created(
        owner,
        run=True,
        name="slow batch",
        project=project["id"],
        app=app,
        inputs={"source": [file_ref(file_id) for file_id in files], "seconds": 60},
        batch_input="source",
        batch_by={"type": "item"},
    )
    wait_for_status(owner, parent["id"], ("RUNNING",), timeout=timeout)
    response = owner.post(f"/tasks/{parent['id']}/actions/abort")
    assert response.status_code == 200
    assert response.json()["status"] in ("ABORTING", "ABORTED")
    done = wait_for_status(owner, parent["id"], timeout=timeout)
    assert done["status"] == "ABORTED"
    children = owner.get("/tasks", params={"parent": parent["id"]}).json()["items"]
    assert [child["status"] for child in children] == ["ABORTED"] * 3
    assert done["execution_status"]["aborted"] == 3


@both_long
def test_javascript_expressions_run_with_node(
    owner: Caller, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "shout", JAVASCRIPT_TOOL)
    task = created(
        owner,
        run=True,
        name="js",
        project=project["id"],
        app=app,
        inputs={"words": ["hello", "local", "world"], "label": "greeting"},
    )
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    assert done["outputs"]["count"] == 30
    assert done["outputs"]["shouted"]["name"] == "greeting-3.txt"
    assert download(owner, done["outputs"]["shouted"]["path"]) == b"HELLO-LOCAL-WORLD\n"


@both_long
def test_a_workflow_with_scatter(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    extra = seed_file(server, project=project["id"], name="end.txt", content=b"END\n")
    app = install_app(owner, project["id"], "shout", SCATTER_WORKFLOW)
    task = created(
        owner,
        run=True,
        name="scatter",
        project=project["id"],
        app=app,
        inputs={"words": ["red", "green", "blue"], "extra": file_ref(extra)},
    )
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    status = done["execution_status"]
    assert (status["steps_completed"], status["steps_total"]) == (2, 2)
    outputs = done["outputs"]
    assert [item["name"] for item in outputs["each"]] == ["red.txt", "green.txt", "blue.txt"]
    assert download(owner, outputs["joined"]["path"]) == b"red\ngreen\nblue\nEND\n"
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    # One job per scattered item, then the join.
    assert len(details["jobs"]) == 4
    assert all(job["status"] == "COMPLETED" for job in details["jobs"])
    assert "join" in [job["name"] for job in details["jobs"]]


@both_long
def test_progress_is_visible_while_a_workflow_runs(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    app = install_app(owner, project["id"], "count-then-wait", TWO_STEP_WORKFLOW)
    text = seed_file(server, project=project["id"], name="lines.txt", content=b"x\ny\n")
    task = created(
        owner,
        run=True,
        name="progress",
        project=project["id"],
        app=app,
        inputs={"text": file_ref(text), "pause": 3},
    )
    deadline = time.monotonic() + timeout
    while True:
        current = get_task(owner, task["id"])
        if current["execution_status"]["steps_completed"] == 1:
            break
        assert current["status"] in ("QUEUED", "CREATING", "RUNNING"), current
        assert time.monotonic() < deadline, "the first step never completed"
        time.sleep(0.1)
    assert current["status"] == "RUNNING"
    assert current["execution_status"]["steps_total"] == 2
    assert current["execution_status"]["running_duration"] > 0
    jobs = owner.get(f"/tasks/{task['id']}/execution_details").json()["jobs"]
    assert [(job["name"], job["status"]) for job in jobs][:1] == [("count", "COMPLETED")]

    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED"
    assert done["execution_status"]["steps_completed"] == 2
    count, counted_path = download(owner, done["outputs"]["result"]["path"]).split()
    assert count == b"2" and counted_path.endswith(b"/lines.txt")


@both_long
def test_outputs_follow_the_output_location(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    text = seed_file(server, project=project["id"], name="in.txt", content=b"1\n")
    task = created(
        owner,
        run=True,
        name="placed",
        project=project["id"],
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": file_ref(text)},
        output_location={"main_location": "/Analysis/placed/"},
    )
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED"
    assert done["output_location"] == {"main_location": "/Analysis/placed/"}
    output = owner.get(f"/files/{done['outputs']['line_count']['path']}").json()
    placed = owner.get(f"/files/{output['parent']}").json()
    assert placed["name"] == "placed" and placed["type"] == "folder"
    assert owner.get(f"/files/{placed['parent']}").json()["name"] == "Analysis"


@both_long
def test_secondary_files_and_folders_are_staged(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    indexed = seed_file(server, project=project["id"], name="ref.fa", content=b">x\nACGT\n")
    seed_file(server, project=project["id"], name="ref.fa.idx", content=b"index\n")
    seed_file(server, project=project["id"], name="ref.bai", content=b"bai\n")
    seed_file(server, project=project["id"], name="unrelated.txt")
    app = install_app(owner, project["id"], "neighbours", LIST_NEIGHBOURS_TOOL)
    task = created(
        owner, run=True, name="nb", project=project["id"], app=app, inputs={"indexed": indexed}
    )
    done = wait_for_status(owner, task["id"], timeout=timeout)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    listing = download(owner, done["outputs"]["listing"]["path"]).decode().split()
    assert sorted(listing) == ["ref.bai", "ref.fa", "ref.fa.idx"]

    folder = new_folder(owner, "reads", project=project["id"])
    for name in ("r1.fq", "r2.fq"):
        seed_file(server, parent=folder["id"], name=name, content=name.encode())
    copier = install_app(owner, project["id"], "copy-folder", COPY_FOLDER_TOOL)
    copied = created(
        owner,
        run=True,
        name="copy",
        project=project["id"],
        app=copier,
        inputs={"folder": {"class": "Directory", "path": folder["id"]}},
    )
    done = wait_for_status(owner, copied["id"], timeout=timeout)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    output = done["outputs"]["copied"]
    assert output["class"] == "Directory" and output["name"] == "copied"
    listed = owner.get(f"/files/{output['path']}/list").json()["items"]
    assert sorted(item["name"] for item in listed) == ["r1.fq", "r2.fq"]
    assert all(item["origin"] == {"task": copied["id"]} for item in listed)
    by_name = {item["name"]: item["id"] for item in listed}
    assert download(owner, by_name["r2.fq"]) == b"r2.fq"


@needs_proc
@both_long
def test_a_restart_during_a_run(
    executor: str,
    start_platform: Callable[..., EmbeddedServer],
    http: requests.Session,
    timeout: float,
) -> None:
    """Interrupted tasks run again from scratch after a restart; one interrupted too often
    fails with an explicit message; none is left RUNNING and no tool process survives."""
    server = start_platform(**({"settings": TOIL} if executor == "toil" else {}))
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("restarts")
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    quick, endless = _unique_seconds() % 3 + 2, _unique_seconds()
    again = created(
        owner, run=True, name="again", project=project["id"], app=app, inputs={"seconds": quick}
    )
    given_up = created(
        owner,
        run=True,
        name="given up",
        project=project["id"],
        app=app,
        inputs={"seconds": endless},
    )
    for task in (again, given_up):
        wait_for_status(owner, task["id"], ("RUNNING",), timeout=timeout)
    # Queued behind them when there are two workers (running too on bigger machines).
    waiting = created(
        owner, run=True, name="waiting", project=project["id"], app=app, inputs={"seconds": 0}
    )
    # As if this task had already been interrupted once before.
    run_sql(server, "UPDATE tasks SET run_attempts = 2 WHERE id = ?", (given_up["id"],))

    server.stop()
    assert processes_with(f"sleep {endless}") == []
    assert processes_with(given_up["id"]) == []
    server.start()

    failed = wait_for_status(owner, given_up["id"], timeout=timeout)
    assert failed["status"] == "FAILED"
    assert "interrupted by a platform restart" in failed["execution_status"]["message"]
    finished = wait_for_status(owner, again["id"], timeout=timeout)
    assert finished["status"] == "COMPLETED"
    # Interrupted while running, queued again at start, then run to the end.
    history = transitions(server, again["id"])
    assert history[:4] == ["DRAFT", "QUEUED", "CREATING", "RUNNING"]
    assert history[4:] == ["QUEUED", "CREATING", "RUNNING", "COMPLETED"]
    assert transitions(server, given_up["id"])[-2:] == ["RUNNING", "FAILED"]
    assert wait_for_status(owner, waiting["id"], timeout=timeout)["status"] == "COMPLETED"
    assert any("restarted" in warning["message"] for warning in finished["warnings"])
    statuses = run_sql(
        server,
        "SELECT status FROM tasks WHERE project_id = (SELECT project_id FROM tasks WHERE id = ?)",
        (again["id"],),
    )
    assert "RUNNING" not in {row[0] for row in statuses}
    # The job store of the one given up is gone; the others' went when they ended.
    wait_for(lambda: job_stores(server) == [])


@both_long
def test_work_directories_are_removed(
    owner: Caller, server: EmbeddedServer, project: dict[str, Any], timeout: float
) -> None:
    text = seed_file(server, project=project["id"], name="w.txt")
    task = created(
        owner,
        run=True,
        name="tidy",
        project=project["id"],
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": file_ref(text)},
    )
    assert wait_for_status(owner, task["id"], timeout=timeout)["status"] == "COMPLETED"
    # Removed right after the results are recorded.
    wait_for(lambda: not (server.data_dir / "tasks" / task["id"]).exists())
    assert os.path.isdir(server.data_dir / "tasks")
    wait_for(lambda: task["id"] not in job_stores(server))


@needs_proc
@both_long
def test_tool_processes_die_with_a_crashed_server(
    executor: str,
    start_platform: Callable[..., EmbeddedServer],
    http: requests.Session,
    timeout: float,
) -> None:
    """Even a server killed outright leaves no task process behind; the task runs again."""
    server = start_platform(**({"settings": TOIL} if executor == "toil" else {}))
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("crash")
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    seconds = _unique_seconds()
    task = created(
        owner,
        run=True,
        name="orphan?",
        project=project["id"],
        app=app,
        inputs={"seconds": seconds},
    )
    wait_for_status(owner, task["id"], ("RUNNING",), timeout=timeout)
    marker = f"sleep {seconds}"
    wait_for(lambda: processes_with(marker), timeout=timeout)

    process = server._process
    assert process is not None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    wait_for(lambda: not processes_with(marker), timeout=10)
    wait_for(lambda: not processes_with(task["id"]), timeout=10)

    server.start()
    again = wait_for_status(owner, task["id"], ("RUNNING", "FAILED"), timeout=timeout)
    assert again["status"] == "RUNNING"
    assert any("restarted" in warning["message"] for warning in again["warnings"])
    assert owner.post(f"/tasks/{task['id']}/actions/abort").status_code == 200
    assert wait_for_status(owner, task["id"], timeout=timeout)["status"] == "ABORTED"

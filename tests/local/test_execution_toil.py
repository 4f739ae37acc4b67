"""Tasks run by the Toil executor (``toil-cwl-runner``, single-machine batch system): the same
behaviour as with cwltool for outputs, logs, execution details, failures, aborts and restarts.

Toil is slow to start (a few seconds per task), so the default run keeps a small slice; the
rest is marked ``toil`` and runs with ``make test-toil`` (``SBG_TEST_TOIL=all``)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from files_support import seed_file, wait_for
from local_helpers import Caller
from test_tasks_support import (
    FAILING_TOOL,
    SLEEP_TOOL,
    created,
    download,
    download_url,
    file_ref,
    install_app,
    transitions,
    wait_for_status,
)

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.toil_executor import find_toil_runner

pytestmark = pytest.mark.skipif(
    find_toil_runner() is None,
    reason="Toil is not installed (pip install 'sevenbridges-toolkit[toil]')",
)
# The longer Toil tests are marked `toil` and run only with SBG_TEST_TOIL=all (make test-toil).

TOIL = {"executor": "toil", "task_workers": 2}
# Generous: Toil's start-up stretches a lot on a loaded machine.
TASK_TIMEOUT = 240.0

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

COPY_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Copy",
    "baseCommand": ["cat"],
    "inputs": {"source": {"type": "File", "inputBinding": {"position": 1}}},
    "stdout": "copy.txt",
    "outputs": {"copy": {"type": "stdout"}},
}


# A quick step, then a slow one: a stop during the second leaves the first one done.
TWO_STEPS: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "label": "Say then wait",
    "inputs": {"word": "string", "seconds": "int"},
    "outputs": {"copy": {"type": "File", "outputSource": "wait/copy"}},
    "steps": {
        "say": {
            "run": {
                "class": "CommandLineTool",
                "baseCommand": ["echo"],
                "inputs": {"word": {"type": "string", "inputBinding": {"position": 1}}},
                "stdout": "said.txt",
                "outputs": {"said": {"type": "stdout"}},
            },
            "in": {"word": "word"},
            "out": ["said"],
        },
        "wait": {
            "run": {
                "class": "CommandLineTool",
                "requirements": {"ShellCommandRequirement": {}},
                "arguments": [
                    {
                        "valueFrom": "sleep $(inputs.seconds) && cat $(inputs.text.path)",
                        "shellQuote": False,
                    }
                ],
                "inputs": {"text": "File", "seconds": "int"},
                "stdout": "copy.txt",
                "outputs": {"copy": {"type": "stdout"}},
            },
            "in": {"text": "say/said", "seconds": "seconds"},
            "out": ["copy"],
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
def owner(toil_platform: EmbeddedServer, http: requests.Session) -> Caller:
    name = f"toil{random.randint(0, 10**9)}"
    return Caller(http, toil_platform.url, toil_platform.token(name), name)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command:
            found.append(int(entry.name))
    return found


def _job_stores(server: EmbeddedServer) -> list[str]:
    root = server.data_dir / "toil"
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


def test_a_tool_runs_with_toil(owner: Caller, toil_platform: EmbeddedServer) -> None:
    project = owner.create_project("toil tool")
    source = seed_file(toil_platform, project=project["id"], name="notes.txt", content=b"a\nb\n")
    app = install_app(owner, project["id"], "copy", COPY_TOOL)
    task = created(
        owner,
        run=True,
        name="copy",
        project=project["id"],
        app=app,
        inputs={"source": file_ref(source)},
    )
    done = wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    assert transitions(toil_platform, task["id"])[-2:] == ["RUNNING", "COMPLETED"]
    copy = done["outputs"]["copy"]
    assert copy["name"] == "copy.txt"
    assert download(owner, copy["path"]) == b"a\nb\n"
    assert owner.get(f"/files/{copy['path']}").json()["origin"] == {"task": task["id"]}
    assert done["execution_status"]["steps_completed"] == 1

    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert details["status"] == "COMPLETED"
    (job,) = details["jobs"]
    assert job["name"] == "copy" and job["status"] == "COMPLETED"
    assert job["start_time"] <= job["end_time"]
    assert job["command_line"].startswith("cat ") and "notes.txt" in job["command_line"]
    leader_log = download_url(owner, job["logs"]["toil.log"]).decode()
    assert "Finished toil run successfully" in leader_log
    output_object = download_url(owner, job["logs"]["cwl.output.json"]).decode()
    assert '"copy.txt"' in output_object
    # Nothing of the run is left: no job store, no work directory.
    wait_for(lambda: task["id"] not in _job_stores(toil_platform))
    wait_for(lambda: not (toil_platform.data_dir / "tasks" / task["id"]).exists())


def test_a_failing_tool_fails_the_task_with_its_message(
    owner: Caller, toil_platform: EmbeddedServer
) -> None:
    project = owner.create_project("toil failure")
    app = install_app(owner, project["id"], "fails", FAILING_TOOL)
    task = created(owner, run=True, name="doomed", project=project["id"], app=app, inputs={})
    done = wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)
    assert done["status"] == "FAILED"
    assert transitions(toil_platform, task["id"])[-2:] == ["RUNNING", "FAILED"]
    assert done["outputs"] == {}
    message = done["execution_status"]["message"]
    assert "fatal: reference genome missing" in message
    assert str(toil_platform.data_dir) not in message  # the server's paths stay private
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    (job,) = details["jobs"]
    assert job["status"] == "FAILED" and job["name"] == "fails"
    assert "exit 3" in job["command_line"]
    stderr = download_url(owner, job["logs"]["job.err.log"]).decode()
    assert "fatal: reference genome missing" in stderr
    assert "reading the input" in stderr
    assert "failed" in download_url(owner, job["logs"]["toil.log"]).decode()
    wait_for(lambda: task["id"] not in _job_stores(toil_platform))


def test_abort_stops_the_leader_and_its_jobs(owner: Caller, toil_platform: EmbeddedServer) -> None:
    project = owner.create_project("toil abort")
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    seconds = random.randint(10_000, 99_999)
    task = created(
        owner, run=True, name="long", project=project["id"], app=app, inputs={"seconds": seconds}
    )
    wait_for_status(owner, task["id"], ("RUNNING",), timeout=TASK_TIMEOUT)
    marker = f"sleep {seconds}"
    deadline = time.monotonic() + TASK_TIMEOUT
    while not _processes_with(marker):
        assert time.monotonic() < deadline, "the tool process never appeared"
        time.sleep(0.1)

    assert owner.post(f"/tasks/{task['id']}/actions/abort").status_code == 200
    done = wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)
    assert done["status"] == "ABORTED"
    assert transitions(toil_platform, task["id"])[-3:] == ["RUNNING", "ABORTING", "ABORTED"]
    assert done["execution_status"]["message"] == "Aborted."
    wait_for(lambda: not _processes_with(marker), timeout=10)
    assert not _processes_with(task["id"])  # no leader, no worker
    wait_for(lambda: task["id"] not in _job_stores(toil_platform))
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert [job["status"] for job in details["jobs"]] == ["ABORTED"]


@pytest.mark.toil
@pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test")
def test_a_workflow_with_scatter(owner: Caller, toil_platform: EmbeddedServer) -> None:
    project = owner.create_project("toil scatter")
    extra = seed_file(toil_platform, project=project["id"], name="end.txt", content=b"END\n")
    app = install_app(owner, project["id"], "shout", SCATTER_WORKFLOW)
    task = created(
        owner,
        run=True,
        name="scatter",
        project=project["id"],
        app=app,
        inputs={"words": ["red", "green", "blue"], "extra": file_ref(extra)},
    )
    done = wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    status = done["execution_status"]
    assert (status["steps_completed"], status["steps_total"]) == (2, 2)
    outputs = done["outputs"]
    assert sorted(item["name"] for item in outputs["each"]) == ["blue.txt", "green.txt", "red.txt"]
    assert download(owner, outputs["joined"]["path"]) == b"red\ngreen\nblue\nEND\n"
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert len(details["jobs"]) == 4
    assert all(job["status"] == "COMPLETED" for job in details["jobs"])
    assert "join" in [job["name"] for job in details["jobs"]]


@pytest.mark.toil
@pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test")
def test_a_restart_during_a_toil_run(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    """A task a stop cut off runs again after the restart, and Toil restarts it from its job
    store: the step that had finished does not run again. Nothing of the first attempt keeps
    running meanwhile."""
    server = start_platform(settings=TOIL)
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("toil restarts")
    app = install_app(owner, project["id"], "steps", TWO_STEPS)
    seconds = random.randint(10_000, 10_999) % 4 + 6
    task = created(
        owner,
        run=True,
        name="again",
        project=project["id"],
        app=app,
        inputs={"word": "kept", "seconds": seconds},
    )
    marker = f"sleep {seconds}"
    wait_for(lambda: _processes_with(marker), timeout=TASK_TIMEOUT)

    server.stop()
    assert _processes_with(task["id"]) == []
    assert _processes_with(marker) == []
    server.start()

    finished = wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)
    assert finished["status"] == "COMPLETED", finished["execution_status"]["message"]
    assert download(owner, finished["outputs"]["copy"]["path"]) == b"kept\n"
    history = transitions(server, task["id"])
    assert history[4:] == ["QUEUED", "CREATING", "RUNNING", "COMPLETED"]
    assert any("restarted" in warning["message"] for warning in finished["warnings"])
    # The second attempt's leader ran the waiting step only: the first one had finished.
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    leader_log = download_url(owner, details["jobs"][0]["logs"]["toil.log"]).decode()
    assert "Issued job 'CWLJob' steps.cwl.wait" in leader_log
    assert "Issued job 'CWLJob' steps.cwl.say" not in leader_log
    wait_for(lambda: task["id"] not in _job_stores(server))


@pytest.mark.toil
@pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test")
def test_abort_without_a_sandbox_leaves_no_worker(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    """Unsandboxed, Toil's workers live in sessions of their own: they are found by their job
    store and killed with the leader."""
    server = start_platform(settings={**TOIL, "sandbox": "none"})
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("toil bare")
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    seconds = random.randint(10_000, 99_999)
    task = created(
        owner, run=True, name="bare", project=project["id"], app=app, inputs={"seconds": seconds}
    )
    marker = f"sleep {seconds}"
    wait_for(lambda: _processes_with(marker), timeout=TASK_TIMEOUT)
    # The worker that runs the tool, outside any sandbox, names the task's job store.
    assert any(
        b"_toil_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        for pid in _processes_with(task["id"])
    )
    assert owner.post(f"/tasks/{task['id']}/actions/abort").status_code == 200
    assert wait_for_status(owner, task["id"], timeout=TASK_TIMEOUT)["status"] == "ABORTED"
    wait_for(lambda: not _processes_with(marker), timeout=10)
    assert not _processes_with(task["id"])
    wait_for(lambda: task["id"] not in _job_stores(server))


def test_job_names_and_progress_from_the_leader_log(tmp_path: Path) -> None:
    from sevenbridges_local.execution.toil_executor import _ToilLog, job_display_name

    assert job_display_name("copy.cwl", "copy") == "copy"
    assert job_display_name("wf.cwl.join._:8f3ad9b5-ef16-4b1f-8b92-e4155a9388bc", "wf") == "join"
    log_path = tmp_path / "toil.log"
    head = "[2026-11-30T19:29:18+0000] [MainThread] [I] [toil.leader] "
    log_path.write_text(
        head + "Issued job 'CWLJob' wf.cwl.say._:8f3ad9b5-ef16-4b1f-8b92-e4155a9388bc "
        "kind-CWLJob/instance-a v1 with job batch system ID: 1\n"
        "[2026-11-30T19:29:20+0000] [Thread-4] [I] [toil.statsAndLogging] Got message from job "
        "at time 11-30-2026 19:29:20: CWL step complete: "
        "wf.cwl.say._:8f3ad9b5-ef16-4b1f-8b92-e4155a9388bc\n"
        + head
        + "Issued job 'CWLJob' wf.cwl.wait kind-CWLJob/instance-b v1 with job batch system ID: 2\n"
        "[2026-11-30T19:29:21+0000] [MainThread] [W] [toil.leader] Job 'CWLJob' wf.cwl.wait "
        "kind-CWLJob/instance-b v1 is completely failed\n"
        "\tcontinued detail\n"
    )
    log = _ToilLog(log_path, "wf", ["say", "wait"])
    log.poll(final=True)
    jobs = log.job_list()
    assert [(job.name, job.status) for job in jobs] == [("say", "COMPLETED"), ("wait", "FAILED")]
    assert jobs[0].end_time is not None and jobs[0].start_time < jobs[0].end_time
    assert log.completed_steps == {"say"}
    assert log.problems and log.problems[-1].endswith("continued detail")


def test_a_cluster_batch_system_has_no_sandbox(tmp_path: Path) -> None:
    from sevenbridges_local.app import task_sandbox
    from sevenbridges_local.execution.sandbox import SandboxUnavailable
    from sevenbridges_local.settings import Settings

    slurm = Settings(data_dir=tmp_path, executor="toil", toil_batch_system="slurm")
    policy = task_sandbox(slurm)
    assert not policy.enabled and "slurm" in policy.describe()
    required = Settings(
        data_dir=tmp_path, executor="toil", toil_batch_system="slurm", sandbox="bwrap"
    )
    with pytest.raises(SandboxUnavailable):
        task_sandbox(required)
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, toil_batch_system="slurm; rm -rf /")


def test_toil_gets_local_schemas_and_literal_defaults_written_out(tmp_path: Path) -> None:
    """Toil is given the document the cwltool executor writes: ``$schemas`` pointing at copies
    in the task's folder, and File literals in defaults written out as files."""
    import json

    from sevenbridges_local.execution.base import TaskSpec
    from sevenbridges_local.execution.toil_executor import ToilExecutor
    from sevenbridges_local.storage.local import LocalBlobStore

    ontology = tmp_path / "ontologies" / "EDAM.owl"
    ontology.parent.mkdir()
    ontology.write_text("<rdf/>")
    document = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "$schemas": ["http://edamontology.org/EDAM.owl"],
        "baseCommand": "cat",
        "inputs": {
            "rec": {
                "type": {"type": "record", "fields": {"note": "File"}},
                "default": {"note": {"class": "File", "basename": "n.txt", "contents": "hi\n"}},
            }
        },
        "outputs": {},
    }
    executor = ToilExecutor(LocalBlobStore(tmp_path / "blobs"), tmp_path / "stores")
    spec = TaskSpec(
        task_id="t1",
        document=document,
        document_name="tool",
        job_order={},
        files={},
        schemas=[ontology],
    )
    prepared = executor.prepare(spec, tmp_path / "work")
    written = json.loads(prepared.document_path.read_text())
    (schema,) = written["$schemas"]
    assert (prepared.work_dir / schema).read_text() == "<rdf/>"
    note = written["inputs"]["rec"]["default"]["note"]
    assert note["location"].startswith("file://") and "contents" in note
    assert Path(note["location"].removeprefix("file://")).read_text() == "hi\n"
    assert document["$schemas"] == ["http://edamontology.org/EDAM.owl"]  # the spec is unchanged

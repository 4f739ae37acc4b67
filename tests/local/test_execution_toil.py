"""What only the Toil executor has: job stores (a restart resumes from one), workers outside a
sandbox, batch-system settings, the leader's log. The behaviour both executors share (outputs,
logs, failures, aborts, batches, restarts...) is tested with each in test_execution.py.

The tests that run Toil are marked ``toil`` and run with ``make test-toil``
(``SBG_TEST_TOIL=all``); the unit tests run in the default run."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from execution_support import TOIL, TOIL_TASK_TIMEOUT, job_stores, needs_toil, processes_with
from files_support import wait_for
from local_helpers import Caller
from test_tasks_support import (
    SLEEP_TOOL,
    created,
    download,
    download_url,
    install_app,
    transitions,
    wait_for_status,
)

from sevenbridges_local.embedded import EmbeddedServer

pytestmark = needs_toil
# The longer Toil tests are marked `toil` and run only with SBG_TEST_TOIL=all (make test-toil).

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
    wait_for(lambda: processes_with(marker), timeout=TOIL_TASK_TIMEOUT)

    server.stop()
    assert processes_with(task["id"]) == []
    assert processes_with(marker) == []
    server.start()

    finished = wait_for_status(owner, task["id"], timeout=TOIL_TASK_TIMEOUT)
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
    wait_for(lambda: task["id"] not in job_stores(server))


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
    wait_for(lambda: processes_with(marker), timeout=TOIL_TASK_TIMEOUT)
    # The worker that runs the tool, outside any sandbox, names the task's job store.
    assert any(
        b"_toil_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        for pid in processes_with(task["id"])
    )
    assert owner.post(f"/tasks/{task['id']}/actions/abort").status_code == 200
    assert wait_for_status(owner, task["id"], timeout=TOIL_TASK_TIMEOUT)["status"] == "ABORTED"
    wait_for(lambda: not processes_with(marker), timeout=10)
    assert not processes_with(task["id"])
    wait_for(lambda: task["id"] not in job_stores(server))


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


def test_a_chained_job_is_listed_though_the_leader_never_issued_it(tmp_path: Path) -> None:
    """Toil runs a job's successor in the same worker ("chaining"): the leader's log only has
    its completion. It is still a job of the execution details, started as its predecessor
    ended."""
    from sevenbridges_local.execution.toil_executor import _ToilLog

    def record(second: int, message: str) -> str:
        return f"[2026-12-01T00:11:{second}+0000] [Thread-4] [I] [toil.leader] {message}\n"

    done = "Got message from job at time 12-01-2026 00:11:00: CWL step complete: "
    log_path = tmp_path / "toil.log"
    log_path.write_text(
        record(
            35,
            "Issued job 'CWLJob' fq.cwl.statistics._:703cf11a-9e48-4261-998e-ab9a22670578 "
            "kind-CWLJob/instance-8igqyh5r v1 with job batch system ID: 2",
        )
        + record(35, done + "fq.cwl.statistics._:703cf11a-9e48-4261-998e-ab9a22670578")
        + record(37, done + "fq.cwl.report._:cd42d8f5-ff0d-4eb7-bfd2-6564417158af")
    )
    log = _ToilLog(log_path, "fq", ["statistics", "report"])
    log.poll(final=True)
    jobs = log.job_list()
    assert [(job.name, job.status) for job in jobs] == [
        ("statistics", "COMPLETED"),
        ("report", "COMPLETED"),
    ]
    assert jobs[1].start_time == jobs[0].end_time
    assert jobs[1].end_time is not None and (jobs[1].end_time - jobs[1].start_time).seconds == 2
    assert log.completed_steps == {"statistics", "report"}


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

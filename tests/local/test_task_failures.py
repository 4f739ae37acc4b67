"""What a failed task says first (``execution_status.message``), through the API: a tool's
exit code and the end of its stderr, an invalid job input in plain words, a container the
platform cannot give, a tool over the memory its app allows."""

from __future__ import annotations

import os
from typing import Any

import pytest
from local_helpers import Caller
from test_tasks_support import created, download, download_url, install_app, wait_for_status

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.failures import MESSAGE_CHARS, TAIL_LINES

NOISY_FAILURE: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Noisy failure",
    "baseCommand": [
        "sh",
        "-c",
        'for i in $(seq 1 40); do echo "progress line $i" >&2; done; '
        "echo 'fatal: index file is truncated' >&2; exit 3",
    ],
    "inputs": {},
    "outputs": {},
}

RECORD_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Takes a record",
    "baseCommand": ["echo"],
    "inputs": {
        "settings": {
            "type": {"type": "record", "fields": {"threads": "int"}},
            "inputBinding": {"position": 1, "valueFrom": "$(self.threads)"},
        }
    },
    "outputs": {},
}

# Allocates 400 MiB in one go while its app allows it 64.
GREEDY_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Greedy",
    "requirements": {"ResourceRequirement": {"ramMin": 32, "ramMax": 64}},
    "baseCommand": ["python3", "-c", "b = bytearray(400 * 1024 * 1024); print(len(b))"],
    "inputs": {},
    "outputs": {},
}


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project("failures")


def _run(
    alice: Caller,
    project: dict[str, Any],
    slug: str,
    document: dict[str, Any],
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    app = install_app(alice, project["id"], slug, document)
    task = created(alice, run=True, name=slug, project=project["id"], app=app, inputs=inputs or {})
    return wait_for_status(alice, task["id"])


def test_a_failing_tool_says_its_exit_code_and_the_end_of_its_stderr(
    alice: Caller, project: dict[str, Any]
) -> None:
    done = _run(alice, project, "noisy", NOISY_FAILURE)
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert message.startswith("The tool 'noisy' exited with code 3.")
    assert "fatal: index file is truncated" in message
    assert f"progress line {40 - TAIL_LINES + 2}" in message
    # Bounded: the start of the stderr stays in the log file only.
    assert "progress line 1\n" not in message and "progress line 30\n" not in message
    assert len(message) <= MESSAGE_CHARS
    details = alice.get(f"/tasks/{done['id']}/execution_details").json()
    (job,) = details["jobs"]
    stderr = download_url(alice, job["logs"]["job.err.log"]).decode()
    assert "progress line 1\n" in stderr


def test_an_invalid_job_input_is_said_in_plain_words(
    alice: Caller, project: dict[str, Any]
) -> None:
    # A record's fields are cwltool's to check: this one reaches the run.
    done = _run(alice, project, "record", RECORD_TOOL, {"settings": {"threads": "many"}})
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert message.startswith("Invalid job input: ")
    assert "threads" in message and "is not int" in message
    assert "--debug" not in message and "Workflow error" not in message
    assert "job.json:" not in message


def test_an_app_that_requires_a_container_says_how_to_get_one(
    alice: Caller, project: dict[str, Any]
) -> None:
    document = {
        **NOISY_FAILURE,
        "requirements": [
            {"class": "DockerRequirement", "dockerPull": "biocontainers/samtools:1.9"}
        ],
    }
    done = _run(alice, project, "needs-docker", document)
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert "biocontainers/samtools:1.9" in message
    assert "--container-engine docker" in message
    assert "--no-container" not in message  # not cwltool's wording


def test_a_container_only_hinted_runs_without_an_engine(
    alice: Caller, project: dict[str, Any]
) -> None:
    document = {
        **NOISY_FAILURE,
        "baseCommand": ["echo", "fine"],
        "hints": [{"class": "DockerRequirement", "dockerPull": "ubuntu:24.04"}],
    }
    assert _run(alice, project, "hinted", document)["status"] == "COMPLETED"


def test_a_tool_over_its_memory_limit_fails_with_a_clear_message(
    alice: Caller, project: dict[str, Any]
) -> None:
    done = _run(alice, project, "greedy", GREEDY_TOOL)
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert message.startswith("The tool 'greedy' ran out of memory: the app allows it 64 MiB")
    assert "ramMax" in message and "MemoryError" in message
    # Within its limit the same tool runs.
    roomy = {**GREEDY_TOOL, "requirements": {"ResourceRequirement": {"ramMin": 1024}}}
    assert _run(alice, project, "roomy", roomy)["status"] == "COMPLETED"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_tool_runs_on_as_many_cpus_as_its_app_asks(
    alice: Caller, project: dict[str, Any]
) -> None:
    document = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "hints": [{"class": "sbg:CPURequirement", "value": 1}],
        "$namespaces": {"sbg": "https://sevenbridges.com#"},
        "baseCommand": ["nproc"],
        "stdout": "cpus.txt",
        "inputs": {},
        "outputs": {"cpus": {"type": "stdout"}},
    }
    done = _run(alice, project, "one-cpu", document)
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(alice, done["outputs"]["cpus"]["path"]).decode().strip() == "1"


def test_a_missing_engine_program_is_named(tmp_path: Any) -> None:
    """podman is configured but not installed here: the task says so."""
    import shutil

    if shutil.which("podman"):
        pytest.skip("podman is installed")
    import requests

    with EmbeddedServer(tmp_path / "platform", settings={"container_engine": "podman"}) as server:
        alice = Caller(requests.Session(), server.url, server.token("podder"), "podder")
        project = alice.create_project("podman")
        document = {
            **NOISY_FAILURE,
            "hints": [{"class": "DockerRequirement", "dockerPull": "alpine:3"}],
        }
        done = _run(alice, project, "in-podman", document)
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    assert "'podman'" in message and "alpine:3" in message
    assert "not installed or not on the PATH" in message


def test_serve_takes_the_container_engine_as_a_flag(tmp_path: Any) -> None:
    """``--container-engine`` overrides the environment and is in the start-up lines."""
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    environment.update(HOME=str(tmp_path), SBG_LOCAL_CONTAINER_ENGINE="docker")
    command = [sys.executable, "-m", "sevenbridges_local", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-level", "warning"]
    refused = subprocess.run(
        [*command, "--container-engine", "lxc"], env=environment, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "--container-engine" in refused.stderr
    process = subprocess.Popen(
        [*command, "--container-engine", "none"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "API docs" in line:
                break
        (containers,) = [line for line in lines if line.strip().startswith("containers:")]
        assert "none (apps that require a container fail" in containers
        assert "--container-engine docker" in containers
    finally:
        process.terminate()
        process.wait(30)

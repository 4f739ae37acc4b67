"""Resource hints read from apps, container needs, and how the task's process applies them
(no platform needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sevenbridges_local.execution.containers import container_needs, container_problem
from sevenbridges_local.execution.failures import failure_message, plain
from sevenbridges_local.execution.resources import (
    MIB,
    ResourceLimits,
    choose_cpus,
    resource_limits,
    task_limits_config,
)
from sevenbridges_local.execution.runner import limited_command

TOOL: dict[str, Any] = {"class": "CommandLineTool", "inputs": {}, "outputs": {}}


def test_resource_requirements_in_every_form() -> None:
    assert resource_limits(TOOL).empty
    listed = {**TOOL, "requirements": [{"class": "ResourceRequirement", "ramMin": 100}]}
    assert resource_limits(listed) == ResourceLimits(memory_mib=100, memory_source="ramMin")
    mapped = {**TOOL, "hints": {"ResourceRequirement": {"ramMin": 100, "ramMax": 300.5}}}
    limits = resource_limits(mapped)
    assert (limits.memory_mib, limits.memory_source) == (301, "ramMax")
    cores = {**TOOL, "hints": {"ResourceRequirement": {"coresMin": 1, "coresMax": 2}}}
    assert (resource_limits(cores).cpus, resource_limits(cores).cpus_source) == (2, "coresMax")
    # The platform's own hints, in both spellings of the namespace.
    sbg = {
        **TOOL,
        "hints": [
            {"class": "sbg:CPURequirement", "value": 3},
            {"class": "https://sevenbridges.com#MemRequirement", "value": 2048},
        ],
    }
    assert resource_limits(sbg) == ResourceLimits(
        memory_mib=2048,
        cpus=3,
        memory_source="sbg:MemRequirement",
        cpus_source="sbg:CPURequirement",
    )
    # Expressions are cwltool's; nothing is enforced for them.
    expression = {**TOOL, "requirements": {"ResourceRequirement": {"ramMin": "$(1024)"}}}
    assert resource_limits(expression).empty


def test_a_workflow_is_limited_by_its_largest_step() -> None:
    workflow = {
        "class": "Workflow",
        "steps": {
            "small": {"run": {**TOOL, "hints": {"sbg:MemRequirement": {"value": 500}}}},
            "big": {
                "run": TOOL,
                "requirements": {"ResourceRequirement": {"ramMin": 4000, "coresMin": 2}},
            },
        },
    }
    assert resource_limits(workflow) == ResourceLimits(
        memory_mib=4000, cpus=2, memory_source="ramMin", cpus_source="coresMin"
    )


def test_cpus_are_chosen_in_turn_and_never_all_of_them() -> None:
    available = sorted(os.sched_getaffinity(0))
    assert choose_cpus(len(available)) is None
    if len(available) < 2:
        pytest.skip("one CPU: nothing to choose")
    first, second = choose_cpus(1), choose_cpus(1)
    assert first != second and set(first + second) <= set(available)


def test_memory_limits_apply_to_tools_not_to_containers() -> None:
    limits = ResourceLimits(memory_mib=64, memory_source="ramMin")
    config = task_limits_config(limits, containers=False)
    assert config is not None and config["memory_bytes"] == 64 * MIB
    assert task_limits_config(limits, containers=True) is None
    assert task_limits_config(ResourceLimits(), containers=False) is None


@pytest.mark.parametrize("use_prlimit", [True, False], ids=["prlimit", "python"])
def test_a_limited_command_cannot_allocate_beyond_its_limit(use_prlimit: bool) -> None:
    prlimit = shutil.which("prlimit") if use_prlimit else None
    if use_prlimit and prlimit is None:
        pytest.skip("prlimit is not installed")
    limits = {"memory_bytes": 64 * MIB, "prlimit": prlimit}
    allocate = [sys.executable, "-c", "import sys; bytearray(int(sys.argv[1]) * 2**20)"]
    small = subprocess.run(limited_command([*allocate, "8"], limits), capture_output=True)
    assert small.returncode == 0, small.stderr
    big = subprocess.run(limited_command([*allocate, "200"], limits), capture_output=True)
    assert big.returncode != 0 and b"MemoryError" in big.stderr
    assert limited_command(["true"], {}) == ["true"]


def test_container_needs_and_what_the_platform_says() -> None:
    required = {
        **TOOL,
        "requirements": [{"class": "DockerRequirement", "dockerPull": "quay.io/x/y:1"}],
    }
    hinted = {**TOOL, "hints": {"DockerRequirement": {"dockerImageId": "local/z"}}}
    workflow = {"class": "Workflow", "steps": [{"id": "a", "run": required}]}
    assert [need.image for need in container_needs(workflow)] == ["quay.io/x/y:1"]
    problem = container_problem(workflow, None)
    assert problem is not None and "'quay.io/x/y:1'" in problem
    assert "sbg local serve --container-engine docker" in problem
    assert container_problem(hinted, None) is None  # a hint: runs on this machine
    assert container_problem(TOOL, None) is None
    missing = container_problem(hinted, "no-such-engine-here")
    assert missing is not None and "'no-such-engine-here'" in missing and "local/z" in missing


def test_failure_messages_lead_with_what_the_user_needs(tmp_path: Path) -> None:
    record = (
        "Workflow error, try again with --debug for more information:\n"
        "Invalid job input record:\njob.json:1:2: the 'n' field is not valid because\n"
        "                \"'abc'\" is not int"
    )
    assert plain(record) == "Invalid job input: the 'n' field is not valid because 'abc' is not int"
    message = failure_message(1, [record], "")
    assert message.splitlines()[0] == plain(record)
    tool = failure_message(
        1,
        ["[job align.cwl] exited with status: 127"],
        "sh: 1: bwa: not found",
        hinted_images=["biocontainers/bwa:0.7"],
    )
    assert tool.startswith("The tool 'align' exited with code 127.")
    assert "biocontainers/bwa:0.7" in tool and "--container-engine" in tool
    assert "sh: 1: bwa: not found" in tool
    killed = failure_message(
        1,
        ["[job sort] exited with status: -9"],
        "",
        limits=ResourceLimits(memory_mib=100, memory_source="sbg:MemRequirement"),
    )
    assert killed.startswith("The tool 'sort' ran out of memory: the app allows it 100 MiB")
    assert failure_message(-15, [], "") == "The task process was killed (signal 15)."
    # cwltool's account of an engine that could not fetch the image (here: no Docker daemon).
    pull = (
        "Workflow or tool uses unsupported feature:\nDocker is required to run this tool: "
        "Command '['docker', 'pull', 'alpine:3']' returned non-zero exit status 1."
    )
    daemon = "Cannot connect to the Docker daemon. Is the docker daemon running?"
    pulled = failure_message(33, [pull], f"{daemon}\n{daemon}\n")
    assert pulled.splitlines()[0] == (
        "The container image 'alpine:3' could not be pulled with docker (exit code 1)."
    )
    assert pulled.count(daemon) == 1

"""Task processes run at a lower CPU priority than the API (``task_nice``, default 10), so a
machine busy with tasks still answers requests quickly; the tools a task starts inherit it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
from local_helpers import Caller
from test_tasks_support import created, download, install_app, wait_for_status

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.toil_executor import find_toil_runner

# `nice` with no argument prints the niceness it runs at.
NICENESS_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["nice"],
    "inputs": [],
    "outputs": {"niceness": {"type": "stdout"}},
    "stdout": "niceness.txt",
}


def _tool_niceness(owner: Caller) -> int:
    project = owner.create_project("priority")
    app = install_app(owner, project["id"], "niceness", NICENESS_TOOL)
    task = created(owner, run=True, name="niceness", project=project["id"], app=app, inputs={})
    done = wait_for_status(owner, task["id"], timeout=240)
    assert done["status"] == "COMPLETED", done
    return int(download(owner, done["outputs"]["niceness"]["path"]).decode().strip())


def _expected(step: int) -> int:
    # The servers start from this test process's niceness; 19 is the lowest priority.
    return min(os.nice(0) + step, 19)


def test_tools_run_ten_steps_nicer_than_the_server(alice: Caller) -> None:
    assert _tool_niceness(alice) == _expected(10)


def test_the_step_is_a_setting(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform(settings={"task_nice": 0, "task_workers": 1})
    assert _tool_niceness(Caller(http, server.url, server.token("pat"))) == _expected(0)


@pytest.mark.toil
@pytest.mark.skipif(find_toil_runner() is None, reason="Toil is not installed")
@pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test")
def test_toil_jobs_run_nicer_too(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform(settings={"executor": "toil", "task_workers": 1, "task_nice": 5})
    assert _tool_niceness(Caller(http, server.url, server.token("tess"))) == _expected(5)

"""Helpers shared by the task and execution tests (no tests here): apps, tasks, waiting."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from local_helpers import Caller, run_sql

from sevenbridges_local.embedded import EmbeddedServer

TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
PUBLIC_LINE_COUNT = "admin/public-apps/line-count"
PUBLIC_FASTQ_SUMMARY = "admin/public-apps/fastq-summary"

# Sleeps for ``seconds``; used for aborts, restarts and queueing.
SLEEP_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Sleep",
    "baseCommand": ["sleep"],
    "inputs": {"seconds": {"type": "int", "inputBinding": {"position": 1}}},
    "outputs": {},
}

# Concatenates its files (one or many) into joined.txt.
CAT_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Concatenate",
    "baseCommand": ["cat"],
    "inputs": {
        "files": {"type": "File[]", "inputBinding": {"position": 1}},
        "note": {"type": "string?"},
    },
    "stdout": "joined.txt",
    "outputs": {"joined": {"type": "stdout"}},
}

# Writes to stderr and exits with status 3.
FAILING_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Fails",
    "requirements": {"ShellCommandRequirement": {}},
    "arguments": [
        {
            "valueFrom": "echo 'reading the input' && echo 'fatal: reference genome missing' >&2"
            " && exit 3",
            "shellQuote": False,
        }
    ],
    "inputs": {"message": {"type": "string?"}},
    "outputs": {},
}


def slow_copy_tool(seconds_type: str = "int") -> dict[str, Any]:
    """Sleeps, then copies its file: a file-taking task that stays RUNNING for a while.
    ``seconds_type`` "string" lets a test pass a fractional, unique length and find the tool's
    own ``sleep`` process by it."""
    return {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "label": "Slow copy",
        "requirements": {"ShellCommandRequirement": {}},
        "arguments": [
            {"valueFrom": "sleep $(inputs.seconds) && cat", "shellQuote": False, "position": 0},
            {"valueFrom": "$(inputs.source.path)", "position": 1},
        ],
        "inputs": {"source": "File", "seconds": seconds_type},
        "stdout": "copy.txt",
        "outputs": {"copy": {"type": "stdout"}},
    }


def install_app(caller: Caller, project_id: str, slug: str, document: dict[str, Any]) -> str:
    """Installs ``document`` as ``<project>/<slug>``; returns the app id with its revision."""
    response = caller.post(f"/apps/{project_id}/{slug}/raw", json=document)
    assert response.status_code == 200, response.text
    return str(response.json()["sbg:id"])


def create_task(caller: Caller, *, run: bool = False, **body: Any) -> requests.Response:
    return caller.post("/tasks", params={"action": "run"} if run else None, json=body)


def created(caller: Caller, *, run: bool = False, **body: Any) -> dict[str, Any]:
    response = create_task(caller, run=run, **body)
    assert response.status_code == 201, response.text
    return response.json()


def get_task(caller: Caller, task_id: str) -> dict[str, Any]:
    response = caller.get(f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_status(
    caller: Caller, task_id: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 90.0
) -> dict[str, Any]:
    """Polls the task until its status is one of ``statuses``; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        task = get_task(caller, task_id)
        if task["status"] in statuses:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {task['status']} after {timeout} s")
        time.sleep(0.05)


def file_ref(file_id: str) -> dict[str, str]:
    return {"class": "File", "path": file_id}


def download(caller: Caller, file_id: str) -> bytes:
    """A file's content through its signed download URL (no token on the data plane)."""
    info = caller.get(f"/files/{file_id}/download_info")
    assert info.status_code == 200, info.text
    fetched = caller.http.get(info.json()["url"], timeout=30)
    assert fetched.status_code == 200
    return fetched.content


def download_url(caller: Caller, url: str) -> bytes:
    """Content behind a ``.../files/<id>/download_info`` URL as execution details give it."""
    info = caller.get(url)
    assert info.status_code == 200, info.text
    return caller.http.get(info.json()["url"], timeout=30).content


def transitions(server: EmbeddedServer, task_id: str) -> list[str]:
    """The statuses a task went through, as persisted, checking their times never go back."""
    ((raw,),) = run_sql(server, "SELECT transitions FROM tasks WHERE id = ?", (task_id,))
    history = json.loads(raw)
    times = [entry["time"] for entry in history]
    assert times == sorted(times), history
    return [entry["status"] for entry in history]

"""How a task process's end is reported by the fork server (the "killed (signal 9)" flake).

The server used to take a channel that closed without an ``exit`` line for a SIGKILL, and to
signal a task's process group by number even after that process had ended (its pid, and so the
group's number, may then belong to another task). The fork server now reaps its children and
reports their true wait status, and signals only children it has not reaped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from sevenbridges_local.execution.base import TaskSpec
from sevenbridges_local.execution.cwltool_executor import CwltoolExecutor, _ForkedTask
from sevenbridges_local.storage import LocalBlobStore

SLEEPER: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["sleep", "30"],
    "inputs": {},
    "outputs": {},
}


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("exit-reports")
    executor = CwltoolExecutor(LocalBlobStore(root / "storage"), use_fork_server=True)
    yield executor
    executor.stop()


def _start(executor: CwltoolExecutor, work_dir: Path, document: dict[str, Any]) -> Any:
    spec = TaskSpec(
        task_id=work_dir.name, document=document, document_name="t", job_order={}, files={}
    )
    prepared = executor.prepare(spec, work_dir)
    return prepared, executor.run(prepared)


def _wait_for_job(prepared: Any) -> None:
    """Until cwltool has started the tool (the task is past its start-up)."""
    deadline = time.monotonic() + 60
    log = prepared.log_paths["cwltool.log"]
    while time.monotonic() < deadline:
        if log.exists() and "$ sleep" in log.read_text():
            return
        time.sleep(0.05)
    raise AssertionError("the tool did not start")


def test_a_task_ended_by_another_signal_is_reported_with_that_signal(
    executor: CwltoolExecutor, tmp_path: Path
) -> None:
    prepared, running = _start(executor, tmp_path / "term", SLEEPER)
    try:
        _wait_for_job(prepared)
        os.killpg(running.process_group, signal.SIGTERM)
        # Before the fix: -9, whatever ended the process.
        assert running.wait(30) == -signal.SIGTERM
    finally:
        running.close()


def test_a_child_that_fails_before_cwltool_reports_its_exit_code(
    executor: CwltoolExecutor, tmp_path: Path
) -> None:
    """A request the child cannot read: it exits 70 (runner failure), never "killed"."""
    assert executor._fork_server is not None
    executor._fork_server.ensure_started()
    running = executor._fork_server.spawn(tmp_path / "missing" / "request.json")
    try:
        assert running.wait(60) == 70
    finally:
        running.close()


def test_a_pid_that_is_not_the_fork_servers_child_is_never_signalled(
    executor: CwltoolExecutor, tmp_path: Path
) -> None:
    """An abort that comes after the task ended must not hit whoever has its pid now."""
    prepared, running = _start(executor, tmp_path / "quick", {**SLEEPER, "baseCommand": "true"})
    assert running.wait(60) == 0
    running.close()
    # Stand-in for a process group that took over the ended task's number.
    victim = subprocess.Popen(["sleep", "30"], start_new_session=True)
    ours, theirs = socket.socketpair()
    try:
        stale = _ForkedTask(victim.pid, ours, b"", executor._fork_server)
        executor.abort(stale)
        time.sleep(0.3)
        assert victim.poll() is None  # before the fix: killed by the abort
    finally:
        victim.kill()
        victim.wait()
        ours.close()
        theirs.close()


def test_an_abort_still_stops_a_running_task(executor: CwltoolExecutor, tmp_path: Path) -> None:
    prepared, running = _start(executor, tmp_path / "abort", SLEEPER)
    try:
        _wait_for_job(prepared)
        started = time.monotonic()
        executor.abort(running)
        code = running.wait(30)
        assert code is not None and code != 0
        assert time.monotonic() - started < 20
        result = executor.collect(prepared, code)
        assert not result.succeeded
    finally:
        running.close()


def test_the_fork_server_reports_status_after_exit(tmp_path: Path) -> None:
    """The lines a channel carries: the child's ``exit``, then the fork server's ``status``."""
    ours, theirs = socket.socketpair()
    theirs.sendall(b"exit 0\nstatus 0\n")
    theirs.close()
    assert _ForkedTask(1, ours, b"").wait(5) == 0
    ours.close()
    ours, theirs = socket.socketpair()
    theirs.sendall(f"status {signal.SIGKILL}\n".encode())  # raw wait status of a SIGKILL
    theirs.close()
    assert _ForkedTask(1, ours, b"").wait(5) == -signal.SIGKILL
    ours.close()
    ours, theirs = socket.socketpair()
    theirs.sendall(b"status 768\n")  # exit(3)
    theirs.close()
    assert _ForkedTask(1, ours, b"").wait(5) == 3
    ours.close()

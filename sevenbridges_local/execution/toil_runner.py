"""What runs inside a Toil task's own process: ``toil-cwl-runner`` (the Toil leader) on the
prepared work directory.

Started by the Toil executor as ``python -m sevenbridges_local.execution.toil_runner
REQUEST.json`` in its own session, with a pipe on its standard input as the lifeline (the server
holds it open for as long as it wants the task alive). The request, written by ``prepare``,
names the leader's command line, its environment and the files its output goes to: the leader's
log (its standard error) and the CWL output object (its standard output).

Toil's single-machine batch system starts each job's worker in a session of its own, so one
signal to the task's process group does not reach them. Two things make sure nothing outlives
the task: with a sandbox the leader and its workers all live in the sandbox's PID namespace,
which the kernel empties when the sandbox ends; without one, the workers are found by the job
store their command line names (:func:`kill_workers`) and their process groups are killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sevenbridges_local.execution.namespaces import lower_priority, run_sandboxed

# Exit code reported when the runner itself failed before or around the leader.
RUNNER_FAILURE = 70
# Seconds the leader gets to stop its workers after SIGTERM before it is killed.
LEADER_GRACE_SECONDS = 8.0


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.dup2(target, fd)
    os.close(target)


def worker_groups(job_store: str) -> list[int]:
    """Process groups of the Toil workers that run jobs of ``job_store`` on this machine."""
    marker = job_store.encode()
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        # "_toil_worker <job name> file:<store> <job id>": the store is one argument of its own.
        arguments = command.split(b"\0")
        if any(argument.endswith(b"_toil_worker") for argument in arguments[:3]) and (
            marker in arguments or b"file:" + marker in arguments
        ):
            try:
                found.append(os.getpgid(int(entry)))
            except ProcessLookupError:
                continue
    return sorted(set(found))


def kill_workers(job_store: str) -> int:
    """SIGKILL every worker process group of ``job_store`` (and the tools they run); how many."""
    killed = 0
    own = os.getpgid(0)
    for group in worker_groups(job_store):
        if group == own:
            continue
        try:
            os.killpg(group, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            continue
    return killed


def _start_leader(request: dict[str, Any], argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        cwd=request["work_dir"],
        env={str(key): str(value) for key, value in request["env"].items()},
    )


def _log_offset() -> int:
    """Where the leader's log (our fd 2) ends now."""
    try:
        return os.lseek(2, 0, os.SEEK_END)
    except OSError:
        return 0


def _restart_went_nowhere(request: dict[str, Any], offset: int) -> bool:
    """Whether a ``--restart`` ended before any job ran (a job store Toil cannot resume)."""
    try:
        with open(request["logs"]["toil.log"], "rb") as handle:
            handle.seek(offset)
            text = handle.read(4 * 1024 * 1024)
    except OSError:
        return False
    return b"Issued job" not in text


def _fresh(request: dict[str, Any]) -> list[str]:
    """The command line of a run from scratch, after its job store is removed."""
    shutil.rmtree(request["job_store"], ignore_errors=True)
    sys.stderr.write("The job store could not be resumed; running the task from the start.\n")
    sys.stderr.flush()
    return [argument for argument in request["argv"] if argument != "--restart"]


def _run_sandboxed(request: dict[str, Any], lifeline: int) -> int:
    """The leader inside the sandbox: its end (or the sandbox's) ends every worker with it."""

    def body() -> int:
        argv = list(request["argv"])
        offset = _log_offset()
        code = _start_leader(request, argv).wait()
        if code > 0 and "--restart" in argv and _restart_went_nowhere(request, offset):
            code = _start_leader(request, _fresh(request)).wait()
        return code

    return run_sandboxed(request["sandbox"], body, lifeline)


def _run_unsandboxed(request: dict[str, Any], lifeline: int) -> int:
    job_store = str(request["job_store"])
    argv = list(request["argv"])
    offset = _log_offset()
    leaders = [_start_leader(request, argv)]
    stopping = threading.Event()

    def stop(graceful: bool) -> None:
        if stopping.is_set():
            return
        stopping.set()
        leader = leaders[-1]
        if graceful:
            try:
                leader.wait(LEADER_GRACE_SECONDS)  # it had SIGTERM too: it stops its workers
            except subprocess.TimeoutExpired:
                pass
        if leader.poll() is None:
            leader.kill()
        kill_workers(job_store)

    def watch_lifeline() -> None:
        while True:
            try:
                if not os.read(lifeline, 1):
                    break
            except OSError:
                break
        # The server is gone: nothing of this task may keep running.
        stop(graceful=False)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    def on_terminate(signum: int, frame: Any) -> None:
        threading.Thread(target=stop, args=(True,), daemon=True).start()

    signal.signal(signal.SIGTERM, on_terminate)
    threading.Thread(target=watch_lifeline, name="sbg-toil-lifeline", daemon=True).start()
    code = leaders[-1].wait()
    if (
        code > 0
        and not stopping.is_set()
        and "--restart" in argv
        and _restart_went_nowhere(request, offset)
    ):
        kill_workers(job_store)
        leaders.append(_start_leader(request, _fresh(request)))
        code = leaders[-1].wait()
    kill_workers(job_store)  # whatever a leader that died abruptly left behind
    if stopping.is_set():
        # Aborted: end as the signal would have ended us, so the server sees a killed task.
        sys.stderr.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    return code


def run_request(request: dict[str, Any], lifeline: int) -> int:
    lower_priority(int(request.get("nice", 0)))  # Toil's local workers inherit it
    logs = request["logs"]
    _redirect(1, logs["cwl.output.json"])
    _redirect(2, logs["toil.log"])
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    os.chdir(request["work_dir"])
    if request.get("sandbox"):
        return _run_sandboxed(request, lifeline)
    return _run_unsandboxed(request, lifeline)


def main(argv: list[str] | None = None) -> int:
    """``python -m sevenbridges_local.execution.toil_runner REQUEST.json`` (own session)."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        sys.stderr.write("usage: python -m sevenbridges_local.execution.toil_runner REQUEST.json\n")
        return 2
    request = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    try:
        return run_request(request, lifeline=0)
    except Exception as exc:  # report, never hang: the server reads the exit code
        sys.stderr.write(f"toil task runner failed: {exc!r}\n")
        return RUNNER_FAILURE


if __name__ == "__main__":
    sys.exit(main())

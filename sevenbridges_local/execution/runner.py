"""What runs inside a task's own process: cwltool on the prepared work directory.

Two ways in, same code: a process forked from the warm fork server (``forkserver.py``, the fast
path: cwltool and its CWL schemas are already loaded), or a fresh interpreter started with
``python -m sevenbridges_local.execution.runner REQUEST.json`` (the fallback).

The request (written by the executor's ``prepare``) names cwltool's arguments and the log files.
File descriptors 1 and 2 are pointed at ``job.out.log`` and ``job.err.log`` so that the tools'
output lands there (cwltool passes uncaptured tool output through its own stderr); cwltool's own
messages go to ``cwltool.log`` in the format the progress reader parses; the CWL output object
goes to ``outputs.json``.

A task process must not outlive the platform: it ends its whole process group when its lifeline
to the server (the fork server's channel socket, or the stdin pipe) closes, which is what
happens when the server process dies, however it dies. A task with a sandbox runs cwltool in it
(see ``namespaces.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from sevenbridges_local.execution.namespaces import lower_priority, run_sandboxed

# Exit code reported when the runner itself failed before or around cwltool.
RUNNER_FAILURE = 70


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.dup2(target, fd)
    os.close(target)


def _keep_loaded_schemas() -> None:
    """cwltool reloads its CWL schemas on every ``main()`` unless given a callback; the fork
    server loaded them already, and a fresh interpreter loads them on first use."""


# Sets the memory limit, then becomes the tool (used when ``prlimit`` is not installed).
_LIMIT_THEN_EXEC = (
    "import os, resource, sys; "
    "limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_DATA, (limit, limit)); "
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


def limited_command(commands: list[str], limits: dict[str, Any]) -> list[str]:
    """A tool's command line, started under the task's memory limit."""
    memory = limits.get("memory_bytes")
    if not memory or not commands:
        return commands
    prlimit = limits.get("prlimit")
    if prlimit:
        return [str(prlimit), f"--data={int(memory)}", "--", *commands]
    return [sys.executable, "-c", _LIMIT_THEN_EXEC, str(int(memory)), *commands]


def apply_limits(limits: dict[str, Any] | None) -> None:
    """Bind this process to its CPUs and start every tool cwltool runs under the memory limit.

    The memory limit is for the tools, not for cwltool itself: cwltool's own process is larger
    than many tools and must not fail for what the app declared about its tools.
    """
    if not limits:
        return
    cpus = limits.get("cpus")
    if cpus and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, [int(cpu) for cpu in cpus])
        except OSError as exc:
            sys.stderr.write(f"task limits: CPUs {cpus} not applied: {exc}\n")
    if limits.get("memory_bytes"):
        import cwltool.job

        original = cwltool.job._job_popen

        def limited_popen(commands: list[str], *args: Any, **kwargs: Any) -> int:
            return original(limited_command(list(commands), limits), *args, **kwargs)

        cwltool.job._job_popen = limited_popen  # type: ignore[assignment]


def run_request(request: dict[str, Any], lifeline: int) -> int:
    """Run cwltool as the request says, in the task's sandbox when it has one; returns its exit
    code. The task is killed when ``lifeline`` (held open by the server) closes."""
    work_dir = Path(request["work_dir"])
    logs = request["logs"]
    # Opened before the sandbox: the task keeps writing them but cannot replace them.
    _redirect(1, logs["job.out.log"])
    _redirect(2, logs["job.err.log"])
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    os.chdir(work_dir)
    os.environ.pop("CWLTOOL_OPTIONS", None)  # only our arguments count
    import cwltool.main

    from sevenbridges_local.execution.cwl_log import UtcLogFileHandler

    handler = UtcLogFileHandler(Path(logs["cwltool.log"]))
    outputs = open(request["outputs_path"], "w", encoding="utf-8")

    def run_cwltool() -> int:
        return int(
            cwltool.main.main(
                list(request["argv"]),
                stdout=outputs,
                stderr=sys.stderr,
                logger_handler=handler,
                custom_schema_callback=_keep_loaded_schemas,
            )
        )

    lower_priority(int(request.get("nice", 0)))
    apply_limits(request.get("limits"))
    try:
        return run_sandboxed(request.get("sandbox"), run_cwltool, lifeline)
    finally:
        outputs.close()
        handler.close()
        sys.stdout.flush()
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """``python -m sevenbridges_local.execution.runner REQUEST.json`` (own session expected)."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        sys.stderr.write("usage: python -m sevenbridges_local.execution.runner REQUEST.json\n")
        return 2
    request = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    try:
        # The server keeps our stdin open for as long as it wants us alive.
        return run_request(request, lifeline=0)
    except Exception as exc:  # report, never hang: the server reads the exit code
        sys.stderr.write(f"task runner failed: {exc!r}\n")
        return RUNNER_FAILURE


if __name__ == "__main__":
    sys.exit(main())

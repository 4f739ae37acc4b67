"""What runs inside a task's own process: cwltool on the prepared work directory.

Two ways in, same code: a process forked from the warm fork server (``forkserver.py``, the fast
path: cwltool and its CWL schemas are already loaded), or a fresh interpreter started with
``python -m sevenbridges_local.execution.runner REQUEST.json`` (the fallback).

The request (written by the executor's ``prepare``) names cwltool's arguments and the log files.
File descriptors 1 and 2 are pointed at ``job.out.log`` and ``job.err.log`` so that the tools'
output lands there (cwltool passes uncaptured tool output through its own stderr); cwltool's own
messages go to ``cwltool.log`` in the format the progress reader parses; the CWL output object
goes to ``outputs.json``.

A task process must not outlive the platform: a watcher thread ends the whole process group when
the channel to the server (a socket or the stdin pipe) is closed, which is what happens when the
server process dies, however it dies.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Exit code reported when the runner itself failed before or around cwltool.
RUNNER_FAILURE = 70


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, fd)
    os.close(target)


def _keep_loaded_schemas() -> None:
    """cwltool reloads its CWL schemas on every ``main()`` unless given a callback; the fork
    server loaded them already, and a fresh interpreter loads them on first use."""


def watch_channel(read_once: Callable[[], bytes]) -> None:
    """Kill our process group when ``read_once`` reports end of file (the server is gone)."""

    def watch() -> None:
        try:
            while read_once():
                pass
        except OSError:
            pass
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="sbg-task-watch", daemon=True).start()


def run_request(request: dict[str, Any]) -> int:
    """Run cwltool as the request says; returns its exit code."""
    work_dir = Path(request["work_dir"])
    logs = request["logs"]
    _redirect(1, logs["job.out.log"])
    _redirect(2, logs["job.err.log"])
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    os.chdir(work_dir)
    os.environ.pop("CWLTOOL_OPTIONS", None)  # only our arguments count
    import cwltool.main

    from sevenbridges_local.execution.cwl_log import UtcLogFileHandler

    handler = UtcLogFileHandler(Path(logs["cwltool.log"]))
    try:
        with open(request["outputs_path"], "w", encoding="utf-8") as outputs:
            return int(
                cwltool.main.main(
                    list(request["argv"]),
                    stdout=outputs,
                    stderr=sys.stderr,
                    logger_handler=handler,
                    custom_schema_callback=_keep_loaded_schemas,
                )
            )
    finally:
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
    # The server keeps our stdin open for as long as it wants us alive.
    watch_channel(lambda: os.read(0, 1))
    try:
        return run_request(request)
    except Exception as exc:  # report, never hang: the server reads the exit code
        sys.stderr.write(f"task runner failed: {exc!r}\n")
        return RUNNER_FAILURE


if __name__ == "__main__":
    sys.exit(main())

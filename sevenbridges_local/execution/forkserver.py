"""A warm process that forks one child per task, each child running cwltool.

Starting cwltool from scratch costs well over a second (imports, then parsing the CWL schemas);
forking a process that has done all of that once costs a few milliseconds. The server starts
this module as a subprocess (``python -m sevenbridges_local.execution.forkserver FD``) with one
end of a ``SOCK_SEQPACKET`` socket pair as FD and talks to it like this:

* fork server -> server: ``ready`` once warm.
* server -> fork server: one message per task, ``{"request": "<path of request.json>"}``, with a
  fresh stream socket attached (SCM_RIGHTS): the task's private channel.
* The fork server forks. The child starts its own session (so the task's whole process tree
  is one process group the server can signal), writes ``pid N`` on its channel, runs cwltool
  (``runner.run_request``) and finally writes ``exit N``. A channel that ends without an
  ``exit`` line means the child was killed.

The fork server stays single-threaded, so forking is safe. It exits when the server's end of the
control socket closes (the server stopped or died); a child exits, killing its process group,
when its channel closes.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import socket
import sys
import traceback
from pathlib import Path

logger = logging.getLogger("sevenbridges_local.forkserver")

READY = b"ready"
MAX_MESSAGE = 65536


def warm_up() -> None:
    """Import cwltool and parse the CWL schemas of every supported version, once."""
    import cwltool.main  # noqa: F401  (the import itself is most of the work)
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool
    from cwltool.process import get_schema

    for version in ("v1.0", "v1.1", "v1.2"):
        get_schema(version)
    # Loading one small tool initialises the loader's remaining lazy state.
    probe = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "id": "file:///sbg-local-warm-up.cwl",
        "baseCommand": "true",
        "inputs": [],
        "outputs": [],
    }
    context = LoadingContext()
    context.do_validate = True
    load_tool(probe, context)
    # Objects made so far are shared with every child; keeping the collector off them avoids
    # copying their memory pages when a child runs a collection.
    gc.freeze()


def _child(request_path: str, channel_fd: int) -> None:
    """In the forked child: run the task, report, and never return to the server loop."""
    code = 70
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        # The fork server's own log handler would copy cwltool's messages into the tools'
        # stderr log; cwltool's log has a file of its own.
        logging.getLogger().handlers.clear()
        from sevenbridges_local.execution import runner

        channel = socket.socket(fileno=channel_fd)
        channel.sendall(f"pid {os.getpid()}\n".encode())
        request = json.loads(Path(request_path).read_text(encoding="utf-8"))
        try:
            code = runner.run_request(request, lifeline=channel.fileno())
        except Exception:
            sys.stderr.write("task runner failed:\n" + traceback.format_exc())
            code = runner.RUNNER_FAILURE
        sys.stderr.flush()
        channel.sendall(f"exit {code}\n".encode())
    except BaseException:
        try:
            sys.stderr.write(traceback.format_exc())
        except Exception:
            pass
    finally:
        os._exit(code)


def serve(control: socket.socket) -> None:
    """The fork server's loop (runs until the control socket closes)."""
    # Children are reaped by the kernel; their results travel over their channels.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # Ctrl-C in a terminal reaches the whole foreground group; the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()
    control.send(READY)
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, MAX_MESSAGE, 1)
        except InterruptedError:
            continue
        if not message:
            return
        if not fds:
            logger.error("fork server: request without a channel ignored")
            continue
        try:
            request_path = str(json.loads(message)["request"])
        except (ValueError, KeyError, TypeError):
            logger.error("fork server: malformed request ignored")
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _child(request_path, fds[0])
        for fd in fds:
            os.close(fd)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1 or not arguments[0].isdigit():
        sys.stderr.write("usage: python -m sevenbridges_local.execution.forkserver FD\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    control = socket.socket(fileno=int(arguments[0]))
    try:
        serve(control)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server went away
    return 0


if __name__ == "__main__":
    sys.exit(main())

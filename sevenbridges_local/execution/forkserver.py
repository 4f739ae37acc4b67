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
  (``runner.run_request``) and finally writes ``exit N`` (cwltool's exit code).
* The fork server is the child's parent: it keeps its own copy of the channel, reaps the child
  when it ends and only then writes ``status W`` (the raw wait status) and closes its copy. So
  the server sees the channel end only after the true status is on it, whatever way the child
  ended (``exit`` missing: it died before it could report, and ``status`` says how).
* server -> fork server: ``{"signal": S, "pid": N}`` (no descriptor) asks for signal S to the
  process group of child N. The fork server sends it only while N is a child it has not reaped:
  a pid that ended may already belong to another task's process group, and the fork server,
  single-threaded, cannot reap N between its check and the signal.

The fork server stays single-threaded, so forking is safe. It exits when the server's end of the
control socket closes (the server stopped or died); a child exits, killing its process group,
when its channel closes.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import select
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
    channel: socket.socket | None = None
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
        try:
            request = json.loads(Path(request_path).read_text(encoding="utf-8"))
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


class _Children:
    """The children not reaped yet, each with the fork server's copy of its channel."""

    def __init__(self) -> None:
        self.channels: dict[int, socket.socket] = {}

    def close_all_in_child(self) -> None:
        """In a new child: it must not hold its siblings' channels open."""
        for channel in self.channels.values():
            channel.close()
        self.channels.clear()

    def reap(self) -> None:
        """Collect every child that has ended and report its wait status on its channel."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            channel = self.channels.pop(pid, None)
            if channel is None:
                continue
            try:
                channel.sendall(f"status {status}\n".encode())
            except OSError:
                pass  # the server is no longer listening
            finally:
                channel.close()

    def signal(self, pid: int, signum: int) -> None:
        if pid not in self.channels:
            return  # reaped (or never ours): its pid may be someone else's by now
        try:
            os.killpg(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _handle(control: socket.socket, children: _Children, private: list[socket.socket]) -> bool:
    """One message from the server; False when the server has gone. ``private``: the fork
    server's own sockets, closed in a new child."""
    try:
        message, fds, _flags, _address = socket.recv_fds(control, MAX_MESSAGE, 1)
    except InterruptedError:
        return True
    if not message:
        return False
    try:
        body = json.loads(message)
        if not fds:
            children.signal(int(body["pid"]), int(body["signal"]))
            return True
        request_path = str(body["request"])
    except (ValueError, KeyError, TypeError):
        logger.error("fork server: malformed request ignored")
        for fd in fds:
            os.close(fd)
        return True
    # The fork server's copy of the channel, for the wait status.
    own_copy = socket.socket(fileno=os.dup(fds[0]))
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        for own in private:
            own.close()
        control.close()
        own_copy.close()
        children.close_all_in_child()
        _child(request_path, fds[0])
    children.channels[pid] = own_copy
    for fd in fds:
        os.close(fd)
    return True


def serve(control: socket.socket) -> None:
    """The fork server's loop (runs until the control socket closes)."""
    # Ctrl-C in a terminal reaches the whole foreground group; the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()
    children = _Children()
    # SIGCHLD wakes the loop through this socket pair; the handler itself does nothing.
    wakeup, wakeup_writer = socket.socketpair()
    wakeup.setblocking(False)
    wakeup_writer.setblocking(False)
    signal.set_wakeup_fd(wakeup_writer.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    control.send(READY)
    poller = select.poll()
    poller.register(control, select.POLLIN)
    poller.register(wakeup, select.POLLIN)
    while True:
        children.reap()
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, _event in events:
            if fd == wakeup.fileno():
                try:
                    while wakeup.recv(4096):
                        pass
                except BlockingIOError:
                    pass
            elif not _handle(control, children, [wakeup, wakeup_writer]):
                return


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

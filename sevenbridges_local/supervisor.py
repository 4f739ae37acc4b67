"""``sbg local serve --workers N``: N API processes sharing the listening sockets.

The supervisor (the ``serve`` process itself) holds the data-directory lock, migrates the
database, binds the API's and the data plane's sockets and starts N copies of ``serve`` that
inherit both sockets (the kernel spreads connections among them). Each process runs the API,
the data plane and the task and work pools (claims in the database, see processes.py); process
0 also runs the loops that must be singular (automation runs, the upload janitor). A process that
dies is started again; Ctrl-C (SIGINT) or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The environment variable that makes `serve` one of the supervised processes:
# "INDEX:API_FD:DATA_FD" (private to this module and cli.py).
CHILD_ENV = "SBG_LOCAL_SUPERVISED_PROCESS"
READY_DIR_NAME = "api-processes"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
# A process that dies this soon after starting, this many times in a row, is not started again:
# something is wrong with the set-up, not with one request.
QUICK_DEATH_SECONDS = 10.0
MAX_QUICK_DEATHS = 5


def child_role() -> tuple[int, socket.socket, socket.socket] | None:
    """In a supervised process: (index, API socket, data-plane socket); None otherwise."""
    value = os.environ.pop(CHILD_ENV, None)  # not for the tasks this process starts
    if not value:
        return None
    index, api_fd, data_fd = (int(part) for part in value.split(":"))
    _die_with_parent()
    return index, socket.socket(fileno=api_fd), socket.socket(fileno=data_fd)


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when the supervisor dies (kill -9 included)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def ready_file(data_dir: Path, index: int) -> Path:
    return data_dir / READY_DIR_NAME / f"{index}.pid"


def mark_ready(data_dir: Path, index: int) -> None:
    path = ready_file(data_dir, index)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(f"{os.getpid()}\n")


class Supervisor:
    def __init__(
        self,
        count: int,
        argv: list[str],
        data_dir: Path,
        api_socket: socket.socket,
        data_socket: socket.socket,
    ) -> None:
        self.count = count
        self.argv = argv
        self.data_dir = data_dir
        self.api_socket = api_socket
        self.data_socket = data_socket
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self._started_at: dict[int, float] = {}
        self._quick_deaths: dict[int, int] = {}
        self._stop = threading.Event()

    def _spawn(self, index: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            ready_file(self.data_dir, index).unlink()
        fds = (self.api_socket.fileno(), self.data_socket.fileno())
        env = {**os.environ, CHILD_ENV: f"{index}:{fds[0]}:{fds[1]}"}
        command = [sys.executable, "-m", "sevenbridges_local", *self.argv]
        self.processes[index] = subprocess.Popen(command, env=env, pass_fds=fds)
        self._started_at[index] = time.monotonic()

    def pids(self) -> list[int]:
        return [process.pid for _, process in sorted(self.processes.items())]

    def start(self) -> None:
        for index in range(self.count):
            self._spawn(index)

    def wait_ready(self) -> bool:
        """True once every process serves; False when one ended first or after a timeout."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self._stop.is_set():
            if any(process.poll() is not None for process in self.processes.values()):
                return False
            ready = 0
            for index, process in self.processes.items():
                with contextlib.suppress(OSError, ValueError):
                    if int(ready_file(self.data_dir, index).read_text()) == process.pid:
                        ready += 1
            if ready == self.count:
                return True
            time.sleep(0.1)
        return False

    def request_stop(self, *_args: object) -> None:
        self._stop.set()

    def watch(self) -> bool:
        """Start again any process that dies, until asked to stop; False when one kept dying."""
        while not self._stop.wait(0.2):
            for index, process in list(self.processes.items()):
                code = process.poll()
                if code is None:
                    continue
                lived = time.monotonic() - self._started_at[index]
                quick = self._quick_deaths.get(index, 0) + 1 if lived < QUICK_DEATH_SECONDS else 0
                self._quick_deaths[index] = quick
                if quick >= MAX_QUICK_DEATHS:
                    logger.error(
                        "API process %d keeps dying at start (exit %s); stopping", index, code
                    )
                    self._stop.set()
                    return False
                logger.warning(
                    "API process %d (pid %d) ended with %s; starting it again",
                    index,
                    process.pid,
                    code,
                )
                self._spawn(index)
        return True

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.warning("API process %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()


def run_supervised(
    count: int,
    argv: list[str],
    data_dir: Path,
    api_socket: socket.socket,
    data_socket: socket.socket,
    announce: Callable[[list[int]], Any],
) -> int:
    """Run ``count`` API processes until SIGINT/SIGTERM; 0 after a clean stop."""
    # Several processes accept on each socket: a non-blocking one never leaves a process
    # waiting in accept() for a connection another process took.
    data_socket.setblocking(False)
    supervisor = Supervisor(count, argv, data_dir, api_socket, data_socket)
    previous = {
        sig: signal.signal(sig, supervisor.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        supervisor.start()
        if not supervisor.wait_ready():
            if not supervisor._stop.is_set():
                print(
                    "error: the platform did not start (see the log lines above)", file=sys.stderr
                )
                return 1
        else:
            announce(supervisor.pids())
            if not supervisor.watch():
                return 1
        return 0
    finally:
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

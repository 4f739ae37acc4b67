"""Inside a task's process: enter the sandbox that bubblewrap built, then give up privileges.

A task's process is forked from a warm interpreter (cwltool already imported), so it cannot be
started *by* ``bwrap``. Instead it asks ``bwrap`` to build the sandbox around a tiny placeholder
command, joins that sandbox's namespaces with ``setns(2)`` and forks once more: the grandchild
lives in the sandbox's mount, PID, IPC, UTS and (unless the network is allowed) network
namespaces, drops every privilege and runs cwltool. The middle process stays outside the PID
namespace; when the grandchild has ended it kills the sandbox's init, which makes the kernel
kill whatever the tools left running, and only then reports the exit code. So once a task has
ended nothing of it runs any more, and the server can read its outputs without racing it.

Privileges, depending on who runs the platform:

* root: the grandchild switches to an unprivileged user and group (``sandbox_uid``/``gid``,
  nobody/nogroup by default): no capabilities, no access to root's files even where they are
  visible, and ``no_new_privs`` so no set-uid program gives anything back.
* any other user: bubblewrap needs a user namespace; the grandchild joins it, so it holds no
  capability outside it, and then drops the capabilities it holds inside it as well.

This module runs in the task's process only; the server builds the arguments (``sandbox.py``).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

# setns(2) namespace types and the ioctl that names the user namespace owning a namespace.
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_NS_GET_USERNS = (0xB7 << 8) | 0x1
# Joined in this order: the mount namespace last, since /proc paths change with it.
_NAMESPACES = (
    ("ipc", _CLONE_NEWIPC),
    ("uts", _CLONE_NEWUTS),
    ("net", _CLONE_NEWNET),
    ("pid", _CLONE_NEWPID),
    ("mnt", _CLONE_NEWNS),
)
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# The placeholder that keeps the sandbox alive: it says when the sandbox is ready, then waits
# for its standard input to close.
_PLACEHOLDER = ("/bin/sh", "-c", "echo ready && exec cat")
_READY_TIMEOUT_SECONDS = 30.0
# Exit code of a task whose sandbox could not be entered.
SANDBOX_FAILURE = 71

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    """The sandbox could not be built or entered; the task must not run."""


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {os.strerror(code)}")


def _setns(fd: int, kind: int, name: str) -> None:
    _check(_libc.setns(fd, kind), f"joining the sandbox's {name} namespace")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities() -> None:
    """No capability left, now or after any exec (bounding set emptied)."""
    last_cap = 40
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
            last_cap = int(handle.read().strip())
    except (OSError, ValueError):
        pass
    for capability in range(last_cap + 1):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            if ctypes.get_errno() != errno.EINVAL:  # EINVAL: unknown to this kernel
                _check(-1, "dropping a capability")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "clearing capabilities")


def _drop_privileges(uid: int | None, gid: int | None) -> None:
    if uid is not None and os.getuid() == 0:
        # Leaving uid 0 for an ordinary uid clears every capability on its own.
        target_gid = gid if gid is not None else uid
        os.setgroups([target_gid])
        os.setresgid(target_gid, target_gid, target_gid)
        os.setresuid(uid, uid, uid)
    else:
        _drop_capabilities()
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "setting no_new_privs")


def _start_placeholder(bwrap: str, arguments: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """Run bwrap around the placeholder; returns it and the host pid of the sandbox's init."""
    args_read, args_write = os.pipe()
    info_read, info_write = os.pipe()
    try:
        process = subprocess.Popen(
            [bwrap, "--args", str(args_read), "--info-fd", str(info_write), "--", *_PLACEHOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(args_read, info_write),
            close_fds=True,
        )
    finally:
        os.close(args_read)
        os.close(info_write)
    try:
        with os.fdopen(args_write, "wb") as feed:
            feed.write(b"".join(argument.encode() + b"\0" for argument in arguments))
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], _READY_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            detail = ""
            if process.poll() is not None and process.stderr is not None:
                detail = process.stderr.read().decode(errors="replace").strip()
            raise SandboxError(f"bubblewrap did not start the sandbox: {detail or 'no answer'}")
        # bubblewrap wrote its report before the placeholder could say "ready".
        child_pid = int(json.loads(os.read(info_read, 65536))["child-pid"])
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        os.close(info_read)
    return process, child_pid


def _join(child_pid: int, network_shared: bool) -> None:
    """Join the namespaces of the sandbox whose init is ``child_pid`` (single-threaded only)."""
    opened: dict[str, int] = {}
    try:
        for name in ("user", *(name for name, _kind in _NAMESPACES)):
            opened[name] = os.open(f"/proc/{child_pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        own_userns = os.stat("/proc/self/ns/user").st_ino
        sandbox_userns = os.fstat(opened["user"]).st_ino
        owner = fcntl.ioctl(opened["mnt"], _NS_GET_USERNS)
        try:
            owner_userns = os.fstat(owner).st_ino
            if owner_userns != own_userns:
                # Unprivileged bubblewrap: its namespaces belong to a user namespace it made.
                _setns(owner, _CLONE_NEWUSER, "user")
        finally:
            os.close(owner)
        for name, kind in _NAMESPACES:
            if name == "net" and network_shared:
                continue
            _setns(opened[name], kind, name)
        if sandbox_userns != owner_userns:
            # bubblewrap nests the sandbox in a second user namespace: be where its tools are.
            _setns(opened["user"], _CLONE_NEWUSER, "user")
    finally:
        for fd in opened.values():
            os.close(fd)


def _end_sandbox(placeholder: subprocess.Popen[bytes], child_pid: int) -> None:
    """Kill the sandbox's init; the kernel then kills and reaps everything left inside it."""
    try:
        os.kill(child_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    placeholder.kill()
    placeholder.wait()


def _lose_lifeline(lifeline: int) -> bool:
    """Read what the server sent on the lifeline; True once it has closed (the server is gone)."""
    try:
        return not os.read(lifeline, 1)
    except OSError:
        return True


def _kill_own_group() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def watch_lifeline(lifeline: int) -> None:
    """Unsandboxed tasks: a thread kills the task's process group when the lifeline closes."""

    def watch() -> None:
        while not _lose_lifeline(lifeline):
            pass
        _kill_own_group()

    threading.Thread(target=watch, name="sbg-task-watch", daemon=True).start()


def _wait_watching(pid: int, lifeline: int) -> int:
    """Wait for ``pid`` while watching the lifeline. No threads: a process that joined another
    PID namespace may not start any."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            readable, _, _ = select.select([pidfd, lifeline], [], [])
            if pidfd in readable:
                break
            if _lose_lifeline(lifeline):
                _kill_own_group()
    finally:
        os.close(pidfd)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def lower_priority(increment: int) -> None:
    """Make this task process (and all it starts) yield the CPU to the API: tasks are batch
    work, requests are interactive. ``increment`` is a nice value step (0: unchanged)."""
    if increment <= 0 or not hasattr(os, "nice"):
        return
    try:
        os.nice(increment)
    except OSError as exc:  # e.g. a seccomp policy; the task still runs
        sys.stderr.write(f"task priority not lowered: {exc}\n")


def run_sandboxed(config: Mapping[str, Any] | None, body: Callable[[], int], lifeline: int) -> int:
    """Run ``body`` inside the sandbox ``config`` describes and return its exit code.

    ``config`` is what ``sandbox.SandboxPolicy.task_config`` wrote into the task's request, or
    None to run unisolated. ``lifeline`` is a descriptor the server holds open for as long as
    it wants the task alive: when it closes (the server stopped or died, however it died), the
    task's whole process group is killed.
    """
    if not config:
        watch_lifeline(lifeline)
        return body()
    placeholder, child_pid = _start_placeholder(str(config["bwrap"]), list(config["arguments"]))
    try:
        _join(child_pid, bool(config.get("network")))
        pid = os.fork()
    except BaseException:
        _end_sandbox(placeholder, child_pid)
        raise
    if pid == 0:  # in the sandbox's PID namespace now
        code = SANDBOX_FAILURE
        try:
            os.chdir(str(config["work_dir"]))
            _drop_privileges(config.get("uid"), config.get("gid"))
            os.environ.clear()
            os.environ.update({str(key): str(value) for key, value in config["env"].items()})
            code = body()
        except BaseException as exc:  # report and leave: never return into the caller's loop
            try:
                os.write(2, f"task sandbox: {exc!r}\n".encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    try:
        return _wait_watching(pid, lifeline)
    finally:
        _end_sandbox(placeholder, child_pid)

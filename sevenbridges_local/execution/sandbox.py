"""How tasks are isolated: bubblewrap (``bwrap``), decided once when the platform starts.

A task sees only what it needs, all of it at the same paths as on the host so that cwltool's
paths keep working:

* the system's read-only directories (``/usr``, ``/etc``, ``/bin``, ``/lib``...), the Python
  installation the platform runs on and the platform's own package (read-only);
* a fresh ``/proc`` (its own processes only), a minimal ``/dev`` and a small private ``/tmp``;
* its work directory, read-only except ``out/`` and ``tmp/``;
* each of its input files, read-only, and nothing else of the data directory: the data
  directory is an empty in-memory file system in the sandbox, so ``secret.key``,
  ``platform.db``, other tasks and other blobs do not exist there;
* no network (only its own loopback) unless ``sandbox_network`` allows it.

When the platform runs as root, tasks run as an unprivileged user (``sandbox_uid``/``gid``,
nobody/nogroup by default); otherwise bubblewrap puts them in a user namespace and they keep
no capability. ``namespaces.py`` is the task-side half: it enters the sandbox from the warm
process that runs cwltool.

Without bubblewrap (or with ``sandbox = "none"``) tasks run unisolated: the platform says so
when it starts and in ``sbg local status``. ``sandbox = "bwrap"`` makes isolation mandatory:
the platform refuses to start without it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sevenbridges_local

logger = logging.getLogger(__name__)

# Top-level system directories a tool may need, read-only (symlinks such as /bin -> usr/bin on
# merged-/usr systems are recreated as symlinks).
SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
TASK_HOSTNAME = "sbg-task"
PRIVATE_TMP_BYTES = 1024 * 1024 * 1024
PROBE_TIMEOUT_SECONDS = 15.0
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"


class SandboxUnavailable(RuntimeError):
    """Isolation was required (``sandbox = "bwrap"``) but cannot work on this machine."""


def _python_paths() -> list[str]:
    """What the warm task process may still import from: the interpreter's and the venv's
    trees, and this package (an editable install lives outside them)."""
    paths = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]
    paths.append(str(Path(sevenbridges_local.__file__).resolve().parent))
    return paths


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


@dataclass
class _Arguments:
    """bubblewrap's mount arguments, in order, creating every missing parent directory (mode
    0755, so an unprivileged task can traverse it) before a mount needs it."""

    items: list[str] = field(default_factory=list)
    made: set[str] = field(default_factory=lambda: {"/"})
    # (kind, target) of each mount so far: "bind" shows the host's tree, "fresh" an empty one.
    mounts: list[tuple[str, str]] = field(default_factory=list)

    def visible(self, path: str) -> bool:
        """Whether ``path`` exists in the sandbox as built so far."""
        if path in self.made:
            return True
        for kind, target in reversed(self.mounts):
            if _inside(path, [target]):
                return kind == "bind" and os.path.isdir(path)
        return False

    def _parents(self, path: str) -> None:
        parent = os.path.dirname(path)
        if self.visible(parent):
            return
        self._parents(parent)
        self.items += ["--perms", "0755", "--dir", parent]
        self.made.add(parent)

    def bind(self, path: str, *, writable: bool = False) -> None:
        self._parents(path)
        self.items += ["--bind" if writable else "--ro-bind", path, path]
        self.mounts.append(("bind", path))

    def fresh(self, option: str, path: str, *modifiers: str) -> None:
        """A new file system (``--tmpfs``, ``--dev``, ``--proc``) at ``path``."""
        self._parents(path)
        self.items += [*modifiers, option, path]
        self.mounts.append(("fresh", path))
        self.made.add(path)

    def symlink(self, target: str, path: str) -> None:
        self._parents(path)
        self.items += ["--symlink", target, path]
        self.made.add(path)


@dataclass(frozen=True)
class SandboxPolicy:
    """The isolation every task gets; ``problem`` says why there is none."""

    bwrap: str | None = None
    version: str = ""
    network: bool = False
    # Set when the platform runs as root: the unprivileged identity tasks take.
    uid: int | None = None
    gid: int | None = None
    readonly_paths: tuple[str, ...] = ()
    hidden_paths: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def enabled(self) -> bool:
        return self.bwrap is not None and self.problem is None

    def describe(self) -> str:
        if not self.enabled:
            return f"OFF: tasks are NOT isolated ({self.problem})"
        who = f"as uid {self.uid}" if self.uid is not None else "in a user namespace"
        network = "host network" if self.network else "no network"
        return f"{self.version or 'bubblewrap'}: private file system view, {network}, {who}"

    # --- per task ------------------------------------------------------------------------------
    def _arguments(
        self, work_dir: str, writable: Iterable[str], inputs: Iterable[str]
    ) -> list[str]:
        mounts = _Arguments()
        for path in SYSTEM_PATHS:
            if os.path.islink(path):
                mounts.symlink(os.readlink(path), path)
            elif os.path.isdir(path):
                mounts.bind(path)
        mounts.fresh("--dev", "/dev")
        mounts.fresh("--proc", "/proc")
        mounts.fresh("--tmpfs", "/tmp", "--perms", "1777", "--size", str(PRIVATE_TMP_BYTES))
        # Outer folders first: binding /a/b first would make /a an empty directory that then
        # counts as visible, and /a (named in sandbox_paths) would never be shown.
        for path in sorted(self.readonly_paths):
            if not mounts.visible(path) and os.path.isdir(path):
                mounts.bind(path)
        for path in self.hidden_paths:
            # An empty file system over the data directory, even when a bound tree contains it.
            mounts.fresh("--tmpfs", path, "--perms", "0755")
        mounts.bind(work_dir)
        for path in writable:
            mounts.bind(path, writable=True)
        for path in sorted(set(inputs)):
            mounts.bind(path)
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.network:
            namespaces.append("--unshare-net")
        if os.getuid() == 0:
            namespaces += ["--cap-drop", "ALL"]
        else:
            namespaces.append("--unshare-user")
        return [*namespaces, "--hostname", TASK_HOSTNAME, "--die-with-parent", *mounts.items]

    def grant(self, work_dir: Path, writable: Iterable[Path], inputs: Iterable[Path]) -> None:
        """Let the task's unprivileged user read its work dir and inputs and write ``writable``.

        Only when the platform runs as root (otherwise the task is the platform's own user).
        Everything else under the data directory stays private to the platform's user, and
        outside the sandbox the data directory itself (0700) keeps other users out.
        """
        if not self.enabled or self.uid is None or self.gid is None:
            return
        for directory in writable:
            os.chown(directory, self.uid, self.gid)
            os.chmod(directory, 0o700)
        skip = {str(path) for path in writable}
        for root, directories, files in os.walk(work_dir):
            directories[:] = [name for name in directories if os.path.join(root, name) not in skip]
            os.chown(root, -1, self.gid)
            os.chmod(root, 0o750)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chown(path, -1, self.gid)
                    os.chmod(path, 0o640)
        for path in inputs:
            os.chown(path, -1, self.gid)
            os.chmod(path, 0o640)

    def task_config(
        self, work_dir: Path, writable: Iterable[Path], inputs: Iterable[Path]
    ) -> dict[str, Any] | None:
        """What the task's process needs to enter its sandbox (None: run unisolated).

        ``writable``: directories of the work dir the task may write; ``inputs``: the host
        paths of its input files (symlink targets of what was staged).
        """
        if not self.enabled:
            return None
        tmp = work_dir / "tmp"
        return {
            "bwrap": self.bwrap,
            "arguments": self._arguments(
                str(work_dir), [str(path) for path in writable], [str(path) for path in inputs]
            ),
            "work_dir": str(work_dir),
            "network": self.network,
            "uid": self.uid,
            "gid": self.gid,
            "env": {
                "PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(tmp),
                "TMPDIR": str(tmp),
                "LANG": "C.UTF-8",
            },
        }


def _version(bwrap: str) -> str:
    try:
        result = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"
    return result.stdout.strip() or "bubblewrap"


def _probe(policy: SandboxPolicy) -> str | None:
    """Build a real sandbox once; returns why it failed (None when it works)."""
    work_dir = Path(tempfile.mkdtemp(prefix="sbg-sandbox-probe-"))
    (work_dir / "out").mkdir()
    try:
        arguments = policy._arguments(str(work_dir), [str(work_dir / "out")], [])
        result = subprocess.run(
            [str(policy.bwrap), *arguments, "--", "/bin/sh", "-c", "test -d /usr && echo ok"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not be run: {exc}"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if result.returncode != 0 or result.stdout.strip() != "ok":
        detail = result.stderr.strip().splitlines()
        return "bubblewrap cannot build a sandbox here: " + (
            detail[-1] if detail else f"exit code {result.returncode}"
        )
    return None


def detect_sandbox(
    *,
    mode: str,
    data_dir: Path,
    bwrap: str = "bwrap",
    network: bool = False,
    uid: int = 65534,
    gid: int = 65534,
    extra_paths: Iterable[Path] = (),
    container_engine: str | None = None,
) -> SandboxPolicy:
    """The isolation this machine gives tasks, checked by building one sandbox.

    ``mode``: "auto" (bubblewrap when it works, otherwise none, loudly), "bwrap" (required:
    :class:`SandboxUnavailable` otherwise) or "none".
    """
    data_dir = Path(data_dir).expanduser().resolve()
    readonly = [*_python_paths(), *(str(Path(path).resolve()) for path in extra_paths)]
    unisolated = SandboxPolicy(
        network=network,
        readonly_paths=tuple(dict.fromkeys(readonly)),
        hidden_paths=(str(data_dir),),
    )
    problem: str | None = None
    found: str | None = None
    if mode == "none":
        problem = "disabled by the setting sandbox=none"
    elif container_engine:
        problem = f"not combined with the {container_engine} container engine yet"
    else:
        found = shutil.which(bwrap)
        if found is None:
            problem = f"bubblewrap ('{bwrap}') is not installed; {INSTALL_HINT}"
    if problem is None:
        root = os.getuid() == 0
        policy = replace(
            unisolated,
            bwrap=found,
            version=_version(str(found)),
            uid=uid if root else None,
            gid=gid if root else None,
        )
        failure = _probe(policy)
        if failure is None:
            return policy
        problem = f"{failure}; {INSTALL_HINT} or allow user namespaces"
    if mode == "bwrap":
        raise SandboxUnavailable(f"Task isolation is required but {problem}.")
    return replace(unisolated, problem=problem)

"""Start and stop the process of one automation run (the local convention, docs/internals.md).

A run's work directory holds ``code/`` (the unpacked package, read-only for the run), ``io/``
(``inputs.json``, ``settings.json``, ``secret_settings.json``, ``state.json``,
``outputs.json``; writable), ``tmp/`` (writable, also ``HOME``) and ``run.log`` (stdout and
stderr). The process runs the platform's own Python (which has ``sevenbridges`` installed) in the
task sandbox when there is one, with the host network so that it reaches the API on loopback
(docs/security.md says what that costs), under the platform's unprivileged task user, with an
address-space limit, in a session of its own so that a stop kills all of it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sevenbridges_local
from sevenbridges_local.execution.sandbox import SandboxPolicy

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 2048
LOG_NAME = "run.log"


class PackageError(Exception):
    """The package cannot be unpacked (it was checked at creation; the blob changed?)."""


@dataclass
class RunFiles:
    work_dir: Path

    @property
    def code(self) -> Path:
        return self.work_dir / "code"

    @property
    def io(self) -> Path:
        return self.work_dir / "io"

    @property
    def tmp(self) -> Path:
        return self.work_dir / "tmp"

    @property
    def log(self) -> Path:
        return self.work_dir / LOG_NAME

    @property
    def state(self) -> Path:
        return self.io / "state.json"

    @property
    def outputs(self) -> Path:
        return self.io / "outputs.json"


def _safe(name: str) -> str | None:
    if name.startswith("/") or "\\" in name or "\0" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        return None
    return "/".join(parts)


def unpack(data: bytes, target: Path) -> None:
    """Unpack a zip or tar archive below ``target``: regular files and directories only."""
    target.mkdir(parents=True, exist_ok=True)

    def write(name: str, content: bytes | None) -> None:
        clean = _safe(name)
        if clean is None:
            raise PackageError(f"unsafe path in the package: {name!r}")
        if not clean:
            return
        path = target / clean
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    write(info.filename, None if info.is_dir() else archive.read(info))
            return
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive.getmembers():
                if member.isdir():
                    write(member.name, None)
                elif member.isfile():
                    extracted = archive.extractfile(member)
                    write(member.name, extracted.read() if extracted else b"")
                else:
                    raise PackageError(f"link or special file in the package: {member.name!r}")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise PackageError(f"the package is not a valid archive: {exc}") from exc


def prepare(work_dir: Path, archive: bytes, values: dict[str, Any], state: Any) -> RunFiles:
    files = RunFiles(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    unpack(archive, files.code)
    files.io.mkdir(exist_ok=True)
    files.tmp.mkdir(exist_ok=True)
    for name in ("inputs", "settings", "secret_settings"):
        (files.io / f"{name}.json").write_text(json.dumps(values.get(name) or {}))
    if state is not None:
        files.state.write_text(json.dumps(state))
    files.outputs.unlink(missing_ok=True)
    return files


def _client_paths() -> list[str]:
    """Where ``sevenbridges`` is imported from (an editable install lives outside the venv)."""
    paths = []
    try:
        import sevenbridges

        paths.append(str(Path(sevenbridges.__file__).resolve().parent))
    except ImportError:  # pragma: no cover - the platform ships with its client
        pass
    paths.append(str(Path(sevenbridges_local.__file__).resolve().parent))
    return paths


def command(
    policy: SandboxPolicy, files: RunFiles, entrypoint: str, memory_mb: int | None
) -> list[str]:
    memory = (memory_mb or DEFAULT_MEMORY_MB) * 1024 * 1024
    launcher = [
        sys.executable,
        "-m",
        "sevenbridges_local.execution.automation_launcher",
        str(files.code),
        entrypoint,
        str(memory),
    ]
    if not policy.enabled:
        return [*launcher, "-", "-"]
    # Automation runs call the API on loopback: they share the host's network namespace.
    run_policy = replace(
        policy,
        network=True,
        readonly_paths=tuple(dict.fromkeys([*policy.readonly_paths, *_client_paths()])),
    )
    arguments = run_policy._arguments(str(files.work_dir), [str(files.io), str(files.tmp)], [])
    if os.getuid() == 0:
        # The launcher takes the task user itself (then no capability is left).
        at = arguments.index("--cap-drop")
        arguments[at : at + 2] = [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
        policy.grant(files.work_dir, [files.io, files.tmp], [])
        for path in files.io.iterdir():  # the run's own files: inputs, settings, its state
            os.chown(path, policy.uid, policy.gid)
        ids = [str(policy.uid), str(policy.gid)]
    else:
        ids = ["-", "-"]
    return [str(policy.bwrap), *arguments, "--", *launcher, *ids]


def start(
    policy: SandboxPolicy,
    files: RunFiles,
    entrypoint: str,
    memory_mb: int | None,
    environment: dict[str, str],
) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(files.tmp),
        "TMPDIR": str(files.tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "SB_AUTOMATION_INPUTS": str(files.io / "inputs.json"),
        "SB_AUTOMATION_SETTINGS": str(files.io / "settings.json"),
        "SB_AUTOMATION_SECRET_SETTINGS": str(files.io / "secret_settings.json"),
        "SB_AUTOMATION_STATE": str(files.state),
        "SB_AUTOMATION_OUTPUTS": str(files.outputs),
        **environment,
    }
    with open(files.log, "ab") as log:
        return subprocess.Popen(
            command(policy, files, entrypoint, memory_mb),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(files.work_dir),
            start_new_session=True,
            close_fds=True,
        )


def kill(process: subprocess.Popen[bytes]) -> int:
    """Kill the run's whole session (the sandbox goes with its first process) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.wait()

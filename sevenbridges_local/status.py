"""Who runs on a data directory: the lock one platform holds, and ``DATA_DIR/server.json``.

``sbg local serve`` takes ``DATA_DIR/server.lock`` (an exclusive ``flock``) before it touches
anything: a second platform on the same data directory would re-queue the first one's running
tasks and delete their work directories. The kernel drops the lock when the process ends, however
it ends, so a lock is never stale. ``server.json`` is written when the platform is ready and
removed when it stops; ``sbg local status`` reads it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATUS_FILE_NAME = "server.json"
LOCK_FILE_NAME = "server.lock"


class DataDirInUse(RuntimeError):
    """Another platform holds the data directory."""


@dataclass(frozen=True)
class ServerStatus:
    pid: int
    api_url: str
    data_port: int
    started_at: str
    tasks_isolated: bool
    task_isolation: str
    # Absent from files written by older versions.
    version: str = "unknown"
    container_engine: str | None = None
    executor: str | None = None
    database: str | None = None  # its URL with any password masked
    storage: str | None = None  # None: the data directory's storage folder
    api_processes: int = 1

    @property
    def running(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process, alive
        return True


def status_path(data_dir: Path) -> Path:
    return Path(data_dir) / STATUS_FILE_NAME


def toolkit_version() -> str:
    try:
        return metadata.version("sevenbridges-toolkit")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_status(
    data_dir: Path,
    *,
    api_url: str,
    data_port: int,
    tasks_isolated: bool,
    task_isolation: str,
    container_engine: str | None = None,
    executor: str | None = None,
    database: str | None = None,
    storage: str | None = None,
    api_processes: int = 1,
) -> None:
    """``database`` must already be redacted (settings.redact_url): the file is readable by
    whoever reads the data directory."""
    status = ServerStatus(
        pid=os.getpid(),
        api_url=api_url,
        data_port=data_port,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tasks_isolated=tasks_isolated,
        task_isolation=task_isolation,
        version=toolkit_version(),
        container_engine=container_engine,
        executor=executor,
        database=database,
        storage=storage,
        api_processes=api_processes,
    )
    path = status_path(data_dir)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(status), handle)
    os.replace(temporary, path)


def read_status(data_dir: Path) -> ServerStatus | None:
    """The status a platform wrote in ``data_dir`` (running or not), or None."""
    try:
        raw: Any = json.loads(status_path(data_dir).read_text(encoding="utf-8"))
        return ServerStatus(**raw)
    except (OSError, ValueError, TypeError):
        return None


def clear_status(data_dir: Path) -> None:
    """Remove the status file if this process wrote it."""
    current = read_status(data_dir)
    if current is not None and current.pid == os.getpid():
        try:
            status_path(data_dir).unlink()
        except FileNotFoundError:
            pass


def lock_data_dir(data_dir: Path) -> int:
    """Hold ``data_dir`` for this process (the descriptor stays open until it exits).

    :class:`DataDirInUse` names the process (and its API when known) that holds it already.
    """
    Path(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(Path(data_dir) / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        status = read_status(data_dir)
        where = f" serving {status.api_url}" if status is not None and status.running else ""
        raise DataDirInUse(
            f"the data directory {data_dir} is in use by another local platform "
            f"(pid {holder}{where}); stop it first, or use another --data-dir"
        )
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd

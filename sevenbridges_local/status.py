"""What a running platform tells ``sbg local status``: ``DATA_DIR/server.json``.

Written when the platform is ready, removed when it stops; a file left by a platform that died
is recognised by its process id no longer running.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATUS_FILE_NAME = "server.json"


@dataclass(frozen=True)
class ServerStatus:
    pid: int
    api_url: str
    data_port: int
    started_at: str
    tasks_isolated: bool
    task_isolation: str

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


def write_status(
    data_dir: Path, *, api_url: str, data_port: int, tasks_isolated: bool, task_isolation: str
) -> None:
    status = ServerStatus(
        pid=os.getpid(),
        api_url=api_url,
        data_port=data_port,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tasks_isolated=tasks_isolated,
        task_isolation=task_isolation,
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

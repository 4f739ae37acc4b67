"""Shared by the execution tests: the Toil platform's settings and ways to see what a task left
running or stored (its processes, Toil's job stores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.toil_executor import find_toil_runner

# The settings of a platform that runs tasks with Toil (single-machine batch system).
TOIL: dict[str, Any] = {"executor": "toil", "task_workers": 2}
# Generous: Toil's start-up stretches a lot on a loaded machine.
TOIL_TASK_TIMEOUT = 240.0

needs_toil = pytest.mark.skipif(
    find_toil_runner() is None,
    reason="Toil is not installed (pip install 'sevenbridges-toolkit[toil]')",
)
needs_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command:
            found.append(int(entry.name))
    return found


def job_stores(server: EmbeddedServer) -> list[str]:
    """Toil's job stores left in the data directory (one per unfinished task)."""
    root = server.data_dir / "toil"
    return sorted(path.name for path in root.iterdir()) if root.exists() else []

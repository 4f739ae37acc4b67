"""``sbg transfers ls|clean``: the resume records of unfinished uploads and downloads.

The library keeps one journal per interrupted transfer under ``~/.sevenbridges/transfers/``
(see ``sevenbridges.transfer._state``); these commands only read and delete those files.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from sevenbridges.cli.main import state
from sevenbridges.cli.output import emit_list, human_size, note, output_options
from sevenbridges.transfer._state import transfers_dir
from sevenbridges.transfer.utils import total_parts

COLUMNS = [
    ("kind", "kind"),
    ("local path", "local_path"),
    ("size", lambda record: human_size(record.get("size"))),
    ("parts done", lambda record: f"{record['parts_done']}/{record['parts_total']}"),
    ("age", lambda record: f"{record['age_hours']:.1f} h"),
    ("state", "state"),
]


def _describe(path: Path) -> dict[str, Any] | None:
    """What the journal at ``path`` records, or None when it is not a readable journal."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        identity = header["identity"]
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return None
    kind = path.name.split("-", 1)[0]
    size = int(identity.get("size") or 0)
    part_size = int(header.get("part_size") or 0)
    done = sum(1 for line in lines[1:] if line.strip().startswith("{"))
    local_path = identity.get("path") if kind == "upload" else identity.get("target")
    return {
        "kind": kind,
        "journal": str(path),
        "local_path": local_path,
        "size": size,
        "parts_done": done,
        "parts_total": max(1, total_parts(size, part_size)) if part_size else None,
        "age_hours": (time.time() - path.stat().st_mtime) / 3600,
        "state": _state(kind, identity, header),
        "destination": identity.get("destination") or identity.get("source"),
        "temporary_file": header.get("temporary_file"),
    }


def _state(kind: str, identity: dict[str, Any], header: dict[str, Any]) -> str:
    """``resumable``, or why running the same command again would start over."""
    if kind == "upload":
        try:
            found = os.stat(identity["path"])
        except (OSError, KeyError):
            return "stale: local file gone"
        if (found.st_size, found.st_mtime_ns) != (identity.get("size"), identity.get("mtime_ns")):
            return "stale: local file changed"
        return "resumable"
    temporary = header.get("temporary_file")
    if not temporary or not os.path.exists(temporary):
        return "stale: partial file gone"
    return "resumable"


def _records() -> list[dict[str, Any]]:
    directory = transfers_dir()
    if not directory.is_dir():
        return []
    found = (_describe(path) for path in sorted(directory.glob("*.json")))
    return [record for record in found if record is not None]


@click.group()
def transfers() -> None:
    """Resume records of interrupted uploads and downloads (~/.sevenbridges/transfers)."""


@transfers.command("ls")
@output_options
def list_transfers() -> None:
    """List interrupted transfers; run the same upload/download command again to resume one."""
    current = state()
    emit_list(current.output, _records(), COLUMNS)


@transfers.command("clean")
@click.option("--all", "everything", is_flag=True, help="Remove every record, not only stale ones.")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    metavar="HOURS",
    help="Only records older than this.",
)
def clean_transfers(everything: bool, older_than: float | None) -> None:
    """Remove resume records that can no longer be resumed (or all of them with --all).

    A removed download record also removes its partial file; the parts of a removed upload stay
    on the platform until it expires them.
    """
    removed = 0
    for record in _records():
        if not everything and record["state"] == "resumable":
            continue
        if older_than is not None and record["age_hours"] < older_than:
            continue
        journal = Path(record["journal"])
        journal.unlink(missing_ok=True)
        Path(str(journal) + ".new").unlink(missing_ok=True)
        if record["kind"] == "download" and record["temporary_file"]:
            Path(record["temporary_file"]).unlink(missing_ok=True)
        removed += 1
    note(f"removed {removed} transfer record(s)")

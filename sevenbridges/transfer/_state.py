"""Resume state of transfers, kept on disk so that a new process can continue a dead one's work.

Each transfer has one journal file under ``~/.sevenbridges/transfers/`` (``~`` is resolved at
call time, so ``HOME`` decides). Its name is a digest of the transfer's identity (kind, local
path, size, mtime, destination), so the same call made again finds it. The first line is a
JSON header; every further line is one JSON record appended when a part is done. Appending keeps
the cost per part constant however many parts there are, and a line cut short by a crash is
simply ignored when the journal is read back.

Losing the journal only costs the ability to resume, so every I/O problem is logged and the
journal switches itself off instead of failing the transfer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATE_FORMAT_VERSION = 1


def transfers_dir() -> Path:
    """Where journals live; resolved on every call so a changed ``HOME`` is honoured."""
    return Path(os.path.expanduser("~")) / ".sevenbridges" / "transfers"


def identity_digest(identity: Mapping[str, Any]) -> str:
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


class TransferJournal:
    """The append-only progress record of one transfer."""

    def __init__(self, kind: str, identity: Mapping[str, Any]) -> None:
        self.identity = dict(identity)
        self.path = transfers_dir() / f"{kind}-{identity_digest(identity)}.json"
        self._lock = threading.Lock()
        self._enabled = True

    # ----------------------------------------------------------------- reading

    def load(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """``(header, records)`` of a journal left by an earlier run, or None if there is none
        usable (missing, unreadable, other format, or written for another identity)."""
        try:
            with open(self.path, encoding="utf-8") as journal:
                lines = journal.read().splitlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("Cannot read transfer state %s: %s", self.path, exc)
            return None
        if not lines:
            return None
        try:
            header = json.loads(lines[0])
        except ValueError:
            logger.warning("Ignoring damaged transfer state %s", self.path)
            return None
        if (
            not isinstance(header, dict)
            or header.get("version") != STATE_FORMAT_VERSION
            or header.get("identity") != json.loads(json.dumps(self.identity, default=str))
        ):
            return None
        records = []
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the process died while appending this line
            if isinstance(record, dict):
                records.append(record)
        return header, records

    # ----------------------------------------------------------------- writing

    def start(self, header: Mapping[str, Any]) -> None:
        """Begin a fresh journal (replacing any older one) with ``header``."""
        content = dict(header)
        content["version"] = STATE_FORMAT_VERSION
        content["identity"] = self.identity
        line = json.dumps(content, default=str) + "\n"
        with self._lock:
            self._enabled = True
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                staging = self.path.with_name(self.path.name + ".new")
                with open(staging, "w", encoding="utf-8") as journal:
                    journal.write(line)
                os.replace(staging, self.path)  # readers never see a header half written
            except OSError as exc:
                self._disable(exc)

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(dict(record), separators=(",", ":")) + "\n"
        with self._lock:
            if not self._enabled:
                return
            try:
                # One write per record in append mode: records from concurrent writers never
                # interleave inside a line.
                with open(self.path, "a", encoding="utf-8") as journal:
                    journal.write(line)
            except OSError as exc:
                self._disable(exc)

    def remove(self) -> None:
        with self._lock:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning("Cannot remove transfer state %s: %s", self.path, exc)

    def _disable(self, exc: OSError) -> None:
        self._enabled = False
        logger.warning(
            "Cannot write transfer state %s (%s); this transfer cannot be resumed by another "
            "process if it is interrupted.",
            self.path,
            exc,
        )

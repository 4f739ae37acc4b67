"""The blob storage interface.

Objects are immutable: a file's content is written once under a fresh key and never changed in
place, so a reader never sees half-written data and copies may share content. Multipart uploads
stage their parts under the upload id until they are assembled into one object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


class StorageError(Exception):
    """A storage operation failed (disk full, missing part, I/O error)."""


class ObjectNotFound(StorageError):
    """No object is stored under the key."""


class IncompleteBody(StorageError):
    """The sender closed the stream before the announced number of bytes arrived."""


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str  # MD5 hex of the part's bytes, as S3 reports it (without quotes)


class BlobStore(ABC):
    """Where file contents live. Implementations: local directory (default), S3."""

    # --- multipart staging -------------------------------------------------------------------
    @abstractmethod
    def write_part(
        self, upload_id: str, part_number: int, body: Readable, length: int
    ) -> StoredPart:
        """Stream exactly ``length`` bytes from ``body`` into the part; replaces an older copy."""

    @abstractmethod
    def stored_parts(self, upload_id: str) -> dict[int, StoredPart]:
        """The parts received so far for an upload."""

    @abstractmethod
    def assemble(self, upload_id: str, part_numbers: Iterable[int], key: str) -> int:
        """Concatenate the parts, in the given order, into object ``key``; returns its size."""

    @abstractmethod
    def discard_upload(self, upload_id: str) -> None:
        """Forget every staged part of an upload (abort or after assembly)."""

    # --- objects -----------------------------------------------------------------------------
    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> int:
        """Store a small object in one go (logs, generated files); returns its size."""

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """Open an object for reading (binary, seekable)."""

    def local_path(self, key: str) -> Path | None:
        """The object's path on this machine when it has one (lets servers use sendfile)."""
        return None

    @abstractmethod
    def copy(self, source_key: str, target_key: str) -> None:
        """Make ``target_key`` hold the same content as ``source_key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; deleting a missing key is not an error."""

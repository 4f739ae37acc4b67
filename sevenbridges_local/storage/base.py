"""The blob storage interface.

Objects are immutable: a file's content is written once under a fresh key and never changed in
place, so a reader never sees half-written data and copies may share content. Multipart uploads
stage their parts under the upload id until they are assembled into one object (a store that
knows the upload's geometry may write parts in their final places and assemble without a copy;
see ``begin_sized_upload``).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

# Parts of a streamed put (``put_file``) are this large; S3 needs 5 MiB but for the last part.
PUT_FILE_PART_BYTES = 64 * 1024 * 1024


class StorageError(Exception):
    """A storage operation failed (disk full, missing part, I/O error)."""


class StorageFull(StorageError):
    """Not enough free space: the write was refused or ran out of room (nothing is left over).

    The message is meant for the client (the API and the data plane answer 507 with it).
    """


class ObjectNotFound(StorageError):
    """No object is stored under the key."""


class UploadNotFound(StorageError):
    """No multipart upload was begun under this id (or it was discarded)."""


class IncompleteBody(StorageError):
    """The sender closed the stream before the announced number of bytes arrived."""


class PartDoesNotFit(StorageError):
    """A part is longer than its place in an upload of known geometry (size and part size).

    The message is meant for the client (the data plane answers 400 with it).
    """


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str  # MD5 hex of the part's bytes, as S3 reports it (without quotes)


class BlobStore(ABC):
    """Where file contents live. Implementations: local directory (default), S3."""

    # Called (no arguments) when a write finds too little free space, before it gives up: the
    # platform sets it to a clean-up that removes abandoned uploads (see services/uploads.py).
    on_space_short: Callable[[], object] | None = None

    def ensure_space(self, needed: int, doing: str) -> None:
        """Raise :class:`StorageFull` when a write of ``needed`` bytes should not start now.

        ``doing`` completes the message ("store part 3"). Stores without a notion of free space
        accept everything here and report a full disk only when a write fails.
        """
        return None

    # --- multipart staging -------------------------------------------------------------------
    @abstractmethod
    def begin_upload(self, upload_id: str) -> None:
        """Prepare staging for an upload; parts are accepted only for uploads begun here."""

    def begin_sized_upload(self, upload_id: str, size: int, part_size: int) -> None:
        """Like :meth:`begin_upload` for an upload whose size and part size are known.

        Stores that can use the geometry (the local store writes each part straight into its
        place in the final object) override this; part ``n`` then covers bytes
        ``(n-1)*part_size`` onwards, and a part longer than its place raises
        :class:`PartDoesNotFit`. The default ignores the geometry.
        """
        self.begin_upload(upload_id)

    @abstractmethod
    def upload_exists(self, upload_id: str) -> bool:
        """Whether the upload was begun and not discarded since."""

    @abstractmethod
    def write_part(
        self, upload_id: str, part_number: int, body: Readable, length: int
    ) -> StoredPart:
        """Stream exactly ``length`` bytes from ``body`` into the part; replaces an older copy.

        Raises :class:`UploadNotFound` for an upload that was never begun (or was discarded) and
        :class:`IncompleteBody` when ``body`` ends early; nothing is stored in either case.
        """

    @abstractmethod
    def stored_parts(self, upload_id: str) -> dict[int, StoredPart]:
        """The parts received so far for an upload."""

    @abstractmethod
    def assemble(
        self,
        upload_id: str,
        part_numbers: Iterable[int],
        key: str,
        expected_etags: Mapping[int, str] | None = None,
    ) -> int:
        """Concatenate the parts, in the given order, into object ``key``; returns its size.

        With ``expected_etags``, a part whose stored MD5 differs (e.g. replaced after it was
        checked) makes the whole assembly fail instead of producing unverified content.
        """

    @abstractmethod
    def discard_upload(self, upload_id: str) -> None:
        """Forget every staged part of an upload (abort or after assembly)."""

    def staged_uploads(self) -> dict[str, float]:
        """Upload ids with staged data and when each last changed (Unix time), for clean-ups."""
        return {}

    def discard_stale_temporaries(self, max_age_seconds: float) -> int:
        """Remove leftovers of interrupted writes older than this; returns how many."""
        return 0

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

    # --- optional: streamed puts and direct transfers ----------------------------------------
    def put_file(self, key: str, source: BinaryIO, size: int) -> int:
        """Store ``size`` bytes read from ``source`` as object ``key``; returns the size.

        The default stages the bytes as a multipart upload of its own and assembles it.
        """
        staging = uuid.uuid4().hex
        self.begin_upload(staging)
        try:
            parts: list[int] = []
            offset = 0
            while offset < size or not parts:
                length = min(PUT_FILE_PART_BYTES, size - offset)
                self.write_part(staging, len(parts) + 1, source, length)
                parts.append(len(parts) + 1)
                offset += length
            return self.assemble(staging, parts, key)
        finally:
            self.discard_upload(staging)

    def upload_object_key(self, upload_id: str) -> str | None:
        """The key a completed upload's object must have, when the store decides it.

        None (the default): the caller picks a fresh key. A store whose multipart uploads are
        bound to their object's key from the start (S3) answers with that key; the caller then
        never deletes it on a failed completion that another completion may have won.
        """
        return None

    def presigned_part_url(self, upload_id: str, part_number: int, ttl_seconds: int) -> str | None:
        """A URL the client PUTs a part to directly, or None: parts go through the data plane."""
        return None

    def presigned_download_url(self, key: str, ttl_seconds: int) -> str | None:
        """A URL the client GETs the object from directly, or None: it goes through the data
        plane."""
        return None

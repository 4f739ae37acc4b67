"""Blob storage in a local directory (the default backend).

Layout under the root::

    objects/<2 hex>/<key>            finished objects, immutable
    uploads/<upload id>/<n>-<md5>    staged parts of multipart uploads
    tmp/                             files being written; renamed into place when complete

Every write goes to ``tmp/``, is fsynced and then renamed, so a crash or a full disk never leaves a
partial object or part under its final name. A part's MD5 travels in its file name, which makes the
part and its checksum appear in one atomic rename. Assembly copies inside the kernel
(``copy_file_range``, which may even share extents on filesystems that support it).

Space: a write that would leave less than ``min_free_bytes`` free is refused up front (after
asking ``on_space_short`` to make room), so uploads cannot take the room the database needs; a
write that still runs out of space fails with :class:`StorageFull` and leaves nothing behind.
Everything is created private to the platform's user (directories 0700, files 0600).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    Readable,
    StorageError,
    StorageFull,
    StoredPart,
    UploadNotFound,
)

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_PART_NUMBER = 99999
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PART_NAME = re.compile(r"^(\d{5})-([0-9a-f]{32})$")
# Errors meaning "this kind of in-kernel copy is not available here": try the next way.
_UNSUPPORTED_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF)
_LOCK_STRIPES = 64
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _create_private(path: Path) -> BinaryIO:
    """A new file only the platform's user can read, opened for unbuffered writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    return os.fdopen(fd, "wb", buffering=0)


def _mkdir_private(path: Path) -> None:
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)


def _check_name(value: str, what: str) -> str:
    if not _SAFE_NAME.match(value):
        raise StorageError(f"invalid {what}: {value!r}")
    return value


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_range(source_fd: int, target_fd: int, count: int) -> None:
    """Append ``count`` bytes of source to target inside the kernel where the OS allows."""
    remaining = count
    for kernel_copy in (os.copy_file_range, os.sendfile):
        if not remaining:
            return
        try:
            while remaining:
                if kernel_copy is os.sendfile:
                    copied = os.sendfile(target_fd, source_fd, None, min(remaining, 1 << 30))
                else:
                    copied = os.copy_file_range(source_fd, target_fd, min(remaining, 1 << 30))
                if copied == 0:
                    raise StorageError("part shorter than recorded")
                remaining -= copied
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED_COPY:
                raise
    # Last resort where neither kernel copy works: a bounded buffered copy of what is left.
    while remaining:
        data = os.read(source_fd, min(remaining, CHUNK))
        if not data:
            raise StorageError("part shorter than recorded")
        os.write(target_fd, data)
        remaining -= len(data)


def _receive(body: Readable, out: BinaryIO, length: int, part_number: int) -> str:
    """Copy ``length`` bytes from ``body`` to ``out`` through one reused buffer; returns the MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    buffer = bytearray(min(CHUNK, max(length, 1)))
    view = memoryview(buffer)
    readinto = getattr(body, "readinto", None)
    received = 0
    while received < length:
        wanted = min(len(buffer), length - received)
        try:
            if readinto is not None:
                count = readinto(view[:wanted])
                chunk = view[:count] if count else b""
            else:
                chunk = body.read(wanted)
        except OSError as exc:  # the sender's connection failed or timed out
            raise IncompleteBody(
                f"part {part_number}: got {received} of {length} bytes ({exc})"
            ) from exc
        if not chunk:
            raise IncompleteBody(f"part {part_number}: got {received} of {length} bytes")
        digest.update(chunk)
        pending = memoryview(chunk)
        while pending:  # an unbuffered write may take less than offered
            pending = pending[out.write(pending) :]
        received += len(chunk)
    return digest.hexdigest()


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path | str, *, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.min_free_bytes = max(0, min_free_bytes)
        self._objects = self.root / "objects"
        self._uploads = self.root / "uploads"
        self._tmp = self.root / "tmp"
        for directory in (self.root, self._objects, self._uploads, self._tmp):
            _mkdir_private(directory)
        # Two writers of the same part must not delete each other's copy while swapping it in.
        self._part_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def __repr__(self) -> str:
        return f"<LocalBlobStore {self.root}>"

    # --- space ---------------------------------------------------------------------------------
    def free_bytes(self) -> int | None:
        """Bytes an unprivileged writer may still use on the store's file system (None: unknown)."""
        try:
            stats = os.statvfs(self.root)
        except (OSError, AttributeError):  # no statvfs (Windows) or the call failed
            return None
        return stats.f_bavail * stats.f_frsize

    def _room_for(self, needed: int) -> tuple[bool, int | None]:
        free = self.free_bytes()
        return (free is None or free - needed >= self.min_free_bytes), free

    def _relieve(self) -> None:
        hook = self.on_space_short
        if hook is None:
            return
        try:
            hook()
        except Exception:  # making room is best effort; the write decides what happens next
            logger.exception("making room in the blob store failed")

    def ensure_space(self, needed: int, doing: str) -> None:
        """Refuse (StorageFull) a write of ``needed`` bytes that would eat into the reserve."""
        fits, _ = self._room_for(needed)
        if fits:
            return
        self._relieve()
        fits, free = self._room_for(needed)
        if fits:
            return
        raise StorageFull(
            f"Not enough disk space to {doing} ({needed} bytes): {free} bytes are free and "
            f"{self.min_free_bytes} are kept in reserve for the platform's database. Free some "
            "space (or wait for abandoned uploads to be removed) and try again."
        )

    def _failed(self, exc: OSError, doing: str) -> StorageError:
        """The storage error for an OS error; running out of space also asks for room."""
        if exc.errno in _NO_SPACE:
            self._relieve()
            return StorageFull(
                f"Not enough disk space to {doing}: the file system is full ({exc.strerror}). "
                "Free some space and try again."
            )
        return StorageError(f"could not {doing}: {exc.strerror}")

    # --- paths --------------------------------------------------------------------------------
    def _object_path(self, key: str) -> Path:
        _check_name(key, "object key")
        return self._objects / key[:2] / key

    def _upload_dir(self, upload_id: str) -> Path:
        return self._uploads / _check_name(upload_id, "upload id")

    def _new_tmp(self) -> Path:
        return self._tmp / uuid.uuid4().hex

    def _part_lock(self, upload_id: str, part_number: int) -> threading.Lock:
        return self._part_locks[hash((upload_id, part_number)) % _LOCK_STRIPES]

    # --- multipart staging -------------------------------------------------------------------
    def begin_upload(self, upload_id: str) -> None:
        directory = self._upload_dir(upload_id)
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            _fsync_dir(self._uploads)
        except OSError as exc:
            raise self._failed(exc, "prepare the upload") from exc

    def upload_exists(self, upload_id: str) -> bool:
        try:
            return self._upload_dir(upload_id).is_dir()
        except StorageError:
            return False

    def write_part(
        self, upload_id: str, part_number: int, body: Readable, length: int
    ) -> StoredPart:
        if part_number < 1 or part_number > MAX_PART_NUMBER:
            raise StorageError(f"invalid part number {part_number}")
        if length < 0:
            raise StorageError("negative part length")
        target_dir = self._upload_dir(upload_id)
        if not target_dir.is_dir():
            raise UploadNotFound(upload_id)
        # Checked before a byte is read: a refused part costs the sender nothing but the request.
        self.ensure_space(length, f"store part {part_number}")
        tmp = self._new_tmp()
        try:
            with _create_private(tmp) as out:
                etag = _receive(body, out, length, part_number)
                os.fsync(out.fileno())
            final = target_dir / f"{part_number:05d}-{etag}"
            with self._part_lock(upload_id, part_number):
                try:
                    os.replace(tmp, final)
                except FileNotFoundError:
                    raise UploadNotFound(upload_id) from None  # discarded while we received
                # An older copy of the same part (a retry with other bytes) is superseded.
                for older in target_dir.glob(f"{part_number:05d}-*"):
                    if older != final:
                        older.unlink(missing_ok=True)
            _fsync_dir(target_dir)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise self._failed(exc, f"store part {part_number}") from exc
            raise
        return StoredPart(number=part_number, size=length, etag=etag)

    def stored_parts(self, upload_id: str) -> dict[int, StoredPart]:
        directory = self._upload_dir(upload_id)
        parts: dict[int, StoredPart] = {}
        newest: dict[int, int] = {}
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return parts
        for entry in entries:
            match = _PART_NAME.match(entry.name)
            if not match:
                continue
            try:
                info = entry.stat()
            except FileNotFoundError:  # superseded by a retry while we looked
                continue
            number = int(match.group(1))
            # During a retry's swap both copies exist for a moment: the newer one wins.
            if number not in newest or info.st_mtime_ns > newest[number]:
                newest[number] = info.st_mtime_ns
                parts[number] = StoredPart(number, info.st_size, match.group(2))
        return parts

    def assemble(
        self,
        upload_id: str,
        part_numbers: Iterable[int],
        key: str,
        expected_etags: Mapping[int, str] | None = None,
    ) -> int:
        directory = self._upload_dir(upload_id)
        # Mark the upload as active, so that making room for this very assembly (ensure_space)
        # never counts it among the abandoned uploads whose parts may go.
        with contextlib.suppress(OSError):
            os.utime(directory)
        stored = self.stored_parts(upload_id)
        target = self._object_path(key)
        part_numbers = list(part_numbers)
        self.ensure_space(
            sum(stored[number].size for number in part_numbers if number in stored),
            "assemble the upload",
        )
        tmp = self._new_tmp()
        total = 0
        try:
            _mkdir_private(target.parent)
            with _create_private(tmp) as out:
                for number in part_numbers:
                    part = stored.get(number)
                    if part is None:
                        raise StorageError(f"part {number} was never stored")
                    etag = part.etag if expected_etags is None else expected_etags[number]
                    try:
                        source = open(directory / f"{number:05d}-{etag}", "rb")
                    except FileNotFoundError:
                        raise StorageError(f"part {number} changed while assembling") from None
                    with source:
                        size = os.fstat(source.fileno()).st_size
                        _copy_range(source.fileno(), out.fileno(), size)
                    total += size
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise self._failed(exc, "assemble the upload") from exc
            raise
        return total

    def discard_upload(self, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def staged_uploads(self) -> dict[str, float]:
        staged: dict[str, float] = {}
        for entry in os.scandir(self._uploads):
            if entry.is_dir() and _SAFE_NAME.match(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    staged[entry.name] = entry.stat().st_mtime
        return staged

    def discard_stale_temporaries(self, max_age_seconds: float) -> int:
        cutoff = time.time() - max_age_seconds
        removed = 0
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed

    # --- objects -----------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> int:
        target = self._object_path(key)
        self.ensure_space(len(data), "store the file")
        tmp = self._new_tmp()
        try:
            _mkdir_private(target.parent)
            with _create_private(tmp) as out:
                view = memoryview(data)
                while view:  # an unbuffered write may take less than offered
                    view = view[out.write(view) :]
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._failed(exc, "store the file") from exc
        return len(data)

    def size(self, key: str) -> int:
        try:
            return self._object_path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._object_path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._object_path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def local_path(self, key: str) -> Path | None:
        return self._object_path(key)

    def copy(self, source_key: str, target_key: str) -> None:
        source = self._object_path(source_key)
        target = self._object_path(target_key)
        _mkdir_private(target.parent)
        if not source.is_file():
            raise ObjectNotFound(source_key)
        # Objects are immutable, so a hard link is a safe, instant copy; fall back to a real copy
        # where links are not possible.
        try:
            os.link(source, target)
            return
        except FileExistsError:
            return
        except OSError:
            pass
        self.ensure_space(source.stat().st_size, "copy the file")
        tmp = self._new_tmp()
        try:
            with open(source, "rb") as reader, _create_private(tmp) as out:
                _copy_range(reader.fileno(), out.fileno(), os.fstat(reader.fileno()).st_size)
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._failed(exc, "copy the file") from exc

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._object_path(key).unlink()

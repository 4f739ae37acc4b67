"""Blob storage in a local directory (the default backend).

Layout under the root::

    objects/<2 hex>/<key>            finished objects, immutable
    uploads/<upload id>/<n>-<md5>    staged parts of multipart uploads
    tmp/                             files being written; renamed into place when complete

Every write goes to ``tmp/``, is fsynced and then renamed, so a crash or a full disk never leaves a
partial object or part under its final name. A part's MD5 travels in its file name, which makes the
part and its checksum appear in one atomic rename.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    Readable,
    StorageError,
    StoredPart,
)

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PART_NAME = re.compile(r"^(\d{5})-([0-9a-f]{32})$")


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
    try:
        while remaining:
            copied = os.copy_file_range(source_fd, target_fd, min(remaining, 1 << 30))
            if copied == 0:
                raise StorageError("part shorter than recorded")
            remaining -= copied
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    # Fallback: a plain buffered copy of what is left.
    while remaining:
        data = os.read(source_fd, min(remaining, CHUNK))
        if not data:
            raise StorageError("part shorter than recorded")
        os.write(target_fd, data)
        remaining -= len(data)


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._uploads = self.root / "uploads"
        self._tmp = self.root / "tmp"
        for directory in (self._objects, self._uploads, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)

    # --- paths --------------------------------------------------------------------------------
    def _object_path(self, key: str) -> Path:
        _check_name(key, "object key")
        return self._objects / key[:2] / key

    def _upload_dir(self, upload_id: str) -> Path:
        return self._uploads / _check_name(upload_id, "upload id")

    def _new_tmp(self) -> Path:
        return self._tmp / uuid.uuid4().hex

    # --- multipart staging -------------------------------------------------------------------
    def write_part(
        self, upload_id: str, part_number: int, body: Readable, length: int
    ) -> StoredPart:
        if part_number < 1 or part_number > 99999:
            raise StorageError(f"invalid part number {part_number}")
        if length < 0:
            raise StorageError("negative part length")
        target_dir = self._upload_dir(upload_id)
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._new_tmp()
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with open(tmp, "wb") as out:
                while received < length:
                    data = body.read(min(CHUNK, length - received))
                    if not data:
                        raise IncompleteBody(
                            f"part {part_number}: got {received} of {length} bytes"
                        )
                    digest.update(data)
                    out.write(data)
                    received += len(data)
                out.flush()
                os.fsync(out.fileno())
            etag = digest.hexdigest()
            final = target_dir / f"{part_number:05d}-{etag}"
            os.replace(tmp, final)
            # An older copy of the same part (a retry with other bytes) is superseded.
            for older in target_dir.glob(f"{part_number:05d}-*"):
                if older != final:
                    older.unlink(missing_ok=True)
            _fsync_dir(target_dir)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"could not store part {part_number}: {exc.strerror}") from exc
            raise
        return StoredPart(number=part_number, size=received, etag=etag)

    def stored_parts(self, upload_id: str) -> dict[int, StoredPart]:
        directory = self._upload_dir(upload_id)
        parts: dict[int, StoredPart] = {}
        if not directory.is_dir():
            return parts
        for entry in os.scandir(directory):
            match = _PART_NAME.match(entry.name)
            if match:
                number = int(match.group(1))
                parts[number] = StoredPart(number, entry.stat().st_size, match.group(2))
        return parts

    def assemble(self, upload_id: str, part_numbers: Iterable[int], key: str) -> int:
        stored = self.stored_parts(upload_id)
        directory = self._upload_dir(upload_id)
        target = self._object_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._new_tmp()
        total = 0
        try:
            with open(tmp, "wb") as out:
                for number in part_numbers:
                    part = stored.get(number)
                    if part is None:
                        raise StorageError(f"part {number} was never stored")
                    with open(directory / f"{number:05d}-{part.etag}", "rb") as source:
                        _copy_range(source.fileno(), out.fileno(), part.size)
                    total += part.size
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"could not assemble upload: {exc.strerror}") from exc
            raise
        return total

    def discard_upload(self, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    # --- objects -----------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> int:
        target = self._object_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._new_tmp()
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"could not store object: {exc.strerror}") from exc
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
        target.parent.mkdir(parents=True, exist_ok=True)
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
        tmp = self._new_tmp()
        try:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"could not copy object: {exc.strerror}") from exc

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._object_path(key).unlink()

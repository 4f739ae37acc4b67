"""Blob storage in a local directory (the default backend).

Layout under the root::

    objects/<2 hex>/<key>            finished objects, immutable
    uploads/<upload id>/data         a sized upload: the final object, parts written in place
    uploads/<upload id>/journal      a sized upload: its geometry and acknowledged parts
    uploads/<upload id>/<n>-<md5>    staged parts of an upload of unknown geometry
    tmp/                             files being written; renamed into place when complete

Sized uploads (``begin_sized_upload``: what the multipart API uses) write each part with
``os.pwrite`` at its offset in one file of the final size, fsync it, then append the part's number,
size and MD5 to the journal and fsync that before the part is acknowledged: after a crash the
journal names exactly the acknowledged parts. A part sent again is received aside (``tmp/``)
and copied into its range only once complete, so the acknowledged copy stays valid meanwhile;
the journal withdraws the part just before that copy, so a crash inside it never passes mixed
bytes off as the part. The later writer of a part wins over an earlier one still sending.
Assembly is a hard link of the data file into ``objects/`` (no copy); from then on the staging
refuses writes (its link count shows it) until it is discarded. These guarantees rely on one
process writing a given upload (the data plane and the API share one process).

Uploads of unknown geometry (internal staging) keep the older scheme: every write goes to
``tmp/``, is fsynced and then renamed, so a crash or a full disk never leaves a partial object or
part under its final name; a part's MD5 travels in its file name; assembly copies inside the kernel
(``copy_file_range``).

Space: a write that would leave less than ``min_free_bytes`` free is refused up front (after
asking ``on_space_short`` to make room), so uploads cannot take the room the database needs; a
write that still runs out of space fails with :class:`StorageFull` and leaves nothing behind.
Everything is created private to the platform's user (directories 0700, files 0600).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    PartDoesNotFit,
    Readable,
    StorageError,
    StorageFull,
    StoredPart,
    UploadNotFound,
)

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# Sized uploads receive in blocks of this size: big enough that hashlib releases the GIL while it
# hashes one (parts arriving on other connections proceed meanwhile), small enough to stay in the
# CPU cache between the read, the hash and the write (measured: 4 MiB blocks cost about 40 %
# more CPU with 16 parts arriving at once).
IN_PLACE_CHUNK = 256 * 1024
# Ask the kernel to start writing a part's pages out every this many bytes, so the fsync before
# the acknowledgement finds little left to do and dirty memory stays bounded.
WRITEBACK_EVERY = 16 * 1024 * 1024
DATA_NAME = "data"
JOURNAL_NAME = "journal"
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


def _load_sync_file_range() -> object | None:
    """libc's ``sync_file_range`` (Linux) when it can be found, else None."""
    if not hasattr(os, "fdatasync"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writeback of dirty pages in the range, do not wait


def _start_writeback(fd: int, offset: int, count: int) -> None:
    """A hint: begin writing this range to disk now (the fsync later is what guarantees it)."""
    if _SYNC_FILE_RANGE is not None and count > 0:
        _SYNC_FILE_RANGE(fd, offset, count, _SYNC_FILE_RANGE_WRITE)  # type: ignore[operator]


_datasync = getattr(os, "fdatasync", os.fsync)


def _journal_line(*fields: object) -> bytes:
    """One journal record; the CRC lets a torn last line (a crash mid-append) be ignored."""
    payload = " ".join(str(value) for value in fields)
    return f"{payload} {zlib.crc32(payload.encode()):08x}\n".encode()


def _parse_journal(raw: bytes) -> tuple[tuple[int, int] | None, dict[int, StoredPart]]:
    """(size, part size) and the acknowledged parts a journal records."""
    geometry: tuple[int, int] | None = None
    parts: dict[int, StoredPart] = {}
    for line in raw.split(b"\n"):
        payload, _, crc = line.decode("ascii", "replace").rpartition(" ")
        if not payload or f"{zlib.crc32(payload.encode()):08x}" != crc:
            continue  # empty, torn or damaged: not a record
        fields = payload.split(" ")
        try:
            if fields[0] == "G" and len(fields) == 3:
                geometry = (int(fields[1]), int(fields[2]))
            elif fields[0] == "P" and len(fields) == 4:
                number = int(fields[1])
                parts[number] = StoredPart(number, int(fields[2]), fields[3])
            elif fields[0] == "X" and len(fields) == 2:
                parts.pop(int(fields[1]), None)
        except ValueError:
            continue
    return geometry, parts


@dataclass
class _SizedUpload:
    """In-memory bookkeeping of one sized upload (rebuilt from the journal after a restart)."""

    size: int
    part_size: int
    parts: dict[int, StoredPart]
    lock: threading.Lock = field(default_factory=threading.Lock)  # registration, assembly
    # One pwrite at a time into the data file: the kernel serializes them on the inode anyway,
    # and many threads contending there spin on the CPU; waiting here sleeps instead.
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    part_locks: dict[int, threading.Lock] = field(default_factory=dict)
    writers: dict[int, int] = field(default_factory=dict)  # part -> generation now writing
    active: int = 0
    generation: int = 0

    def slot(self, part_number: int) -> tuple[int, int]:
        """(offset, longest length) of a part's place in the object."""
        offset = (part_number - 1) * self.part_size
        return offset, max(0, min(self.part_size, self.size - offset))

    def part_lock(self, part_number: int) -> threading.Lock:
        with self.lock:
            return self.part_locks.setdefault(part_number, threading.Lock())


class _Superseded(Exception):
    """Another request started sending the same part: this one stops writing."""


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
        self._sized: dict[str, _SizedUpload] = {}
        self._sized_lock = threading.Lock()

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

    def begin_sized_upload(self, upload_id: str, size: int, part_size: int) -> None:
        if size < 0 or part_size < 1:
            raise StorageError(f"invalid upload geometry: {size} bytes in parts of {part_size}")
        directory = self._upload_dir(upload_id)
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
            # The data file has the final size from the start (sparse: space is taken as parts
            # arrive, so the free-space checks per part stay true).
            with _create_private(directory / DATA_NAME) as data:
                os.ftruncate(data.fileno(), size)
                os.fsync(data.fileno())
            # The journal comes last: its presence is what marks the upload as sized.
            with _create_private(directory / JOURNAL_NAME) as journal:
                journal.write(_journal_line("G", size, part_size))
                os.fsync(journal.fileno())
            _fsync_dir(directory)
            _fsync_dir(self._uploads)
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise self._failed(exc, "prepare the upload") from exc

    def _sized_upload(self, upload_id: str) -> _SizedUpload | None:
        """The bookkeeping of a sized upload; None for an upload of unknown geometry (or none)."""
        with self._sized_lock:
            known = self._sized.get(upload_id)
        if known is not None:
            return known
        try:
            raw = (self._upload_dir(upload_id) / JOURNAL_NAME).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._failed(exc, "read the upload's journal") from exc
        geometry, parts = _parse_journal(raw)
        if geometry is None:
            return None
        state = _SizedUpload(size=geometry[0], part_size=geometry[1], parts=parts)
        with self._sized_lock:
            return self._sized.setdefault(upload_id, state)

    def _journal_append(self, upload_id: str, line: bytes) -> None:
        try:
            fd = os.open(
                self._upload_dir(upload_id) / JOURNAL_NAME,
                os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC,
            )
        except FileNotFoundError:
            raise UploadNotFound(upload_id) from None
        try:
            os.write(fd, line)  # one small O_APPEND write: never interleaved with another
            _datasync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _still_staged(fd: int, path: Path) -> bool:
        """Whether ``fd`` is the upload's data file, not discarded and not yet an object."""
        opened = os.fstat(fd)
        try:
            named = os.stat(path)
        except FileNotFoundError:
            return False
        same = (opened.st_ino, opened.st_dev) == (named.st_ino, named.st_dev)
        return same and opened.st_nlink == 1

    def _write_in_place(
        self,
        sized: _SizedUpload,
        upload_id: str,
        part_number: int,
        body: Readable,
        length: int,
    ) -> StoredPart:
        offset, room = sized.slot(part_number)
        if part_number > 1 and offset >= sized.size:
            raise PartDoesNotFit(
                f"Part {part_number} lies beyond the end of the upload ({sized.size} bytes in "
                f"parts of {sized.part_size})."
            )
        if length > room:
            raise PartDoesNotFit(
                f"Part {part_number} has {length} bytes but its place in the file holds {room} "
                f"(the upload's part size is {sized.part_size} bytes)."
            )
        self.ensure_space(length, f"store part {part_number}")
        data_path = self._upload_dir(upload_id) / DATA_NAME
        try:
            fd = os.open(data_path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise UploadNotFound(upload_id) from None
        except OSError as exc:
            raise self._failed(exc, f"store part {part_number}") from exc
        try:
            with sized.lock:
                if not self._still_staged(fd, data_path):
                    raise UploadNotFound(upload_id)  # discarded, or assembled meanwhile
                sized.active += 1
                sized.generation += 1
                mine = sized.generation
            try:
                return self._fill_slot(sized, upload_id, part_number, body, length, fd, mine)
            finally:
                with sized.lock:
                    sized.active -= 1
        finally:
            os.close(fd)

    def _fill_slot(
        self,
        sized: _SizedUpload,
        upload_id: str,
        part_number: int,
        body: Readable,
        length: int,
        fd: int,
        mine: int,
    ) -> StoredPart:
        offset, _ = sized.slot(part_number)
        lock = sized.part_lock(part_number)
        with lock:
            replacing = part_number in sized.parts or part_number in sized.writers
            if not replacing:
                sized.writers[part_number] = mine
        if replacing:
            return self._replace_part(sized, upload_id, part_number, body, length, fd, mine)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            buffer = bytearray(min(IN_PLACE_CHUNK, max(length, 1)))
            view = memoryview(buffer)
            readinto = getattr(body, "readinto", None)
            received = flushed = 0
            while received < length:
                wanted = min(len(buffer), length - received)
                try:
                    if readinto is not None:
                        chunk = view[: readinto(view[:wanted]) or 0]
                    else:
                        chunk = memoryview(body.read(wanted))
                except OSError as exc:  # the sender's connection failed or timed out
                    raise IncompleteBody(
                        f"part {part_number}: got {received} of {length} bytes ({exc})"
                    ) from exc
                if not chunk:
                    raise IncompleteBody(f"part {part_number}: got {received} of {length} bytes")
                with lock:
                    if sized.writers.get(part_number) != mine:
                        raise _Superseded
                    pending, where = chunk, offset + received
                    with sized.write_lock:
                        while pending:  # pwrite may write less than offered
                            written = os.pwrite(fd, pending, where)
                            pending, where = pending[written:], where + written
                digest.update(chunk)  # hashlib drops the GIL for blocks this large
                received += len(chunk)
                if received - flushed >= WRITEBACK_EVERY:
                    _start_writeback(fd, offset + flushed, received - flushed)
                    flushed = received
            _datasync(fd)
            part = StoredPart(number=part_number, size=length, etag=digest.hexdigest())
            with lock:
                if sized.writers.get(part_number) != mine:
                    raise _Superseded
                if os.fstat(fd).st_nlink == 0:
                    raise UploadNotFound(upload_id)  # aborted while we received
                self._journal_append(
                    upload_id, _journal_line("P", part_number, part.size, part.etag)
                )
                sized.parts[part_number] = part
                del sized.writers[part_number]
            return part
        except _Superseded:
            raise IncompleteBody(
                f"part {part_number} is being sent again by a newer request; this one stopped"
            ) from None
        except BaseException as exc:
            with lock:
                if sized.writers.get(part_number) == mine:
                    del sized.writers[part_number]
            if isinstance(exc, OSError):
                raise self._failed(exc, f"store part {part_number}") from exc
            raise

    def _replace_part(
        self,
        sized: _SizedUpload,
        upload_id: str,
        part_number: int,
        body: Readable,
        length: int,
        fd: int,
        mine: int,
    ) -> StoredPart:
        """A part stored (or being received) already: receive the new copy aside first.

        The old copy stays valid until the new one has fully arrived and is on disk, as on S3: a
        client that gives up halfway (or dies) leaves the acknowledged part as it was. Then, under
        the part's lock, the journal withdraws the part, the range is overwritten from the copy
        (in the kernel), synced, and the part recorded again; a writer still filling the range in
        place stops at its next block.
        """
        offset, _ = sized.slot(part_number)
        lock = sized.part_lock(part_number)
        tmp = self._new_tmp()
        try:
            with _create_private(tmp) as out:
                etag = _receive(body, out, length, part_number)
                os.fsync(out.fileno())
            with open(tmp, "rb") as copy, lock:
                if os.fstat(fd).st_nlink == 0:
                    raise UploadNotFound(upload_id)  # aborted while we received
                sized.writers[part_number] = mine  # supersedes a writer still filling in place
                self._journal_append(upload_id, _journal_line("X", part_number))
                sized.parts.pop(part_number, None)
                with sized.write_lock:
                    done = 0
                    while done < length:
                        chunk = os.pread(copy.fileno(), min(CHUNK, length - done), done)
                        if not chunk:
                            raise StorageError(f"part {part_number}: the received copy is short")
                        view = memoryview(chunk)
                        while view:
                            view = view[os.pwrite(fd, view, offset + done) :]
                        done += len(chunk)
                _datasync(fd)
                part = StoredPart(number=part_number, size=length, etag=etag)
                self._journal_append(
                    upload_id, _journal_line("P", part_number, part.size, part.etag)
                )
                sized.parts[part_number] = part
                if sized.writers.get(part_number) == mine:
                    del sized.writers[part_number]
            return part
        except BaseException as exc:
            with lock:
                if sized.writers.get(part_number) == mine:
                    del sized.writers[part_number]
            if isinstance(exc, OSError):
                raise self._failed(exc, f"store part {part_number}") from exc
            raise
        finally:
            tmp.unlink(missing_ok=True)

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
        sized = self._sized_upload(upload_id)
        if sized is not None:
            return self._write_in_place(sized, upload_id, part_number, body, length)
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
        try:  # a sized upload: the journal on disk is the record
            geometry, parts = _parse_journal((directory / JOURNAL_NAME).read_bytes())
            if geometry is not None:
                return parts
        except (FileNotFoundError, NotADirectoryError):
            pass
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
        # Mark the upload as active, so that making room for this very assembly (or for the
        # file's record) never counts it among the abandoned uploads whose parts may go.
        with contextlib.suppress(OSError):
            os.utime(directory)
        sized = self._sized_upload(upload_id)
        if sized is not None:
            return self._link_object(sized, upload_id, list(part_numbers), key, expected_etags)
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

    def _link_object(
        self,
        sized: _SizedUpload,
        upload_id: str,
        part_numbers: list[int],
        key: str,
        expected_etags: Mapping[int, str] | None,
    ) -> int:
        """Assemble a sized upload: check the journal, then give the data file the object's name."""
        directory = self._upload_dir(upload_id)
        target = self._object_path(key)
        count = max(1, -(-sized.size // sized.part_size))
        with sized.lock:
            if sized.active or sized.writers:
                raise StorageError(
                    "a part is still being received; complete the upload once every part "
                    "has been acknowledged"
                )
            try:
                _, stored = _parse_journal((directory / JOURNAL_NAME).read_bytes())
            except FileNotFoundError:
                raise UploadNotFound(upload_id) from None
            if sorted(part_numbers) != list(range(1, count + 1)):
                raise StorageError(f"the upload needs exactly parts 1 to {count}")
            for number in part_numbers:
                part = stored.get(number)
                if part is None:
                    raise StorageError(f"part {number} was never stored")
                if expected_etags is not None and expected_etags[number] != part.etag:
                    raise StorageError(f"part {number} changed while assembling")
                _, room = sized.slot(number)
                if part.size != room:
                    raise StorageError(
                        f"part {number} holds {part.size} bytes where the upload needs {room}"
                    )
            try:
                _mkdir_private(target.parent)
                try:
                    # The staging name stays until discard_upload, so a failed complete can be
                    # retried; its link count of 2 refuses further part writes meanwhile.
                    os.link(directory / DATA_NAME, target)
                except FileNotFoundError:
                    raise UploadNotFound(upload_id) from None
                except OSError as exc:
                    if exc.errno in _NO_SPACE or exc.errno == errno.EEXIST:
                        raise
                    self._copy_into_place(directory / DATA_NAME, target, sized.size)
                _fsync_dir(target.parent)
            except OSError as exc:
                raise self._failed(exc, "assemble the upload") from exc
        return sized.size

    def _copy_into_place(self, source: Path, target: Path, size: int) -> None:
        """Where hard links are not possible: a real copy through ``tmp/``."""
        self.ensure_space(size, "assemble the upload")
        tmp = self._new_tmp()
        try:
            with open(source, "rb") as reader, _create_private(tmp) as out:
                _copy_range(reader.fileno(), out.fileno(), size)
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def discard_upload(self, upload_id: str) -> None:
        directory = self._upload_dir(upload_id)
        with self._sized_lock:
            sized = self._sized.pop(upload_id, None)
        if sized is None:
            shutil.rmtree(directory, ignore_errors=True)
            return
        with sized.lock:  # a writer registering now sees the data file gone
            shutil.rmtree(directory, ignore_errors=True)

    def staged_uploads(self) -> dict[str, float]:
        staged: dict[str, float] = {}
        for entry in os.scandir(self._uploads):
            if entry.is_dir() and _SAFE_NAME.match(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    changed = entry.stat().st_mtime
                    # Parts written in place change the files, not the directory.
                    for name in (JOURNAL_NAME, DATA_NAME):
                        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                            changed = max(changed, os.stat(Path(entry.path) / name).st_mtime)
                    staged[entry.name] = changed
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

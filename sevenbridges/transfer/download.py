"""Parallel ranged downloads of signed URLs into local files (rest-api.md §5).

A :class:`Download` is a thread. It learns the size from the URL, sizes a temporary file next to
the target (after checking the disk has room), fetches parts with ``Range`` requests (up to
``max_workers`` at once) and writes each with ``os.pwrite`` at its offset. A part whose
connection breaks continues from the last byte written; an expired URL is replaced through
``refresh_url`` when one is given. The temporary file is renamed to the target only when every
part arrived whole and the size is right, so the target name never holds a partial file.
Finished parts are journaled under ``~/.sevenbridges/transfers/``: the same download started
again continues where it stopped.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

import requests

from sevenbridges.errors import SbgError
from sevenbridges.models.enums import PartSize
from sevenbridges.transfer._engine import (
    BLOCK_SIZE,
    BaseTransfer,
    LocalFileError,
    PartScheduler,
    TransferError,
    TransientError,
    adaptive_part_size,
    describe_os_error,
    storage_error,
    storage_session,
    url_for_logs,
    with_retries,
)
from sevenbridges.transfer._state import TransferJournal
from sevenbridges.transfer.utils import Part, total_parts

if TYPE_CHECKING:
    from sevenbridges.api import Api

__all__ = ["Download", "DPartedFile"]

logger = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def temporary_path(file_path: str) -> str:
    """Where a download is assembled: next to the target, named after a digest of its path."""
    return f"{file_path}.{hashlib.sha1(file_path.encode('utf-8')).hexdigest()[:10]}"


def _boot_id() -> str:
    """An id that changes when the machine restarts ("" where the OS does not tell)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as source:
            return source.read().strip()
    except OSError:
        return ""


#: The most bytes handed to one ``pwrite``. The kernel sizes the page-cache folios it allocates
#: for a write after the write's length, and a 1 MiB write asks for 1 MiB folios: on a virtual
#: machine those come from memory the host has not backed yet (freed high-order blocks are
#: handed back to it), and every first touch of such a page costs a host fault. Measured here:
#: 1 MiB writes into a new file cost 1.3-2.5 s of system time per GiB, 512 KiB writes 0.2 s
#: (the official client and curl write 16-32 KiB and never paid it). Smaller writes than this
#: only add system calls.
WRITE_CHUNK = 512 * 1024


def _write_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view[:WRITE_CHUNK], offset)
        view = view[written:]
        offset += written


def _body_blocks(response: requests.Response) -> Iterator[bytes | memoryview]:
    """The response body in blocks of up to ``BLOCK_SIZE``.

    For a plain (not content-encoded) body, read straight from the socket file into one reused
    buffer: ``iter_content`` allocates a fresh megabyte (and copies it twice) for every block,
    which costs more CPU than the download itself. Each yielded view is only valid until the
    next one is requested.
    """
    source = getattr(response.raw, "_fp", None)  # the http.client response under urllib3
    if response.headers.get("Content-Encoding") or not hasattr(source, "readinto"):
        yield from response.iter_content(chunk_size=BLOCK_SIZE)
        return
    buffer = memoryview(bytearray(BLOCK_SIZE))
    while True:
        try:
            count = source.readinto(buffer)
        except (OSError, ValueError) as exc:
            raise requests.ConnectionError(str(exc)) from exc
        if not count:
            return
        yield buffer[:count]


def _local_write_error(exc: OSError, path: str) -> LocalFileError:
    if exc.errno in _DISK_FULL_ERRNOS:
        return LocalFileError(
            f"Not enough space to download to {path!r}: {os.strerror(exc.errno or 0)}. "
            "Free some space (or choose another directory) and try again."
        )
    return LocalFileError(describe_os_error(exc, path, "write"))


class DPartedFile:
    """The byte ranges of one download and the workers that fetch them.

    ``get_parts()`` gives inclusive ``[start, end]`` ranges; iterating downloads the ranges not
    done yet and yields a :class:`Part` for each as it finishes. Normally created by a
    :class:`Download`; created on its own it writes into ``file_path`` (which must exist with
    the full size) using ``pool``.
    """

    def __init__(
        self,
        file_path: str,
        session: requests.Session,
        url: str,
        file_size: int,
        part_size: int,
        timeout: float,
        pool: Executor,
        *,
        download: Download | None = None,
    ) -> None:
        self.file_path = file_path
        self.session = session
        self.url = url
        self.file_size = file_size
        self.part_size = part_size
        self.timeout = timeout
        self.pool = pool
        self._download = download
        self.total = total_parts(file_size, part_size)
        self.parts = [
            [start, min(start + part_size, file_size) - 1]
            for start in range(0, file_size, part_size)
        ]
        self._scheduler: PartScheduler[None] | None = None

    def get_parts(self) -> list[list[int]]:
        return self.parts

    def _owner(self) -> Download:
        if self._download is None:
            raise SbgError("DPartedFile is driven by a Download; create a Download instead.")
        return self._download

    def _get_scheduler(self) -> PartScheduler[None]:
        if self._scheduler is None:
            owner = self._owner()
            pending = [i for i in range(self.total) if i not in owner._completed_parts]
            self._scheduler = PartScheduler(
                self.pool,
                self._download_part,
                pending,
                owner._window(owner._api.download_max_workers),
                owner._control,
                on_tick=owner._progress_tick,
            )
        return self._scheduler

    def submit(self) -> None:
        self._get_scheduler().submit()

    def done(self) -> bool:
        return self._get_scheduler().done()

    def __iter__(self) -> Iterator[Part]:
        for index, _ in self._get_scheduler():
            start, end = self.parts[index]
            yield Part(start=start, size=end - start + 1)

    # ----------------------------------------------------------------- one part

    def _download_part(self, index: int) -> None:
        owner = self._owner()
        start, end = self.parts[index]
        written_to = [start]  # next byte to write; survives failed attempts

        def attempt(_number: int) -> None:
            if not owner._ranged and written_to[0] != start:
                # Without Range support a retry starts over from the first byte.
                owner._bytes.add(start - written_to[0])
                written_to[0] = start
            self._fetch_into(owner, written_to, end)

        with_retries(
            attempt,
            retry_count=owner._retry_count,
            control=owner._control,
            what=f"Download of bytes {start}-{end} to {owner.path!r}",
            on_retry=owner._on_retry,
        )
        owner._record_part(index)

    def _fetch_into(self, owner: Download, written_to: list[int], end: int) -> None:
        first = written_to[0]
        url = owner.url
        headers = {"Range": f"bytes={first}-{end}"} if owner._ranged else None
        what = f"Bytes {first}-{end} of {url_for_logs(url)}"
        response = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        with response:
            owner._check_part_response(response, first, end, what, url)
            position = first
            try:
                for chunk in _body_blocks(response):
                    owner._control.check()
                    try:
                        _write_all(owner._fd, chunk, position)
                    except OSError as exc:
                        raise _local_write_error(exc, owner.path)
                    position += len(chunk)
                    written_to[0] = position
                    owner._bytes.add(len(chunk))
            except requests.RequestException as exc:
                raise TransientError(
                    f"{what}: connection broke after {position - first} bytes ({exc})"
                )
        if position != end + 1:
            raise TransientError(
                f"{what}: the connection ended after {position - first} of {end + 1 - first} bytes."
            )


class Download(BaseTransfer):
    """Download a signed URL to ``file_path`` in a background thread.

    The constructor checks the arguments and asks the URL for the size (errors are raised
    there); ``start()`` begins. ``refresh_url`` (optional) is called for a new signed URL when
    the current one has expired. ``max_workers`` defaults to the Api's
    ``download_max_workers``. ``fsync=True`` waits until the data is on the disk before the
    rename (survives a power loss, at the cost of waiting for the disk; like curl, the default
    leaves that to the OS). ``error`` holds the exception of a FAILED download.
    """

    def __init__(
        self,
        url: str,
        file_path: str | os.PathLike[str],
        part_size: int | None = None,
        retry_count: int | None = None,
        timeout: float | None = None,
        api: Api | None = None,
        *,
        max_workers: int | None = None,
        refresh_url: Callable[[], str] | None = None,
        fsync: bool = False,
    ) -> None:
        if api is None:
            raise SbgError("Download needs an Api (api=...).")
        if not url:
            raise SbgError("Download needs a URL.")
        if part_size is not None and part_size < PartSize.DOWNLOAD_MINIMUM_PART_SIZE:
            raise SbgError(
                f"part_size must be at least {PartSize.DOWNLOAD_MINIMUM_PART_SIZE} bytes (5 MiB), "
                f"got {part_size}."
            )
        target = os.path.abspath(os.fspath(file_path))
        if os.path.isdir(target):
            raise SbgError(f"Cannot download to {target!r}: it is a directory.")
        directory = os.path.dirname(target)
        if not os.path.isdir(directory):
            raise SbgError(
                f"Cannot download to {target!r}: directory {directory!r} does not exist."
            )
        super().__init__(
            name=f"download {os.path.basename(target)}",
            retry_count=retry_count,
            timeout=timeout,
            max_workers=max_workers,
        )
        self.url = url
        self.path = target
        self._temp_file = temporary_path(target)
        self._part_size = part_size
        self._api = api
        self._refresh_url = refresh_url
        self._fsync = fsync
        self._refresh_lock = threading.Lock()
        #: How many times an expired signed URL was replaced through ``refresh_url``.
        self.url_refreshes = 0
        self.session = storage_session(api, self._window(api.download_max_workers))
        self._fd = -1
        self._journal: TransferJournal | None = None
        self._completed_parts: set[int] = set()
        #: Parts found already downloaded when this download continued an interrupted one.
        self.resumed_parts = 0
        self._etag = ""
        self._ranged = True
        self._file_size = self._probe_size()
        self._total_bytes = self._file_size
        if part_size is None:  # known only now: bigger files get bigger ranges
            self._part_size = adaptive_part_size(self._file_size)

    # ----------------------------------------------------------------- public attributes

    @property
    def file_size(self) -> int:
        return self._file_size

    @property
    def temporary_file(self) -> str:
        """The file the parts are written into until it is complete."""
        return self._temp_file

    def __repr__(self) -> str:
        return f"<Download: {self.path!r} status={self.status}>"

    # ----------------------------------------------------------------- size probe

    def _probe_size(self) -> int:
        """Ask for the first byte: the answer tells the size and whether ranges work."""

        def attempt(_number: int) -> int:
            url = self.url
            response = self.session.get(
                url, headers={"Range": "bytes=0-0"}, stream=True, timeout=self._timeout
            )
            with response:
                status = response.status_code
                self._etag = response.headers.get("ETag", "")
                if status == 206:
                    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                    if match and match.group(3) != "*":
                        return int(match.group(3))
                    raise TransferError("Storage answered a range request without a size.")
                if status == 200:
                    self._ranged = False  # it ignored Range: fetch the whole body in one go
                    length = response.headers.get("Content-Length")
                    if length is None:
                        raise TransferError("Server did not provide Content-Length.")
                    return int(length)
                if status == 416:  # an empty object has no first byte
                    match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
                    if match:
                        return int(match.group(1))
                raise self._response_error(response, "Size probe", url)

        return with_retries(
            attempt,
            retry_count=self._retry_count,
            control=self._control,
            what=f"Reading the size of {url_for_logs(self.url)}",
            on_retry=self._on_retry,
        )

    def _response_error(self, response: requests.Response, what: str, url: str) -> Exception:
        error = storage_error(response, what, url)
        if isinstance(error, TransientError) and error.refresh_url and self._refresh_url is None:
            return SbgError(
                message=f"{error} The signed URL has expired or is not valid; get a new one "
                "(File.download_info()) and download again.",
                status=403,
            )
        return error

    def _on_retry(self, error: Exception) -> None:
        self._count_retry(error)
        if not (isinstance(error, TransientError) and error.refresh_url):
            return
        with self._refresh_lock:
            # Several parts may hit the same expired URL; one refresh serves them all.
            if error.used_url != self.url or self._refresh_url is None:
                return
            self.url = self._refresh_url()
            self.url_refreshes += 1
            logger.info("signed URL for %r refreshed", self.path)

    def _check_part_response(
        self, response: requests.Response, first: int, end: int, what: str, url: str
    ) -> None:
        status = response.status_code
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match:
                raise TransientError(f"{what}: answer without a valid Content-Range.")
            got_first, got_last, size = match.groups()
            if size != "*" and int(size) != self._file_size:
                raise TransferError(
                    f"{what}: the file's size changed on the server from "
                    f"{self._file_size} to {size} bytes during the download."
                )
            if int(got_first) != first or int(got_last) != end:
                raise TransferError(
                    f"{what}: the storage sent bytes {got_first}-{got_last} instead."
                )
            return
        if status == 200:
            whole = first == 0 and end == self._file_size - 1
            if whole:
                return
            raise TransferError(f"{what}: the storage ignored the Range header.")
        raise self._response_error(response, what, url)

    # ----------------------------------------------------------------- the transfer

    def _transfer(self) -> None:
        size = self._file_size
        self._journal = TransferJournal(
            "download",
            {
                "target": self.path,
                "source": url_for_logs(self.url),
                "size": size,
                "etag": self._etag,
            },
        )
        try:
            self._fd = os.open(self._temp_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _local_write_error(exc, self._temp_file)
        try:
            if not self._resume():
                self._start_fresh()
            parted = DPartedFile(
                self._temp_file,
                self.session,
                self.url,
                size,
                # A storage that ignores Range can only send the whole body: one part.
                self._part_size if self._ranged else max(size, 1),
                self._timeout,
                self._api.download_pool,
                download=self,
            )
            self._parts_total = parted.total
            self._parts_done = len(self._completed_parts)
            for _part in parted:
                self._part_finished()
            self._control.check()
            self._verify(parted)
            if self._fsync:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    raise _local_write_error(exc, self._temp_file)
        finally:
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = -1
        try:
            os.replace(self._temp_file, self.path)
        except OSError as exc:
            raise LocalFileError(describe_os_error(exc, self.path, "create"))
        self._journal.remove()
        logger.info("downloaded %d bytes to %r", size, self.path)

    def _resume(self) -> bool:
        assert self._journal is not None
        previous = self._journal.load()
        if previous is None:
            return False
        header, records = previous
        if os.fstat(self._fd).st_size != self._file_size:
            return False
        if header.get("boot_id") != _boot_id():
            # Parts are journaled once written, not once on disk: after an OS crash or power
            # loss their bytes may be gone although the journal lists them.
            return False
        self._part_size = int(header.get("part_size") or self._part_size)
        total = total_parts(self._file_size, self._part_size)
        self._completed_parts = {
            record["part"]
            for record in records
            if isinstance(record.get("part"), int) and 0 <= record["part"] < total
        }
        self.resumed_parts = len(self._completed_parts)
        for index in self._completed_parts:
            start = index * self._part_size
            self._bytes.add(min(self._part_size, self._file_size - start))
        logger.info(
            "continuing the download to %r: %d part(s) already there", self.path, self.resumed_parts
        )
        return True

    def _start_fresh(self) -> None:
        assert self._journal is not None
        self._completed_parts = set()
        try:
            if os.fstat(self._fd).st_size:
                self._replace_stale_temporary_file()
            self._size_temporary_file()
        except OSError as exc:
            raise _local_write_error(exc, self._temp_file)
        self._journal.start(
            {"part_size": self._part_size, "temporary_file": self._temp_file, "boot_id": _boot_id()}
        )

    def _replace_stale_temporary_file(self) -> None:
        """Start again from a new, empty file instead of truncating the old one to zero.

        ext4 treats a file truncated to zero as one being rewritten in place and, when it is
        closed, starts writing all of its dirty pages out from ``close()`` itself (the
        ``auto_da_alloc`` safeguard): 0.2 s or more per GiB of waiting, in this process, at the
        end of every download. Only an extending ``ftruncate`` is used on the new file.
        """
        os.close(self._fd)
        self._fd = -1
        os.unlink(self._temp_file)
        self._fd = os.open(self._temp_file, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)

    def _size_temporary_file(self) -> None:
        """Size the temporary file, refusing at once when the disk cannot hold it.

        A free-space check and a sparse file rather than ``posix_fallocate``: writing into
        preallocated (unwritten) extents costs ext4 about twice the CPU, and the download too.
        """
        stats = os.fstatvfs(self._fd)
        available = stats.f_bavail * stats.f_frsize
        if available < self._file_size:
            raise LocalFileError(
                f"Not enough space to download to {self.path!r}: "
                f"{os.strerror(errno.ENOSPC)} ({self._file_size} bytes needed, {available} "
                "available). Free some space (or choose another directory) and try again."
            )
        os.ftruncate(self._fd, self._file_size)

    def _record_part(self, index: int) -> None:
        self._completed_parts.add(index)
        if self._journal is not None:
            self._journal.append({"part": index})

    def _verify(self, parted: DPartedFile) -> None:
        missing = parted.total - len(self._completed_parts)
        if missing:
            raise TransferError(f"Download to {self.path!r} is missing {missing} part(s).")
        actual = os.fstat(self._fd).st_size
        if actual != self._file_size:
            raise TransferError(
                f"Download to {self.path!r} has {actual} bytes; expected {self._file_size}."
            )

    # ----------------------------------------------------------------- endings

    def _discard(self) -> None:
        if self._journal is not None:
            self._journal.remove()
        try:
            os.unlink(self._temp_file)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("Cannot remove %r: %s", self._temp_file, exc)

    def _after_stop(self) -> None:
        self._discard()

    def _after_failure(self, error: BaseException) -> None:
        # Network trouble leaves the parts for a later attempt; a local failure (disk full,
        # unwritable directory) makes the partial file useless and it may hold needed space.
        if isinstance(error, LocalFileError):
            self._discard()

    def _errorback_argument(self, error: BaseException) -> Any:
        return error

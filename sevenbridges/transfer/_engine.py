"""The machinery uploads and downloads share.

- :class:`TransferControl`: pause/resume/stop flags that part workers and the transfer thread
  both watch;
- :func:`with_retries`: per-part retry with exponential backoff and jitter on transient
  failures (connection errors, timeouts, 5xx, expired signed URLs, checksum mismatches);
- :class:`PartScheduler`: keeps up to N parts in flight on a thread pool, stops submitting while
  paused, and yields parts as they finish;
- :class:`PartReader`: a request body that streams one byte range of a file with ``os.pread``
  and hashes it on the way, so memory stays at one block per worker whatever the part size;
- :func:`storage_session`: a pooled ``requests`` session without API headers for signed URLs;
- :class:`BaseTransfer`: the thread with states, callbacks, progress and timing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any, Generic, TypeVar

import requests
from requests.adapters import HTTPAdapter

from sevenbridges.errors import SbgError
from sevenbridges.models.enums import RequestParameters, TransferState
from sevenbridges.transfer.utils import Progress

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Bytes moved per read/write call. Peak memory of a transfer is about workers x this.
BLOCK_SIZE = 1024 * 1024
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 20.0
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
#: How long :meth:`BaseTransfer.interrupt` waits for the parts in flight to let go.
INTERRUPT_WAIT_SECONDS = 5.0
#: Progress callbacks come when a part finishes, when another 1% is done, or after a second
#: without one; the transfer thread checks this often while parts are in flight.
PROGRESS_CHECK_SECONDS = 0.05
PROGRESS_EVERY_SECONDS = 1.0
PROGRESS_EVERY_FRACTION = 0.01
_MIB = 1024 * 1024
_MIN_PART = 5 * _MIB
_MAX_PART = 5 * 1024 * _MIB
_MAX_PARTS = 10_000


def adaptive_part_size(file_size: int) -> int:
    """A part size that grows with the file: about the square root of (size x 1 MiB).

    That is 16 MiB parts for 256 MiB, 32 MiB for 1 GiB, 320 MiB for 100 GiB, 1 GiB for 1 TiB:
    small files still get enough parts to keep many in flight, large ones fewer, bigger parts
    (less per-part overhead). Whole MiB, within 5 MiB to 5 GiB and at most 10,000 parts. Memory
    does not grow with it: parts are streamed a block at a time.
    """
    size = max(0, file_size)
    target = math.isqrt(size * _MIB)
    target = -(-target // _MIB) * _MIB  # whole MiB, rounded up
    fewest = -(-size // _MAX_PARTS)
    return min(_MAX_PART, max(_MIN_PART, target, fewest))


# --------------------------------------------------------------------------- errors


class TransferStopped(Exception):
    """Raised inside a transfer's threads once ``stop()`` was called; never leaves the engine."""


class TransientError(Exception):
    """A failure worth another attempt. ``refresh_url`` asks for a new signed URL first
    (``used_url`` is the one that failed, so concurrent failures refresh it only once)."""

    def __init__(
        self, message: str, *, refresh_url: bool = False, used_url: str | None = None
    ) -> None:
        super().__init__(message)
        self.refresh_url = refresh_url
        self.used_url = used_url


class TransferError(SbgError):
    """A failure the client detected itself, which another attempt would not cure (a storage
    breaking the protocol, a part missing...); status and code are -1 as for client errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, code=-1, status=-1)


class LocalFileError(TransferError):
    """The local file could not be read or written (vanished, changed, disk full...)."""


def is_transient_api_error(error: SbgError) -> bool:
    """API errors that may go away when asked again: transport failures, 5xx, 408, 429."""
    status = error.status
    if status is None:
        return True  # the request never got an answer (connection refused, reset...)
    return status >= 500 or status in _TRANSIENT_STATUSES


def storage_error(response: requests.Response, what: str, url: str | None = None) -> Exception:
    """The exception for a non-success answer of the storage (data plane) to ``what``, a
    request sent to ``url``."""
    status = response.status_code
    detail = _error_detail(response)
    message = f"{what}: storage answered HTTP {status}" + (f" ({detail})" if detail else "")
    if status == 403:
        # Signed URLs expire; a new one is the cure. A URL that keeps failing uses up retries.
        return TransientError(message, refresh_url=True, used_url=url)
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return TransientError(message)
    return SbgError(message=message, status=status)


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() if response.text else ""
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return ""


_QUERY_STRING = re.compile(r"\?[^\s'\")]*")


def redact_urls(text: str) -> str:
    """``text`` with URL query strings cut: signed URLs carry their signature there, and error
    texts of ``requests`` quote the URL they failed on."""
    return _QUERY_STRING.sub("?...", text)


def describe_os_error(exc: OSError, path: str, doing: str) -> str:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"Cannot {doing} {path!r}: {reason}"


# --------------------------------------------------------------------------- control


class TransferControl:
    """Flags shared by a transfer thread and its part workers."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop_requested = False
        self._interrupted = False
        # Set on stop or when a part failed for good: workers give up at their next block.
        self._abort = threading.Event()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    @property
    def cancelled(self) -> bool:
        """Stopped or interrupted: a failure seen from now on is our own doing, not an error."""
        return self._stop_requested or self._interrupted

    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stop_requested = True
            self._abort.set()
            self._condition.notify_all()

    def abort_parts(self) -> None:
        self._abort.set()

    def interrupt(self) -> None:
        """Cut the parts in flight and end the transfer, keeping what it stored."""
        with self._condition:
            self._interrupted = True
            self._abort.set()
            self._condition.notify_all()

    def check(self) -> None:
        """Raise :class:`TransferStopped` if workers should give up now."""
        if self._abort.is_set():
            raise TransferStopped()

    def wait_while_paused(self) -> None:
        with self._condition:
            while self._paused and not self.cancelled:
                self._condition.wait()
        self.check()

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up (and raise :class:`TransferStopped`) as soon as work is aborted."""
        if self._abort.wait(seconds):
            raise TransferStopped()


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential with jitter."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2**attempt))
    return ceiling * random.uniform(0.5, 1.0)  # jitter: parts failing together retry apart


def with_retries(
    operation: Callable[[int], T],
    *,
    retry_count: int,
    control: TransferControl,
    what: str,
    on_retry: Callable[[Exception], None] | None = None,
) -> T:
    """Run ``operation(attempt)`` until it succeeds, retrying transient failures.

    Transient: :class:`TransientError`, connection errors and timeouts of ``requests``, and API
    errors accepted by :func:`is_transient_api_error`. Anything else is raised at once. After
    ``retry_count`` retries the last failure is raised as a :class:`TransferError` naming
    ``what``.
    """
    attempt = 0
    while True:
        control.check()
        try:
            return operation(attempt)
        except TransferStopped:
            raise
        except Exception as exc:
            if control.aborted:
                raise TransferStopped() from exc  # the failure came from our own cancellation
            if not _is_transient(exc):
                raise
            reason = redact_urls(str(exc))
            if attempt >= retry_count:
                # "from None": the cause's text would repeat the signed URL in tracebacks.
                raise TransferError(
                    f"{what} failed after {attempt + 1} attempts; last error: {reason}"
                ) from None
            refresh = isinstance(exc, TransientError) and exc.refresh_url
            delay = 0.0 if refresh and attempt == 0 else backoff_delay(attempt)
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.1f s", what, attempt + 1, reason, delay
            )
            if on_retry is not None:
                on_retry(exc)
            control.sleep(delay)
            attempt += 1


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, SbgError):
        return is_transient_api_error(exc)
    return isinstance(
        exc,
        (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ),
    )


# --------------------------------------------------------------------------- scheduling


class PartScheduler(Generic[T]):
    """Runs ``task(index)`` for each index on ``pool`` with at most ``window`` in flight.

    Iterating yields ``(index, result)`` as parts finish (completion order). While the control
    is paused no new part starts; parts already running finish. When a part fails for good the
    others are told to give up, the scheduler waits for them and re-raises the failure.
    """

    def __init__(
        self,
        pool: Executor,
        task: Callable[[int], T],
        indexes: Iterable[int],
        window: int,
        control: TransferControl,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._on_tick = on_tick
        self._task = task
        self._pending: deque[int] = deque(indexes)
        self._window = max(1, window)
        self._control = control
        self._running: dict[Future[T], int] = {}

    def submit(self) -> None:
        """Start parts until the window is full (nothing starts while paused or stopping)."""
        while (
            self._pending
            and len(self._running) < self._window
            and not self._control.paused
            and not self._control.aborted
        ):
            index = self._pending.popleft()
            self._running[self._pool.submit(self._task, index)] = index

    def done(self) -> bool:
        return not self._pending and not self._running

    def __iter__(self) -> Iterator[tuple[int, T]]:
        try:
            while not self.done():
                self._control.check()
                self.submit()
                if not self._running:
                    self._control.wait_while_paused()
                    continue
                finished, _ = wait(
                    list(self._running),
                    timeout=PROGRESS_CHECK_SECONDS if self._on_tick is not None else None,
                    return_when=FIRST_COMPLETED,
                )
                if self._on_tick is not None and not finished:
                    self._on_tick()
                for future in sorted(finished, key=self._running.__getitem__):
                    index = self._running.pop(future)
                    try:
                        result = future.result()
                    except TransferStopped:
                        raise
                    except Exception as exc:
                        if self._control.cancelled:
                            raise TransferStopped() from exc
                        raise
                    yield index, result
        finally:
            self._drain()

    def _drain(self) -> None:
        if not self._running:
            return
        self._control.abort_parts()
        for future in self._running:
            future.cancel()
        wait(list(self._running))
        self._running.clear()


# --------------------------------------------------------------------------- byte plumbing


class ByteCounter:
    """A thread-safe running total of bytes moved."""

    def __init__(self, initial: int = 0) -> None:
        self._value = initial
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._value += count

    @property
    def value(self) -> int:
        return self._value


class PartReader:
    """A request body streaming ``length`` bytes at ``offset`` of an open file descriptor.

    Reads use ``os.pread`` (no shared file position, so many parts of one file are read at once)
    and never return more than ``block_size`` bytes, whatever the caller asks for. The MD5 of
    everything handed out is kept for comparison with the storage's ETag.
    """

    def __init__(
        self,
        fd: int,
        offset: int,
        length: int,
        *,
        path: str,
        control: TransferControl,
        counter: ByteCounter,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self._fd = fd
        self._offset = offset
        self._length = length
        self._path = path
        self._control = control
        self._counter = counter
        self._block_size = block_size
        self._position = 0
        self._digest = hashlib.md5(usedforsecurity=False)

    def __len__(self) -> int:
        return self._length

    @property
    def bytes_read(self) -> int:
        return self._position

    @property
    def complete(self) -> bool:
        return self._position == self._length

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def read(self, size: int | None = -1) -> bytes:
        self._control.check()
        remaining = self._length - self._position
        if remaining <= 0:
            return b""
        wanted = self._block_size if size is None or size < 0 else size
        wanted = min(wanted, remaining, self._block_size)
        where = self._offset + self._position
        try:
            data = os.pread(self._fd, wanted, where)
        except OSError as exc:
            raise LocalFileError(describe_os_error(exc, self._path, "read"))
        if not data:
            raise LocalFileError(
                f"{self._path!r} is shorter than when the upload started (nothing at byte "
                f"{where}); the file changed while it was being uploaded."
            )
        self._digest.update(data)
        self._position += len(data)
        self._counter.add(len(data))
        return data


def md5_of_range(fd: int, offset: int, length: int, block_size: int = BLOCK_SIZE) -> str:
    """MD5 hex of ``length`` bytes at ``offset``, read block by block."""
    digest = hashlib.md5(usedforsecurity=False)
    position = offset
    end = offset + length
    while position < end:
        data = os.pread(fd, min(block_size, end - position), position)
        if not data:
            break
        digest.update(data)
        position += len(data)
    return digest.hexdigest()


class _StorageAdapter(HTTPAdapter):
    """An adapter whose connections send request bodies in ``block_size`` pieces.

    urllib3 otherwise reads a streamed body 16 KiB at a time, which costs a system call and a
    hash update per 16 KiB; bigger blocks cut that overhead without growing memory much.
    """

    def __init__(self, block_size: int, **kwargs: Any) -> None:
        self._block_size = block_size  # read by init_poolmanager, which the base __init__ calls
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs.setdefault("blocksize", self._block_size)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def storage_session(api: Any, connections: int) -> requests.Session:
    """A session for signed storage URLs: no API headers, ``connections`` pooled connections.

    Transport retries are off: a retried streamed body would be sent from where the first try
    stopped, so every retry goes through :func:`with_retries`, which rebuilds the body.
    """
    session = requests.Session()
    adapter = _StorageAdapter(
        BLOCK_SIZE,
        pool_connections=2,
        pool_maxsize=max(1, connections),
        pool_block=False,
        max_retries=0,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    proxies = getattr(api, "proxies", None)
    if proxies:
        session.proxies.update(proxies)
    return session


def url_for_logs(url: str) -> str:
    """A signed URL without its query string: the signature is a credential."""
    return url.split("?", 1)[0]


# --------------------------------------------------------------------------- the thread


class BaseTransfer(threading.Thread):
    """A transfer running in its own daemon thread, with states and callbacks.

    States: PREPARING -> RUNNING <-> PAUSED -> COMPLETED / FAILED / STOPPED. Subclasses implement
    :meth:`_transfer`; failures inside it end in FAILED with the exception kept in ``error``.
    """

    def __init__(
        self,
        *,
        name: str,
        retry_count: int | None,
        timeout: float | None,
        max_workers: int | None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        if retry_count is not None and retry_count < 0:
            raise SbgError("retry_count must not be negative.")
        if max_workers is not None and max_workers < 1:
            raise SbgError("max_workers must be at least 1.")
        self._retry_count = (
            RequestParameters.DEFAULT_RETRY_COUNT if retry_count is None else retry_count
        )
        self._timeout = timeout or RequestParameters.DEFAULT_TIMEOUT
        self._max_workers = max_workers
        self._status = TransferState.PREPARING
        self._status_lock = threading.Lock()
        self._control = TransferControl()
        self._callback: Callable[[Any], Any] | None = None
        self._errorback: Callable[[Any], Any] | None = None
        self._progress_callback: Callable[[Progress], Any] | None = None
        self._start_time = 0.0
        self._started_monotonic: float | None = None
        self._finished_monotonic: float | None = None
        self._bytes = ByteCounter()
        self._parts_total = 0
        self._parts_done = 0
        self._total_bytes = 0
        self._reported_bytes = -1
        self._reported_at = 0.0
        #: The exception that made the transfer fail (None unless ``status`` is FAILED).
        self.error: BaseException | None = None
        #: Part attempts that failed and were tried again (connection drops, checksum
        #: mismatches, server errors, expired URLs).
        self.retries = 0
        self._retries_lock = threading.Lock()

    # ----------------------------------------------------------------- states

    @property
    def status(self) -> str:
        return self._status

    def _set_status(self, status: str) -> None:
        with self._status_lock:
            self._status = status

    def start(self) -> None:
        with self._status_lock:
            if self._status != TransferState.PREPARING:
                raise SbgError(f"Cannot start a transfer that is {self._status}.")
            self._mark_running()
        super().start()

    def _mark_running(self) -> None:
        self._status = TransferState.RUNNING
        self._start_time = time.time()
        self._started_monotonic = time.monotonic()

    def pause(self) -> None:
        """Let parts in flight finish and start no new ones until :meth:`resume`."""
        with self._status_lock:
            if self._status != TransferState.RUNNING:
                raise SbgError(f"Cannot pause a transfer that is {self._status}.")
            self._status = TransferState.PAUSED
            self._control.pause()

    def resume(self) -> None:
        with self._status_lock:
            if self._status != TransferState.PAUSED:
                raise SbgError(f"Cannot resume a transfer that is {self._status}.")
            self._status = TransferState.RUNNING
            self._control.resume()

    def stop(self) -> Any:
        """Cancel the transfer: parts in flight are cut off, then the thread ends STOPPED.

        Returns what the completion callback returns (None without a callback).
        """
        with self._status_lock:
            if self._status not in (TransferState.RUNNING, TransferState.PAUSED):
                raise SbgError(f"Cannot stop a transfer that is {self._status}.")
            self._control.stop()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()
        if self._status != TransferState.STOPPED:
            # It finished (completed or failed) before it noticed the request.
            return None
        self._after_stop()
        if self._callback is not None:
            return self._callback(self._status)
        return None

    def interrupt(self, timeout: float | None = INTERRUPT_WAIT_SECONDS) -> None:
        """Stop the transfer now and keep it resumable: what Ctrl-C should do.

        Parts in flight are cut off at their next block, no new part starts, and the thread
        ends STOPPED; unlike :meth:`stop`, nothing is cleaned up: the resume record, the
        platform's multipart upload and a download's partial file stay, so the same call made
        again continues where this one ended. Waits up to ``timeout`` seconds (None: without
        limit) for the thread to end. Does nothing once the transfer has ended.
        """
        with self._status_lock:
            if self._status not in (TransferState.RUNNING, TransferState.PAUSED):
                return
            self._control.interrupt()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def wait(self) -> None:
        """Block until the transfer thread has ended (it never raises the transfer's error;
        check ``status`` and ``error``).

        A ``KeyboardInterrupt`` (Ctrl-C) while waiting interrupts the transfer (:meth:`interrupt`),
        logs how to resume it, and is raised again, once.
        """
        if not self.is_alive():
            return
        try:
            self.join()
        except KeyboardInterrupt:
            self.interrupt()
            logger.warning("%s", self._interrupted_message())
            raise

    def _interrupted_message(self) -> str:
        stored = (
            f"{self._parts_done} of {self._parts_total} parts" if self._parts_total else ("nothing")
        )
        return (
            f"{self.name} interrupted ({stored} done); the same call again resumes it, "
            "finished parts are kept"
        )

    def run(self) -> None:
        with self._status_lock:
            if self._status == TransferState.PREPARING:  # run() called directly, not start()
                self._mark_running()
        try:
            self._transfer()
        except TransferStopped:
            self._finish(TransferState.STOPPED)
        except Exception as exc:
            if self._control.cancelled:
                logger.debug("%s stopped with a pending error: %s", self.name, exc)
                self._finish(TransferState.STOPPED)
                return
            self.error = exc
            self._finish(TransferState.FAILED)
            logger.error("%s failed: %s", self.name, exc)
            self._after_failure(exc)
            if self._errorback is not None:
                self._call_safely(self._errorback, self._errorback_argument(exc))
            if threading.current_thread() is not self:
                # run() called directly (not through start()): the caller gets the error.
                if isinstance(exc, SbgError):
                    raise
                raise SbgError(message=f"{self.name} failed: {exc}") from exc
        else:
            self._finish(TransferState.COMPLETED)
            if self._callback is not None:
                self._call_safely(self._callback, TransferState.COMPLETED)

    def _finish(self, status: str) -> None:
        with self._status_lock:
            self._finished_monotonic = time.monotonic()
            self._status = status

    # ----------------------------------------------------------------- hooks for subclasses

    def _transfer(self) -> None:
        raise NotImplementedError

    def _after_stop(self) -> None:
        """Clean up after a stop, in the thread that called ``stop()``."""

    def _after_failure(self, error: BaseException) -> None:
        """Clean up after a failure, in the transfer thread."""

    def _errorback_argument(self, error: BaseException) -> Any:
        return self._status

    # ----------------------------------------------------------------- callbacks

    def add_callback(
        self,
        callback: Callable[[Any], Any] | None = None,
        errorback: Callable[[Any], Any] | None = None,
    ) -> None:
        """``callback(status)`` when the transfer completes or is stopped; ``errorback`` when
        it fails."""
        self._callback = callback
        self._errorback = errorback

    def add_progress_callback(self, callback: Callable[[Progress], Any] | None = None) -> None:
        """``callback(Progress)`` each time a part finishes, and in between whenever another 1%
        is done or a second passed since the last call (from the transfer's own thread)."""
        self._progress_callback = callback

    def _call_safely(self, function: Callable[[Any], Any], argument: Any) -> None:
        # A broken callback (e.g. a progress bar) must not wreck a long transfer.
        try:
            function(argument)
        except Exception:
            logger.exception("%s: callback %r raised", self.name, function)

    def _part_finished(self) -> None:
        """Count a finished part and tell the progress callback (transfer thread only)."""
        self._parts_done += 1
        self._report_progress()

    def _report_progress(self) -> None:
        if self._progress_callback is None:
            return
        snapshot = self.progress_snapshot()
        self._reported_bytes = snapshot.bytes_done
        self._reported_at = time.monotonic()
        self._call_safely(self._progress_callback, snapshot)

    def _progress_tick(self) -> None:
        """While parts are in flight: report after 1% more, or after a quiet second."""
        if self._progress_callback is None:
            return
        step = max(1, int(self._total_bytes * PROGRESS_EVERY_FRACTION))
        if (
            self.bytes_done - self._reported_bytes >= step
            or time.monotonic() - self._reported_at >= PROGRESS_EVERY_SECONDS
        ):
            self._report_progress()

    def _count_retry(self, _error: Exception) -> None:
        with self._retries_lock:
            self.retries += 1

    def _window(self, default_workers: int) -> int:
        return self._max_workers or default_workers

    # ----------------------------------------------------------------- progress and timing

    @property
    def start_time(self) -> float:
        """Epoch seconds when the transfer started (0 before)."""
        return self._start_time

    @property
    def duration(self) -> float:
        """Milliseconds from start to end (or to now while running); 0 before the start."""
        if self._started_monotonic is None:
            return 0.0
        end = self._finished_monotonic or time.monotonic()
        return (end - self._started_monotonic) * 1000.0

    @property
    def bytes_done(self) -> int:
        """Bytes transferred so far, including those of parts still in flight."""
        return self._bytes.value

    @property
    def total_bytes(self) -> int:
        return self._total_bytes

    @property
    def fraction(self) -> float:
        """Share done, 0.0 to 1.0."""
        if self._total_bytes <= 0:
            return 1.0 if self._status == TransferState.COMPLETED else 0.0
        return min(1.0, self.bytes_done / self._total_bytes)

    @property
    def progress(self) -> float:
        """Percent done, 0 to 100."""
        return self.fraction * 100.0

    @property
    def bandwidth(self) -> float:
        """Average throughput since the start, in MB/s (10**6 bytes per second)."""
        seconds = self.duration / 1000.0
        return self.bytes_done / 1_000_000 / seconds if seconds > 0 else 0.0

    def progress_snapshot(self) -> Progress:
        return Progress(
            num_of_parts=self._parts_total,
            parts_done=self._parts_done,
            bytes_done=self.bytes_done,
            file_size=self._total_bytes,
            duration=self.duration / 1000.0,  # Progress speaks seconds
        )


def json_or_empty(response: requests.Response | None) -> Mapping[str, Any]:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

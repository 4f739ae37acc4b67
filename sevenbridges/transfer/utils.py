"""Small value types shared by uploads and downloads: byte ranges and progress snapshots."""

from __future__ import annotations

import math
import sys

__all__ = ["Part", "Progress", "total_parts", "simple_progress_bar"]

_BYTES_PER_MB = 1_000_000


class Part:
    """One byte range of a transfer: where it starts and how many bytes it holds."""

    __slots__ = ("_start", "_size")

    def __init__(self, start: int | None = None, size: int | None = None) -> None:
        self._start = start
        self._size = size

    @property
    def start(self) -> int | None:
        return self._start

    @property
    def size(self) -> int | None:
        return self._size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Part):
            return NotImplemented
        return (self._start, self._size) == (other._start, other._size)

    def __hash__(self) -> int:
        return hash((self._start, self._size))

    def __repr__(self) -> str:
        return f"Part(start={self._start}, size={self._size})"


class Progress:
    """A snapshot of a running transfer, handed to progress callbacks.

    ``duration`` is in seconds; ``bandwidth`` is in MB/s (10**6 bytes per second) over that
    duration. (A transfer's own ``duration`` attribute stays in milliseconds.)
    """

    __slots__ = ("_num_of_parts", "_parts_done", "_bytes_done", "_file_size", "_duration")

    def __init__(
        self,
        num_of_parts: int,
        parts_done: int,
        bytes_done: int,
        file_size: int,
        duration: float,
    ) -> None:
        self._num_of_parts = num_of_parts
        self._parts_done = parts_done
        self._bytes_done = bytes_done
        self._file_size = file_size
        self._duration = duration

    @property
    def num_of_parts(self) -> int:
        return self._num_of_parts

    @property
    def parts_done(self) -> int:
        return self._parts_done

    @property
    def bytes_done(self) -> int:
        return self._bytes_done

    @property
    def file_size(self) -> int:
        return self._file_size

    @property
    def duration(self) -> float:
        """Seconds since the transfer started."""
        return self._duration

    @property
    def progress(self) -> float:
        """Percent done, 0 to 100 (an empty file is 100 % once its only part is done)."""
        if self._file_size <= 0:
            return 100.0 if self._parts_done >= self._num_of_parts else 0.0
        return min(100.0, self._bytes_done * 100.0 / self._file_size)

    @property
    def bandwidth(self) -> float:
        """Average throughput so far in MB/s (0 before any time has passed)."""
        if self._duration <= 0:
            return 0.0
        return self._bytes_done / _BYTES_PER_MB / self._duration

    def __repr__(self) -> str:
        return (
            f"Progress(parts {self._parts_done}/{self._num_of_parts}, "
            f"bytes {self._bytes_done}/{self._file_size}, {self._duration:.1f} s)"
        )


def total_parts(file_size: int, part_size: int) -> int:
    """How many parts of ``part_size`` bytes cover ``file_size`` bytes (the last may be short)."""
    if part_size <= 0:
        raise ValueError(f"part size must be positive, got {part_size}")
    return math.ceil(file_size / part_size)


def simple_progress_bar(progress: Progress) -> None:
    """Redraw a one-line progress report on stdout; meant as a progress callback for scripts."""
    width = 30
    filled = int(width * progress.progress / 100)
    bar = "#" * filled + "-" * (width - filled)
    sys.stdout.write(
        f"\r[{bar}] {progress.progress:5.1f}%  {progress.bandwidth:8.2f} MB/s  "
        f"parts {progress.parts_done}/{progress.num_of_parts}  "
        f"{progress.duration:7.1f} s"
    )
    sys.stdout.flush()

"""Checking a data directory before use, and wiping one (``sbg local reset``).

Each problem is one sentence that says what to do, for the command line to print as is: a data
directory that is a file, cannot be created or is not writable; a data directory with no platform
in it, for the commands that must not create one by accident (``sbg local token --data-dir TYPO``
would otherwise seed a new platform and print a token nobody's server accepts).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

from sevenbridges_local.status import LOCK_FILE_NAME, read_status

# Files that only a local platform puts in its data directory: ``reset`` refuses any directory
# without one of them, so a mistyped ``--data-dir ~`` never wipes a home directory.
PLATFORM_MARKERS = ("secret.key", "platform.db")


class DataDirProblem(RuntimeError):
    """The data directory cannot be used; the message says why and what to do."""


def has_platform(data_dir: Path) -> bool:
    return any((Path(data_dir) / name).is_file() for name in PLATFORM_MARKERS)


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def check_data_dir(data_dir: Path, *, create: bool) -> None:
    """Make sure ``data_dir`` can hold a platform (created when ``create``), or raise
    :class:`DataDirProblem`. Without ``create`` it must already hold one."""
    data_dir = Path(data_dir)
    hint = "pass --data-dir with a directory you can write to"
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirProblem(f"the data directory {data_dir} is not a directory: {hint}")
    if not create:
        if not has_platform(data_dir):
            raise DataDirProblem(
                f"no local platform in {data_dir}: check --data-dir, or create one with "
                f"`sbg local serve --data-dir {data_dir}` (or pass --create)"
            )
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            raise DataDirProblem(
                f"cannot create the data directory {data_dir}: a part of that path is a file; "
                f"{hint}"
            ) from None
        raise DataDirProblem(
            f"cannot create the data directory {data_dir}: {_reason(exc)}; {hint}"
        ) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DataDirProblem(f"the data directory {data_dir} is not writable by you: {hint}")


def _make_writable_and_retry(function: object, path: str, _info: object) -> None:
    """Task outputs may be read-only (and their folders too): open them up, then delete again."""
    parent = os.path.dirname(path)
    os.chmod(parent, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=_make_writable_and_retry)
    else:
        os.unlink(path)


def reset_data_dir(data_dir: Path) -> int:
    """Delete ``data_dir`` and everything in it; returns how many files were removed.

    Refuses (:class:`DataDirProblem`) when it holds no platform or while a platform holds its
    lock; the lock is held during the wipe, so no platform starts on a half-deleted directory.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir() or not has_platform(data_dir):
        raise DataDirProblem(
            f"no local platform in {data_dir}: nothing to reset (check --data-dir)"
        )
    fd = os.open(data_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            status = read_status(data_dir)
            where = f" serving {status.api_url}" if status is not None and status.running else ""
            raise DataDirProblem(
                f"a local platform is running on {data_dir} (pid {holder}{where}): stop it "
                "(Ctrl-C in its terminal) before resetting"
            ) from None
        removed = sum(len(files) for _root, _dirs, files in os.walk(data_dir))
        shutil.rmtree(data_dir, onerror=_make_writable_and_retry)
        return removed
    finally:
        os.close(fd)

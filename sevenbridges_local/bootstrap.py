"""Getting a data directory ready: folder, permissions, secret key, schema, the seeded admin.

Everything under the data directory belongs to the platform's user alone: the database holds
token hashes and everyone's metadata, ``secret.key`` can mint any user's token, blobs are users'
files. The server creates new entries private (umask 077 plus explicit modes) and, at start,
takes group and world permissions away from entries an older version or a careless copy left
open (``tighten_data_dir``).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from sevenbridges_local.db import Database
from sevenbridges_local.security import load_or_create_secret_key
from sevenbridges_local.services import apps, users
from sevenbridges_local.services.context import ADMIN_ROLE
from sevenbridges_local.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"


@dataclass
class PreparedPlatform:
    settings: Settings
    database: Database
    secret_key: bytes = field(repr=False)  # never shown in logs or tracebacks

    def token(self, username: str = ADMIN_USERNAME) -> str:
        """The user's token, creating the user (and their billing group) when missing."""
        with self.database.write_session() as session:
            user, created = users.ensure_user(session, self.secret_key, username)
            session.commit()
            if created:
                logger.info("created user %s", username)
            return users.token_for(user, self.secret_key)


PRIVATE_UMASK = 0o077
# What the platform itself keeps at the top of a data directory. Only these are tightened below
# the directory itself: a data directory pointed at a folder with other content (a home
# directory, a shared folder) must not have all of it made private; the directory's own 0700
# already closes everything in it to other users.
PLATFORM_ENTRIES = frozenset(
    {
        "platform.db",
        "platform.db-wal",
        "platform.db-shm",
        "platform.db-journal",
        "secret.key",
        "server.log",
        "dataplane.port",
        "server.json",
        "server.lock",
        "storage",
        "tasks",
        "toil",
        "automation_runs",
        "tls",
        "api-processes",  # `serve --workers N`: each process's ready file (supervisor.py)
    }
)
_OPEN_BITS = 0o077  # group and others: read, write, execute
_OPEN_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class Tightening:
    """What ``tighten_data_dir`` did: entries looked at, changed and left alone, and how long."""

    scanned: int
    tightened: int
    skipped: int
    seconds: float


def make_private_by_default() -> None:
    """Umask 077 for this process: whatever the server creates (database journals, task work
    directories, tool outputs, the data plane's port file) is born readable by its user only."""
    os.umask(PRIVATE_UMASK)


def _tighten_file(name: str, dir_fd: int, expected: os.stat_result) -> bool:
    """chmod go-rwx of a regular file, through a descriptor so that a symlink swapped in for it
    between the check and the change is never followed."""
    try:
        fd = os.open(name, _OPEN_FILE_FLAGS, dir_fd=dir_fd)
    except OSError:  # gone, replaced by a symlink (ELOOP) or not openable by us
        return False
    try:
        current = os.fstat(fd)
        if not stat.S_ISREG(current.st_mode) or not os.path.samestat(current, expected):
            return False
        os.fchmod(fd, stat.S_IMODE(current.st_mode) & ~_OPEN_BITS)
        return True
    finally:
        os.close(fd)


def _tighten_dir(dir_fd: int, owner: int) -> bool | None:
    """chmod go-rwx of an open directory: True changed, False left alone, None already private."""
    info = os.fstat(dir_fd)
    if not stat.S_IMODE(info.st_mode) & _OPEN_BITS:
        return None
    if info.st_uid != owner:
        return False
    try:
        os.fchmod(dir_fd, stat.S_IMODE(info.st_mode) & ~_OPEN_BITS)
    except OSError:  # not ours to change after all
        return False
    return True


def tighten_data_dir(data_dir: Path) -> Tightening:
    """Take group and world permissions away from the data directory and the platform's entries
    in it (``PLATFORM_ENTRIES``, recursively).

    Directories end up 0700 and files 0600 (an owner's execute bit is kept). Symlinks are never
    followed (``os.fwalk`` keeps a descriptor per directory and does not descend through links),
    nothing outside the data directory is touched, entries owned by another user than the data
    directory's are left alone, and only entries that need it are changed, so a second run only
    reads metadata.
    """
    started = time.perf_counter()
    root = Path(data_dir).resolve()  # a data directory reached through a symlink is still ours
    owner = root.stat().st_uid
    scanned = tightened = skipped = 0
    foreign: list[str] = []
    for path, dirs, names, dir_fd in os.fwalk(root, follow_symlinks=False):
        if path == str(root):
            foreign = sorted(name for name in [*dirs, *names] if name not in PLATFORM_ENTRIES)
            dirs[:] = [name for name in dirs if name in PLATFORM_ENTRIES]  # fwalk descends these
            names = [name for name in names if name in PLATFORM_ENTRIES]
        scanned += 1
        changed = _tighten_dir(dir_fd, owner)
        tightened += changed is True
        skipped += changed is False
        for name in names:
            scanned += 1
            try:
                entry = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue  # removed while we looked
            if not stat.S_ISREG(entry.st_mode) or not stat.S_IMODE(entry.st_mode) & _OPEN_BITS:
                continue  # symlinks, sockets, fifos are not ours to change; private already
            if entry.st_uid != owner or not _tighten_file(name, dir_fd, entry):
                skipped += 1
                continue
            tightened += 1
    result = Tightening(scanned, tightened, skipped, time.perf_counter() - started)
    if tightened:
        logger.warning(
            "tightened permissions of %d entries in %s (they were open to group or others; "
            "now 0700 for directories, 0600 for files; %d checked in %.2f s)",
            tightened,
            root,
            scanned,
            result.seconds,
        )
    else:
        logger.info(
            "permissions of %s: %d entries checked in %.2f s, all private",
            root,
            scanned,
            result.seconds,
        )
    if skipped:
        logger.warning(
            "left %d entries in %s open to group or others: owned by another user or not openable",
            skipped,
            root,
        )
    if foreign:
        logger.info(
            "%d entries in %s are not the platform's and were left as they are: %s",
            len(foreign),
            root,
            ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else ""),
        )
    return result


def _create_database_file(database_url: str) -> None:
    """Create an SQLite database file 0600 before SQLite does (its journals copy its mode)."""
    url = make_url(database_url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:  # already there, or a place SQLite will report better than we can
        return
    os.close(fd)  # an empty file is an empty SQLite database


def prepare(
    settings: Settings, database: Database | None = None, *, tighten_permissions: bool = False
) -> PreparedPlatform:
    """Idempotent: safe on every start and from several processes at once.

    ``tighten_permissions``: also make every existing entry of the data directory private (the
    server does it when it starts; ``sbg local token`` does not, so that it never changes the
    permissions of a running server's files).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if tighten_permissions:
        tighten_data_dir(settings.data_dir)
    secret_key = load_or_create_secret_key(settings.secret_key_path)
    _create_database_file(settings.database_url or "")
    database = database or Database(settings.database_url or "")
    database.migrate()
    with database.write_session() as session:
        users.ensure_user(session, secret_key, ADMIN_USERNAME, role=ADMIN_ROLE)
        session.commit()
    # The public apps (admin/public-apps), also added to data directories created before them.
    apps.install_public_apps(database, ADMIN_USERNAME)
    return PreparedPlatform(settings=settings, database=database, secret_key=secret_key)

"""Writing the ``--write-profile`` section of ``~/.sevenbridges/credentials``.

The line-based editor is the CLI's (``sevenbridges.credentials_file``, standard library only), so
comments, other sections and unknown keys stay exactly as they were. A profile that already points
at another endpoint is somebody's real configuration: it is replaced only when asked (``force``),
and then the old file is kept as ``credentials.bak`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sevenbridges.credentials_file import edit_profile, read_profile, write_private

BACKUP_SUFFIX = ".bak"


class ProfileConflict(RuntimeError):
    """The profile exists and points at another endpoint."""


@dataclass(frozen=True)
class ProfileWritten:
    path: Path
    backup: Path | None


def credentials_path() -> Path:
    # Path.home() follows $HOME, as the clients reading this file do.
    return Path.home() / ".sevenbridges" / "credentials"


def _same_endpoint(first: str, second: str) -> bool:
    return first.strip().rstrip("/") == second.strip().rstrip("/")


def check_profile(name: str, api_endpoint: str, path: Path | None = None) -> None:
    """Raise :class:`ProfileConflict` when ``[name]`` points at another endpoint."""
    path = path or credentials_path()
    existing = read_profile(path, name).get("api_endpoint")
    if existing and not _same_endpoint(existing, api_endpoint):
        raise ProfileConflict(
            f"profile [{name}] in {path} points at {existing}, not {api_endpoint}: pass --force "
            "to replace it (the old file is kept as a backup) or choose another profile name"
        )


def write_profile(
    name: str,
    api_endpoint: str,
    auth_token: str,
    path: Path | None = None,
    *,
    force: bool = False,
) -> ProfileWritten:
    """Create or update section ``[name]``; everything else in the file stays as it was.

    Without ``force`` a section pointing at another endpoint raises :class:`ProfileConflict`;
    with it, the file is first copied to ``credentials.bak`` (0600).
    """
    path = path or credentials_path()
    backup = None
    try:
        check_profile(name, api_endpoint, path)
    except ProfileConflict:
        if not force:
            raise
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        write_private(backup, path.read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    write_private(
        path, edit_profile(text, name, {"api_endpoint": api_endpoint, "auth_token": auth_token})
    )
    return ProfileWritten(path=path, backup=backup)

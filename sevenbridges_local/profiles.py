"""Writing one profile of ``~/.sevenbridges/credentials``, leaving the rest of it untouched."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_SECTION_HEADER = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")


def credentials_path() -> Path:
    # Path.home() follows $HOME, as the clients reading this file do.
    return Path.home() / ".sevenbridges" / "credentials"


def write_profile(name: str, api_endpoint: str, auth_token: str, path: Path | None = None) -> Path:
    """Create or replace section ``[name]``; other sections and comments stay as they are."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = path.read_text().splitlines() if path.exists() else []
    section = [f"[{name}]", f"api_endpoint = {api_endpoint}", f"auth_token = {auth_token}"]

    start = next(
        (
            index
            for index, line in enumerate(lines)
            if (match := _SECTION_HEADER.match(line)) and match["name"].strip() == name
        ),
        None,
    )
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.extend(section)
    else:
        end = next(
            (
                index
                for index in range(start + 1, len(lines))
                if _SECTION_HEADER.match(lines[index])
            ),
            len(lines),
        )
        # Keep the blank line that separated the old section from the next one.
        trailing_blank = [""] if end < len(lines) else []
        lines[start:end] = section + trailing_blank

    # Write a private temporary file and rename it over: the token is never world-readable.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path

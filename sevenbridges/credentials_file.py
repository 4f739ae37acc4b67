"""A careful, line-based edit of one profile in the credentials file.

configparser would rewrite the whole file and drop its comments, so the file is edited as lines:
the profile's ``api_endpoint`` and ``auth_token`` lines are replaced where they are, missing keys
are added after the section's last setting, and everything else (other sections, comments, blank
lines, unknown keys) is written back byte for byte. The new file is written privately (0600) and
renamed over the old one, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

SECTION = re.compile(r"^\s*\[(?P<name>[^\]]*)\]\s*$")
SETTING = re.compile(r"^\s*(?P<key>[^=:#;\s][^=:]*?)\s*[=:]")
PROFILE_KEYS = ("api_endpoint", "auth_token")


def _section_bounds(lines: list[str], name: str) -> tuple[int, int] | None:
    """``(header index, index after the section's last line)`` of ``[name]``, if present."""
    start = None
    for index, line in enumerate(lines):
        match = SECTION.match(line)
        if match is None:
            continue
        if start is not None:
            return start, index
        if match["name"].strip() == name:
            start = index
    return (start, len(lines)) if start is not None else None


def edit_profile(text: str, name: str, values: dict[str, str]) -> str:
    """``text`` with profile ``name`` holding ``values`` (added when the profile is missing)."""
    lines = text.splitlines()
    bounds = _section_bounds(lines, name)
    if bounds is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        return "\n".join(lines) + "\n"
    start, end = bounds
    pending = dict(values)
    last_setting = start
    for index in range(start + 1, end):
        match = SETTING.match(lines[index])
        if match is None:
            continue
        last_setting = index
        key = match["key"].strip()
        if key in pending:
            lines[index] = f"{key} = {pending.pop(key)}"
    added = [f"{key} = {value}" for key, value in pending.items()]
    lines[last_setting + 1 : last_setting + 1] = added
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def read_profile(path: Path, name: str) -> dict[str, str]:
    """The ``api_endpoint``/``auth_token`` values of ``[name]`` (empty when absent)."""
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    bounds = _section_bounds(lines, name)
    if bounds is None:
        return {}
    found = {}
    for line in lines[bounds[0] + 1 : bounds[1]]:
        match = SETTING.match(line)
        if match and match["key"].strip() in PROFILE_KEYS:
            found[match["key"].strip()] = line.split(line[match.end() - 1], 1)[1].strip()
    return found

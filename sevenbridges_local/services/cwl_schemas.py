"""Ontologies an app's ``$schemas`` names, from a folder the operator chose.

CWL checks a File's ``format`` against the ontologies listed in ``$schemas`` (EDAM, for one):
with them, a format that is a subclass or an equivalent class of the declared one is accepted.
Those entries are URLs or paths that cwltool would download or read, so an app may not point at
them itself. Instead the operator names a folder (``cwl_schemas_dir``) and each entry is
resolved there by its last path segment (``EDAM.owl`` for ``http://edamontology.org/EDAM.owl``
or ``../EDAM.owl``); the files are copied next to the document when a task runs. Nothing is
fetched over the network, and an entry with no such file is refused.
"""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SETTING = "cwl_schemas_dir (SBG_LOCAL_CWL_SCHEMAS_DIR, sbg local serve --cwl-schemas-dir)"
_MAX_ENTRIES = 32

_folder: Path | None = None


class SchemasError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def configure(folder: Path | None) -> None:
    """The folder ``$schemas`` entries resolve in (None: apps may not use ``$schemas``)."""
    global _folder
    _folder = folder
    if folder is not None:
        logger.info("CWL ontologies for $schemas are read from %s", folder)


def entry_name(entry: str) -> str:
    """The file name an entry stands for: its last path segment, without query or fragment."""
    path = urllib.parse.urlsplit(entry).path if "://" in entry else entry.split("#")[0]
    return urllib.parse.unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])


def resolve(entries: Any) -> list[Path]:
    """The local files of a document's ``$schemas`` (``[]`` without any), in its order.

    :class:`SchemasError` names the first entry that cannot be resolved and the setting."""
    if entries is None:
        return []
    listed = entries if isinstance(entries, list) else [entries]
    if len(listed) > _MAX_ENTRIES or not all(isinstance(item, str) for item in listed):
        raise SchemasError(
            f"App refused: $schemas must be a list of at most {_MAX_ENTRIES} ontology file "
            "names or URLs."
        )
    found: list[Path] = []
    for entry in listed:
        name = entry_name(entry)
        shown = entry if len(entry) <= 200 else entry[:197] + "..."
        if _folder is None:
            raise SchemasError(
                f"App refused: $schemas names '{shown}', but this platform has no folder of "
                f"ontologies: the operator sets {SETTING} to a folder holding '{name}'."
            )
        candidate = _folder / name
        if name in ("", ".", "..") or not candidate.is_file():
            raise SchemasError(
                f"App refused: $schemas names '{shown}', and there is no file '{name}' in the "
                f"folder of ontologies ({SETTING}); nothing is downloaded."
            )
        found.append(candidate)
    return found

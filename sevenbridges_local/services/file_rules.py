"""Files service, part one: its error codes, and the rules for names, metadata and tags.

Every file or folder name accepted from a client or made by the platform passes through
``check_name`` (refused when wrong) or ``safe_name`` (repaired). ``services.files`` re-exports
everything here.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from sevenbridges_local import errors
from sevenbridges_local.limits import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_TAG_LENGTH,
)
from sevenbridges_local.services.names import (
    disguising_character,
    is_disguising,
    truncate_utf8,
    utf8_length,
)

# Platform codes of the files service (numbers from the REST reference).
FILE_FORBIDDEN = 5001
FILE_NOT_FOUND = 5002
FILE_EXISTS = 5003
FILE_ID_EMPTY = 5004
PROJECT_QUERY_MALFORMED = 5005
METADATA_INVALID = 5006
TYPE_INVALID = 5012
COPY_FORBIDDEN = 5014
MOVE_ACROSS_PROJECTS = 5015
FOLDER_DOWNLOAD = 5017
FOLDER_COPY = 5018
FOLDER_NOT_EMPTY = 5021
PARENT_NOT_FOLDER = 5022
FOLDER_DETAILS = 5023
FOLDER_METADATA = 5024
FOLDER_TAGS = 5025
NAME_INVALID = 5026
DESTINATION_NOT_FOUND = 5027
PARENT_OR_PROJECT_REQUIRED = 5029
FOLDER_EXISTS = 5030
PARENT_AND_PROJECT = 5031
MOVE_FORBIDDEN = 5032
INVALID_REQUEST = 5033
METADATA_KEY_EMPTY = 5035
UPLOAD_FILE_EXISTS = 8005  # the upload service's "file exists" (see create_file_record)

NAME_MAX_BYTES = 255  # what Linux and macOS file systems allow for one path component
SCROLL_INIT_TOKEN = "init"
SQL_CHUNK = 500  # ids per IN (...) list, below every database's bound-parameter limit

_NAME_FALLBACK = "unnamed"


# ---------------------------------------------------------------------------------------------
# Names
#
# Every file or folder name that is accepted from a client or made by the platform goes through
# check_name (client input: refused when wrong) or safe_name (names the platform derives from
# tool outputs or paths: repaired). Both give NFC text of at most NAME_MAX_BYTES UTF-8 bytes.


def _name_problem(name: str) -> str | None:
    """What is wrong with an NFC name, or None."""
    if not name.strip():
        return "must not be empty"
    if "/" in name:
        return "must not contain '/'"
    if name in (".", ".."):
        return f"must not be '{name}'"
    disguised = disguising_character(name)
    if disguised is not None:
        return disguised
    size = utf8_length(name)
    if size > NAME_MAX_BYTES:
        return (
            f"is too long: {size} bytes in UTF-8, at most {NAME_MAX_BYTES} are allowed "
            "(characters outside ASCII take 2 to 4 bytes each)"
        )
    return None


def check_name(name: Any, *, what: str = "file") -> str:
    """A usable file or folder name in NFC, or 400/5026 saying what is wrong with it.

    The limit is 255 bytes of UTF-8, not characters: that is what file systems accept for one
    path component, and files are staged under their names when tasks run.
    """
    if not isinstance(name, str):
        raise errors.bad_request(f"The {what} name must be a string.", NAME_INVALID)
    # NFC first: "café" typed on macOS (NFD) and elsewhere (NFC) is one name, not two.
    normalized = unicodedata.normalize("NFC", name)
    problem = _name_problem(normalized)
    if problem is not None:
        raise errors.bad_request(f"The {what} name {problem}.", NAME_INVALID)
    return normalized


def safe_name(raw: str, *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """A valid name made from ``raw`` (tool outputs, output paths): never refused, repaired.

    Forbidden characters become ``_``; the result is cut to ``max_bytes`` bytes of UTF-8.
    """
    text = unicodedata.normalize("NFC", raw)
    cleaned = "".join("_" if char == "/" or is_disguising(char) else char for char in text)
    if not cleaned.strip() or cleaned in (".", ".."):
        cleaned = _NAME_FALLBACK
    cut = truncate_utf8(cleaned, max_bytes)
    # A cut can end on a base character whose combining mark was dropped: still NFC, but
    # normalise once more in case it recombines, and cut again if that grew it.
    return truncate_utf8(unicodedata.normalize("NFC", cut), max_bytes)


def name_variants(name: str) -> list[str]:
    """The spellings one name may be stored under: as given, NFC and NFD.

    Names are stored in NFC since names were normalised; rows written before that keep the
    spelling they were given (nothing is rewritten), so lookups and conflict checks match both.
    """
    variants = [name]
    for form in ("NFC", "NFD"):
        spelled = unicodedata.normalize(form, name)
        if spelled not in variants:
            variants.append(spelled)
    return variants


def same_name(given: Any, stored: str) -> bool:
    return isinstance(given, str) and unicodedata.normalize("NFC", given) == unicodedata.normalize(
        "NFC", stored
    )


def match_text(value: Any) -> str | None:
    """The text a ``metadata.<key>=...`` query value is compared with (booleans as JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def check_metadata(metadata: Any) -> dict[str, Any]:
    """A flat object of scalar values; in a partial update ``null`` removes the key."""
    if not isinstance(metadata, dict):
        raise errors.bad_request("Metadata must be a JSON object.", METADATA_INVALID)
    for key, value in metadata.items():
        if not key.strip():
            raise errors.bad_request("Metadata keys must not be empty.", METADATA_KEY_EMPTY)
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise errors.bad_request(
                f"Metadata key too long: at most {MAX_METADATA_KEY_LENGTH} characters.",
                METADATA_INVALID,
            )
        if value is not None and not isinstance(value, str | int | float | bool):
            raise errors.bad_request(
                f"Invalid value for metadata key '{key}': expected a string, number or boolean.",
                METADATA_INVALID,
            )
    return metadata


def output_metadata(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The metadata a task's tool gave an output file (a ``metadata`` field on its File
    object), repaired rather than refused as tool output is: what breaks a rule of
    :func:`check_metadata` or the stored limits is left out. Returns it and what was left out.
    """
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, ["the metadata is not an object"]
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_METADATA_KEY_LENGTH:
            dropped.append(f"key {str(key)[:40]!r}: not a usable key")
        elif value is None:
            continue  # null removes a key, as in a metadata update
        elif not isinstance(value, str | int | float | bool):
            dropped.append(f"key {key[:40]!r}: not a string, number or boolean")
        elif isinstance(value, float) and not math.isfinite(value):
            dropped.append(f"key {key[:40]!r}: not a finite number")
        elif isinstance(value, str) and len(value) > MAX_METADATA_VALUE_LENGTH:
            dropped.append(f"key {key[:40]!r}: longer than {MAX_METADATA_VALUE_LENGTH}")
        elif len(kept) >= MAX_METADATA_KEYS:
            dropped.append(f"key {key[:40]!r}: beyond {MAX_METADATA_KEYS} keys")
        else:
            kept[key] = value
    return kept, dropped


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise errors.bad_request("Tags must be a JSON array of strings.")
    for tag in tags:
        if not tag.strip() or len(tag) > MAX_TAG_LENGTH:
            raise errors.bad_request(
                f"Invalid tag {tag!r}: each tag must have 1 to {MAX_TAG_LENGTH} characters."
            )
    # A tag is either there or not: repeats carry no meaning (first occurrence keeps its place).
    return list(dict.fromkeys(tags))


def merged_metadata(
    current: dict[str, Any], changes: dict[str, Any], *, replace: bool
) -> dict[str, Any]:
    """The metadata a file ends up with (``null`` removes a key), within the stored limit."""
    merged = dict(changes) if replace else {**current, **changes}
    kept = {key: value for key, value in merged.items() if value is not None}
    if len(kept) > MAX_METADATA_KEYS:
        raise errors.bad_request(
            f"A file has at most {MAX_METADATA_KEYS} metadata keys; this change would leave "
            f"{len(kept)}.",
            METADATA_INVALID,
        )
    return kept


def split_project_id(project_id: Any) -> tuple[str, str]:
    if not isinstance(project_id, str) or not project_id.strip():
        raise errors.bad_request(
            "Project id must be given as 'owner/project'.", PROJECT_QUERY_MALFORMED
        )
    owner, _, slug = project_id.strip().partition("/")
    if not owner or not slug or "/" in slug:
        raise errors.bad_request(
            f"Malformed project id '{project_id}': expected 'owner/project'.",
            PROJECT_QUERY_MALFORMED,
        )
    return owner, slug

"""Objects nested in tasks (inputs, outputs, batching, execution status) and the mapping of
task input/output values to :class:`~sevenbridges.models.file.File` objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["map_input_output"]

# CWL's file-like classes, and what each becomes in a File's ``type``.
_FILE_TYPES = {"file": "file", "directory": "folder"}
# Keys of a CWL file object that are turned into File fields by hand (not passed through).
_CONSUMED_KEYS = frozenset({"class", "path", "basename", "location", "secondaryFiles"})


def _cwl_class(item: Mapping[str, Any]) -> str | None:
    """``'file'`` / ``'directory'`` for CWL file objects, None for any other mapping."""
    value = item.get("class")
    if isinstance(value, str) and value.lower() in _FILE_TYPES:
        return value.lower()
    return None


def _secondary_files(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list) or not raw:
        return None
    result = []
    for entry in raw:
        if not isinstance(entry, Mapping) or not entry.get("path"):
            continue
        secondary: dict[str, Any] = {"id": entry["path"]}
        if entry.get("basename"):
            secondary["name"] = entry["basename"]
        result.append(secondary)
    return result or None


def map_input_output(item: Any, api: Any) -> Any:
    """Turn a task input or output value into what users work with.

    A CWL file object (``{"class": "File"|"Directory", "path": id, ...}``) becomes a lazy
    ``File`` (fields it does not carry are fetched on first access); lists are mapped element by
    element; every other value is returned as it is.
    """
    if isinstance(item, list):
        return [map_input_output(element, api) for element in item]
    if not isinstance(item, Mapping):
        return item
    kind = _cwl_class(item)
    if kind is None:
        return item
    if not item.get("path") and not item.get("location"):
        # A literal (``contents`` or a ``listing``, no id): no platform file to point at, so
        # it stays the CWL object, which can be sent back in a new task as it is.
        return item
    from sevenbridges.models.file import File

    data = {key: value for key, value in item.items() if key not in _CONSUMED_KEYS}
    data["id"] = item.get("path")
    data["type"] = _FILE_TYPES[kind]
    if item.get("basename"):
        data["name"] = item["basename"]
    data["_secondary_files"] = _secondary_files(item.get("secondaryFiles"))
    return File(api=api, **data)

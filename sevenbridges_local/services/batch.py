"""Batch tasks: checking ``batch_by`` and splitting the batch input's files into groups.

``{"type": "item"}`` makes one group per file. ``{"type": "criteria", "criteria":
["metadata.sample_id", ...]}`` groups files that share the values of those metadata fields
(``sample_id`` alone means the same); files lacking a field group under an empty value. Groups
keep the order in which their first file appears in the input.

Each group becomes one child task with ``batch_group = {"value": ..., "fields": {...}}``: for
``item`` the value is the file's name and ``fields`` is empty; for ``criteria`` the value joins
the group's field values with ", " and ``fields`` maps each field (without ``metadata.``) to its
value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db.files import FileMetadata

ITEM = "item"
CRITERIA = "criteria"
BATCH_TYPES = (ITEM, CRITERIA)

BATCH_INPUT_EMPTY = 7018
BATCH_CRITERIA_MISSING = 7019
BATCH_TYPE_INVALID = 7020
BATCH_INCOMPLETE = 7023

METADATA_PREFIX = "metadata."
_SQL_CHUNK = 500


def check_batch(
    batch_input: str | None, batch_by: Mapping[str, Any] | None
) -> tuple[str | None, dict[str, Any] | None]:
    """Both or neither (400/7023); a known type (400/7020); criteria for ``criteria`` (7019).

    JSON types (a string, an object, a list of strings) were checked by the HTTP layer.
    """
    if batch_input is None and batch_by is None:
        return None, None
    if batch_input is None or batch_by is None:
        raise errors.bad_request(
            "'batch_input' and 'batch_by' must be given together.", BATCH_INCOMPLETE
        )
    if not batch_input.strip():
        raise errors.bad_request("'batch_input' must name an input of the app.", BATCH_INPUT_EMPTY)
    kind = batch_by.get("type")
    if not isinstance(kind, str) or kind.lower() not in BATCH_TYPES:
        raise errors.bad_request(
            f"Invalid batch type {kind!r}: it must be 'criteria' or 'item'.", BATCH_TYPE_INVALID
        )
    normalized: dict[str, Any] = {**batch_by, "type": kind.lower()}
    if normalized["type"] == CRITERIA:
        criteria = batch_by.get("criteria")
        if not criteria or not all(isinstance(item, str) and item.strip() for item in criteria):
            raise errors.bad_request(
                "Batching by criteria needs 'criteria': a list of fields such as "
                '"metadata.sample_id".',
                BATCH_CRITERIA_MISSING,
            )
    return batch_input.strip(), normalized


@dataclass
class BatchGroup:
    value: str
    fields: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "fields": dict(self.fields)}


def _metadata_key(criterion: str) -> str:
    return criterion[len(METADATA_PREFIX) :] if criterion.startswith(METADATA_PREFIX) else criterion


def _metadata_of(
    session: Session, file_ids: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(file_ids))
    for start in range(0, len(unique), _SQL_CHUNK):
        rows = session.scalars(
            select(FileMetadata).where(
                FileMetadata.file_id.in_(unique[start : start + _SQL_CHUNK]),
                FileMetadata.key.in_(list(keys)),
            )
        )
        for row in rows:
            found.setdefault(row.file_id, {})[row.key] = row.value
    return found


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split(
    session: Session, batch_by: Mapping[str, Any], files: Sequence[dict[str, Any]]
) -> list[BatchGroup]:
    """Groups of the batch input's file objects (``{"class", "path", "name"?}``)."""
    if batch_by.get("type") == ITEM:
        return [
            BatchGroup(value=str(item.get("name") or item.get("path")), fields={}, files=[item])
            for item in files
        ]
    keys = [_metadata_key(str(criterion)) for criterion in batch_by.get("criteria") or []]
    metadata = _metadata_of(session, [str(item.get("path")) for item in files], keys)
    groups: dict[tuple[str, ...], BatchGroup] = {}
    for item in files:
        values = metadata.get(str(item.get("path")), {})
        fields = {key: values.get(key) for key in keys}
        signature = tuple(_as_text(fields[key]) for key in keys)
        group = groups.get(signature)
        if group is None:
            group = groups[signature] = BatchGroup(value=", ".join(signature), fields=fields)
        group.files.append(item)
    return list(groups.values())

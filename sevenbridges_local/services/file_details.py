"""Files service: one file's details, metadata and tags."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import File, FileMetadata, FileTag
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.file_access import (
    existing_entry,
    flush_new_name,
    holds_lock,
    load_file,
    lock_row,
    name_taken,
)
from sevenbridges_local.services.file_rules import (
    FOLDER_DETAILS,
    FOLDER_METADATA,
    FOLDER_TAGS,
    check_metadata,
    check_name,
    check_tags,
    match_text,
    merged_metadata,
    same_name,
)

# ---------------------------------------------------------------------------------------------
# One file


def get_file(ctx: ServiceContext, file_id: str) -> File:
    found, _ = load_file(ctx, file_id, "read")
    return found


def build_metadata_rows(metadata: dict[str, Any]) -> list[FileMetadata]:
    return [
        FileMetadata(key=key, value=value, match_value=match_text(value))
        for key, value in metadata.items()
        if value is not None
    ]


def build_tag_rows(tags: list[str]) -> list[FileTag]:
    return [FileTag(position=position, tag=tag) for position, tag in enumerate(tags)]


def _set_metadata(session: Session, record: File, metadata: dict[str, Any]) -> None:
    record.metadata_rows.clear()
    # Flush the removals first: the new rows may reuse the (file, key) primary keys.
    session.flush()
    record.metadata_rows.extend(build_metadata_rows(metadata))


def _set_tags(session: Session, record: File, tags: list[str]) -> None:
    record.tag_rows.clear()
    session.flush()
    record.tag_rows.extend(build_tag_rows(tags))


def lock_for_change(session: Session, record: File) -> None:
    """Hold ``record``'s row until the commit and re-read it (``file_access.lock_row``),
    unless this transaction already read it that way."""
    if not holds_lock(session, record.id):
        lock_row(session, record.id)


def _refresh(session: Session, record: File) -> File:
    flush_new_name(session, record.name)
    return record


class FileValues(TypedDict, total=False):
    """Writable file details as sent (types and sizes checked by the HTTP layer); absent keys
    are kept by a partial update and emptied by a replacing one."""

    name: str
    metadata: dict[str, Any]
    tags: list[str]


def apply_changes(ctx: ServiceContext, record: File, values: FileValues, *, replace: bool) -> File:
    """Name, metadata and tags of a writable file (not committed).

    ``replace``: metadata and tags that are not given become empty (PUT, bulk update);
    otherwise only given keys change and metadata is merged (PATCH, bulk edit).
    """
    name = values.get("name")
    metadata = values.get("metadata")
    tags = values.get("tags")
    if replace:
        metadata = {} if metadata is None else metadata
        tags = [] if tags is None else tags
    if metadata is not None:
        metadata = check_metadata(metadata)
    if tags is not None:
        tags = check_tags(tags)
    lock_for_change(ctx.session, record)
    if record.is_folder:
        # Folders carry only their name, and the platform does not let it change here.
        if name is not None and not same_name(name, record.name):
            raise errors.bad_request("A folder's details cannot be changed.", FOLDER_DETAILS)
        if metadata:
            raise errors.bad_request("Folders have no metadata.", FOLDER_METADATA)
        if tags:
            raise errors.bad_request("Folders have no tags.", FOLDER_TAGS)
        return record
    if name is not None and name != record.name:
        name = check_name(name)
        if record.parent_id is None:
            raise errors.bad_request("The root folder cannot be renamed.", FOLDER_DETAILS)
        existing = existing_entry(ctx.session, record.project_id, record.parent_id, name)
        if existing is not None and existing.id != record.id:
            raise name_taken(name, existing)
        record.name = name  # also turns a name stored in NFD before into NFC
    if metadata is not None:
        merged = merged_metadata(record.metadata_dict, metadata, replace=replace)
        _set_metadata(ctx.session, record, merged)
    if tags is not None:
        _set_tags(ctx.session, record, tags)
    record.modified_on = utcnow()
    return _refresh(ctx.session, record)


def update_file(ctx: ServiceContext, file_id: Any, values: FileValues, *, replace: bool) -> File:
    record, _ = load_file(ctx, file_id, "write", action="change files", lock=True)
    apply_changes(ctx, record, values, replace=replace)
    ctx.session.commit()
    return record


def get_metadata(ctx: ServiceContext, file_id: str) -> dict[str, Any]:
    return get_file(ctx, file_id).metadata_dict


def set_metadata(
    ctx: ServiceContext, file_id: str, metadata: dict[str, Any], *, replace: bool
) -> dict[str, Any]:
    record, _ = load_file(ctx, file_id, "write", action="change metadata", lock=True)
    if record.is_folder:
        raise errors.bad_request("Folders have no metadata.", FOLDER_METADATA)
    changes = check_metadata(metadata)
    # Only the metadata changes here: "replace" means the whole metadata object, not the tags.
    _set_metadata(
        ctx.session, record, merged_metadata(record.metadata_dict, changes, replace=replace)
    )
    record.modified_on = utcnow()
    ctx.session.commit()
    return record.metadata_dict


def set_tags(ctx: ServiceContext, file_id: str, tags: list[str]) -> list[str]:
    record, _ = load_file(ctx, file_id, "write", action="change tags", lock=True)
    if record.is_folder:
        raise errors.bad_request("Folders have no tags.", FOLDER_TAGS)
    check_tags(tags)
    apply_changes(ctx, record, {"tags": tags}, replace=False)
    ctx.session.commit()
    return record.tags

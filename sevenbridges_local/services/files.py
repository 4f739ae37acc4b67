"""Files and folders: listing with indexed filters, details, metadata, tags, copy, move, delete.

Permissions follow the platform: ``read`` to list and get, ``write`` to change or delete,
``copy`` to take a file's content out of its project: copy it (plus ``write`` on the
destination), download it, or move it to another project (plus ``write`` on both). Callers that
are not members of a file's project get 404, exactly as for a file that does not exist.

Every operation commits its own transaction, except the three helpers the transfer service
builds on (``resolve_destination``, ``create_file_record``, ``file_for_download``), which leave
the commit to their caller so an upload's completion and its new file land together.

The service is split along its seams, and this module re-exports all of it so that callers keep
using ``services.files``: ``file_rules`` (codes, names, metadata and tag rules), ``file_access``
(permissions, destinations, new records), ``file_listing`` (listings, scrolls), ``file_details``
(one file, metadata, tags) and ``file_copies`` (folders, copies, moves, deletes). The bulk
operations live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from sevenbridges_local import errors
from sevenbridges_local.db.files import File
from sevenbridges_local.limits import (
    MAX_BULK_ITEMS,
)
from sevenbridges_local.services import access
from sevenbridges_local.services.bulk import each_item
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.file_access import (
    create_file_record,
    file_for_download,
    flush_new_name,
    load_file,
    project_label,
    resolve_destination,
    same_name_in_folder,
)
from sevenbridges_local.services.file_copies import (
    copy_file,
    copy_file_now,
    copy_into,
    create_folder,
    delete_file,
    duplicate,
    move_file,
    relocate,
    remove,
)
from sevenbridges_local.services.file_details import (
    FileValues,
    apply_changes,
    get_file,
    get_metadata,
    set_metadata,
    set_tags,
    update_file,
)
from sevenbridges_local.services.file_listing import (
    FileFilters,
    ScrollPage,
    decode_token,
    encode_token,
    filtered_statement,
    folder_statement,
    list_files,
    list_folder,
    listing_scope,
    scroll_files,
    scroll_folder,
)
from sevenbridges_local.services.file_rules import (
    COPY_FORBIDDEN,
    DESTINATION_NOT_FOUND,
    FILE_EXISTS,
    FILE_FORBIDDEN,
    FILE_ID_EMPTY,
    FILE_NOT_FOUND,
    FOLDER_COPY,
    FOLDER_DETAILS,
    FOLDER_DOWNLOAD,
    FOLDER_EXISTS,
    FOLDER_METADATA,
    FOLDER_NOT_EMPTY,
    FOLDER_TAGS,
    INVALID_REQUEST,
    METADATA_INVALID,
    METADATA_KEY_EMPTY,
    MOVE_ACROSS_PROJECTS,
    MOVE_FORBIDDEN,
    NAME_INVALID,
    NAME_MAX_BYTES,
    PARENT_AND_PROJECT,
    PARENT_NOT_FOLDER,
    PARENT_OR_PROJECT_REQUIRED,
    PROJECT_QUERY_MALFORMED,
    SCROLL_INIT_TOKEN,
    TYPE_INVALID,
    UPLOAD_FILE_EXISTS,
    check_metadata,
    check_name,
    check_tags,
    match_text,
    merged_metadata,
    name_variants,
    safe_name,
    split_project_id,
)

__all__ = [
    "COPY_FORBIDDEN",
    "DESTINATION_NOT_FOUND",
    "FILE_EXISTS",
    "FILE_FORBIDDEN",
    "FILE_ID_EMPTY",
    "FILE_NOT_FOUND",
    "FOLDER_COPY",
    "FOLDER_DETAILS",
    "FOLDER_DOWNLOAD",
    "FOLDER_EXISTS",
    "FOLDER_METADATA",
    "FOLDER_NOT_EMPTY",
    "FOLDER_TAGS",
    "FileChange",
    "FileFilters",
    "FileValues",
    "INVALID_REQUEST",
    "METADATA_INVALID",
    "METADATA_KEY_EMPTY",
    "MOVE_ACROSS_PROJECTS",
    "MOVE_FORBIDDEN",
    "NAME_INVALID",
    "NAME_MAX_BYTES",
    "PARENT_AND_PROJECT",
    "PARENT_NOT_FOLDER",
    "PARENT_OR_PROJECT_REQUIRED",
    "PROJECT_QUERY_MALFORMED",
    "SCROLL_INIT_TOKEN",
    "ScrollPage",
    "TYPE_INVALID",
    "UPLOAD_FILE_EXISTS",
    "apply_changes",
    "bulk_change",
    "bulk_delete",
    "bulk_get",
    "check_bulk_size",
    "check_metadata",
    "check_name",
    "check_tags",
    "copy_file",
    "copy_file_now",
    "copy_into",
    "create_file_record",
    "create_folder",
    "decode_token",
    "delete_file",
    "duplicate",
    "encode_token",
    "file_for_download",
    "filtered_statement",
    "flush_new_name",
    "folder_statement",
    "get_file",
    "get_metadata",
    "list_files",
    "list_folder",
    "listing_scope",
    "load_file",
    "match_text",
    "merged_metadata",
    "move_file",
    "name_variants",
    "project_label",
    "readable_project_ids",
    "relocate",
    "remove",
    "resolve_destination",
    "safe_name",
    "same_name_in_folder",
    "scroll_files",
    "scroll_folder",
    "set_metadata",
    "set_tags",
    "split_project_id",
    "update_file",
]


# ---------------------------------------------------------------------------------------------
# Bulk operations: one result per requested item, in request order


BulkResult = File | dict[str, Any] | errors.ApiError


def check_bulk_size(items: Sequence[Any], what: str) -> None:
    if len(items) > MAX_BULK_ITEMS:
        raise errors.bad_request(
            f"At most {MAX_BULK_ITEMS} {what} per bulk request; got {len(items)}."
        )


def bulk_get(ctx: ServiceContext, file_ids: Sequence[Any]) -> list[BulkResult]:
    check_bulk_size(file_ids, "files")
    return each_item(ctx, file_ids, lambda file_id: get_file(ctx, file_id))


def bulk_delete(ctx: ServiceContext, file_ids: Sequence[Any]) -> list[BulkResult]:
    check_bulk_size(file_ids, "files")

    def delete_one(file_id: Any) -> dict[str, Any]:
        delete_file(ctx, file_id)
        return {"id": file_id}

    return each_item(ctx, file_ids, delete_one)


@dataclass(frozen=True)
class FileChange:
    """One item of a bulk update or edit: which file (as sent: a bad id fails this item only)
    and its new details."""

    file_id: Any
    values: FileValues


def bulk_change(
    ctx: ServiceContext, items: Sequence[FileChange], *, replace: bool
) -> list[BulkResult]:
    check_bulk_size(items, "items")

    def change_one(item: FileChange) -> File:
        return update_file(ctx, item.file_id, item.values, replace=replace)

    return each_item(ctx, items, change_one)


def readable_project_ids(ctx: ServiceContext) -> Select[Any]:
    return access.project_ids(ctx.actor.user_id, "read")

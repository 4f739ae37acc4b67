"""Files service: new folders, copies, moves and deletes.

Copies share the source's blob (objects are immutable); a delete releases blobs that lost
their last file through a background job (``folders.release_blobs``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import FILE_TYPE, FOLDER_TYPE, File
from sevenbridges_local.db.models import Project
from sevenbridges_local.services import folders
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.file_access import (
    existing_entry,
    flush_new_name,
    load_file,
    name_taken,
    require_permission,
    resolve_destination,
)
from sevenbridges_local.services.file_details import (
    build_metadata_rows,
    build_tag_rows,
)
from sevenbridges_local.services.file_listing import (
    folder_statement,
)
from sevenbridges_local.services.file_rules import (
    COPY_FORBIDDEN,
    FOLDER_COPY,
    FOLDER_EXISTS,
    FOLDER_NOT_EMPTY,
    INVALID_REQUEST,
    MOVE_ACROSS_PROJECTS,
    MOVE_FORBIDDEN,
    SQL_CHUNK,
    TYPE_INVALID,
    check_name,
)


def create_folder(
    ctx: ServiceContext,
    *,
    name: Any,
    parent: str | None,
    project: str | None,
    folder_type: Any = FOLDER_TYPE,
) -> File:
    if not isinstance(folder_type, str) or folder_type.lower() != FOLDER_TYPE:
        raise errors.bad_request(
            "Only folders can be created here: 'type' must be 'folder'.", TYPE_INVALID
        )
    name = check_name(name, what="folder")
    destination, parent_folder = resolve_destination(
        ctx, project, parent, action="create folders in it"
    )
    assert parent_folder is not None
    existing = existing_entry(ctx.session, destination.id, parent_folder.id, name)
    if existing is not None:
        raise name_taken(name, existing)
    now = utcnow()
    folder = File(
        id=folders.new_file_id(),
        project_id=destination.id,
        parent_id=parent_folder.id,
        name=name,
        type=FOLDER_TYPE,
        size=0,
        origin={},
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(folder)
    flush_new_name(ctx.session, name, FOLDER_EXISTS)
    ctx.session.commit()
    return folder


def duplicate(ctx: ServiceContext, source: File, project: Project, parent: File, name: str) -> File:
    """A copy of ``source`` (a file) under ``parent``; content shared by blob key."""
    now = utcnow()
    copied = File(
        id=folders.new_file_id(),
        project_id=project.id,
        parent_id=parent.id,
        name=name,
        type=FILE_TYPE,
        size=source.size,
        blob_key=source.blob_key,
        origin=dict(source.origin or {}),
        origin_task=source.origin_task,
        storage=dict(source.storage) if source.storage else None,
        volume_id=source.volume_id,  # a copy of an alias is an alias of the same object
        created_on=now,
        modified_on=now,
    )
    copied.metadata_rows = build_metadata_rows(source.metadata_dict)
    copied.tag_rows = build_tag_rows(source.tags)
    ctx.session.add(copied)
    flush_new_name(ctx.session, name)
    return copied


def copy_into(ctx: ServiceContext, source: File, project: Project, parent: File, name: str) -> File:
    """Copy a file, or a folder with everything below it, under ``parent`` (not committed).

    The caller has checked permissions; names are checked for conflicts at the top level
    (below it the new folder is empty, so the source's unique names carry over).
    """
    existing = existing_entry(ctx.session, project.id, parent.id, name)
    if existing is not None:
        raise name_taken(name, existing)
    if not source.is_folder:
        return duplicate(ctx, source, project, parent, name)
    if folders.is_inside(ctx.session, parent.id, source.id):
        raise errors.bad_request(
            "A folder cannot be copied into itself or one of its subfolders.", INVALID_REQUEST
        )
    now = utcnow()
    copied = File(
        id=folders.new_file_id(),
        project_id=project.id,
        parent_id=parent.id,
        name=name,
        type=FOLDER_TYPE,
        size=0,
        origin={},
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(copied)
    flush_new_name(ctx.session, name)
    children = list(ctx.session.scalars(folder_statement(source)))
    for child in children:
        copy_into(ctx, child, project, copied, child.name)
    return copied


def copy_file(
    ctx: ServiceContext,
    file_id: str,
    *,
    project: str | None = None,
    parent: str | None = None,
    name: Any = None,
    allow_folders: bool = False,
) -> File:
    """Copy a file to a project or folder (folders too with ``allow_folders``; not committed)."""
    source, _ = load_file(ctx, file_id, "copy", code=COPY_FORBIDDEN, action="copy its files")
    if source.is_folder and (not allow_folders or source.parent_id is None):
        raise errors.bad_request("Folders cannot be copied this way.", FOLDER_COPY)
    destination, folder = resolve_destination(ctx, project, parent, action="copy files into it")
    assert folder is not None
    new_name = source.name if name is None else check_name(name)
    return copy_into(ctx, source, destination, folder, new_name)


def relocate(
    ctx: ServiceContext,
    file_id: str,
    *,
    parent: str | None = None,
    project: str | None = None,
    name: Any = None,
    allow_cross_project: bool = False,
) -> File:
    """Move and/or rename a file or folder (not committed); no destination: stays put."""
    record, membership = load_file(
        ctx, file_id, "write", code=MOVE_FORBIDDEN, action="move its files"
    )
    if record.parent_id is None:
        raise errors.bad_request("The project's root folder cannot be moved.", INVALID_REQUEST)
    if parent is None and project is None:
        destination, folder = record.project, ctx.session.get(File, record.parent_id)
    else:
        destination, folder = resolve_destination(
            ctx, project, parent, code=MOVE_FORBIDDEN, action="move files into it"
        )
    assert folder is not None
    if destination.id != record.project_id:
        if not allow_cross_project:
            raise errors.bad_request(
                "Files can only be moved within their project.", MOVE_ACROSS_PROJECTS
            )
        # Moving data out of a project takes it out as a copy or a download would.
        require_permission(
            membership,
            record.project,
            "copy",
            MOVE_FORBIDDEN,
            "move its files to another project",
        )
    if record.is_folder and folders.is_inside(ctx.session, folder.id, record.id):
        raise errors.bad_request(
            "A folder cannot be moved into itself or one of its subfolders.", INVALID_REQUEST
        )
    new_name = record.name if name is None else check_name(name)
    if folder.id == record.parent_id and new_name == record.name:
        return record  # already there
    existing = existing_entry(ctx.session, destination.id, folder.id, new_name)
    if existing is not None and existing.id != record.id:
        raise name_taken(new_name, existing)
    if destination.id != record.project_id:
        moved_ids = [record.id, *folders.subtree_ids(ctx.session, record.id)]
        for start in range(0, len(moved_ids), SQL_CHUNK):
            chunk = moved_ids[start : start + SQL_CHUNK]
            for row in ctx.session.scalars(select(File).where(File.id.in_(chunk))):
                row.project_id = destination.id
    record.parent_id = folder.id
    record.name = new_name
    record.modified_on = utcnow()
    flush_new_name(ctx.session, new_name)
    return record


def move_file(
    ctx: ServiceContext,
    file_id: str,
    *,
    parent: str | None = None,
    project: str | None = None,
    name: Any = None,
) -> File:
    moved = relocate(ctx, file_id, parent=parent, project=project, name=name)
    ctx.session.commit()
    return moved


def copy_file_now(
    ctx: ServiceContext,
    file_id: str,
    *,
    project: str | None = None,
    parent: str | None = None,
    name: Any = None,
) -> File:
    """``POST /files/{id}/actions/copy``: one file, committed."""
    copied = copy_file(ctx, file_id, project=project, parent=parent, name=name)
    ctx.session.commit()
    return copied


def remove(ctx: ServiceContext, record: File, *, recursive: bool = False) -> None:
    """Delete a file or folder (not committed); blobs left without a file are released."""
    if record.parent_id is None:
        raise errors.bad_request("The project's root folder cannot be deleted.", INVALID_REQUEST)
    keys: list[str | None] = [record.blob_key]
    if record.is_folder:
        below = folders.subtree_ids(ctx.session, record.id)
        if below and not recursive:
            raise errors.bad_request("Only empty folders can be deleted.", FOLDER_NOT_EMPTY)
        for start in range(0, len(below), SQL_CHUNK):
            chunk = below[start : start + SQL_CHUNK]
            keys.extend(
                ctx.session.scalars(
                    select(File.blob_key).where(File.id.in_(chunk), File.blob_key.is_not(None))
                )
            )
    folders.release_blobs(ctx.session, keys)
    # The database cascades to subfolders, metadata and tags.
    ctx.session.delete(record)
    ctx.session.flush()


def delete_file(ctx: ServiceContext, file_id: str) -> None:
    record, _ = load_file(ctx, file_id, "write", action="delete its files")
    remove(ctx, record)
    ctx.session.commit()

"""Files service: who may reach a file or a destination folder, and new file records.

``resolve_destination``, ``create_file_record`` and ``file_for_download`` leave the commit to
their caller (the transfer service), so an upload's completion and its new file land together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import FILE_TYPE, File
from sevenbridges_local.db.models import Project, ProjectMember
from sevenbridges_local.services import access, folders
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.file_rules import (
    DESTINATION_NOT_FOUND,
    FILE_EXISTS,
    FILE_FORBIDDEN,
    FILE_ID_EMPTY,
    FILE_NOT_FOUND,
    FOLDER_DOWNLOAD,
    FOLDER_EXISTS,
    PARENT_AND_PROJECT,
    PARENT_NOT_FOLDER,
    PARENT_OR_PROJECT_REQUIRED,
    UPLOAD_FILE_EXISTS,
    check_name,
    name_variants,
    split_project_id,
)
from sevenbridges_local.services.projects import project_membership

# ---------------------------------------------------------------------------------------------
# Access


def _membership(session: Session, project_id: int, user_id: int) -> Access | None:
    # A dataset's readers read (and with ``copy``, copy and download) its source project's files.
    return access.project_files_access(session, project_id, user_id)


def _not_found(file_id: str) -> errors.ApiError:
    return errors.not_found(f"File '{file_id}' does not exist.", FILE_NOT_FOUND)


def load_file(
    ctx: ServiceContext,
    file_id: Any,
    permission: str = "read",
    *,
    code: int = FILE_FORBIDDEN,
    action: str = "do this",
    lock: bool = False,
) -> tuple[File, ProjectMember]:
    """The file and the caller's membership of its project, with ``permission`` checked.

    ``lock``: read it with its row locked until the commit (see ``lock_row``), for a change
    that starts from its current metadata or tags."""
    if not isinstance(file_id, str) or not file_id.strip():
        raise errors.bad_request("File id must not be empty.", FILE_ID_EMPTY)
    found = lock_row(ctx.session, file_id) if lock else ctx.session.get(File, file_id)
    membership = _membership(ctx.session, found.project_id, ctx.actor.user_id) if found else None
    if found is None or membership is None or not membership.read:
        raise _not_found(file_id)
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on project '{project_label(found.project)}'"
            f" to {action}.",
            code,
        )
    return found, membership


# session.info key: the transaction and the ids of the files whose rows it holds locked.
LOCKED_FILES = "locked_file_ids"


def holds_lock(session: Session, file_id: str) -> bool:
    """Whether this session's current transaction has read ``file_id`` with ``lock_row``."""
    transaction, ids = session.info.get(LOCKED_FILES, (None, ()))
    return transaction is not None and transaction is session.get_transaction() and file_id in ids


def lock_row(session: Session, file_id: str) -> File | None:
    """The file read afresh with its row locked until the commit (PostgreSQL ``FOR UPDATE``;
    SQLite's writers already run one at a time), or None.

    Writers of one file's metadata or tags take turns this way. Without it two PostgreSQL
    transactions merge into the values each read before the other committed (a lost key), and
    both re-insert rows under the same (file, key) or (file, position) primary keys.
    """
    session.flush()  # changes made earlier in this transaction must survive the re-read
    found = session.get(File, file_id, with_for_update={"of": File}, populate_existing=True)
    if found is not None:
        transaction = session.get_transaction()
        held, ids = session.info.get(LOCKED_FILES, (None, set()))
        if held is not transaction:
            ids = set()
        ids.add(found.id)
        session.info[LOCKED_FILES] = (transaction, ids)
    return found


def project_label(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


def project_for(ctx: ServiceContext, project_id: Any) -> tuple[Project, ProjectMember]:
    owner, slug = split_project_id(project_id)
    return project_membership(ctx, owner, slug)


def require_permission(
    membership: ProjectMember, project: Project, permission: str, code: int, action: str
) -> None:
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on project '{project_label(project)}'"
            f" to {action}.",
            code,
        )


def folder_for(
    ctx: ServiceContext, folder_id: Any, *, missing_code: int = DESTINATION_NOT_FOUND
) -> tuple[File, ProjectMember]:
    """A folder the caller can see; 404 with ``missing_code``, 400/5022 for a file."""
    if not isinstance(folder_id, str) or not folder_id.strip():
        raise errors.bad_request("Folder id must not be empty.", FILE_ID_EMPTY)
    folder = ctx.session.get(File, folder_id)
    membership = _membership(ctx.session, folder.project_id, ctx.actor.user_id) if folder else None
    if folder is None or membership is None or not membership.read:
        raise errors.not_found(f"Folder '{folder_id}' does not exist.", missing_code)
    if not folder.is_folder:
        raise errors.bad_request(f"'{folder_id}' is a file, not a folder.", PARENT_NOT_FOLDER)
    return folder, membership


def root_of(ctx: ServiceContext, project: Project) -> File:
    root = folders.root_folder(ctx.session, project.id)
    if root is None:  # projects always get one; heal a database that somehow lacks it
        root = folders.create_root_folder(ctx.session, project)
        ctx.session.flush()
    return root


def resolve_destination(
    ctx: ServiceContext,
    project: str | None,
    parent: str | None,
    *,
    permission: str = "write",
    code: int = FILE_FORBIDDEN,
    action: str = "add files to it",
) -> tuple[Project, File | None]:
    """Where new files go: ``project`` (its root folder) xor ``parent`` (a folder).

    ``permission`` is checked on the destination project. The folder returned is never None
    here (the root folder stands for the project); the Optional keeps the shared contract.
    """
    if project is not None and parent is not None:
        raise errors.bad_request("Give either 'project' or 'parent', not both.", PARENT_AND_PROJECT)
    if project is None and parent is None:
        raise errors.bad_request(
            "A destination is needed: give 'project' or 'parent'.", PARENT_OR_PROJECT_REQUIRED
        )
    if parent is not None:
        folder, membership = folder_for(ctx, parent)
        destination = folder.project
    else:
        destination, membership = project_for(ctx, project)
        folder = root_of(ctx, destination)
    require_permission(membership, destination, permission, code, action)
    return destination, folder


def same_name_in_folder(project_id: int, parent_id: str, name: str) -> Select[Any]:
    """Entries of a folder named ``name`` in any normalisation (see ``name_variants``)."""
    return select(File).where(
        File.project_id == project_id,
        File.parent_id == parent_id,
        File.name.in_(name_variants(name)),
    )


def existing_entry(session: Session, project_id: int, parent_id: str, name: str) -> File | None:
    return session.scalars(same_name_in_folder(project_id, parent_id, name)).first()


def name_taken(name: str, existing: File) -> errors.ApiError:
    if existing.is_folder:
        return errors.conflict(f"A folder named '{name}' already exists there.", FOLDER_EXISTS)
    return errors.conflict(f"A file named '{name}' already exists there.", FILE_EXISTS)


def flush_new_name(session: Session, name: str, code: int = FILE_EXISTS) -> None:
    """Flush; a unique-name violation (a concurrent writer took the name) becomes a 409."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise errors.conflict(f"An item named '{name}' was just created there.", code)


def create_file_record(
    ctx: ServiceContext,
    *,
    project: Project,
    folder: File | None,
    name: str,
    size: int,
    blob_key: str | None,
    overwrite: bool,
    origin: dict[str, Any] | None = None,
    conflict_code: int = UPLOAD_FILE_EXISTS,
    storage: dict[str, Any] | None = None,
    volume_id: int | None = None,
) -> File:
    """A new file whose content is the blob ``blob_key``; flushed, committed by the caller.

    An existing file of that name is replaced when ``overwrite`` (its blob is released once
    nothing refers to it); otherwise, or when the name belongs to a folder, 409.
    """
    name = check_name(name)
    parent = folder or root_of(ctx, project)
    existing = existing_entry(ctx.session, project.id, parent.id, name)
    if existing is not None:
        if existing.is_folder:
            raise errors.conflict(f"A folder named '{name}' already exists there.", conflict_code)
        if not overwrite:
            raise errors.conflict(f"A file named '{name}' already exists there.", conflict_code)
        folders.release_blobs(ctx.session, [existing.blob_key])
        ctx.session.delete(existing)
        ctx.session.flush()  # free the name before the new row takes it
    now = utcnow()
    origin = dict(origin or {})
    record = File(
        id=folders.new_file_id(),
        project_id=project.id,
        parent_id=parent.id,
        name=name,
        type=FILE_TYPE,
        size=size,
        blob_key=blob_key,
        origin=origin,
        origin_task=_origin_task(origin),
        storage=storage,  # a volume alias: no blob, the content stays in the bucket
        volume_id=volume_id,
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(record)
    flush_new_name(ctx.session, name, conflict_code)
    return record


def file_for_download(ctx: ServiceContext, file_id: str) -> File:
    """A file whose content the caller may take out of its project: the ``copy`` permission,
    as for copying it elsewhere (403/5001 without it); folders have no content (400/5017)."""
    found, _ = load_file(ctx, file_id, "copy", action="download its files")
    if found.is_folder:
        raise errors.bad_request("A folder cannot be downloaded.", FOLDER_DOWNLOAD)
    return found


def _origin_task(origin: dict[str, Any]) -> str | None:
    task = origin.get("task")
    return task if isinstance(task, str) and task else None

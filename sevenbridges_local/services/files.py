"""Files and folders: listing with indexed filters, details, metadata, tags, copy, move, delete.

Permissions follow the platform: ``read`` to list and get, ``write`` to change or delete,
``copy`` to take a file's content out of its project: copy it (plus ``write`` on the
destination), download it, or move it to another project (plus ``write`` on both). Callers that
are not members of a file's project get 404, exactly as for a file that does not exist.

Every operation commits its own transaction, except the three helpers the transfer service
builds on (``resolve_destination``, ``create_file_record``, ``file_for_download``), which leave
the commit to their caller so an upload's completion and its new file land together.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from sqlalchemy import Select, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sevenbridges_local import errors, strict_json
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import FILE_TYPE, FOLDER_TYPE, File, FileMetadata, FileTag
from sevenbridges_local.db.models import Project, ProjectMember
from sevenbridges_local.limits import (
    MAX_BULK_ITEMS,
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_TAG_LENGTH,
)
from sevenbridges_local.services import access, folders
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.bulk import each_item
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.datasets import dataset_access
from sevenbridges_local.services.names import (
    disguising_character,
    is_disguising,
    truncate_utf8,
    utf8_length,
)
from sevenbridges_local.services.projects import project_membership

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
_SQL_CHUNK = 500  # ids per IN (...) list, below every database's bound-parameter limit

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


def _same_name(given: Any, stored: str) -> bool:
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
) -> tuple[File, ProjectMember]:
    """The file and the caller's membership of its project, with ``permission`` checked."""
    if not isinstance(file_id, str) or not file_id.strip():
        raise errors.bad_request("File id must not be empty.", FILE_ID_EMPTY)
    found = ctx.session.get(File, file_id)
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


def project_label(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


def _project_for(ctx: ServiceContext, project_id: Any) -> tuple[Project, ProjectMember]:
    owner, slug = split_project_id(project_id)
    return project_membership(ctx, owner, slug)


def _require(
    membership: ProjectMember, project: Project, permission: str, code: int, action: str
) -> None:
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on project '{project_label(project)}'"
            f" to {action}.",
            code,
        )


def _folder_for(
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


def _root_of(ctx: ServiceContext, project: Project) -> File:
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
        folder, membership = _folder_for(ctx, parent)
        destination = folder.project
    else:
        destination, membership = _project_for(ctx, project)
        folder = _root_of(ctx, destination)
    _require(membership, destination, permission, code, action)
    return destination, folder


def same_name_in_folder(project_id: int, parent_id: str, name: str) -> Select[Any]:
    """Entries of a folder named ``name`` in any normalisation (see ``name_variants``)."""
    return select(File).where(
        File.project_id == project_id,
        File.parent_id == parent_id,
        File.name.in_(name_variants(name)),
    )


def _existing(session: Session, project_id: int, parent_id: str, name: str) -> File | None:
    return session.scalars(same_name_in_folder(project_id, parent_id, name)).first()


def _name_taken(name: str, existing: File) -> errors.ApiError:
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
    parent = folder or _root_of(ctx, project)
    existing = _existing(ctx.session, project.id, parent.id, name)
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


# ---------------------------------------------------------------------------------------------
# Listing


@dataclass
class FileFilters:
    """Query filters: names and tags match any of the values; metadata and origin keys must all
    match (any of the values given for one key)."""

    names: list[str] = field(default_factory=list)
    metadata: dict[str, list[str]] = field(default_factory=dict)
    origin: dict[str, list[str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def filtered_statement(statement: Select[Any], filters: FileFilters) -> Select[Any]:
    """Add the filters; each one is an index lookup (names, metadata key/value, tag, task)."""
    # A name given in any normalisation finds the file, also one stored before names were NFC.
    names = [variant for name in filters.names if name for variant in name_variants(name)]
    if names:
        statement = statement.where(File.name.in_(names))
    for key, values in filters.metadata.items():
        statement = statement.where(
            File.id.in_(
                select(FileMetadata.file_id).where(
                    FileMetadata.key == key, FileMetadata.match_value.in_(values)
                )
            )
        )
    for key, values in filters.origin.items():
        if key == "task":
            statement = statement.where(File.origin_task.in_(values))
        else:
            statement = statement.where(File.origin[key].as_string().in_(values))
    tags = [tag for tag in filters.tags if tag]
    if tags:
        statement = statement.where(
            File.id.in_(select(FileTag.file_id).where(FileTag.tag.in_(tags)))
        )
    return statement


def folder_statement(folder: File, filters: FileFilters | None = None) -> Select[Any]:
    """The direct children of ``folder`` (files and subfolders), by name."""
    statement = select(File).where(
        File.project_id == folder.project_id, File.parent_id == folder.id
    )
    if filters is not None:
        statement = filtered_statement(statement, filters)
    return statement.order_by(File.name)


def listing_scope(
    ctx: ServiceContext, *, project: str | None, parent: str | None, dataset: str | None
) -> File | None:
    """The folder a ``GET /files`` lists: a project's root folder, ``parent``, or the root of the
    project a dataset was published from (None: that project is gone, the dataset is empty)."""
    given = [name for name, value in (("project", project), ("parent", parent)) if value]
    if dataset:
        if given:
            raise errors.bad_request(
                "Give exactly one of 'project', 'parent' and 'dataset'.", PARENT_AND_PROJECT
            )
        return _dataset_root(ctx, dataset)
    if len(given) == 2:
        raise errors.bad_request("Give either 'project' or 'parent', not both.", PARENT_AND_PROJECT)
    if not given:
        raise errors.bad_request(
            "Listing files needs 'project' or 'parent'.", PARENT_OR_PROJECT_REQUIRED
        )
    if parent:
        folder, _ = _folder_for(ctx, parent, missing_code=FILE_NOT_FOUND)
        return folder
    destination, _ = _project_for(ctx, project)
    return _root_of(ctx, destination)


def _dataset_root(ctx: ServiceContext, dataset: str) -> File | None:
    owner, _, slug = dataset.partition("/")
    if not owner or not slug:
        raise errors.not_found(f"Dataset '{dataset}' does not exist.", errors.DATASET_NOT_FOUND)
    found, held = dataset_access(ctx, owner, slug)
    if not held.read:
        raise errors.not_found(f"Dataset '{dataset}' does not exist.", errors.DATASET_NOT_FOUND)
    return _root_of(ctx, found.project) if found.project is not None else None


def _listed(folder: File | None, filters: FileFilters | None) -> Select[Any]:
    if folder is None:
        return select(File).where(false()).order_by(File.name)
    return folder_statement(folder, filters)


def list_files(
    ctx: ServiceContext,
    page: PageRequest,
    *,
    project: str | None = None,
    parent: str | None = None,
    dataset: str | None = None,
    filters: FileFilters | None = None,
) -> Page[File]:
    folder = listing_scope(ctx, project=project, parent=parent, dataset=dataset)
    return paginate(ctx.session, _listed(folder, filters), page)


def list_folder(ctx: ServiceContext, folder_id: str, page: PageRequest) -> Page[File]:
    folder = _listable_folder(ctx, folder_id)
    return paginate(ctx.session, folder_statement(folder), page)


def _listable_folder(ctx: ServiceContext, folder_id: str) -> File:
    found, _ = load_file(ctx, folder_id, "read", action="list it")
    if not found.is_folder:
        raise errors.bad_request(f"'{folder_id}' is a file, not a folder.", PARENT_NOT_FOLDER)
    return found


@dataclass
class ScrollPage:
    items: Sequence[File]
    total: int
    next_token: str | None


def encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        payload = None
    # A token is the client's text: its JSON may escape a lone surrogate, which no query can use.
    if not isinstance(payload, dict) or strict_json.find_unpaired_surrogate(payload) is not None:
        raise errors.bad_request(f"Invalid continuation token '{token}'.", INVALID_REQUEST)
    return payload


def _scroll(session: Session, statement: Select[Any], token: str | None, limit: int) -> ScrollPage:
    """Keyset paging by name (unique within a folder): no offset, stable under inserts."""
    counted = statement.order_by(None).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    if token and token != SCROLL_INIT_TOKEN:
        after = decode_token(token).get("after")
        if not isinstance(after, str):
            raise errors.bad_request(f"Invalid continuation token '{token}'.", INVALID_REQUEST)
        statement = statement.where(File.name > after)
    rows = list(session.scalars(statement.limit(limit + 1)).unique())
    next_token = encode_token({"after": rows[limit - 1].name}) if len(rows) > limit else None
    return ScrollPage(items=rows[:limit], total=total, next_token=next_token)


def scroll_files(
    ctx: ServiceContext,
    *,
    token: str | None,
    limit: int,
    project: str | None = None,
    parent: str | None = None,
    dataset: str | None = None,
    filters: FileFilters | None = None,
) -> ScrollPage:
    folder = listing_scope(ctx, project=project, parent=parent, dataset=dataset)
    return _scroll(ctx.session, _listed(folder, filters), token, limit)


def scroll_folder(
    ctx: ServiceContext, folder_id: str, *, token: str | None, limit: int
) -> ScrollPage:
    folder = _listable_folder(ctx, folder_id)
    return _scroll(ctx.session, folder_statement(folder), token, limit)


# ---------------------------------------------------------------------------------------------
# One file


def get_file(ctx: ServiceContext, file_id: str) -> File:
    found, _ = load_file(ctx, file_id, "read")
    return found


def _metadata_rows(metadata: dict[str, Any]) -> list[FileMetadata]:
    return [
        FileMetadata(key=key, value=value, match_value=match_text(value))
        for key, value in metadata.items()
        if value is not None
    ]


def _tag_rows(tags: list[str]) -> list[FileTag]:
    return [FileTag(position=position, tag=tag) for position, tag in enumerate(tags)]


def _set_metadata(session: Session, record: File, metadata: dict[str, Any]) -> None:
    record.metadata_rows.clear()
    # Flush the removals first: the new rows may reuse the (file, key) primary keys.
    session.flush()
    record.metadata_rows.extend(_metadata_rows(metadata))


def _set_tags(session: Session, record: File, tags: list[str]) -> None:
    record.tag_rows.clear()
    session.flush()
    record.tag_rows.extend(_tag_rows(tags))


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
    if record.is_folder:
        # Folders carry only their name, and the platform does not let it change here.
        if name is not None and not _same_name(name, record.name):
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
        existing = _existing(ctx.session, record.project_id, record.parent_id, name)
        if existing is not None and existing.id != record.id:
            raise _name_taken(name, existing)
        record.name = name  # also turns a name stored in NFD before into NFC
    if metadata is not None:
        merged = merged_metadata(record.metadata_dict, metadata, replace=replace)
        _set_metadata(ctx.session, record, merged)
    if tags is not None:
        _set_tags(ctx.session, record, tags)
    record.modified_on = utcnow()
    return _refresh(ctx.session, record)


def update_file(ctx: ServiceContext, file_id: Any, values: FileValues, *, replace: bool) -> File:
    record, _ = load_file(ctx, file_id, "write", action="change files")
    apply_changes(ctx, record, values, replace=replace)
    ctx.session.commit()
    return record


def get_metadata(ctx: ServiceContext, file_id: str) -> dict[str, Any]:
    return get_file(ctx, file_id).metadata_dict


def set_metadata(
    ctx: ServiceContext, file_id: str, metadata: dict[str, Any], *, replace: bool
) -> dict[str, Any]:
    record, _ = load_file(ctx, file_id, "write", action="change metadata")
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
    record, _ = load_file(ctx, file_id, "write", action="change tags")
    if record.is_folder:
        raise errors.bad_request("Folders have no tags.", FOLDER_TAGS)
    check_tags(tags)
    apply_changes(ctx, record, {"tags": tags}, replace=False)
    ctx.session.commit()
    return record.tags


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
    existing = _existing(ctx.session, destination.id, parent_folder.id, name)
    if existing is not None:
        raise _name_taken(name, existing)
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
    copied.metadata_rows = _metadata_rows(source.metadata_dict)
    copied.tag_rows = _tag_rows(source.tags)
    ctx.session.add(copied)
    flush_new_name(ctx.session, name)
    return copied


def copy_into(ctx: ServiceContext, source: File, project: Project, parent: File, name: str) -> File:
    """Copy a file, or a folder with everything below it, under ``parent`` (not committed).

    The caller has checked permissions; names are checked for conflicts at the top level
    (below it the new folder is empty, so the source's unique names carry over).
    """
    existing = _existing(ctx.session, project.id, parent.id, name)
    if existing is not None:
        raise _name_taken(name, existing)
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
        _require(
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
    existing = _existing(ctx.session, destination.id, folder.id, new_name)
    if existing is not None and existing.id != record.id:
        raise _name_taken(new_name, existing)
    if destination.id != record.project_id:
        moved_ids = [record.id, *folders.subtree_ids(ctx.session, record.id)]
        for start in range(0, len(moved_ids), _SQL_CHUNK):
            chunk = moved_ids[start : start + _SQL_CHUNK]
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
        for start in range(0, len(below), _SQL_CHUNK):
            chunk = below[start : start + _SQL_CHUNK]
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

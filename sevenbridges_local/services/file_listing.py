"""Files service: listing a project, a folder or a dataset (indexed filters, pages, scrolls)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors, strict_json
from sevenbridges_local.db.files import File, FileMetadata, FileTag
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.datasets import dataset_access
from sevenbridges_local.services.file_access import (
    folder_for,
    load_file,
    project_for,
    root_of,
)
from sevenbridges_local.services.file_rules import (
    FILE_NOT_FOUND,
    INVALID_REQUEST,
    PARENT_AND_PROJECT,
    PARENT_NOT_FOLDER,
    PARENT_OR_PROJECT_REQUIRED,
    SCROLL_INIT_TOKEN,
    name_variants,
)

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
        folder, _ = folder_for(ctx, parent, missing_code=FILE_NOT_FOUND)
        return folder
    destination, _ = project_for(ctx, project)
    return root_of(ctx, destination)


def _dataset_root(ctx: ServiceContext, dataset: str) -> File | None:
    owner, _, slug = dataset.partition("/")
    if not owner or not slug:
        raise errors.not_found(f"Dataset '{dataset}' does not exist.", errors.DATASET_NOT_FOUND)
    found, held = dataset_access(ctx, owner, slug)
    if not held.read:
        raise errors.not_found(f"Dataset '{dataset}' does not exist.", errors.DATASET_NOT_FOUND)
    return root_of(ctx, found.project) if found.project is not None else None


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

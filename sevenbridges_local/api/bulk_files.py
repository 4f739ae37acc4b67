"""Bulk file operations: ``POST /bulk/files/get|delete|update|edit`` (at most 100 items).

The request is checked as a whole (shape, types, sizes): a malformed one changes nothing.
Problems of one item (missing file, no permission, name taken or invalid) are that item's
``error`` in the answer, and the other items go ahead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.body_types import ItemId, Tags
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, at_most
from sevenbridges_local.api.deps import ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import bulk_item_json
from sevenbridges_local.api.files import FileMetadata, FileName, notify_workers
from sevenbridges_local.api.shapes import api_root
from sevenbridges_local.limits import MAX_BULK_ITEMS
from sevenbridges_local.services import files

router = APIRouter(tags=["files"], route_class=BoundaryRoute)


class FileIdsBody(RequestBody):
    file_ids: Annotated[list[ItemId], at_most(MAX_BULK_ITEMS)]


class BulkItem(RequestBody):
    """One file's new details; an item without ``id`` fails on its own (5004)."""

    id: ItemId = None
    name: FileName = None
    metadata: FileMetadata = None
    tags: Tags | None = None

    def change(self) -> files.FileChange:
        sent = self.model_dump(include={"name", "metadata", "tags"}, exclude_none=True)
        return files.FileChange(file_id=self.id, values=files.FileValues(**sent))


class BulkChangesBody(RequestBody):
    items: Annotated[list[BulkItem], at_most(MAX_BULK_ITEMS)]


def _bulk_response(request: Request, outcomes: list[files.BulkResult]) -> JSONResponse:
    root = api_root(request)
    return JSONResponse({"items": [bulk_item_json(root, outcome) for outcome in outcomes]})


@router.post("/bulk/files/get", summary="Several files by id")
def bulk_get(request: Request, ctx: ReadContext, body: FileIdsBody) -> JSONResponse:
    return _bulk_response(request, files.bulk_get(ctx, body.file_ids))


@router.post("/bulk/files/delete", summary="Delete several files")
def bulk_delete(request: Request, ctx: WriteContext, body: FileIdsBody) -> JSONResponse:
    outcomes = files.bulk_delete(ctx, body.file_ids)
    notify_workers(request)
    return _bulk_response(request, outcomes)


@router.post("/bulk/files/update", summary="Replace name, tags and metadata of several files")
def bulk_update(request: Request, ctx: WriteContext, body: BulkChangesBody) -> JSONResponse:
    changes = [item.change() for item in body.items]
    return _bulk_response(request, files.bulk_change(ctx, changes, replace=True))


@router.post("/bulk/files/edit", summary="Change the given details of several files")
def bulk_edit(request: Request, ctx: WriteContext, body: BulkChangesBody) -> JSONResponse:
    changes = [item.change() for item in body.items]
    return _bulk_response(request, files.bulk_change(ctx, changes, replace=False))

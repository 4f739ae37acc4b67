"""Bulk file operations: ``POST /bulk/files/get|delete|update|edit`` (at most 100 items)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import JsonBody, ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import bulk_item_json
from sevenbridges_local.api.files import notify_workers
from sevenbridges_local.api.shapes import api_root
from sevenbridges_local.services import files

router = APIRouter(tags=["files"])


def _list_field(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise errors.bad_request(f"Invalid value for '{key}': expected a JSON array.")
    return value


def _bulk_response(request: Request, outcomes: list[files.BulkResult]) -> JSONResponse:
    root = api_root(request)
    return JSONResponse({"items": [bulk_item_json(root, outcome) for outcome in outcomes]})


@router.post("/bulk/files/get", summary="Several files by id")
def bulk_get(request: Request, ctx: ReadContext, body: JsonBody) -> JSONResponse:
    return _bulk_response(request, files.bulk_get(ctx, _list_field(body, "file_ids")))


@router.post("/bulk/files/delete", summary="Delete several files")
def bulk_delete(request: Request, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    outcomes = files.bulk_delete(ctx, _list_field(body, "file_ids"))
    notify_workers(request)
    return _bulk_response(request, outcomes)


@router.post("/bulk/files/update", summary="Replace name, tags and metadata of several files")
def bulk_update(request: Request, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    return _bulk_response(request, files.bulk_change(ctx, _list_field(body, "items"), replace=True))


@router.post("/bulk/files/edit", summary="Change the given details of several files")
def bulk_edit(request: Request, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    return _bulk_response(
        request, files.bulk_change(ctx, _list_field(body, "items"), replace=False)
    )

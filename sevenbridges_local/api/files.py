"""Files and folders: ``/files``, ``/files/scroll``, ``/files/search``, ``/files/{id}/...``.

``/files/{id}/download_info`` belongs to the transfer router; nothing here captures it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import (
    MAX_LIMIT,
    Fields,
    FieldSelection,
    JsonBody,
    Paging,
    ReadContext,
    WriteContext,
)
from sevenbridges_local.api.file_shapes import file_json, search_item_json
from sevenbridges_local.api.shapes import TOTAL_HEADER, api_root, list_response, resource_response
from sevenbridges_local.services import file_search, files
from sevenbridges_local.validation import expect_str

router = APIRouter(tags=["files"])

METADATA_PREFIX = "metadata."
ORIGIN_PREFIX = "origin."


async def any_json_body(request: Request) -> Any:
    """The body as any JSON value (arrays for tags); an empty body counts as ``null``."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_request("The request body is not valid JSON.", errors.UNDECODABLE_BODY)


AnyJsonBody = Annotated[Any, Depends(any_json_body)]


def notify_workers(request: Request) -> None:
    """Let the background workers pick up work committed by this request right away."""
    pool = getattr(request.app.state, "workers", None)
    if pool is not None:
        pool.notify()


def _last(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    return values[-1] if values else None


def filters_from(request: Request) -> files.FileFilters:
    """``name`` and ``tag`` (repeated), ``metadata.<key>`` and ``origin.<key>`` pairs."""
    filters = files.FileFilters(
        names=request.query_params.getlist("name"), tags=request.query_params.getlist("tag")
    )
    prefixed = ((METADATA_PREFIX, filters.metadata), (ORIGIN_PREFIX, filters.origin))
    for key, value in request.query_params.multi_items():
        for prefix, target in prefixed:
            if key.startswith(prefix):
                field_name = key[len(prefix) :]
                if not field_name:
                    raise errors.bad_request(
                        f"A '{prefix}<key>' filter needs a key.", files.METADATA_KEY_EMPTY
                    )
                target.setdefault(field_name, []).append(value)
    return filters


def _scroll_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return 50
    try:
        limit = int(raw)
    except ValueError:
        raise errors.bad_request("Invalid value for query parameter 'limit': expected an integer.")
    if limit < 1:
        raise errors.bad_request(
            f"Invalid value for query parameter 'limit': expected 1 to {MAX_LIMIT}."
        )
    return min(limit, MAX_LIMIT)


def scroll_response(
    request: Request, page: files.ScrollPage, fields: FieldSelection
) -> JSONResponse:
    """A token page: ``href`` repeats this request, the ``next`` link carries the next token."""
    root = api_root(request)
    links = []
    if page.next_token:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        params.append(("token", page.next_token))
        next_href = str(request.url.replace(query=urlencode(params)))
        links.append({"href": next_href, "rel": "next", "method": "GET"})
    body = {
        "href": str(request.url),
        "items": [fields.apply(file_json(root, record)) for record in page.items],
        "links": links,
    }
    return JSONResponse(body, headers={TOTAL_HEADER: str(page.total)})


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return expect_str(value, key, nullable=True)


# --- listing -----------------------------------------------------------------------------------


@router.get("/files", summary="Files and folders in a project's root or in a folder")
def list_files(request: Request, ctx: ReadContext, page: Paging, fields: Fields) -> JSONResponse:
    found = files.list_files(
        ctx,
        page,
        project=_last(request, "project"),
        parent=_last(request, "parent"),
        dataset=_last(request, "dataset"),
        filters=filters_from(request),
    )
    root = api_root(request)
    return list_response(request, found, lambda record: file_json(root, record), fields)


@router.get("/files/scroll", summary="Like GET /files, paged with continuation tokens")
def scroll_files(request: Request, ctx: ReadContext, fields: Fields) -> JSONResponse:
    found = files.scroll_files(
        ctx,
        token=_last(request, "token"),
        limit=_scroll_limit(request),
        project=_last(request, "project"),
        parent=_last(request, "parent"),
        dataset=_last(request, "dataset"),
        filters=filters_from(request),
    )
    return scroll_response(request, found, fields)


@router.post("/files/search", summary="Search files with the query language")
def search_files(request: Request, ctx: ReadContext, body: JsonBody) -> JSONResponse:
    raw_limit = request.query_params.get("limit")
    limit: int | None = None
    if raw_limit not in (None, ""):
        try:
            limit = int(raw_limit)
        except ValueError:
            raise errors.bad_request("Invalid value for query parameter 'limit'.")
    found = file_search.search_files(
        ctx, body.get("query"), cont_token=request.query_params.get("cont_token"), limit=limit
    )
    root = api_root(request)
    return JSONResponse(
        {
            "count": found.count,
            "cont_token": found.cont_token,
            "result_set": [search_item_json(root, record) for record in found.items],
        }
    )


@router.post("/files", status_code=201, summary="Create a folder")
def create_folder(request: Request, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    folder = files.create_folder(
        ctx,
        name=body.get("name"),
        parent=_optional_str(body, "parent"),
        project=_optional_str(body, "project"),
        folder_type=body.get("type"),
    )
    return resource_response(file_json(api_root(request), folder), status_code=201)


# --- one file ----------------------------------------------------------------------------------


@router.get("/files/{file_id}", summary="One file or folder")
def get_file(request: Request, file_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    return resource_response(file_json(api_root(request), files.get_file(ctx, file_id)), fields)


def _file_values(body: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if body.get("name") is not None:
        values["name"] = expect_str(body["name"], "name", code=files.NAME_INVALID)
    for key in ("metadata", "tags"):
        if key in body and body[key] is not None:
            values[key] = body[key]
    return values


@router.patch("/files/{file_id}", summary="Change the given file details")
def patch_file(request: Request, file_id: str, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    record = files.update_file(ctx, file_id, _file_values(body), replace=False)
    return resource_response(file_json(api_root(request), record))


@router.put("/files/{file_id}", summary="Replace the file details (name, metadata, tags)")
def put_file(request: Request, file_id: str, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    record = files.update_file(ctx, file_id, _file_values(body), replace=True)
    return resource_response(file_json(api_root(request), record))


@router.delete("/files/{file_id}", status_code=204, summary="Delete a file or an empty folder")
def delete_file(request: Request, file_id: str, ctx: WriteContext) -> Response:
    files.delete_file(ctx, file_id)
    notify_workers(request)
    return Response(status_code=204)


@router.get("/files/{file_id}/metadata", summary="A file's metadata")
def get_metadata(file_id: str, ctx: ReadContext) -> JSONResponse:
    return JSONResponse(files.get_metadata(ctx, file_id))


@router.patch("/files/{file_id}/metadata", summary="Change the given metadata keys")
def patch_metadata(file_id: str, ctx: WriteContext, body: AnyJsonBody) -> JSONResponse:
    return JSONResponse(files.set_metadata(ctx, file_id, _metadata_body(body), replace=False))


@router.put("/files/{file_id}/metadata", summary="Replace a file's metadata")
def put_metadata(file_id: str, ctx: WriteContext, body: AnyJsonBody) -> JSONResponse:
    return JSONResponse(files.set_metadata(ctx, file_id, _metadata_body(body), replace=True))


def _metadata_body(body: Any) -> Any:
    return {} if body is None else body


@router.get("/files/{file_id}/tags", summary="A file's tags")
def get_tags(file_id: str, ctx: ReadContext) -> JSONResponse:
    return JSONResponse(files.get_file(ctx, file_id).tags)


@router.put("/files/{file_id}/tags", summary="Replace a file's tags")
def put_tags(file_id: str, ctx: WriteContext, body: AnyJsonBody) -> JSONResponse:
    return JSONResponse(files.set_tags(ctx, file_id, [] if body is None else body))


@router.post("/files/{file_id}/actions/copy", summary="Copy a file to a project or folder")
def copy_file(request: Request, file_id: str, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    copied = files.copy_file_now(
        ctx,
        file_id,
        project=_optional_str(body, "project"),
        parent=_optional_str(body, "parent"),
        name=body.get("name"),
    )
    return resource_response(file_json(api_root(request), copied))


@router.post("/files/{file_id}/actions/move", summary="Move and/or rename a file or folder")
def move_file(request: Request, file_id: str, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    moved = files.move_file(
        ctx,
        file_id,
        parent=_optional_str(body, "parent"),
        project=_optional_str(body, "project"),
        name=body.get("name"),
    )
    return resource_response(file_json(api_root(request), moved))


@router.get("/files/{file_id}/list", summary="Contents of a folder")
def list_folder(
    request: Request, file_id: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    found = files.list_folder(ctx, file_id, page)
    root = api_root(request)
    return list_response(request, found, lambda record: file_json(root, record), fields)


@router.get("/files/{file_id}/scroll", summary="Contents of a folder, with continuation tokens")
def scroll_folder(request: Request, file_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    found = files.scroll_folder(
        ctx, file_id, token=_last(request, "token"), limit=_scroll_limit(request)
    )
    return scroll_response(request, found, fields)

"""Files and folders: ``/files``, ``/files/scroll``, ``/files/search``, ``/files/{id}/...``.

``/files/{id}/download_info`` belongs to the transfer router; nothing here captures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, RootModel, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import Metadata, Tags
from sevenbridges_local.api.boundary import (
    BoundaryRoute,
    PlatformCode,
    RequestBody,
    required_by_the_service,
)
from sevenbridges_local.api.deps import (
    Fields,
    FieldSelection,
    Paging,
    ReadContext,
    WriteContext,
    repeated,
)
from sevenbridges_local.api.file_shapes import file_json, search_item_json
from sevenbridges_local.api.shapes import TOTAL_HEADER, api_root, list_response, resource_response
from sevenbridges_local.limits import (
    DEFAULT_LIMIT,
    MAX_FILTER_VALUES,
    MAX_LIMIT,
    MAX_SEARCH_QUERY_LENGTH,
)
from sevenbridges_local.services import file_search, files

router = APIRouter(tags=["files"], route_class=BoundaryRoute)

METADATA_PREFIX = "metadata."
ORIGIN_PREFIX = "origin."

# A name's rules (emptiness, '/', length, characters) are the service's (check_name); the
# models only insist on a string, with the files service's code for a bad name.
FileName = Annotated[StrictStr | None, PlatformCode(files.NAME_INVALID)]
FileMetadata = Annotated[Metadata | None, PlatformCode(files.METADATA_INVALID)]


class SearchBody(RequestBody):
    model_config = required_by_the_service("query")

    query: Annotated[
        Annotated[StrictStr, Field(max_length=MAX_SEARCH_QUERY_LENGTH)] | None,
        PlatformCode(files.INVALID_REQUEST),
    ] = None


class FolderBody(RequestBody):
    """``POST /files``: a folder named ``name`` in ``project`` (its root) or ``parent``."""

    model_config = required_by_the_service("name", "type")

    name: FileName = None
    type: Annotated[StrictStr | None, PlatformCode(files.TYPE_INVALID)] = None
    parent: StrictStr | None = None
    project: StrictStr | None = None


class FileChangesBody(RequestBody):
    """``PATCH``/``PUT /files/{id}``; ``null`` counts as absent."""

    name: FileName = None
    metadata: FileMetadata = None
    tags: Tags | None = None

    def values(self) -> files.FileValues:
        sent = self.model_dump(include={"name", "metadata", "tags"}, exclude_none=True)
        return cast(files.FileValues, sent)


class MetadataBody(RootModel[Metadata]):
    """``PATCH``/``PUT /files/{id}/metadata``: key -> string, number, boolean (or null)."""

    model_config = ConfigDict(strict=True)
    platform_code: ClassVar[int | None] = files.METADATA_INVALID
    shape: ClassVar[str] = "a JSON object of metadata"
    body_name: ClassVar[str] = "metadata"
    shape_code: ClassVar[int] = files.METADATA_INVALID


class TagsBody(RootModel[Tags]):
    """``PUT /files/{id}/tags``: every tag of the file."""

    model_config = ConfigDict(strict=True)
    platform_code: ClassVar[int | None] = None
    shape: ClassVar[str] = "a JSON array of strings"
    body_name: ClassVar[str] = "tags"
    shape_code: ClassVar[int] = errors.BAD_REQUEST


class DestinationBody(RequestBody):
    """``POST /files/{id}/actions/copy|move``: a project or a folder, and maybe a new name."""

    project: StrictStr | None = None
    parent: StrictStr | None = None
    name: FileName = None


def scroll_limit(
    limit: Annotated[
        int, Query(ge=1, description=f"Page size; values above {MAX_LIMIT} count as {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
) -> int:
    return min(limit, MAX_LIMIT)


ScrollLimit = Annotated[int, Depends(scroll_limit)]


def notify_workers(request: Request) -> None:
    """Let the background workers pick up work committed by this request right away."""
    pool = getattr(request.app.state, "workers", None)
    if pool is not None:
        pool.notify()


@dataclass(frozen=True)
class Listing:
    """Where to list (``project`` root, ``parent`` folder or ``dataset``) and the filters."""

    project: str | None
    parent: str | None
    dataset: str | None
    filters: files.FileFilters


def listing(
    request: Request,
    project: Annotated[str | None, Query(description="owner/project: list its root")] = None,
    parent: Annotated[str | None, Query(description="A folder id: list its content")] = None,
    dataset: Annotated[str | None, Query(description="A dataset id")] = None,
    name: Annotated[list[str] | None, repeated("File names (any of them)")] = None,
    tag: Annotated[list[str] | None, repeated("Tags (any of them)")] = None,
) -> Listing:
    """The declared filters, plus ``metadata.<key>`` and ``origin.<key>`` pairs (all must match),
    which OpenAPI cannot name (at most ``MAX_FILTER_VALUES`` pairs in all)."""
    filters = files.FileFilters(names=name or [], tags=tag or [])
    prefixed = ((METADATA_PREFIX, filters.metadata), (ORIGIN_PREFIX, filters.origin))
    pairs = 0
    for key, value in request.query_params.multi_items():
        for prefix, target in prefixed:
            if key.startswith(prefix):
                pairs += 1
                if pairs > MAX_FILTER_VALUES:
                    raise errors.bad_request(
                        f"Too many '{METADATA_PREFIX}<key>' and '{ORIGIN_PREFIX}<key>' filters: "
                        f"at most {MAX_FILTER_VALUES} are allowed in one listing."
                    )
                field_name = key[len(prefix) :]
                if not field_name:
                    raise errors.bad_request(
                        f"A '{prefix}<key>' filter needs a key.", files.METADATA_KEY_EMPTY
                    )
                target.setdefault(field_name, []).append(value)
    return Listing(project=project, parent=parent, dataset=dataset, filters=filters)


FileListing = Annotated[Listing, Depends(listing)]
Token = Annotated[str | None, Query(description="Continuation token; 'init' for the first page")]


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


# --- listing -----------------------------------------------------------------------------------


@router.get("/files", summary="Files and folders in a project's root or in a folder")
def list_files(
    request: Request, ctx: ReadContext, page: Paging, fields: Fields, where: FileListing
) -> JSONResponse:
    found = files.list_files(
        ctx,
        page,
        project=where.project,
        parent=where.parent,
        dataset=where.dataset,
        filters=where.filters,
    )
    root = api_root(request)
    return list_response(request, found, lambda record: file_json(root, record), fields)


@router.get("/files/scroll", summary="Like GET /files, paged with continuation tokens")
def scroll_files(
    request: Request,
    ctx: ReadContext,
    fields: Fields,
    limit: ScrollLimit,
    where: FileListing,
    token: Token = None,
) -> JSONResponse:
    found = files.scroll_files(
        ctx,
        token=token,
        limit=limit,
        project=where.project,
        parent=where.parent,
        dataset=where.dataset,
        filters=where.filters,
    )
    return scroll_response(request, found, fields)


@router.post("/files/search", summary="Search files with the query language")
def search_files(
    request: Request,
    ctx: ReadContext,
    body: SearchBody | None = None,
    limit: int | None = None,
    cont_token: str | None = None,
) -> JSONResponse:
    query = body.query if body is not None else None
    found = file_search.search_files(ctx, query, cont_token=cont_token, limit=limit)
    root = api_root(request)
    return JSONResponse(
        {
            "count": found.count,
            "cont_token": found.cont_token,
            "result_set": [search_item_json(root, record) for record in found.items],
        }
    )


@router.post("/files", status_code=201, summary="Create a folder")
def create_folder(
    request: Request, ctx: WriteContext, body: FolderBody | None = None
) -> JSONResponse:
    body = body or FolderBody()
    folder = files.create_folder(
        ctx, name=body.name, parent=body.parent, project=body.project, folder_type=body.type
    )
    return resource_response(file_json(api_root(request), folder), status_code=201)


# --- one file ----------------------------------------------------------------------------------


@router.get("/files/{file_id}", summary="One file or folder")
def get_file(request: Request, file_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    return resource_response(file_json(api_root(request), files.get_file(ctx, file_id)), fields)


def _file_values(body: FileChangesBody | None) -> files.FileValues:
    return body.values() if body is not None else {}


@router.patch("/files/{file_id}", summary="Change the given file details")
def patch_file(
    request: Request, file_id: str, ctx: WriteContext, body: FileChangesBody | None = None
) -> JSONResponse:
    record = files.update_file(ctx, file_id, _file_values(body), replace=False)
    return resource_response(file_json(api_root(request), record))


@router.put("/files/{file_id}", summary="Replace the file details (name, metadata, tags)")
def put_file(
    request: Request, file_id: str, ctx: WriteContext, body: FileChangesBody | None = None
) -> JSONResponse:
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
def patch_metadata(
    file_id: str, ctx: WriteContext, body: MetadataBody | None = None
) -> JSONResponse:
    return JSONResponse(files.set_metadata(ctx, file_id, _metadata(body), replace=False))


@router.put("/files/{file_id}/metadata", summary="Replace a file's metadata")
def put_metadata(file_id: str, ctx: WriteContext, body: MetadataBody | None = None) -> JSONResponse:
    return JSONResponse(files.set_metadata(ctx, file_id, _metadata(body), replace=True))


def _metadata(body: MetadataBody | None) -> dict[str, Any]:
    return {} if body is None else body.root


@router.get("/files/{file_id}/tags", summary="A file's tags")
def get_tags(file_id: str, ctx: ReadContext) -> JSONResponse:
    return JSONResponse(files.get_file(ctx, file_id).tags)


@router.put("/files/{file_id}/tags", summary="Replace a file's tags")
def put_tags(file_id: str, ctx: WriteContext, body: TagsBody | None = None) -> JSONResponse:
    return JSONResponse(files.set_tags(ctx, file_id, [] if body is None else body.root))


@router.post("/files/{file_id}/actions/copy", summary="Copy a file to a project or folder")
def copy_file(
    request: Request, file_id: str, ctx: WriteContext, body: DestinationBody | None = None
) -> JSONResponse:
    body = body or DestinationBody()
    copied = files.copy_file_now(
        ctx, file_id, project=body.project, parent=body.parent, name=body.name
    )
    return resource_response(file_json(api_root(request), copied))


@router.post("/files/{file_id}/actions/move", summary="Move and/or rename a file or folder")
def move_file(
    request: Request, file_id: str, ctx: WriteContext, body: DestinationBody | None = None
) -> JSONResponse:
    body = body or DestinationBody()
    moved = files.move_file(ctx, file_id, parent=body.parent, project=body.project, name=body.name)
    return resource_response(file_json(api_root(request), moved))


@router.get("/files/{file_id}/list", summary="Contents of a folder")
def list_folder(
    request: Request, file_id: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    found = files.list_folder(ctx, file_id, page)
    root = api_root(request)
    return list_response(request, found, lambda record: file_json(root, record), fields)


@router.get("/files/{file_id}/scroll", summary="Contents of a folder, with continuation tokens")
def scroll_folder(
    request: Request,
    file_id: str,
    ctx: ReadContext,
    fields: Fields,
    limit: ScrollLimit,
    token: Token = None,
) -> JSONResponse:
    found = files.scroll_folder(ctx, file_id, token=token, limit=limit)
    return scroll_response(request, found, fields)

"""Multipart upload: ``/upload/multipart`` and its parts (rest-api.md §4).

Part bytes never come here: part URLs point at the data plane (dataplane.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import JsonBody, QueryBool, ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import file_json
from sevenbridges_local.api.shapes import api_root
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.dataplane import DataPlane
from sevenbridges_local.db.uploads import Upload
from sevenbridges_local.services import files, uploads
from sevenbridges_local.signing import TransferLinks
from sevenbridges_local.storage import BlobStore, StoredPart

router = APIRouter(tags=["uploads"])

# What the client must do with a part URL's response: send back the ETag header.
PART_REPORT_INSTRUCTIONS = {"success_codes": [200], "headers": ["ETag"]}


def transfer_store(request: Request) -> BlobStore:
    return request.app.state.blob_store


def transfer_links(request: Request) -> TransferLinks:
    """Signed data-plane URLs for the host name this client used to reach the API."""
    dataplane: DataPlane = request.app.state.dataplane
    return TransferLinks(
        signer=request.app.state.url_signer,
        base_url=dataplane.base_url(request.url.hostname),
        ttl_seconds=request.app.state.faults.state.signed_url_ttl,
    )


def _invalid_init(message: str) -> errors.ApiError:
    return errors.bad_request(message, uploads.INIT_INVALID)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid_init(f"Invalid value for '{key}': expected an integer.")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid_init(f"Invalid value for '{key}': expected a string.")
    return value


def init_request(body: dict[str, Any], overwrite: bool) -> uploads.InitRequest:
    size = _optional_int(body, "size")
    if size is None:
        raise _invalid_init("The file 'size' in bytes is required.")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise _invalid_init("Invalid value for 'name': expected a string.")
    return uploads.InitRequest(
        name=name or "",
        size=size,
        part_size=_optional_int(body, "part_size"),
        project=_optional_str(body, "project"),
        parent=_optional_str(body, "parent"),
        overwrite=overwrite,
    )


def upload_json(
    upload: Upload, reported: int, stored: list[StoredPart] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "upload_id": upload.id,
        "project": files.project_label(upload.project),
        "name": upload.name,
        "size": upload.size,
        "initiated": format_timestamp(upload.initiated),
        "part_size": upload.part_size,
        "parallel_uploads": True,
        "uploaded_parts_count": reported,
    }
    if upload.folder_id is not None:
        body["parent"] = upload.folder_id
    if stored is not None:
        body["parts"] = [
            {"part_number": part.number, "size": part.size, "etag": part.etag} for part in stored
        ]
    return body


@router.post("/upload/multipart", status_code=201, summary="Start a multipart upload")
def init_upload(
    request: Request, ctx: WriteContext, body: JsonBody, overwrite: QueryBool = False
) -> JSONResponse:
    upload = uploads.init_upload(ctx, transfer_store(request), init_request(body, overwrite))
    return JSONResponse(upload_json(upload, 0), status_code=201)


@router.get("/upload/multipart/{upload_id}", summary="An upload, with list_parts its stored parts")
def get_upload(
    request: Request,
    upload_id: str,
    ctx: ReadContext,
    list_parts: Annotated[QueryBool, Query()] = False,
) -> JSONResponse:
    info = uploads.upload_info(ctx, transfer_store(request), upload_id, list_parts=list_parts)
    return JSONResponse(upload_json(info.upload, info.reported, info.stored_parts))


@router.delete("/upload/multipart/{upload_id}", status_code=204, summary="Abort an upload")
def abort_upload(request: Request, upload_id: str, ctx: WriteContext) -> Response:
    uploads.abort_upload(ctx, transfer_store(request), upload_id)
    return Response(status_code=204)


@router.get("/upload/multipart/{upload_id}/part/{part_number}", summary="A signed URL for one part")
def part_url(request: Request, upload_id: str, part_number: str, ctx: ReadContext) -> JSONResponse:
    signed = uploads.part_url(ctx, upload_id, part_number, transfer_links(request))
    return JSONResponse(
        {
            "method": "PUT",
            "url": signed.url,
            "expires": format_timestamp(signed.expires_at),
            "headers": {},
            "report": PART_REPORT_INSTRUCTIONS,
        }
    )


# Clients post to ".../part/" (Python) or ".../part" (Java); trailing slashes are stripped.
@router.post("/upload/multipart/{upload_id}/part", summary="Report an uploaded part's ETag")
def report_part(upload_id: str, ctx: WriteContext, body: JsonBody) -> JSONResponse:
    report = uploads.report_part(ctx, upload_id, body)
    return JSONResponse({"part_number": report.part_number, "etag": report.etag})


@router.post("/upload/multipart/{upload_id}/complete", summary="Finish the upload: the new file")
def complete_upload(
    request: Request, upload_id: str, ctx: WriteContext, body: JsonBody
) -> JSONResponse:
    parts = body.get("parts")
    if "parts" in body and not isinstance(parts, list):
        raise errors.bad_request(
            'Expected {"parts": [{"part_number": n, "etag": ...}, ...]}.',
            uploads.PARTS_LIST_INVALID,
        )
    record = uploads.complete_upload(
        ctx, request.app.state.database, transfer_store(request), upload_id, parts
    )
    return JSONResponse(file_json(api_root(request), record))

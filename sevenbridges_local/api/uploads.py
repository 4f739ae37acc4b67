"""Multipart upload: ``/upload/multipart`` and its parts (rest-api.md §4).

Part bytes never come here: part URLs point at the data plane (dataplane.py).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator, StrictInt, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from sevenbridges_local.api.boundary import (
    BoundaryRoute,
    RequestBody,
    at_most,
    required_by_the_service,
)
from sevenbridges_local.api.deps import QueryBool, ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import file_json
from sevenbridges_local.api.shapes import api_root
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.dataplane import DataPlane
from sevenbridges_local.db.uploads import Upload
from sevenbridges_local.forwarded import FORWARDED_SCOPE_KEY
from sevenbridges_local.limits import MAX_UPLOAD_PARTS
from sevenbridges_local.services import files, uploads
from sevenbridges_local.signing import TransferLinks
from sevenbridges_local.storage import BlobStore, StoredPart

router = APIRouter(tags=["uploads"], route_class=BoundaryRoute)

# What the client must do with a part URL's response: send back the ETag header.
PART_REPORT_INSTRUCTIONS = {"success_codes": [200], "headers": ["ETag"]}
# A part report echoes the data plane's response headers; a handful is all there is.
MAX_ECHOED_HEADERS = 100


def transfer_store(request: Request) -> BlobStore:
    return request.app.state.blob_store


def transfer_links(request: Request) -> TransferLinks:
    """Signed data-plane URLs for the host name this client used to reach the API."""
    dataplane: DataPlane = request.app.state.dataplane
    return TransferLinks(
        signer=request.app.state.url_signer,
        base_url=dataplane.base_url(
            request.url.hostname,
            # Through a trusted proxy: its scheme (it terminates TLS for the data plane too).
            scheme=request.url.scheme if request.scope.get(FORWARDED_SCOPE_KEY) else None,
        ),
        ttl_seconds=request.app.state.faults.state.signed_url_ttl,
        store=transfer_store(request),
    )


class InitBody(RequestBody):
    """``POST /upload/multipart``: the file's ``size`` (required), name and destination."""

    model_config = required_by_the_service("size", "name")
    platform_code: ClassVar[int | None] = uploads.INIT_INVALID

    size: StrictInt
    name: StrictStr | None = None
    part_size: StrictInt | None = None
    project: StrictStr | None = None
    parent: StrictStr | None = None

    def init_request(self, overwrite: bool) -> uploads.InitRequest:
        return uploads.InitRequest(
            name=self.name or "",
            size=self.size,
            part_size=self.part_size,
            project=self.project,
            parent=self.parent,
            overwrite=overwrite,
        )


def _part_number(value: Any) -> Any:
    # The number is checked against the upload by the service; here only its JSON type.
    if (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise PydanticCustomError("part_number_type", "expected an integer")


PartNumber = Annotated[
    Any,
    BeforeValidator(_part_number),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]}),
]


class PartResponse(RequestBody):
    headers: Annotated[
        dict[str, StrictStr] | None,
        at_most(MAX_ECHOED_HEADERS),
    ] = None


class PartReport(RequestBody):
    """A part's ETag, as ``etag`` or as the data plane's response header the client echoes:
    ``{"part_number": n, "response": {"headers": {"ETag": "..."}}}``."""

    part_number: PartNumber = None
    etag: StrictStr | None = None
    response: PartResponse | None = None

    def reported(self) -> uploads.ReportedPart:
        etag = self.etag
        headers = self.response.headers if self.response is not None else None
        if etag is None and headers:
            # Header names are case-insensitive on the wire, so they are here too.
            etag = next((v for k, v in headers.items() if k.lower() == "etag"), None)
        return uploads.ReportedPart(part_number=self.part_number, etag=etag)


class PartReportBody(PartReport):
    platform_code: ClassVar[int | None] = uploads.PART_REPORT_INVALID


class CompleteBody(RequestBody):
    """Parts listed here count as reports; the official client sends no body at all."""

    platform_code: ClassVar[int | None] = uploads.PARTS_LIST_INVALID

    parts: Annotated[list[PartReport] | None, at_most(MAX_UPLOAD_PARTS)] = None


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
    request: Request, ctx: WriteContext, body: InitBody, overwrite: QueryBool = False
) -> JSONResponse:
    upload = uploads.init_upload(ctx, transfer_store(request), body.init_request(overwrite))
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
def report_part(
    upload_id: str, ctx: WriteContext, body: PartReportBody | None = None
) -> JSONResponse:
    reported = body.reported() if body is not None else uploads.ReportedPart(None, None)
    report = uploads.report_part(ctx, upload_id, reported)
    return JSONResponse({"part_number": report.part_number, "etag": report.etag})


@router.post("/upload/multipart/{upload_id}/complete", summary="Finish the upload: the new file")
def complete_upload(
    request: Request, upload_id: str, ctx: WriteContext, body: CompleteBody | None = None
) -> JSONResponse:
    parts = [part.reported() for part in body.parts or []] if body is not None else []
    record = uploads.complete_upload(
        ctx, request.app.state.database, transfer_store(request), upload_id, parts
    )
    return JSONResponse(file_json(api_root(request), record))

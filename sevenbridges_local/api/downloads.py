"""``GET /files/{id}/download_info``: a signed data-plane URL (rest-api.md §5); and
``GET /volume-content/{id}`` (outside ``/v2``, no token: the signature is the permission), which
streams a volume alias whose provider has no presigned URLs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sevenbridges_local import errors
from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import WriteContext
from sevenbridges_local.api.uploads import transfer_links
from sevenbridges_local.db import Database
from sevenbridges_local.services import downloads, volume_reads
from sevenbridges_local.signing import SignatureError, UrlSigner

router = APIRouter(tags=["files"], route_class=BoundaryRoute)
content_router = APIRouter(tags=["files"], route_class=BoundaryRoute)


# A write context: handing out the URL adds a row to the egress ledger.
@router.get("/files/{file_id}/download_info", summary="A signed URL to download a file")
def download_info(request: Request, file_id: str, ctx: WriteContext) -> JSONResponse:
    runtime = getattr(request.app.state, "volume_runtime", None)
    base = str(request.base_url).rstrip("/")
    signed = downloads.download_url(ctx, file_id, transfer_links(request), runtime, base)
    return JSONResponse({"url": signed.url})


@content_router.get(
    volume_reads.CONTENT_PREFIX + "{file_id}", summary="The content of a volume alias (signed)"
)
def volume_content(request: Request, file_id: str) -> StreamingResponse:
    signer: UrlSigner = request.app.state.url_signer
    try:
        signer.verify("GET", volume_reads.content_path(file_id), dict(request.query_params))
    except SignatureError as exc:
        raise errors.forbidden(f"This download link is not valid: {exc}.")
    database: Database = request.app.state.database
    runtime = request.app.state.volume_runtime
    with database.read_session() as session:
        source = volume_reads.signed_source(session, runtime, file_id)
    size, chunks = volume_reads.open_stream(source, runtime.clouds)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"Content-Length": str(size)},
    )

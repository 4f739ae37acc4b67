"""``GET /files/{id}/download_info``: a signed data-plane URL (rest-api.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import WriteContext
from sevenbridges_local.api.uploads import transfer_links
from sevenbridges_local.services import downloads

router = APIRouter(tags=["files"], route_class=BoundaryRoute)


# A write context: handing out the URL adds a row to the egress ledger.
@router.get("/files/{file_id}/download_info", summary="A signed URL to download a file")
def download_info(request: Request, file_id: str, ctx: WriteContext) -> JSONResponse:
    signed = downloads.download_url(ctx, file_id, transfer_links(request))
    return JSONResponse({"url": signed.url})

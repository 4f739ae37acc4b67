"""GA4GH DRS v1 (``/ga4gh/drs/v1``, outside ``/v2`` as the DRS spec requires).

Callers authenticate with the platform token (``X-SBG-Auth-Token`` or ``Authorization: Bearer``);
``service-info`` needs none. Errors on these routes have DRS's own shape
``{"msg", "status_code"}`` (see ``app.py``).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import ReadContext, WriteContext
from sevenbridges_local.api.uploads import transfer_links
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.services import drs

DRS_PREFIX = "/ga4gh/drs/v1"
DRS_SPEC_VERSION = "1.4.0"

router = APIRouter(tags=["GA4GH DRS"], route_class=BoundaryRoute)


def _package_version() -> str:
    try:
        return metadata.version("sevenbridges-toolkit")
    except metadata.PackageNotFoundError:
        return "0"


def self_uri(request: Request, object_id: str) -> str:
    """``drs://host:port/id`` for the address the client reached this server at."""
    return f"drs://{request.url.netloc}/{object_id}"


def object_json(request: Request, found: drs.DrsObject) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": found.id,
        "name": found.name,
        "self_uri": self_uri(request, found.id),
        "size": found.size,
        "created_time": format_timestamp(found.created),
        "updated_time": format_timestamp(found.updated),
        "mime_type": found.mime_type,
        "access_methods": [{"type": drs.ACCESS_TYPE, "access_id": drs.ACCESS_ID}],
    }
    if found.digests is not None:  # volume aliases list none (see services/drs.py)
        shown["checksums"] = [
            {"type": drs.SHA256_TYPE, "checksum": found.digests.sha256},
            {"type": drs.MD5_TYPE, "checksum": found.digests.md5},
        ]
    return shown


@router.get("/service-info", summary="What this DRS server is (no token needed)")
def service_info(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "id": "com.sevenbridges.local.drs",
            "name": "Seven Bridges local platform DRS",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_SPEC_VERSION},
            "description": "The local platform's files as GA4GH DRS objects.",
            "organization": {"name": "Seven Bridges local platform", "url": str(request.base_url)},
            "version": _package_version(),
            "environment": "local",
        }
    )


@router.get("/objects/{object_id}", summary="A file as a DRS object")
def get_object(request: Request, object_id: str, ctx: ReadContext) -> JSONResponse:
    app_state = request.app.state
    found = drs.describe_object(ctx, app_state.database, app_state.blob_store, object_id)
    return JSONResponse(object_json(request, found))


# A write context: handing out the URL adds a row to the egress ledger, as a download does.
@router.get("/objects/{object_id}/access/{access_id}", summary="A signed URL for the bytes")
def get_access_url(
    request: Request, object_id: str, access_id: str, ctx: WriteContext
) -> JSONResponse:
    runtime = getattr(request.app.state, "volume_runtime", None)
    base = str(request.base_url).rstrip("/")
    signed = drs.access_url(ctx, object_id, access_id, transfer_links(request), runtime, base)
    return JSONResponse({"url": signed.url})

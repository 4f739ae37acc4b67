"""``GET {root}/``: the API's entry point (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.shapes import api_root, endpoints_json

router = APIRouter(tags=["endpoints"], route_class=BoundaryRoute)


@router.get("", summary="API root: links to the main resources")
def get_endpoints(request: Request) -> JSONResponse:
    return JSONResponse(endpoints_json(api_root(request)))

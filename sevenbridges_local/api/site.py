"""The site around the API: ``GET /`` (where the API is), ``GET /health`` and ``/docs``.

None of them needs a token. ``/docs`` is Swagger UI with its JavaScript and CSS served from the
``swagger-ui-bundle`` package under ``/docs/assets``, so the page works without a network.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.shapes import api_root
from sevenbridges_local.services.health import health_report
from sevenbridges_local.status import toolkit_version

DOCS_PATH = "/docs"
DOCS_ASSETS_PATH = "/docs/assets"
HEALTH_PATH = "/health"
OPENAPI_PATH = "/openapi.json"

router = APIRouter(route_class=BoundaryRoute, include_in_schema=False)


def _site(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/")
def site_root(request: Request) -> JSONResponse:
    site = _site(request)
    return JSONResponse(
        {
            "message": "Seven Bridges local platform: the REST API v2 is at /v2",
            "api_url": api_root(request),
            "docs_url": site + DOCS_PATH,
            "health_url": site + HEALTH_PATH,
        }
    )


@router.get(HEALTH_PATH)
def health(request: Request) -> JSONResponse:
    report = health_report(
        request.app.state.database,
        maintenance=request.app.state.faults.state.maintenance,
        version=toolkit_version(),
    )
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


def _swagger_assets() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get(DOCS_PATH)
def docs(request: Request) -> HTMLResponse:
    if _swagger_assets() is None:
        return HTMLResponse(
            "<!doctype html><title>API documentation</title><p>Swagger UI is not installed: "
            "<code>pip install swagger-ui-bundle</code>. The OpenAPI document is at "
            f'<a href="{OPENAPI_PATH}">{OPENAPI_PATH}</a>.</p>'
        )
    return get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title="Seven Bridges local platform: API",
        swagger_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS_PATH}/favicon-32x32.png",
    )


def include_site(app: FastAPI) -> None:
    app.include_router(router)
    assets = _swagger_assets()
    if assets is not None:
        app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=assets), name="docs-assets")

"""Apps: ``/apps``, ``/apps/{owner}/{project}/{app}[/{revision}]``, raw CWL, copy and sync.

``GET .../raw`` answers JSON by default and YAML (``application/yaml``) when the request's
``Accept`` header prefers a YAML media type or when ``?format=yaml`` is given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import (
    Fields,
    JsonBody,
    Paging,
    ReadContext,
    WriteContext,
)
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.services import apps, cwl
from sevenbridges_local.services.apps import AppView
from sevenbridges_local.validation import expect_str

router = APIRouter(tags=["apps"])

YAML_MEDIA_TYPE = "application/yaml"
_YAML_MEDIA_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
)
_JSON_MEDIA_TYPES = frozenset({"application/json", "*/*", "application/*"})


def app_json(root: str, view: AppView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "href": f"{root}/apps/{view.revision_id}",
        "id": view.revision_id,
        "project": view.project_id,
        "name": view.name,
        "revision": view.revision.revision,
        "latest_revision": view.app.latest_revision,
        "raw": apps.render_raw(view),
    }
    if view.revision.copy_of:
        body["copy_of"] = view.revision.copy_of
    return body


def _prefers_yaml(request: Request, output_format: str | None) -> bool:
    if output_format is not None:
        chosen = output_format.lower()
        if chosen not in ("json", "yaml"):
            raise errors.bad_request(
                f"Invalid value for query parameter 'format': {output_format!r}; "
                "use 'json' or 'yaml'."
            )
        return chosen == "yaml"
    best_yaml = best_json = 0.0
    for entry in request.headers.get("accept", "").split(","):
        media_type, *parameters = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_type = media_type.lower()
        if media_type in _YAML_MEDIA_TYPES:
            best_yaml = max(best_yaml, quality)
        elif media_type in _JSON_MEDIA_TYPES:
            best_json = max(best_json, quality)
    return best_yaml > best_json


def _raw_response(request: Request, view: AppView, output_format: str | None) -> Response:
    raw = apps.render_raw(view)
    if _prefers_yaml(request, output_format):
        return Response(content=cwl.to_yaml(raw), media_type=YAML_MEDIA_TYPE)
    return JSONResponse(raw)


async def raw_request_body(request: Request) -> tuple[bytes, str | None]:
    """The unparsed body and its content type (the service decides how to read it)."""
    return await request.body(), request.headers.get("content-type")


RawBody = Annotated[tuple[bytes, str | None], Depends(raw_request_body)]
RepeatedQuery = Annotated[list[str] | None, Query()]
FormatQuery = Annotated[str | None, Query(alias="format")]


@router.get("/apps", summary="Apps of my projects, or public apps")
def list_apps(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    project: str | None = None,
    visibility: str | None = None,
    q: RepeatedQuery = None,
    id: RepeatedQuery = None,
) -> JSONResponse:
    found = apps.list_apps(
        ctx, page, project=project, visibility=visibility, terms=q or [], ids=id or []
    )
    root = api_root(request)
    return list_response(request, found, lambda view: app_json(root, view), fields)


@router.get("/apps/{owner}/{project}/{app}/raw", summary="Raw CWL of the latest revision")
def get_latest_raw(
    request: Request,
    owner: str,
    project: str,
    app: str,
    ctx: ReadContext,
    output_format: FormatQuery = None,
) -> Response:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app))
    return _raw_response(request, view, output_format)


@router.get("/apps/{owner}/{project}/{app}/{revision}/raw", summary="Raw CWL of a revision")
def get_revision_raw(
    request: Request,
    owner: str,
    project: str,
    app: str,
    revision: str,
    ctx: ReadContext,
    output_format: FormatQuery = None,
) -> Response:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app, revision))
    return _raw_response(request, view, output_format)


@router.get("/apps/{owner}/{project}/{app}/{revision}", summary="One revision of an app")
def get_revision(
    request: Request,
    owner: str,
    project: str,
    app: str,
    revision: str,
    ctx: ReadContext,
    fields: Fields,
) -> JSONResponse:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app, revision))
    return resource_response(app_json(api_root(request), view), fields)


@router.get("/apps/{owner}/{project}/{app}", summary="The latest revision of an app")
def get_latest(
    request: Request, owner: str, project: str, app: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app))
    return resource_response(app_json(api_root(request), view), fields)


@router.post("/apps/{owner}/{project}/{app}/raw", summary="Install an app from raw CWL")
def install_app(
    owner: str, project: str, app: str, body: RawBody, ctx: WriteContext
) -> JSONResponse:
    ref = apps.make_ref(owner, project, app)
    view = apps.install_app(ctx, ref, apps.document_from_body(*body))
    return JSONResponse(apps.render_raw(view))


@router.post("/apps/{owner}/{project}/{app}/{revision}/raw", summary="Add a revision from raw CWL")
def create_revision(
    owner: str, project: str, app: str, revision: str, body: RawBody, ctx: WriteContext
) -> JSONResponse:
    ref = apps.make_ref(owner, project, app, revision)
    view = apps.create_revision(ctx, ref, apps.document_from_body(*body))
    return JSONResponse(apps.render_raw(view))


def _copy(request: Request, ref: apps.AppRef, body: dict[str, Any], ctx: Any) -> JSONResponse:
    view = apps.copy_app(
        ctx,
        ref,
        destination=expect_str(body.get("project"), "project", nullable=True),
        strategy=expect_str(body.get("strategy"), "strategy", nullable=True),
        name=expect_str(body.get("name"), "name", nullable=True),
    )
    return resource_response(app_json(api_root(request), view))


@router.post("/apps/{owner}/{project}/{app}/actions/copy", summary="Copy the latest revision")
def copy_latest(
    request: Request, owner: str, project: str, app: str, body: JsonBody, ctx: WriteContext
) -> JSONResponse:
    return _copy(request, apps.make_ref(owner, project, app), body, ctx)


@router.post(
    "/apps/{owner}/{project}/{app}/{revision}/actions/copy", summary="Copy a given revision"
)
def copy_revision(
    request: Request,
    owner: str,
    project: str,
    app: str,
    revision: str,
    body: JsonBody,
    ctx: WriteContext,
) -> JSONResponse:
    return _copy(request, apps.make_ref(owner, project, app, revision), body, ctx)


@router.post(
    "/apps/{owner}/{project}/{app}/actions/sync", summary="Bring a copy up to date with its source"
)
def sync_app(
    request: Request, owner: str, project: str, app: str, ctx: WriteContext
) -> JSONResponse:
    view = apps.sync_app(ctx, apps.make_ref(owner, project, app))
    return resource_response(app_json(api_root(request), view))

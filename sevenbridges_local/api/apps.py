"""Apps: ``/apps``, ``/apps/{owner}/{project}/{app}[/{revision}]``, raw CWL, copy and sync.

``GET .../raw`` answers JSON by default and YAML (``application/yaml``) when the request's
``Accept`` header prefers a YAML media type or when ``?format=yaml`` is given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import StrictStr

from sevenbridges_local import errors, strict_json
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, read_limited
from sevenbridges_local.api.deps import (
    Fields,
    Paging,
    ReadContext,
    WriteContext,
    repeated,
)
from sevenbridges_local.api.shapes import (
    NumberKeepingJSONResponse,
    api_root,
    list_response,
    resource_response,
)
from sevenbridges_local.limits import MAX_RAW_APP_BYTES
from sevenbridges_local.services import apps, cwl
from sevenbridges_local.services.apps import AppView

router = APIRouter(tags=["apps"], route_class=BoundaryRoute)


class CopyBody(RequestBody):
    """``POST .../actions/copy``: the destination ``project``, a ``strategy`` and a new name."""

    project: StrictStr | None = None
    strategy: StrictStr | None = None
    name: StrictStr | None = None


# The install body is a CWL document: a JSON object, a JSON string holding JSON or YAML text
# (what the official client sends for YAML), or YAML text with a YAML content type.
RAW_APP_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"type": "object", "description": "The CWL document."},
                        {"type": "string", "description": "CWL as JSON or YAML text."},
                    ]
                }
            },
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}

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
    return NumberKeepingJSONResponse(raw)


async def raw_app_document(request: Request) -> Any:
    """The CWL document of an install request, read within the raw-app size limit (413).

    The service reads JSON and YAML; JSON nesting is bounded before parsing and the result is
    held to the same rules as every JSON body (finite numbers, depth), except that integers may
    exceed 64 bits: the document is stored whole as JSON text and CWL allows such defaults.
    """
    body = await read_limited(request, MAX_RAW_APP_BYTES)
    content_type = request.headers.get("content-type")
    strict_json.check_depth(body)
    document = apps.document_from_body(body, content_type)
    strict_json.check_tree(document, big_integers=True)
    return document


RawDocument = Annotated[Any, Depends(raw_app_document)]
# Path segments of an app id. The service checks them (400/6010, a revision 400/6007); the
# patterns are documented here, not validated, so those codes stay.
Owner = Annotated[str, Path(description="The project owner's username")]
ProjectSlug = Annotated[str, Path(description="The project's short name (its id's last part)")]
AppSlug = Annotated[
    str,
    Path(
        description="The app's short name in its project",
        json_schema_extra={"pattern": apps.APP_SLUG_PATTERN},
    ),
]
Revision = Annotated[
    str,
    Path(description="A revision number", json_schema_extra={"pattern": apps.REVISION_PATTERN}),
]
SearchTerms = Annotated[
    list[str] | None,
    repeated("Words the app's label, description, toolkit or categories must all hold"),
]
AppIds = Annotated[list[str] | None, repeated("App ids (any of them)")]
FormatQuery = Annotated[str | None, Query(alias="format")]


@router.get("/apps", summary="Apps of my projects, or public apps")
def list_apps(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    project: str | None = None,
    visibility: str | None = None,
    q: SearchTerms = None,
    id: AppIds = None,
) -> JSONResponse:
    found = apps.list_apps(
        ctx, page, project=project, visibility=visibility, terms=q or [], ids=id or []
    )
    root = api_root(request)
    return list_response(request, found, lambda view: app_json(root, view), fields)


@router.get("/apps/{owner}/{project}/{app}/raw", summary="Raw CWL of the latest revision")
def get_latest_raw(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    ctx: ReadContext,
    output_format: FormatQuery = None,
) -> Response:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app))
    return _raw_response(request, view, output_format)


@router.get("/apps/{owner}/{project}/{app}/{revision}/raw", summary="Raw CWL of a revision")
def get_revision_raw(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    revision: Revision,
    ctx: ReadContext,
    output_format: FormatQuery = None,
) -> Response:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app, revision))
    return _raw_response(request, view, output_format)


@router.get("/apps/{owner}/{project}/{app}/{revision}", summary="One revision of an app")
def get_revision(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    revision: Revision,
    ctx: ReadContext,
    fields: Fields,
) -> JSONResponse:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app, revision))
    return resource_response(app_json(api_root(request), view), fields)


@router.get("/apps/{owner}/{project}/{app}", summary="The latest revision of an app")
def get_latest(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    ctx: ReadContext,
    fields: Fields,
) -> JSONResponse:
    view = apps.get_app(ctx, apps.make_ref(owner, project, app))
    return resource_response(app_json(api_root(request), view), fields)


@router.post(
    "/apps/{owner}/{project}/{app}/raw",
    summary="Install an app from raw CWL",
    openapi_extra=RAW_APP_BODY,
)
def install_app(
    owner: Owner, project: ProjectSlug, app: AppSlug, document: RawDocument, ctx: WriteContext
) -> JSONResponse:
    ref = apps.make_ref(owner, project, app)
    view = apps.install_app(ctx, ref, document)
    return NumberKeepingJSONResponse(apps.render_raw(view))


@router.post(
    "/apps/{owner}/{project}/{app}/{revision}/raw",
    summary="Add a revision from raw CWL",
    openapi_extra=RAW_APP_BODY,
)
def create_revision(
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    revision: Revision,
    document: RawDocument,
    ctx: WriteContext,
) -> JSONResponse:
    ref = apps.make_ref(owner, project, app, revision)
    view = apps.create_revision(ctx, ref, document)
    return NumberKeepingJSONResponse(apps.render_raw(view))


def _copy(request: Request, ref: apps.AppRef, body: CopyBody | None, ctx: Any) -> JSONResponse:
    body = body or CopyBody()
    view = apps.copy_app(ctx, ref, destination=body.project, strategy=body.strategy, name=body.name)
    return resource_response(app_json(api_root(request), view))


@router.post("/apps/{owner}/{project}/{app}/actions/copy", summary="Copy the latest revision")
def copy_latest(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    ctx: WriteContext,
    body: CopyBody | None = None,
) -> JSONResponse:
    return _copy(request, apps.make_ref(owner, project, app), body, ctx)


@router.post(
    "/apps/{owner}/{project}/{app}/{revision}/actions/copy", summary="Copy a given revision"
)
def copy_revision(
    request: Request,
    owner: Owner,
    project: ProjectSlug,
    app: AppSlug,
    revision: Revision,
    ctx: WriteContext,
    body: CopyBody | None = None,
) -> JSONResponse:
    return _copy(request, apps.make_ref(owner, project, app, revision), body, ctx)


@router.post(
    "/apps/{owner}/{project}/{app}/actions/sync", summary="Bring a copy up to date with its source"
)
def sync_app(
    request: Request, owner: Owner, project: ProjectSlug, app: AppSlug, ctx: WriteContext
) -> JSONResponse:
    view = apps.sync_app(ctx, apps.make_ref(owner, project, app))
    return resource_response(app_json(api_root(request), view))

"""Projects: ``/projects``, ``/projects/{owner}``, ``/projects/{owner}/{slug}``."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import Description, Tags
from sevenbridges_local.api.boundary import (
    BoundaryRoute,
    RequestBody,
    omittable,
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
from sevenbridges_local.api.shapes import api_root, list_response, project_json, resource_response
from sevenbridges_local.db.models import Project
from sevenbridges_local.limits import MAX_SETTINGS_KEYS
from sevenbridges_local.services import projects
from sevenbridges_local.services.context import PageRequest, ServiceContext

router = APIRouter(tags=["projects"], route_class=BoundaryRoute)


class ProjectSettings(RequestBody):
    """Known settings are booleans; other keys (``location``, ``intermediate_files``...) pass."""

    model_config = ConfigDict(extra="allow")

    locked: StrictBool = omittable()
    use_interruptible_instances: StrictBool = omittable()
    use_memoization: StrictBool = omittable()
    allow_network_access: StrictBool = omittable()
    use_elastic_disk: StrictBool = omittable()

    @model_validator(mode="before")
    @classmethod
    def _few_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > MAX_SETTINGS_KEYS:
            raise PydanticCustomError(
                "too_long", "at most {limit} settings", {"limit": MAX_SETTINGS_KEYS}
            )
        return data


class ProjectBody(RequestBody):
    """``POST``, ``PATCH`` and ``PUT /projects...``: the writable keys; ``null`` means empty.

    The name's rules (not blank: 3007, length, control characters) are the service's.
    """

    name: StrictStr | None = None
    billing_group: StrictStr | None = None
    description: Description | None = None
    category: StrictStr | None = None
    type: StrictStr | None = None
    tags: Tags | None = None
    settings: ProjectSettings | None = None

    def values(self) -> projects.ProjectValues:
        """The keys present in the request (PATCH changes only those)."""
        return cast(projects.ProjectValues, self.given(*projects.WRITABLE_KEYS))


class WholeProjectBody(ProjectBody):
    """``POST`` and ``PUT``: a whole project, so a name (400/3007 without one)."""

    model_config = required_by_the_service("name")


def _body(body: ProjectBody | None) -> projects.ProjectValues:
    return body.values() if body is not None else {}


def _list(
    request: Request,
    ctx: ServiceContext,
    page: PageRequest,
    fields: FieldSelection,
    owner: str | None,
    name: str | None,
    category: str | None,
    tags: list[str] | None,
) -> JSONResponse:
    found = projects.list_projects(
        ctx, page, owner=owner, name=name, category=category, tags=tags or []
    )
    root = api_root(request)
    roots = projects.root_folders(ctx, found.items)
    return list_response(
        request, found, lambda project: project_json(root, project, roots.get(project.id)), fields
    )


def _project_body(request: Request, ctx: ServiceContext, project: Project) -> dict[str, Any]:
    root_folder = projects.root_folders(ctx, [project]).get(project.id)
    return project_json(api_root(request), project, root_folder)


TagsQuery = Annotated[list[str] | None, repeated("Tags the project must all carry")]


@router.get("/projects", summary="Projects I am a member of")
def list_my_projects(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    name: str | None = None,
    category: str | None = None,
    tags: TagsQuery = None,
) -> JSONResponse:
    return _list(request, ctx, page, fields, None, name, category, tags)


@router.get("/projects/{owner}", summary="Projects of one owner that I am a member of")
def list_projects_by_owner(
    request: Request,
    owner: str,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    name: str | None = None,
    category: str | None = None,
    tags: TagsQuery = None,
) -> JSONResponse:
    return _list(request, ctx, page, fields, owner, name, category, tags)


@router.post("/projects", status_code=201, summary="Create a project")
def create_project(
    request: Request, ctx: WriteContext, body: WholeProjectBody | None = None
) -> JSONResponse:
    values = _body(body)
    if values.get("name") is None:
        raise errors.bad_request("Project name must not be empty.", errors.PROJECT_NAME_EMPTY)
    project = projects.create_project(ctx, values)
    return resource_response(_project_body(request, ctx, project), status_code=201)


@router.get("/projects/{owner}/{slug}", summary="One project")
def get_project(
    request: Request, owner: str, slug: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    project = projects.get_project(ctx, owner, slug)
    return resource_response(_project_body(request, ctx, project), fields)


@router.patch("/projects/{owner}/{slug}", summary="Change the given project details")
def patch_project(
    request: Request, owner: str, slug: str, ctx: WriteContext, body: ProjectBody | None = None
) -> JSONResponse:
    project = projects.update_project(ctx, owner, slug, _body(body), replace=False)
    return resource_response(_project_body(request, ctx, project))


@router.put("/projects/{owner}/{slug}", summary="Replace the project details")
def put_project(
    request: Request, owner: str, slug: str, ctx: WriteContext, body: WholeProjectBody | None = None
) -> JSONResponse:
    project = projects.update_project(ctx, owner, slug, _body(body), replace=True)
    return resource_response(_project_body(request, ctx, project))


@router.delete("/projects/{owner}/{slug}", status_code=204, summary="Delete a project")
def delete_project(owner: str, slug: str, ctx: WriteContext) -> Response:
    projects.delete_project(ctx, owner, slug)
    return Response(status_code=204)

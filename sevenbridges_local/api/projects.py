"""Projects: ``/projects``, ``/projects/{owner}``, ``/projects/{owner}/{slug}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import (
    Fields,
    FieldSelection,
    JsonBody,
    Paging,
    ReadContext,
    WriteContext,
)
from sevenbridges_local.api.shapes import api_root, list_response, project_json, resource_response
from sevenbridges_local.db.models import Project
from sevenbridges_local.services import projects
from sevenbridges_local.services.context import PageRequest, ServiceContext
from sevenbridges_local.validation import expect_object, expect_str, expect_str_list

router = APIRouter(tags=["projects"])


def project_values(body: dict[str, Any]) -> dict[str, Any]:
    """The writable keys present in ``body``, type-checked; everything else is ignored."""
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = expect_str(body["name"], "name", nullable=True)
    for key in ("billing_group", "description", "category", "type"):
        if key in body:
            values[key] = expect_str(body[key], key, nullable=True)
    if "tags" in body:
        values["tags"] = expect_str_list(body["tags"], "tags", nullable=True)
    if "settings" in body:
        values["settings"] = expect_object(body["settings"], "settings", nullable=True)
    return values


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


# Repeated key: ?tags=a&tags=b (a project must carry all of them).
TagsQuery = Annotated[list[str] | None, Query()]


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
def create_project(request: Request, body: JsonBody, ctx: WriteContext) -> JSONResponse:
    values = project_values(body)
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
    request: Request, owner: str, slug: str, body: JsonBody, ctx: WriteContext
) -> JSONResponse:
    project = projects.update_project(ctx, owner, slug, project_values(body), replace=False)
    return resource_response(_project_body(request, ctx, project))


@router.put("/projects/{owner}/{slug}", summary="Replace the project details")
def put_project(
    request: Request, owner: str, slug: str, body: JsonBody, ctx: WriteContext
) -> JSONResponse:
    project = projects.update_project(ctx, owner, slug, project_values(body), replace=True)
    return resource_response(_project_body(request, ctx, project))


@router.delete("/projects/{owner}/{slug}", status_code=204, summary="Delete a project")
def delete_project(owner: str, slug: str, ctx: WriteContext) -> Response:
    projects.delete_project(ctx, owner, slug)
    return Response(status_code=204)

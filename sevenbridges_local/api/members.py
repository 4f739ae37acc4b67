"""Project members: ``/projects/{owner}/{slug}/members[/{username}[/permissions]]``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local.api.deps import Fields, JsonBody, Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, member_json, resource_response
from sevenbridges_local.services import members
from sevenbridges_local.validation import expect_str

router = APIRouter(tags=["members"])

MEMBERS = "/projects/{owner}/{slug}/members"
MEMBER = MEMBERS + "/{username}"


@router.get(MEMBERS, summary="Members of a project")
def list_members(
    request: Request, owner: str, slug: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    project, found = members.list_members(ctx, owner, slug, page)
    root = api_root(request)
    return list_response(request, found, lambda member: member_json(root, project, member), fields)


@router.post(MEMBERS, status_code=201, summary="Add a user to a project")
def add_member(
    request: Request, owner: str, slug: str, body: JsonBody, ctx: WriteContext
) -> JSONResponse:
    new_member = members.NewMember(
        username=expect_str(body.get("username"), "username", nullable=True),
        email=expect_str(body.get("email"), "email", nullable=True),
        type=expect_str(body.get("type"), "type", nullable=True),
        permissions=body.get("permissions"),
    )
    project, member = members.add_member(ctx, owner, slug, new_member)
    return resource_response(member_json(api_root(request), project, member), status_code=201)


@router.get(MEMBER, summary="One member of a project")
def get_member(
    request: Request, owner: str, slug: str, username: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    project, member = members.get_member(ctx, owner, slug, username)
    return resource_response(member_json(api_root(request), project, member), fields)


@router.patch(MEMBER + "/permissions", summary="Change some permissions of a member")
def patch_permissions(
    request: Request, owner: str, slug: str, username: str, body: JsonBody, ctx: WriteContext
) -> JSONResponse:
    project, member = members.update_permissions(ctx, owner, slug, username, body)
    return resource_response(member_json(api_root(request), project, member))


@router.delete(MEMBER, status_code=204, summary="Remove a member from a project")
def remove_member(owner: str, slug: str, username: str, ctx: WriteContext) -> Response:
    members.remove_member(ctx, owner, slug, username)
    return Response(status_code=204)

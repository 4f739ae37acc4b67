"""Project members: ``/projects/{owner}/{slug}/members[/{username}[/permissions]]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, StrictBool, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, omittable
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, member_json, resource_response
from sevenbridges_local.limits import MAX_USER_REFERENCE_LENGTH
from sevenbridges_local.services import members

router = APIRouter(tags=["members"], route_class=BoundaryRoute)

MEMBERS = "/projects/{owner}/{slug}/members"
MEMBER = MEMBERS + "/{username}"

UserReference = Annotated[StrictStr, Field(max_length=MAX_USER_REFERENCE_LENGTH)]


class Permissions(RequestBody):
    """Permission switches; only the given ones count (unknown names are refused)."""

    model_config = ConfigDict(extra="forbid")

    read: StrictBool = omittable()
    copy_: StrictBool = omittable(alias="copy")  # "copy" would shadow BaseModel.copy
    write: StrictBool = omittable()
    execute: StrictBool = omittable()
    admin: StrictBool = omittable()

    def given_permissions(self) -> dict[str, bool]:
        return self.given()


class NewMemberBody(RequestBody):
    """``POST .../members``: a user by ``username`` or ``email``; the service needs one of them."""

    username: UserReference | None = None
    email: UserReference | None = None
    type: StrictStr | None = None
    permissions: Permissions | None = None


@router.get(MEMBERS, summary="Members of a project")
def list_members(
    request: Request, owner: str, slug: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    project, found = members.list_members(ctx, owner, slug, page)
    root = api_root(request)
    return list_response(request, found, lambda member: member_json(root, project, member), fields)


@router.post(MEMBERS, status_code=201, summary="Add a user to a project")
def add_member(
    request: Request,
    owner: str,
    slug: str,
    ctx: WriteContext,
    body: NewMemberBody | None = None,
) -> JSONResponse:
    body = body or NewMemberBody()
    new_member = members.NewMember(
        username=body.username,
        email=body.email,
        type=body.type,
        permissions=body.permissions.given_permissions() if body.permissions else None,
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
    request: Request,
    owner: str,
    slug: str,
    username: str,
    ctx: WriteContext,
    body: Permissions | None = None,
) -> JSONResponse:
    changes = body.given_permissions() if body is not None else {}
    project, member = members.update_permissions(ctx, owner, slug, username, changes)
    return resource_response(member_json(api_root(request), project, member))


@router.delete(MEMBER, status_code=204, summary="Remove a member from a project")
def remove_member(owner: str, slug: str, username: str, ctx: WriteContext) -> Response:
    members.remove_member(ctx, owner, slug, username)
    return Response(status_code=204)

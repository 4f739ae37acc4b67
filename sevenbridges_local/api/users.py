"""Users: ``/user``, ``/users?division=``, ``/users/{username}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.boundary import BoundaryRoute, PlatformCode
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, resource_response, user_json
from sevenbridges_local.services import users

router = APIRouter(tags=["users"], route_class=BoundaryRoute)


@router.get("/user", summary="The authenticated user")
def get_current_user(request: Request, ctx: ReadContext, fields: Fields) -> JSONResponse:
    return resource_response(user_json(api_root(request), users.current_user(ctx)), fields)


@router.get("/users", summary="Users of a division")
def list_users(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    division: Annotated[
        str, Query(description="The division's id (slug)"), PlatformCode(errors.DIVISION_REQUIRED)
    ],
    role: Annotated[str | None, Query(description="Only users with this division role")] = None,
) -> JSONResponse:
    _, found = users.list_division_users(ctx, division, role, page)
    root = api_root(request)
    return list_response(
        request, found, lambda user: user_json(root, user, role=user.division_role), fields
    )


@router.get("/users/{username}", summary="One user (yourself, or anyone for platform admins)")
def get_user(request: Request, username: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    return resource_response(user_json(api_root(request), users.get_user(ctx, username)), fields)


@router.delete("/users/{username}", status_code=204, summary="Disable a user (platform admins)")
def disable_user(username: str, ctx: WriteContext) -> Response:
    users.disable_user(ctx, username)
    return Response(status_code=204)

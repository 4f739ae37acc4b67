"""The five member routes that projects, volumes and datasets share.

``/{owner}/{key}/members`` (list, add) and ``.../members/{username}`` (get, delete, and
``PATCH .../permissions``) differ between them only in the path, the name of the second path
part (``slug`` or ``name``), the request bodies, the summaries and the JSON of a member; the
service modules (``members``, ``volumes``, ``datasets``) share the same five functions.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations, and
# they name this builder's arguments, which postponed (string) annotations could not resolve.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.services import members

MemberShaper = Callable[[str, Any, Any], dict[str, Any]]


@dataclass(frozen=True)
class Summaries:
    """The OpenAPI summary of each route (worded per resource, kept as they were)."""

    list: str
    add: str
    get: str
    patch: str
    delete: str


def add_member_routes(
    router: APIRouter,
    *,
    members_path: str,
    key: str,
    service: Any,
    shaper: MemberShaper,
    new_body: type[Any],
    permissions_body: type[Any],
    summaries: Summaries,
) -> None:
    """Add the member routes to ``router`` in the order list, add, get, patch, delete.

    ``key`` is the name of the path part after ``{owner}`` in ``members_path``; ``service`` is
    the service module (its ``list_members``, ``add_member``, ``get_member``,
    ``update_permissions`` and ``remove_member`` take ``(ctx, owner, key, ...)``); ``new_body``
    and ``permissions_body`` are request models with ``given()`` permission switches.
    """
    member_path = members_path + "/{username}"
    Key = Annotated[str, Path(alias=key)]

    def list_members(
        request: Request, owner: str, key_value: Key, ctx: ReadContext, page: Paging, fields: Fields
    ) -> JSONResponse:
        parent, found = service.list_members(ctx, owner, key_value, page)
        root = api_root(request)
        return list_response(request, found, lambda member: shaper(root, parent, member), fields)

    def add_member(
        request: Request,
        owner: str,
        key_value: Key,
        ctx: WriteContext,
        body: new_body | None = None,  # type: ignore[valid-type]
    ) -> JSONResponse:
        body = body or new_body()
        new_member = members.NewMember(
            username=body.username,
            email=body.email,
            type=body.type,
            permissions=body.permissions.given() if body.permissions else None,
        )
        parent, member = service.add_member(ctx, owner, key_value, new_member)
        return resource_response(shaper(api_root(request), parent, member), status_code=201)

    def get_member(
        request: Request,
        owner: str,
        key_value: Key,
        username: str,
        ctx: ReadContext,
        fields: Fields,
    ) -> JSONResponse:
        parent, member = service.get_member(ctx, owner, key_value, username)
        return resource_response(shaper(api_root(request), parent, member), fields)

    def patch_permissions(
        request: Request,
        owner: str,
        key_value: Key,
        username: str,
        ctx: WriteContext,
        body: permissions_body | None = None,  # type: ignore[valid-type]
    ) -> JSONResponse:
        changes = body.given() if body is not None else {}
        parent, member = service.update_permissions(ctx, owner, key_value, username, changes)
        return resource_response(shaper(api_root(request), parent, member))

    def remove_member(owner: str, key_value: Key, username: str, ctx: WriteContext) -> Response:
        service.remove_member(ctx, owner, key_value, username)
        return Response(status_code=204)

    router.get(members_path, summary=summaries.list)(list_members)
    router.post(members_path, status_code=201, summary=summaries.add)(add_member)
    router.get(member_path, summary=summaries.get)(get_member)
    router.patch(member_path + "/permissions", summary=summaries.patch)(patch_permissions)
    router.delete(member_path, status_code=204, summary=summaries.delete)(remove_member)

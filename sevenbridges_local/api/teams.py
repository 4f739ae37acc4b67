"""Teams and divisions: ``/teams[/{id}[/members[/{username}]]]``, ``/divisions[/{id}]``, and the
local administration of divisions under ``/_local/divisions`` (platform admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api.boundary import BoundaryRoute, PlatformCode, RequestBody
from sevenbridges_local.api.deps import Fields, Paging, QueryBool, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, resource_response, user_json
from sevenbridges_local.db.models import Division
from sevenbridges_local.db.teams import Team, TeamMember
from sevenbridges_local.limits import MAX_USER_REFERENCE_LENGTH
from sevenbridges_local.services import divisions, teams

router = APIRouter(tags=["teams and divisions"], route_class=BoundaryRoute)

Text = Annotated[StrictStr, Field(max_length=1_000)]


def team_json(root: str, team: Team) -> dict[str, Any]:
    return {"href": f"{root}/teams/{team.id}", "id": team.id, "name": team.name}


def team_member_json(root: str, team: Team, member: TeamMember) -> dict[str, Any]:
    username = member.user.username
    return {
        "href": f"{root}/teams/{team.id}/members/{username}",
        "id": username,
        "username": username,
        "role": member.role,
    }


def division_json(root: str, division: Division) -> dict[str, Any]:
    return {"href": f"{root}/divisions/{division.slug}", "id": division.slug, "name": division.name}


class NewTeamBody(RequestBody):
    name: Text | None = None
    division: Text | None = None


class TeamChangeBody(RequestBody):
    name: Text | None = None


class NewTeamMemberBody(RequestBody):
    """``{"id": "<username>"}`` as the client sends it (``username`` is accepted too)."""

    id: Annotated[StrictStr, Field(max_length=MAX_USER_REFERENCE_LENGTH)] | None = None
    username: Annotated[StrictStr, Field(max_length=MAX_USER_REFERENCE_LENGTH)] | None = None


DivisionQuery = Annotated[
    str | None,
    Query(description="The division's id (slug)"),
    PlatformCode(errors.DIVISION_REQUIRED),
]


@router.get("/teams", summary="Teams of a division (mine, or all with _all=True)")
def list_teams(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    division: DivisionQuery = None,
    list_all: Annotated[QueryBool, Query(alias="_all")] = False,
) -> JSONResponse:
    found = teams.list_teams(ctx, division, list_all, page)
    root = api_root(request)
    return list_response(request, found, lambda team: team_json(root, team), fields)


@router.post("/teams", status_code=201, summary="Create a team (division admins)")
def create_team(
    request: Request, ctx: WriteContext, body: NewTeamBody | None = None
) -> JSONResponse:
    body = body or NewTeamBody()
    team = teams.create_team(ctx, body.name, body.division)
    return resource_response(team_json(api_root(request), team), status_code=201)


@router.get("/teams/{team_id}", summary="One team")
def get_team(request: Request, team_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    return resource_response(team_json(api_root(request), teams.find_team(ctx, team_id)), fields)


@router.patch("/teams/{team_id}", summary="Rename a team")
def rename_team(
    request: Request, team_id: str, ctx: WriteContext, body: TeamChangeBody | None = None
) -> JSONResponse:
    team = teams.rename_team(ctx, team_id, (body or TeamChangeBody()).name)
    return resource_response(team_json(api_root(request), team))


@router.get("/teams/{team_id}/members", summary="Members of a team")
def list_team_members(
    request: Request, team_id: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    team, found = teams.list_members(ctx, team_id, page)
    root = api_root(request)
    return list_response(request, found, lambda m: team_member_json(root, team, m), fields)


@router.post("/teams/{team_id}/members", status_code=201, summary="Add a user to a team")
def add_team_member(
    request: Request, team_id: str, ctx: WriteContext, body: NewTeamMemberBody | None = None
) -> JSONResponse:
    body = body or NewTeamMemberBody()
    team, member = teams.add_member(ctx, team_id, body.id or body.username)
    return resource_response(team_member_json(api_root(request), team, member), status_code=201)


@router.delete("/teams/{team_id}/members/{username}", status_code=204, summary="Remove")
def remove_team_member(team_id: str, username: str, ctx: WriteContext) -> Response:
    teams.remove_member(ctx, team_id, username)
    return Response(status_code=204)


@router.get("/divisions", summary="Divisions (yours; all for platform admins)")
def list_divisions(
    request: Request, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    found = divisions.list_divisions(ctx, page)
    root = api_root(request)
    return list_response(request, found, lambda division: division_json(root, division), fields)


@router.get("/divisions/{slug}", summary="One division")
def get_division(request: Request, slug: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    division = divisions.visible_division(ctx, slug)
    return resource_response(division_json(api_root(request), division), fields)


# ---------------------------------------------------------------------------------------------
# Local administration (platform admins): the platform itself has no public API for this.


class NewDivisionBody(RequestBody):
    id: Text | None = None
    name: Text | None = None


class DivisionMemberBody(RequestBody):
    role: Text | None = None


@router.post("/_local/divisions", status_code=201, summary="Create a division (platform admins)")
def admin_create_division(
    request: Request, ctx: WriteContext, body: NewDivisionBody | None = None
) -> JSONResponse:
    body = body or NewDivisionBody()
    division = divisions.admin_create_division(ctx, body.id or "", body.name or "")
    return resource_response(division_json(api_root(request), division), status_code=201)


@router.put(
    "/_local/divisions/{slug}/members/{username}",
    summary="Put a user into a division with a role (platform admins)",
)
def admin_set_division_member(
    request: Request,
    slug: str,
    username: str,
    ctx: WriteContext,
    body: DivisionMemberBody | None = None,
) -> JSONResponse:
    role = (body or DivisionMemberBody()).role or "member"
    user = divisions.admin_set_member(ctx, slug, username, role)
    return resource_response(user_json(api_root(request), user, role=user.division_role))


@router.delete(
    "/_local/divisions/{slug}/members/{username}",
    status_code=204,
    summary="Take a user out of a division and its teams (platform admins)",
)
def admin_remove_division_member(slug: str, username: str, ctx: WriteContext) -> Response:
    divisions.admin_remove_member(ctx, slug, username)
    return Response(status_code=204)

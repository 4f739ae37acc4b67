"""Teams of a division and their members.

Who may do what: members of the division (and platform admins) see its teams; division admins,
team admins and platform admins rename a team and manage its members; division admins and
platform admins create teams. Only users of the team's division can join it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import User
from sevenbridges_local.db.teams import Team, TeamMember
from sevenbridges_local.services import divisions, users
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate

NAME_MAX_LENGTH = 255
TEAM_ADMIN = "ADMIN"
TEAM_MEMBER = "MEMBER"


def _check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise errors.bad_request("Team name must not be empty.", errors.TEAM_NAME_INVALID)
    if len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Team name must be at most {NAME_MAX_LENGTH} characters.", errors.TEAM_NAME_INVALID
        )
    return name


def _require_division(slug: str | None) -> str:
    if not slug:
        raise errors.bad_request(
            "The division must be given when listing or creating teams.",
            errors.DIVISION_REQUIRED,
        )
    return slug


def find_team(ctx: ServiceContext, team_id: str) -> Team:
    """A team of the caller's division (any team for platform admins); 404/2106 otherwise."""
    team = ctx.session.get(Team, team_id)
    if team is not None and (
        ctx.actor.is_platform_admin or users.current_user(ctx).division_id == team.division_id
    ):
        return team
    raise errors.not_found(f"Team '{team_id}' does not exist.", errors.TEAM_NOT_FOUND)


def _can_manage(ctx: ServiceContext, team: Team) -> bool:
    if divisions.is_division_admin(ctx, team.division):
        return True
    row = ctx.session.get(TeamMember, (team.id, ctx.actor.user_id))
    return row is not None and row.role == TEAM_ADMIN


def _require_manage(ctx: ServiceContext, team: Team, action: str) -> None:
    if not _can_manage(ctx, team):
        raise errors.forbidden(
            f"Only team admins and division admins can {action}.", errors.TEAM_FORBIDDEN
        )


def list_teams(
    ctx: ServiceContext, division_slug: str | None, list_all: bool, page: PageRequest
) -> Page[Team]:
    """Teams of the division: all of them with ``list_all``, else only the caller's."""
    division = divisions.visible_division(ctx, _require_division(division_slug))
    statement = select(Team).where(Team.division_id == division.id).order_by(Team.created_on)
    if not list_all:
        mine = select(TeamMember.team_id).where(TeamMember.user_id == ctx.actor.user_id)
        statement = statement.where(Team.id.in_(mine))
    return paginate(ctx.session, statement, page)


def create_team(ctx: ServiceContext, name: str | None, division_slug: str | None) -> Team:
    division = divisions.visible_division(ctx, _require_division(division_slug))
    if not divisions.is_division_admin(ctx, division):
        raise errors.forbidden(
            f"Only admins of division '{division.slug}' can create teams.", errors.TEAM_FORBIDDEN
        )
    now = utcnow()
    team = Team(
        id=str(uuid.uuid4()), division_id=division.id, name=_check_name(name), created_on=now
    )
    ctx.session.add(team)
    me = users.current_user(ctx)
    if me.division_id == division.id:  # the creator runs the team (platform admins may be outside)
        ctx.session.add(TeamMember(team_id=team.id, user_id=me.id, role=TEAM_ADMIN, created_on=now))
    ctx.session.commit()
    return team


def rename_team(ctx: ServiceContext, team_id: str, name: str | None) -> Team:
    team = find_team(ctx, team_id)
    _require_manage(ctx, team, "rename a team")
    team.name = _check_name(name)
    ctx.session.commit()
    return team


def list_members(ctx: ServiceContext, team_id: str, page: PageRequest) -> tuple[Team, Page]:
    team = find_team(ctx, team_id)
    statement = (
        select(TeamMember)
        .where(TeamMember.team_id == team.id)
        .order_by(TeamMember.created_on, TeamMember.user_id)
    )
    return team, paginate(ctx.session, statement, page)


def add_member(ctx: ServiceContext, team_id: str, username: str | None) -> tuple[Team, TeamMember]:
    team = find_team(ctx, team_id)
    _require_manage(ctx, team, "add team members")
    if not username:
        raise errors.bad_request(
            "Give the 'id' (username) of the user to add.", errors.MEMBER_USERNAME_EMPTY
        )
    user = users.find_user(ctx.session, username)
    if user is None or user.disabled:
        raise errors.not_found(f"User '{username}' does not exist.", errors.USER_NOT_FOUND)
    if user.division_id != team.division_id:
        raise errors.bad_request(
            f"User '{user.username}' is not a member of division '{team.division.slug}', "
            "the team's division.",
            errors.OTHER_DIVISION,
        )
    if ctx.session.get(TeamMember, (team.id, user.id)) is not None:
        raise errors.conflict(
            f"User '{user.username}' is already a member of this team.", errors.TEAM_MEMBER_EXISTS
        )
    member = TeamMember(team_id=team.id, user_id=user.id, role=TEAM_MEMBER, created_on=utcnow())
    ctx.session.add(member)
    ctx.session.commit()
    return team, member


def remove_member(ctx: ServiceContext, team_id: str, username: str) -> None:
    """Team and division admins remove anyone; every member may leave on their own."""
    team = find_team(ctx, team_id)
    member = ctx.session.scalar(
        select(TeamMember)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team.id, User.username == username)
    )
    if member is None:
        raise errors.not_found(
            f"User '{username}' is not a member of this team.", errors.TEAM_MEMBER_NOT_FOUND
        )
    if member.user_id != ctx.actor.user_id:
        _require_manage(ctx, team, "remove team members")
    ctx.session.delete(member)
    ctx.session.commit()

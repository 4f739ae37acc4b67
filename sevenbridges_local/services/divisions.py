"""Divisions: created and staffed by platform administrators (``sbg local division ...`` or
``/_local/divisions``), read by their members through ``/divisions``.

A user belongs to at most one division (``users.division_id``) with a division role
(``member``, ``admin``, ``external_collaborator``). Division admins manage its teams.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Division, User
from sevenbridges_local.db.teams import Team, TeamMember
from sevenbridges_local.services import users
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
NAME_MAX_LENGTH = 255
DIVISION_ROLES = users.DIVISION_ROLES
ADMIN_ROLE = "admin"


def find_division(session: Session, slug: str) -> Division:
    division = session.scalar(select(Division).where(Division.slug == slug))
    if division is None:
        raise errors.not_found(f"Division '{slug}' does not exist.", errors.DIVISION_NOT_FOUND)
    return division


def visible_division(ctx: ServiceContext, slug: str) -> Division:
    """A division the caller belongs to (platform admins see all); 404 otherwise."""
    division = ctx.session.scalar(select(Division).where(Division.slug == slug))
    if division is not None and (
        ctx.actor.is_platform_admin or users.current_user(ctx).division_id == division.id
    ):
        return division
    raise errors.not_found(f"Division '{slug}' does not exist.", errors.DIVISION_NOT_FOUND)


def list_divisions(ctx: ServiceContext, page: PageRequest) -> Page[Division]:
    statement = select(Division).order_by(Division.id)
    if not ctx.actor.is_platform_admin:
        mine = select(User.division_id).where(User.id == ctx.actor.user_id).scalar_subquery()
        statement = statement.where(Division.id == mine)
    return paginate(ctx.session, statement, page)


def is_division_admin(ctx: ServiceContext, division: Division) -> bool:
    if ctx.actor.is_platform_admin:
        return True
    me = users.current_user(ctx)
    return me.division_id == division.id and me.division_role == ADMIN_ROLE


# ---------------------------------------------------------------------------------------------
# Administration (platform admins only; the CLI runs these with a session of its own)


def _require_platform_admin(ctx: ServiceContext) -> None:
    if not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            "Only platform administrators manage divisions.", errors.TEAM_FORBIDDEN
        )


def create_division(session: Session, slug: str, name: str) -> Division:
    if not SLUG_PATTERN.match(slug or ""):
        raise errors.bad_request(
            f"Invalid division id {slug!r}: 1 to 64 lower-case letters, digits and '-'."
        )
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Division name must be 1 to {NAME_MAX_LENGTH} characters.", errors.TEAM_NAME_INVALID
        )
    if session.scalar(select(Division.id).where(Division.slug == slug)) is not None:
        raise errors.conflict(f"Division '{slug}' already exists.", errors.CONFLICT)
    division = Division(slug=slug, name=name, created_on=utcnow())
    session.add(division)
    session.commit()
    return division


def set_member(session: Session, slug: str, username: str, role: str = "member") -> User:
    """Put the user into the division with ``role`` (moving them out of any other division:
    their team memberships in the old division end with it)."""
    division = find_division(session, slug)
    wanted = (role or "member").lower()
    if wanted not in DIVISION_ROLES:
        raise errors.bad_request(
            f"Invalid division role {role!r}; expected one of {', '.join(DIVISION_ROLES)}."
        )
    user = users.find_user(session, username)
    if user is None:
        raise errors.not_found(f"User '{username}' does not exist.", errors.USER_NOT_FOUND)
    if user.division_id is not None and user.division_id != division.id:
        old_teams = select(Team.id).where(Team.division_id == user.division_id)
        for row in session.scalars(
            select(TeamMember).where(
                TeamMember.user_id == user.id, TeamMember.team_id.in_(old_teams)
            )
        ):
            session.delete(row)
    user.division_id = division.id
    user.division_role = wanted
    session.commit()
    return user


def remove_member(session: Session, slug: str, username: str) -> None:
    """Take the user out of the division and out of all its teams."""
    division = find_division(session, slug)
    user = users.find_user(session, username)
    if user is None or user.division_id != division.id:
        raise errors.not_found(
            f"User '{username}' is not a member of division '{slug}'.", errors.USER_NOT_FOUND
        )
    teams = select(Team.id).where(Team.division_id == division.id)
    for row in session.scalars(
        select(TeamMember).where(TeamMember.user_id == user.id, TeamMember.team_id.in_(teams))
    ):
        session.delete(row)
    user.division_id = None
    user.division_role = None
    session.commit()


def all_divisions(session: Session) -> list[tuple[Division, int]]:
    """Every division with its number of members, by id (for ``sbg local division ls``)."""
    counts = (
        select(User.division_id, func.count().label("members"))
        .where(User.division_id.is_not(None))
        .group_by(User.division_id)
        .subquery()
    )
    rows = session.execute(
        select(Division, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.division_id == Division.id)
        .order_by(Division.slug)
    )
    return [(division, int(members)) for division, members in rows]


def division_members(session: Session, slug: str) -> list[User]:
    """The division's users by username; 404/2112 for an unknown division."""
    division = find_division(session, slug)
    return list(
        session.scalars(select(User).where(User.division_id == division.id).order_by(User.username))
    )


def admin_create_division(ctx: ServiceContext, slug: str, name: str) -> Division:
    _require_platform_admin(ctx)
    return create_division(ctx.session, slug, name)


def admin_set_member(ctx: ServiceContext, slug: str, username: str, role: str) -> User:
    _require_platform_admin(ctx)
    return set_member(ctx.session, slug, username, role)


def admin_remove_member(ctx: ServiceContext, slug: str, username: str) -> None:
    _require_platform_admin(ctx)
    remove_member(ctx.session, slug, username)

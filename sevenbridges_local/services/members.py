"""Members and their permissions, for projects, volumes and datasets alike.

Members are users, teams and divisions (``db.teams.GroupGrant`` rows; what they give is merged
in ``services/access.py``). Rules: only members with ``admin`` manage members; ``read`` is
implied by membership; ``admin`` implies every permission; the owner stays an admin member for
good. A :class:`MemberTable` says how one kind of resource keeps its members (row type,
permission names, codes); the project functions at the end check project access first,
``services/volumes.py`` and ``services/datasets.py`` do the same for theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Division, Project, ProjectMember, User
from sevenbridges_local.db.teams import GroupGrant, Team
from sevenbridges_local.services import users
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.projects import (
    PERMISSION_NAMES,
    project_membership,
    require_permission,
)

DEFAULT_PERMISSIONS = {"read": True, "copy": True, "write": False, "execute": False, "admin": False}
GROUP_MEMBER_TYPES = ("TEAM", "DIVISION")

Parent = TypeVar("Parent")
Member = TypeVar("Member")


@dataclass(frozen=True)
class NewMember:
    username: str | None = None
    email: str | None = None
    type: str | None = None
    # Permission name -> granted (names and types checked by the HTTP layer); None: defaults.
    permissions: dict[str, bool] | None = None


@dataclass(frozen=True)
class MemberTable:
    """How one kind of resource keeps its members."""

    model: Any  # the row class (ProjectMember, VolumeMember)
    parent_key: str  # its column naming the resource ("project_id", "volume_id"), also in grants
    permissions: tuple[str, ...]
    defaults: dict[str, bool]  # granted when a member is added without permissions
    noun: str  # "project", "volume"
    not_found_code: int
    forbidden_code: int
    conflict_code: int


PROJECT_MEMBERS = MemberTable(
    model=ProjectMember,
    parent_key="project_id",
    permissions=PERMISSION_NAMES,
    defaults=DEFAULT_PERMISSIONS,
    noun="project",
    not_found_code=errors.PROJECT_NOT_FOUND,
    forbidden_code=errors.PROJECT_FORBIDDEN,
    conflict_code=errors.PROJECT_CONFLICT,
)


def apply_permissions(table: MemberTable, member: Any, permissions: dict[str, bool]) -> None:
    for key, value in permissions.items():
        if key in table.permissions:
            setattr(member, key, value)
    member.read = True  # membership itself grants read
    if member.admin:
        for key in table.permissions:
            setattr(member, key, True)


def _grants(ctx: ServiceContext, table: MemberTable, parent_id: int) -> Any:
    return select(GroupGrant).where(getattr(GroupGrant, table.parent_key) == parent_id)


def _find_grant(ctx: ServiceContext, table: MemberTable, parent_id: int, name: str) -> Any:
    """A team (by id) or division (by slug) member of the resource, or None."""
    team_grant = ctx.session.scalar(
        _grants(ctx, table, parent_id).where(GroupGrant.team_id == name)
    )
    if team_grant is not None:
        return team_grant
    division = select(Division.id).where(Division.slug == name).scalar_subquery()
    return ctx.session.scalar(
        _grants(ctx, table, parent_id).where(GroupGrant.division_id == division)
    )


def find_member(ctx: ServiceContext, table: MemberTable, parent_id: int, username: str) -> Any:
    """A member by username; teams by their id and divisions by their slug come next."""
    model = table.model
    member = ctx.session.scalar(
        select(model)
        .join(User, User.id == model.user_id)
        .where(getattr(model, table.parent_key) == parent_id, User.username == username)
    )
    if member is None:
        member = _find_grant(ctx, table, parent_id, username)
    if member is None:
        raise errors.not_found(
            f"User '{username}' is not a member of this {table.noun}.", table.not_found_code
        )
    return member


def member_page(
    ctx: ServiceContext, table: MemberTable, parent_id: int, page: PageRequest
) -> Page[Any]:
    """Users first (SQL paging), then the teams and divisions (few; paged in memory)."""
    model = table.model
    statement = (
        select(model)
        .where(getattr(model, table.parent_key) == parent_id)
        .order_by(model.created_on, model.user_id)
    )
    people = paginate(ctx.session, statement, page)
    groups = ctx.session.scalars(
        _grants(ctx, table, parent_id).order_by(GroupGrant.created_on, GroupGrant.id)
    ).all()
    items = list(people.items)
    if len(items) < page.limit:
        start = max(page.offset - people.total, 0)
        items += groups[start : start + page.limit - len(items)]
    return Page(items=items, total=people.total + len(groups), offset=page.offset, limit=page.limit)


def add_owner(ctx: ServiceContext, table: MemberTable, parent_id: int, user_id: int) -> None:
    """The creator of a resource: a member with every permission (the caller commits)."""
    ctx.session.add(
        table.model(
            **{table.parent_key: parent_id, "user_id": user_id, "created_on": utcnow()},
            **{permission: True for permission in table.permissions},
        )
    )


def _set_initial(table: MemberTable, member: Any, permissions: dict[str, bool] | None) -> None:
    if permissions:
        # Given permissions are complete: what is not granted is denied.
        apply_permissions(
            table, member, {key: permissions.get(key, False) for key in table.permissions}
        )
    else:
        apply_permissions(table, member, table.defaults)


def _insert_group(
    ctx: ServiceContext, table: MemberTable, parent_id: int, member_type: str, request: NewMember
) -> Any:
    """A team or a division of the caller's own division (platform admins: any) as member."""
    name = request.username
    if not name:
        raise errors.bad_request(
            f"Give the id of the {member_type.lower()} to add as 'username'.",
            errors.MEMBER_USERNAME_EMPTY,
        )
    my_division = None if ctx.actor.is_platform_admin else users.current_user(ctx).division_id
    grant = GroupGrant(
        **{table.parent_key: parent_id}, member_type=member_type, created_on=utcnow()
    )
    if member_type == "TEAM":
        team = ctx.session.get(Team, name)
        if team is None:
            raise errors.not_found(f"Team '{name}' does not exist.", errors.TEAM_NOT_FOUND)
        division_id = team.division_id
        grant.team_id = team.id
        existing = GroupGrant.team_id == team.id
    else:
        division = ctx.session.scalar(select(Division).where(Division.slug == name))
        if division is None:
            raise errors.not_found(f"Division '{name}' does not exist.", errors.DIVISION_NOT_FOUND)
        division_id = division.id
        grant.division_id = division.id
        existing = GroupGrant.division_id == division.id
    if not ctx.actor.is_platform_admin and division_id != my_division:
        raise errors.bad_request(
            f"{member_type.title()} '{name}' belongs to another division than yours; only "
            "teams of your division and your division itself can be added.",
            errors.OTHER_DIVISION,
        )
    if ctx.session.scalar(_grants(ctx, table, parent_id).where(existing)) is not None:
        raise errors.conflict(
            f"{member_type.title()} '{name}' is already a member of this {table.noun}.",
            table.conflict_code,
        )
    _set_initial(table, grant, request.permissions)
    ctx.session.add(grant)
    ctx.session.commit()
    return grant


def insert_member(
    ctx: ServiceContext, table: MemberTable, parent_id: int, request: NewMember
) -> Any:
    """Add a user (by username or e-mail), a team or a division with the given permissions,
    or the defaults."""
    member_type = (request.type or "USER").upper()
    if member_type in GROUP_MEMBER_TYPES:
        return _insert_group(ctx, table, parent_id, member_type, request)
    if member_type != "USER":
        raise errors.bad_request(
            f"Invalid value for 'type': {request.type!r}; expected USER, TEAM or DIVISION.",
            errors.MEMBER_TYPE_INVALID,
        )
    if request.username:
        user = users.find_user(ctx.session, request.username)
        wanted = request.username
    elif request.email:
        user = users.find_user_by_email(ctx.session, request.email)
        wanted = request.email
    else:
        raise errors.bad_request(
            "Give the 'username' or the 'email' of the user to add.", errors.MEMBER_USERNAME_EMPTY
        )
    if user is None or user.disabled:
        raise errors.not_found(f"User '{wanted}' does not exist.", errors.USER_NOT_FOUND)
    if ctx.session.get(table.model, (parent_id, user.id)) is not None:
        raise errors.conflict(
            f"User '{user.username}' is already a member of this {table.noun}.",
            table.conflict_code,
        )
    member = table.model(**{table.parent_key: parent_id, "user_id": user.id}, created_on=utcnow())
    _set_initial(table, member, request.permissions)
    ctx.session.add(member)
    ctx.session.commit()
    return find_member(ctx, table, parent_id, user.username)


def change_permissions(
    ctx: ServiceContext,
    table: MemberTable,
    parent_id: int,
    owner_id: int,
    username: str,
    permissions: dict[str, bool],
) -> Any:
    """Change the given permissions only (``{"copy": false}`` leaves the others as they are)."""
    member = find_member(ctx, table, parent_id, username)
    if getattr(member, "user_id", None) == owner_id and permissions.get("admin") is False:
        raise errors.forbidden(
            f"The {table.noun} owner must keep the admin permission.", table.forbidden_code
        )
    apply_permissions(table, member, permissions)
    ctx.session.commit()
    return member


def delete_member(
    ctx: ServiceContext, table: MemberTable, parent_id: int, owner_id: int, username: str
) -> None:
    member = find_member(ctx, table, parent_id, username)
    if getattr(member, "user_id", None) == owner_id:
        raise errors.forbidden(
            f"The {table.noun} owner cannot be removed from the {table.noun}.",
            table.forbidden_code,
        )
    ctx.session.delete(member)
    ctx.session.commit()


# ---------------------------------------------------------------------------------------------
# The five member operations of one kind of resource


@dataclass(frozen=True)
class MemberOperations(Generic[Parent, Member]):
    """List, get, add, change and remove members of a resource found by ``(owner, key)``.

    ``find`` gives the resource and the caller's access (its own 404 when they cannot see it);
    ``require`` raises the resource's 403 when that access lacks a permission. Reading needs
    only access; changing members needs ``admin``.
    """

    table: MemberTable
    find: Callable[[ServiceContext, str, str], tuple[Parent, Any]]
    require: Callable[[Any, str, str], None]

    def _managed(self, ctx: ServiceContext, owner: str, key: str) -> Parent:
        parent, membership = self.find(ctx, owner, key)
        self.require(membership, "admin", "manage its members")
        return parent

    def list_members(
        self, ctx: ServiceContext, owner: str, key: str, page: PageRequest
    ) -> tuple[Parent, Page[Member]]:
        parent, _ = self.find(ctx, owner, key)
        return parent, member_page(ctx, self.table, parent.id, page)  # type: ignore[attr-defined]

    def get_member(
        self, ctx: ServiceContext, owner: str, key: str, username: str
    ) -> tuple[Parent, Member]:
        parent, _ = self.find(ctx, owner, key)
        return parent, find_member(ctx, self.table, parent.id, username)  # type: ignore[attr-defined]

    def add_member(
        self, ctx: ServiceContext, owner: str, key: str, request: NewMember
    ) -> tuple[Parent, Member]:
        parent = self._managed(ctx, owner, key)
        return parent, insert_member(ctx, self.table, parent.id, request)  # type: ignore[attr-defined]

    def update_permissions(
        self,
        ctx: ServiceContext,
        owner: str,
        key: str,
        username: str,
        permissions: dict[str, bool],
    ) -> tuple[Parent, Member]:
        parent: Any = self._managed(ctx, owner, key)
        member = change_permissions(
            ctx, self.table, parent.id, parent.owner_id, username, permissions
        )
        return parent, member

    def remove_member(self, ctx: ServiceContext, owner: str, key: str, username: str) -> None:
        parent: Any = self._managed(ctx, owner, key)
        delete_member(ctx, self.table, parent.id, parent.owner_id, username)


# ---------------------------------------------------------------------------------------------
# Project members

_PROJECT = MemberOperations[Project, ProjectMember](
    PROJECT_MEMBERS, project_membership, require_permission
)
list_members = _PROJECT.list_members
get_member = _PROJECT.get_member
add_member = _PROJECT.add_member
update_permissions = _PROJECT.update_permissions
remove_member = _PROJECT.remove_member

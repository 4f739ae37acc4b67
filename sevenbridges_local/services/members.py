"""Members and their permissions, for projects and volumes alike.

Rules: only members with ``admin`` manage members; ``read`` is implied by membership; ``admin``
implies every permission; the owner stays an admin member for good. A :class:`MemberTable`
says how one kind of resource keeps its members (row type, permission names, codes); the
project functions at the end check project access first, ``services/volumes.py`` does the same
for volumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Project, ProjectMember, User
from sevenbridges_local.services import users
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.projects import (
    PERMISSION_NAMES,
    project_membership,
    require_permission,
)

DEFAULT_PERMISSIONS = {"read": True, "copy": True, "write": False, "execute": False, "admin": False}
UNSUPPORTED_MEMBER_TYPES = ("TEAM", "DIVISION")


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
    parent_key: str  # its column naming the resource ("project_id", "volume_id")
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


def find_member(ctx: ServiceContext, table: MemberTable, parent_id: int, username: str) -> Any:
    model = table.model
    member = ctx.session.scalar(
        select(model)
        .join(User, User.id == model.user_id)
        .where(getattr(model, table.parent_key) == parent_id, User.username == username)
    )
    if member is None:
        raise errors.not_found(
            f"User '{username}' is not a member of this {table.noun}.", table.not_found_code
        )
    return member


def member_page(
    ctx: ServiceContext, table: MemberTable, parent_id: int, page: PageRequest
) -> Page[Any]:
    model = table.model
    statement = (
        select(model)
        .where(getattr(model, table.parent_key) == parent_id)
        .order_by(model.created_on, model.user_id)
    )
    return paginate(ctx.session, statement, page)


def add_owner(ctx: ServiceContext, table: MemberTable, parent_id: int, user_id: int) -> None:
    """The creator of a resource: a member with every permission (the caller commits)."""
    ctx.session.add(
        table.model(
            **{table.parent_key: parent_id, "user_id": user_id, "created_on": utcnow()},
            **{permission: True for permission in table.permissions},
        )
    )


def insert_member(
    ctx: ServiceContext, table: MemberTable, parent_id: int, request: NewMember
) -> Any:
    """Add a user (by username or e-mail) with the given permissions, or the defaults."""
    member_type = (request.type or "USER").upper()
    if member_type in UNSUPPORTED_MEMBER_TYPES:
        raise errors.bad_request(
            f"Members of type {member_type} (teams and divisions) are not supported by the local "
            "platform yet; add users one by one."
        )
    if member_type != "USER":
        raise errors.bad_request(f"Invalid value for 'type': {request.type!r}; expected USER.")
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
    permissions = request.permissions or {}
    member = table.model(**{table.parent_key: parent_id, "user_id": user.id}, created_on=utcnow())
    if permissions:
        # Given permissions are complete: what is not granted is denied.
        apply_permissions(
            table, member, {key: permissions.get(key, False) for key in table.permissions}
        )
    else:
        apply_permissions(table, member, table.defaults)
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
    if member.user_id == owner_id and permissions.get("admin") is False:
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
    if member.user_id == owner_id:
        raise errors.forbidden(
            f"The {table.noun} owner cannot be removed from the {table.noun}.",
            table.forbidden_code,
        )
    ctx.session.delete(member)
    ctx.session.commit()


# ---------------------------------------------------------------------------------------------
# Project members


def list_members(
    ctx: ServiceContext, owner: str, slug: str, page: PageRequest
) -> tuple[Project, Page[ProjectMember]]:
    project, _ = project_membership(ctx, owner, slug)
    return project, member_page(ctx, PROJECT_MEMBERS, project.id, page)


def get_member(
    ctx: ServiceContext, owner: str, slug: str, username: str
) -> tuple[Project, ProjectMember]:
    project, _ = project_membership(ctx, owner, slug)
    return project, find_member(ctx, PROJECT_MEMBERS, project.id, username)


def add_member(
    ctx: ServiceContext, owner: str, slug: str, request: NewMember
) -> tuple[Project, ProjectMember]:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
    return project, insert_member(ctx, PROJECT_MEMBERS, project.id, request)


def update_permissions(
    ctx: ServiceContext, owner: str, slug: str, username: str, permissions: dict[str, bool]
) -> tuple[Project, ProjectMember]:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
    member = change_permissions(
        ctx, PROJECT_MEMBERS, project.id, project.owner_id, username, permissions
    )
    return project, member


def remove_member(ctx: ServiceContext, owner: str, slug: str, username: str) -> None:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
    delete_member(ctx, PROJECT_MEMBERS, project.id, project.owner_id, username)

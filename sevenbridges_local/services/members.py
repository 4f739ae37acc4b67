"""Project members and their permissions.

Rules: only members with ``admin`` manage members; ``read`` is implied by membership; ``admin``
implies every permission; the owner stays an admin member for good.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _apply(member: ProjectMember, permissions: dict[str, bool]) -> None:
    for key, value in permissions.items():
        setattr(member, key, value)
    member.read = True  # membership itself grants read
    if member.admin:
        for key in PERMISSION_NAMES:
            setattr(member, key, True)


def _find_member(ctx: ServiceContext, project: Project, username: str) -> ProjectMember:
    member = ctx.session.scalar(
        select(ProjectMember)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id, User.username == username)
    )
    if member is None:
        raise errors.not_found(
            f"User '{username}' is not a member of this project.", errors.PROJECT_NOT_FOUND
        )
    return member


def list_members(
    ctx: ServiceContext, owner: str, slug: str, page: PageRequest
) -> tuple[Project, Page[ProjectMember]]:
    project, _ = project_membership(ctx, owner, slug)
    statement = (
        select(ProjectMember)
        .where(ProjectMember.project_id == project.id)
        .order_by(ProjectMember.created_on, ProjectMember.user_id)
    )
    return project, paginate(ctx.session, statement, page)


def get_member(
    ctx: ServiceContext, owner: str, slug: str, username: str
) -> tuple[Project, ProjectMember]:
    project, _ = project_membership(ctx, owner, slug)
    return project, _find_member(ctx, project, username)


def add_member(
    ctx: ServiceContext, owner: str, slug: str, request: NewMember
) -> tuple[Project, ProjectMember]:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
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
    if ctx.session.get(ProjectMember, (project.id, user.id)) is not None:
        raise errors.conflict(
            f"User '{user.username}' is already a member of this project.", errors.PROJECT_CONFLICT
        )
    permissions = request.permissions or {}
    member = ProjectMember(project_id=project.id, user_id=user.id, created_on=utcnow())
    if permissions:
        # Given permissions are complete: what is not granted is denied.
        _apply(member, {key: permissions.get(key, False) for key in PERMISSION_NAMES})
    else:
        _apply(member, DEFAULT_PERMISSIONS)
    ctx.session.add(member)
    ctx.session.commit()
    return project, _find_member(ctx, project, user.username)


def update_permissions(
    ctx: ServiceContext, owner: str, slug: str, username: str, permissions: dict[str, bool]
) -> tuple[Project, ProjectMember]:
    """Change the given permissions only (``{"copy": false}`` leaves the others as they are)."""
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
    member = _find_member(ctx, project, username)
    if member.user_id == project.owner_id and permissions.get("admin") is False:
        raise errors.forbidden(
            "The project owner must keep the admin permission.", errors.PROJECT_FORBIDDEN
        )
    _apply(member, permissions)
    ctx.session.commit()
    return project, member


def remove_member(ctx: ServiceContext, owner: str, slug: str, username: str) -> None:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "manage its members")
    member = _find_member(ctx, project, username)
    if member.user_id == project.owner_id:
        raise errors.forbidden(
            "The project owner cannot be removed from the project.", errors.PROJECT_FORBIDDEN
        )
    ctx.session.delete(member)
    ctx.session.commit()

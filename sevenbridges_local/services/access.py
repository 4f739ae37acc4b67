"""Effective permissions: the one place that says what a user may do on a project, volume or
dataset.

A user's permissions on a resource are the union of their direct membership row and every group
grant to a team they belong to or to their division. Removing the user from the team (or the
division, or the grant) takes the access away at the next request: nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true, union, union_all
from sqlalchemy.orm import Session

from sevenbridges_local.db.datasets import Dataset, DatasetMember
from sevenbridges_local.db.models import ProjectMember, User
from sevenbridges_local.db.teams import GroupGrant, TeamMember
from sevenbridges_local.db.volumes import VolumeMember

PERMISSIONS = ("read", "copy", "write", "execute", "admin")
# Kept here rather than imported from services.datasets (which imports this module).
PUBLIC_DATASET = "public"


@dataclass(frozen=True)
class Access:
    """What one user may do on one resource (read-only; membership rows are elsewhere)."""

    read: bool = False
    copy: bool = False
    write: bool = False
    execute: bool = False
    admin: bool = False
    direct: bool = False  # the user also has a membership row of their own

    def merged(self, row: Any, *, direct: bool = False) -> Access:
        flags = {
            name: getattr(self, name) or bool(getattr(row, name, False)) for name in PERMISSIONS
        }
        return Access(**flags, direct=self.direct or direct)


def _groups_of(user_id: int) -> ColumnElement[bool]:
    """Grants that reach the user: to one of their teams or to their division."""
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    division = select(User.division_id).where(User.id == user_id).scalar_subquery()
    return or_(GroupGrant.team_id.in_(teams), GroupGrant.division_id == division)


def _permissions(model: Any) -> list[Any]:
    # Volumes have no "execute"; their rows read as False there.
    return [getattr(model, name, false()).label(name) for name in PERMISSIONS]


def _access(
    session: Session,
    member: Any,
    member_column: Any,
    grant_column: Any,
    resource_id: int,
    user_id: int,
) -> Access | None:
    """The union of the user's direct membership row and the grants to their groups, read in
    one statement (this runs on nearly every request)."""
    direct = select(*_permissions(member), true().label("direct")).where(
        member_column == resource_id, member.user_id == user_id
    )
    grants = select(*_permissions(GroupGrant), false().label("direct")).where(
        grant_column == resource_id, _groups_of(user_id)
    )
    rows = session.execute(union_all(direct, grants)).all()
    if not rows:
        return None
    access = Access()
    for row in rows:
        access = access.merged(row, direct=bool(row.direct))
    return access


def project_access(session: Session, project_id: int, user_id: int) -> Access | None:
    """The user's permissions on the project, or None when they have no access at all.

    Members of an automation also reach its storage project (packages, run logs and states).
    """
    found = _access(
        session,
        ProjectMember,
        ProjectMember.project_id,
        GroupGrant.project_id,
        project_id,
        user_id,
    )
    if found is None or not found.write:
        from sevenbridges_local.services.automations import storage_access

        through_automation = storage_access(session, project_id, user_id)
        if through_automation is not None:
            found = (found or Access()).merged(through_automation)
    return found


def volume_access(session: Session, volume_id: int, user_id: int) -> Access | None:
    return _access(
        session, VolumeMember, VolumeMember.volume_id, GroupGrant.volume_id, volume_id, user_id
    )


def dataset_access(session: Session, dataset_id: int, user_id: int) -> Access | None:
    return _access(
        session,
        DatasetMember,
        DatasetMember.dataset_id,
        GroupGrant.dataset_id,
        dataset_id,
        user_id,
    )


def dataset_file_access(session: Session, project_id: int, user_id: int) -> Access | None:
    """What a dataset published from the project gives on the project's files: ``read`` and
    ``copy`` as the user holds them on the dataset (a public dataset: ``read`` for everyone).
    Never more: writing, running tasks and administering stay with the project's members."""
    found: Access | None = None
    for dataset in session.scalars(select(Dataset).where(Dataset.project_id == project_id)):
        held = dataset_access(session, dataset.id, user_id)
        if held is None and dataset.visibility == PUBLIC_DATASET:
            held = Access(read=True)
        if held is not None and held.read:
            found = (found or Access()).merged(Access(read=True, copy=held.copy))
    return found


def project_files_access(session: Session, project_id: int, user_id: int) -> Access | None:
    """The user's permissions on a project's files: their project access, plus what datasets
    published from that project give (``dataset_file_access``)."""
    direct = project_access(session, project_id, user_id)
    if direct is not None and direct.read and direct.copy:
        return direct  # a dataset cannot add anything
    through_datasets = dataset_file_access(session, project_id, user_id)
    if through_datasets is None:
        return direct
    return through_datasets if direct is None else direct.merged(through_datasets)


def _ids(member_model: Any, parent: str, grant_column: Any, user_id: int, permission: str | None):
    direct = select(getattr(member_model, parent)).where(member_model.user_id == user_id)
    grouped = select(grant_column).where(grant_column.is_not(None), _groups_of(user_id))
    if permission is not None:
        direct = direct.where(getattr(member_model, permission).is_(True))
        grouped = grouped.where(getattr(GroupGrant, permission).is_(True))
    return union(direct, grouped)


def project_ids(user_id: int, permission: str | None = None) -> Select[Any]:
    """Ids of the projects the user reaches (with ``permission``), for ``IN (...)`` filters."""
    found = _ids(ProjectMember, "project_id", GroupGrant.project_id, user_id, permission).subquery()
    return select(found.c[0])


def volume_ids(user_id: int, permission: str | None = None) -> Select[Any]:
    found = _ids(VolumeMember, "volume_id", GroupGrant.volume_id, user_id, permission).subquery()
    return select(found.c[0])


def dataset_ids(user_id: int, permission: str | None = None) -> Select[Any]:
    found = _ids(DatasetMember, "dataset_id", GroupGrant.dataset_id, user_id, permission).subquery()
    return select(found.c[0])

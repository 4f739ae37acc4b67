"""Projects: creation, listing with filters, updates and the permission checks they share."""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any, TypedDict

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import BillingGroup, Project, ProjectMember, ProjectTag, User
from sevenbridges_local.services import access, billing, folders
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.names import disguising_character

NAME_MAX_LENGTH = 255
SLUG_MAX_LENGTH = 200  # leaves room for the "-<n>" that makes a slug unique
PUBLIC_CATEGORY = "PUBLIC"
CATEGORIES = ("PRIVATE", "CONTROLLED", PUBLIC_CATEGORY)
DEFAULT_CATEGORY = "PRIVATE"
PROJECT_TYPE = "v2"
DEFAULT_SETTINGS: dict[str, Any] = {
    "locked": False,
    "use_interruptible_instances": True,
    "use_memoization": False,
    "allow_network_access": True,
    "use_elastic_disk": False,
}
PERMISSION_NAMES = ("read", "copy", "write", "execute", "admin")
# Keys a client may write; PUT resets the absent ones to these defaults.
WRITABLE_KEYS = ("name", "billing_group", "description", "tags", "settings", "category", "type")

_SLUG_SEPARATORS = re.compile(r"[^a-z0-9]+")


class ProjectValues(TypedDict, total=False):
    """Writable project keys as the client sent them (types and sizes checked by the HTTP
    layer); a key that is absent is not changed by PATCH, ``None`` means empty."""

    name: str | None
    billing_group: str | None
    description: str | None
    tags: list[str] | None
    settings: dict[str, Any] | None
    category: str | None
    type: str | None


def slugify(name: str) -> str:
    # Lower-casing can lengthen a name ("İ" becomes "i" and a combining dot): cut the slug so
    # that ids stay short and the root folder named after it fits a file name.
    slug = _SLUG_SEPARATORS.sub("-", name.lower())[:SLUG_MAX_LENGTH].strip("-")
    return slug or "project"


def _unique_slug(session: Session, owner_id: int, base: str) -> str:
    # The owner's row is held until commit, so an owner's concurrent creations pick their slugs
    # one after the other on PostgreSQL too (SQLite serialises writers; the clause is dropped).
    session.execute(select(User.id).where(User.id == owner_id).with_for_update())
    # Slugs hold only [a-z0-9-], so LIKE needs no escaping.
    taken = set(
        session.scalars(
            select(Project.slug).where(
                Project.owner_id == owner_id,
                (Project.slug == base) | Project.slug.like(f"{base}-%"),
            )
        )
    )
    if base not in taken:
        return base
    suffix = 1
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


# ---------------------------------------------------------------------------------------------
# Validation of writable values (types and sizes were checked by the HTTP layer)


def _check_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise errors.bad_request("Project name must not be empty.", errors.PROJECT_NAME_EMPTY)
    name = unicodedata.normalize("NFC", name)
    if len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Invalid value for 'name': at most {NAME_MAX_LENGTH} characters are allowed."
        )
    problem = disguising_character(name)
    if problem is not None:
        raise errors.bad_request(f"Invalid value for 'name': the project name {problem}.")
    return name


def _check_tags(tags: list[str]) -> list[str]:
    for tag in tags:
        if not tag.strip():
            raise errors.bad_request("Invalid value for 'tags': a tag must not be blank.")
        if any(unicodedata.category(char) == "Cc" for char in tag):
            raise errors.bad_request(
                "Invalid value for 'tags': control characters are not allowed."
            )
    return list(tags)


def _check_category(category: str) -> str:
    normalised = category.upper()
    if normalised not in CATEGORIES:
        raise errors.bad_request(
            f"Invalid value for 'category': {category!r}; expected one of {', '.join(CATEGORIES)}."
        )
    return normalised


def _check_public(ctx: ServiceContext, category: str) -> None:
    """Only platform administrators make a project PUBLIC: the files of a PUBLIC project owned
    by one are usable by every task, and its apps are seen by everyone."""
    if category == PUBLIC_CATEGORY and not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            "Only platform administrators can make a project PUBLIC.", errors.PROJECT_FORBIDDEN
        )


def _check_type(project_type: str) -> str:
    if project_type != PROJECT_TYPE:
        raise errors.bad_request(
            f"Invalid value for 'type': the local platform only has '{PROJECT_TYPE}' projects.",
            errors.PROJECT_TYPE_INVALID,
        )
    return project_type


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Key-by-key merge; nested objects are merged too (the client sends only changed sub-keys)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _resolve_billing_group(ctx: ServiceContext, raw_group_id: str | None) -> BillingGroup:
    if raw_group_id is None:
        group = billing.own_billing_group(ctx.session, ctx.actor.user_id)
        if group is None:
            raise errors.bad_request(
                "Billing group must be given: you do not own a billing group.",
                errors.BILLING_GROUP_ID_EMPTY,
            )
        return group
    return billing.get_group(ctx, raw_group_id)


def _set_tags(project: Project, tags: list[str]) -> None:
    project.tag_rows.clear()
    # Flush the removals first: new rows reuse the (project_id, position) keys.
    session = Session.object_session(project)
    if session is not None:
        session.flush()
    project.tag_rows.extend(
        ProjectTag(project_id=project.id, position=index, tag=tag) for index, tag in enumerate(tags)
    )


# ---------------------------------------------------------------------------------------------
# Access


def project_membership(ctx: ServiceContext, owner: str, slug: str) -> tuple[Project, Access]:
    """The project and the caller's membership; 404/3002 for non-members (hides existence)."""
    project = ctx.session.scalar(
        select(Project)
        .join(User, User.id == Project.owner_id)
        .where(User.username == owner, Project.slug == slug)
    )
    membership = (
        access.project_access(ctx.session, project.id, ctx.actor.user_id) if project else None
    )
    if project is None or membership is None:
        raise errors.not_found(
            f"Project '{owner}/{slug}' does not exist.", errors.PROJECT_NOT_FOUND
        )
    return project, membership


def require_permission(membership: Access, permission: str, action: str) -> None:
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on this project to {action}.",
            errors.PROJECT_FORBIDDEN,
        )


# ---------------------------------------------------------------------------------------------
# Operations


def create_project(ctx: ServiceContext, values: ProjectValues) -> Project:
    name = _check_name(values.get("name"))
    group = _resolve_billing_group(ctx, values.get("billing_group"))
    tags = _check_tags(values.get("tags") or [])
    settings = _merge(DEFAULT_SETTINGS, values.get("settings") or {})
    category = _check_category(values.get("category") or DEFAULT_CATEGORY)
    _check_public(ctx, category)
    project_type = _check_type(values.get("type") or PROJECT_TYPE)
    now = utcnow()
    project = Project(
        owner_id=ctx.actor.user_id,
        slug=_unique_slug(ctx.session, ctx.actor.user_id, slugify(name)),
        name=name,
        description=values.get("description") or "",
        billing_group_id=group.id,
        category=category,
        type=project_type,
        settings=settings,
        created_by_id=ctx.actor.user_id,
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(project)
    ctx.session.flush()
    folders.create_root_folder(ctx.session, project)
    _set_tags(project, tags)
    ctx.session.add(
        ProjectMember(
            project_id=project.id,
            user_id=ctx.actor.user_id,
            **{permission: True for permission in PERMISSION_NAMES},
            created_on=now,
        )
    )
    ctx.session.commit()
    return project


def list_projects(
    ctx: ServiceContext,
    page: PageRequest,
    *,
    owner: str | None = None,
    name: str | None = None,
    category: str | None = None,
    tags: list[str] | None = None,
) -> Page[Project]:
    """Projects the caller is a member of, optionally filtered (tags: must carry all of them)."""
    statement = (
        select(Project)
        .where(Project.id.in_(access.project_ids(ctx.actor.user_id)))
        .options(selectinload(Project.tag_rows))
        .order_by(Project.id)
    )
    if owner is not None:
        owner_id = select(User.id).where(User.username == owner).scalar_subquery()
        statement = statement.where(Project.owner_id == owner_id)
    if name is not None:
        statement = statement.where(Project.name == name)
    if category:
        statement = statement.where(func.upper(Project.category) == category.upper())
    for tag in tags or []:
        statement = statement.where(
            exists().where(ProjectTag.project_id == Project.id, ProjectTag.tag == tag)
        )
    return paginate(ctx.session, statement, page)


def root_folders(ctx: ServiceContext, found: Any) -> dict[int, str]:
    """Root folder ids of the given projects, keyed by project row id."""
    return folders.root_folder_ids(ctx.session, (project.id for project in found))


def get_project(ctx: ServiceContext, owner: str, slug: str) -> Project:
    project, _ = project_membership(ctx, owner, slug)
    return project


def update_project(
    ctx: ServiceContext, owner: str, slug: str, values: ProjectValues, *, replace: bool
) -> Project:
    """PATCH (``replace=False``): the given keys only. PUT: all writable keys (defaults)."""
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "change its details")
    if replace:
        values = {
            "description": "",
            "tags": [],
            "settings": {},
            "category": DEFAULT_CATEGORY,
            "type": PROJECT_TYPE,
            **values,
        }
        if "name" not in values:
            raise errors.bad_request("Project name must not be empty.", errors.PROJECT_NAME_EMPTY)
    if "name" in values:
        project.name = _check_name(values["name"])
    if values.get("billing_group") is not None:
        project.billing_group_id = billing.get_group(ctx, values["billing_group"]).id
    if "description" in values:
        project.description = values["description"] or ""
    if "tags" in values:
        _set_tags(project, _check_tags(values["tags"] or []))
    if "settings" in values:
        changes = values["settings"] or {}
        base = DEFAULT_SETTINGS if replace else (project.settings or {})
        # A new dict object: the JSON column only notices reassignment.
        project.settings = _merge(base, changes)
    if values.get("category") is not None:
        category = _check_category(values["category"])
        if category != project.category:
            _check_public(ctx, category)
        project.category = category
    if values.get("type") is not None:
        project.type = _check_type(values["type"])
    project.modified_on = utcnow()
    ctx.session.commit()
    return project


def delete_project(ctx: ServiceContext, owner: str, slug: str) -> None:
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "delete it")
    # Its files go with it (database cascade); their blobs are freed once nothing else uses them.
    folders.release_blobs(ctx.session, folders.project_blob_keys(ctx.session, project.id))
    ctx.session.delete(project)
    ctx.session.commit()

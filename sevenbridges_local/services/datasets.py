"""Datasets: a named, described collection of files published from one project.

Local convention (the public API has no way to create one): a project admin publishes a
project as a dataset with ``POST /_local/datasets``; the
dataset's id is ``<owner>/<slug>``, its files are the source project's files, and its owner is
its first admin member. ``visibility`` is ``private`` (members only) or ``public`` (everyone
reads it; platform admins only). Members and permissions work as for projects, teams and
divisions included.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.datasets import Dataset, DatasetMember
from sevenbridges_local.db.models import User
from sevenbridges_local.services import access
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.members import (
    DEFAULT_PERMISSIONS,
    MemberOperations,
    MemberTable,
    add_owner,
)
from sevenbridges_local.services.projects import (
    PERMISSION_NAMES,
    project_membership,
    require_permission,
    slugify,
)

NAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 100_000
VISIBILITIES = ("private", "public")
PUBLIC = "public"

DATASET_MEMBERS = MemberTable(
    model=DatasetMember,
    parent_key="dataset_id",
    permissions=PERMISSION_NAMES,
    defaults=DEFAULT_PERMISSIONS,
    noun="dataset",
    not_found_code=errors.DATASET_NOT_FOUND,
    forbidden_code=errors.DATASET_FORBIDDEN,
    conflict_code=errors.DATASET_CONFLICT,
)

_READ_ONLY = Access(read=True)


def dataset_id(dataset: Dataset) -> str:
    return f"{dataset.owner.username}/{dataset.slug}"


def _check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise errors.bad_request("Dataset name must not be empty.", errors.DATASET_NAME_EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Dataset name must be at most {NAME_MAX_LENGTH} characters.",
            errors.DATASET_NAME_EMPTY,
        )
    return name


def _check_description(description: str | None) -> str:
    description = description or ""
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise errors.bad_request(
            f"Dataset description must be at most {DESCRIPTION_MAX_LENGTH} characters."
        )
    return description


def _visible(ctx: ServiceContext):
    """Datasets the caller reaches: public ones and those they are a member of."""
    return or_(Dataset.visibility == PUBLIC, Dataset.id.in_(access.dataset_ids(ctx.actor.user_id)))


def dataset_access(ctx: ServiceContext, owner: str, slug: str) -> tuple[Dataset, Access]:
    """The dataset and the caller's permissions; 404/12002 when they cannot see it."""
    dataset = ctx.session.scalar(
        select(Dataset)
        .join(User, User.id == Dataset.owner_id)
        .where(User.username == owner, Dataset.slug == slug)
    )
    found = access.dataset_access(ctx.session, dataset.id, ctx.actor.user_id) if dataset else None
    if dataset is not None and found is None and dataset.visibility == PUBLIC:
        found = _READ_ONLY
    if dataset is None or found is None:
        raise errors.not_found(
            f"Dataset '{owner}/{slug}' does not exist.", errors.DATASET_NOT_FOUND
        )
    return dataset, found


def _require(membership: Access, permission: str, action: str) -> None:
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on this dataset to {action}.",
            errors.DATASET_FORBIDDEN,
        )


def list_datasets(ctx: ServiceContext, visibility: str | None, page: PageRequest) -> Page[Dataset]:
    statement = select(Dataset).order_by(Dataset.id)
    if visibility is not None:
        wanted = visibility.lower()
        if wanted not in VISIBILITIES:
            raise errors.bad_request(
                f"Invalid visibility {visibility!r}: use 'public' or 'private'."
            )
        statement = statement.where(Dataset.visibility == wanted)
    return paginate(ctx.session, statement.where(_visible(ctx)), page)


def list_owned_by(ctx: ServiceContext, username: str, page: PageRequest) -> Page[Dataset]:
    owner_id = select(User.id).where(User.username == username).scalar_subquery()
    statement = select(Dataset).where(Dataset.owner_id == owner_id, _visible(ctx))
    return paginate(ctx.session, statement.order_by(Dataset.id), page)


def get_dataset(ctx: ServiceContext, owner: str, slug: str) -> Dataset:
    return dataset_access(ctx, owner, slug)[0]


def update_dataset(
    ctx: ServiceContext, owner: str, slug: str, name: str | None, description: str | None
) -> Dataset:
    dataset, membership = dataset_access(ctx, owner, slug)
    _require(membership, "admin", "change its details")
    if name is not None:
        dataset.name = _check_name(name)
    if description is not None:
        dataset.description = _check_description(description)
    dataset.modified_on = utcnow()
    ctx.session.commit()
    return dataset


def delete_dataset(ctx: ServiceContext, owner: str, slug: str) -> None:
    """Unpublish: the source project and its files stay."""
    dataset, membership = dataset_access(ctx, owner, slug)
    _require(membership, "admin", "delete it")
    ctx.session.delete(dataset)
    ctx.session.commit()


def publish(
    ctx: ServiceContext,
    project_id: str,
    name: str | None,
    description: str | None = None,
    visibility: str | None = None,
) -> Dataset:
    """Publish a project as a dataset owned by the caller (who needs ``admin`` on it)."""
    if not project_id or "/" not in project_id:
        raise errors.bad_request(
            "Give the source project as 'project' (owner/project).", errors.PROJECT_NOT_FOUND
        )
    owner, slug = project_id.split("/", 1)
    project, membership = project_membership(ctx, owner, slug)
    require_permission(membership, "admin", "publish it as a dataset")
    wanted = (visibility or "private").lower()
    if wanted not in VISIBILITIES:
        raise errors.bad_request(f"Invalid visibility {visibility!r}: use 'public' or 'private'.")
    if wanted == PUBLIC and not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            "Only platform administrators publish public datasets.", errors.DATASET_FORBIDDEN
        )
    checked = _check_name(name)
    base = slugify(checked)
    taken = set(
        ctx.session.scalars(select(Dataset.slug).where(Dataset.owner_id == ctx.actor.user_id))
    )
    new_slug, suffix = base, 1
    while new_slug in taken:
        new_slug, suffix = f"{base}-{suffix}", suffix + 1
    now = utcnow()
    dataset = Dataset(
        owner_id=ctx.actor.user_id,
        slug=new_slug,
        name=checked,
        description=_check_description(description),
        visibility=wanted,
        project_id=project.id,
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(dataset)
    ctx.session.flush()
    add_owner(ctx, DATASET_MEMBERS, dataset.id, ctx.actor.user_id)
    ctx.session.commit()
    return dataset


# ---------------------------------------------------------------------------------------------
# Members


_MEMBERS = MemberOperations[Dataset, DatasetMember](DATASET_MEMBERS, dataset_access, _require)
list_members = _MEMBERS.list_members
get_member = _MEMBERS.get_member
add_member = _MEMBERS.add_member
update_permissions = _MEMBERS.update_permissions
remove_member = _MEMBERS.remove_member

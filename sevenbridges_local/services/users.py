"""Users and their tokens."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db.models import Division, User
from sevenbridges_local.security import (
    derive_token,
    hash_token,
    looks_like_token,
    new_token_salt,
)
from sevenbridges_local.services import billing
from sevenbridges_local.services.context import (
    ADMIN_ROLE,
    Actor,
    Page,
    PageRequest,
    ServiceContext,
    paginate,
)

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL_DOMAIN = "local.test"  # reserved TLD: these addresses can never reach anyone
DIVISION_ROLES = ("member", "admin", "external_collaborator")


def validate_username(username: str) -> str:
    if not USERNAME_PATTERN.match(username):
        raise ValueError(
            f"invalid username {username!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def token_for(user: User, secret_key: bytes) -> str:
    return derive_token(secret_key, user.username, user.token_salt)


def create_user(session: Session, secret_key: bytes, username: str, *, role: str = "USER") -> User:
    """Create a user with a token and their own billing group (caller commits)."""
    validate_username(username)
    salt = new_token_salt()
    user = User(
        username=username,
        email=f"{username}@{EMAIL_DOMAIN}",
        first_name=username,
        last_name="",
        affiliation="",
        phone="",
        address="",
        city="",
        state="",
        zip_code="",
        country="",
        role=role,
        disabled=False,
        token_salt=salt,
        token_hash=hash_token(derive_token(secret_key, username, salt)),
    )
    session.add(user)
    session.flush()
    billing.create_billing_group(session, owner=user, name=f"{username}'s billing group")
    logger.info("created user %s (role %s)", username, role)
    return user


def ensure_user(
    session: Session, secret_key: bytes, username: str, *, role: str = "USER"
) -> tuple[User, bool]:
    """Return ``(user, created)``; an existing user is left as it is."""
    user = find_user(session, username)
    if user is not None:
        return user, False
    return create_user(session, secret_key, username, role=role), True


def authenticate(session: Session, token: str) -> Actor | None:
    """The active user owning ``token``, or None for unknown tokens and disabled users."""
    if not looks_like_token(token):
        return None
    # Every request asks this: the four columns it needs, not a whole user object.
    user = session.execute(
        select(User.id, User.username, User.role, User.disabled).where(
            User.token_hash == hash_token(token)
        )
    ).first()
    if user is None:
        # A running automation's token acts as the run's creator while the run is active.
        from sevenbridges_local.services.automation_runs import authenticate_run_token

        return authenticate_run_token(session, token)
    if user.disabled:
        return None
    return Actor(user_id=user.id, username=user.username, role=user.role)


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def current_user(ctx: ServiceContext) -> User:
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None:  # deleted between authentication and now
        raise errors.unauthorized()
    return user


def get_user(ctx: ServiceContext, username: str) -> User:
    """A user's profile: visible to the user and to platform admins."""
    user = find_user(ctx.session, username)
    if user is None:
        raise errors.not_found(f"User '{username}' does not exist.", errors.USER_NOT_FOUND)
    if user.id != ctx.actor.user_id and not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            f"You do not have privileges to view user '{username}'.", errors.USER_FORBIDDEN
        )
    return user


def list_division_users(
    ctx: ServiceContext, division_slug: str | None, role: str | None, page: PageRequest
) -> tuple[Division, Page[User]]:
    if not division_slug:
        raise errors.bad_request(
            "Query parameter 'division' is required when listing users.",
            errors.DIVISION_REQUIRED,
        )
    division = ctx.session.scalar(select(Division).where(Division.slug == division_slug))
    if division is None:
        raise errors.not_found(f"Division '{division_slug}' does not exist.")
    me = current_user(ctx)
    if me.division_id != division.id and not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            f"You are not a member of division '{division_slug}'.", errors.USER_FORBIDDEN
        )
    statement = select(User).where(User.division_id == division.id).order_by(User.id)
    if role:
        wanted = role.lower()
        if wanted not in DIVISION_ROLES:
            raise errors.bad_request(
                f"Invalid value for 'role': {role!r}; expected one of {', '.join(DIVISION_ROLES)}."
            )
        statement = statement.where(User.division_role == wanted)
    return division, paginate(ctx.session, statement, page)


def disable_user(ctx: ServiceContext, username: str) -> None:
    if not ctx.actor.is_platform_admin:
        raise errors.forbidden(
            "Only platform administrators can disable users.", errors.USER_FORBIDDEN
        )
    user = find_user(ctx.session, username)
    if user is None:
        raise errors.not_found(f"User '{username}' does not exist.", errors.USER_NOT_FOUND)
    if user.id == ctx.actor.user_id:
        raise errors.forbidden("You cannot disable your own account.", errors.USER_FORBIDDEN)
    if user.role == ADMIN_ROLE:
        logger.warning("platform admin %s disabled by %s", username, ctx.actor.username)
    user.disabled = True
    ctx.session.commit()

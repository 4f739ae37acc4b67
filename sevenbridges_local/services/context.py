"""What every service call gets: the database session and who is asking; plus SQL paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

ADMIN_ROLE = "ADMIN"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, detached from any session."""

    user_id: int
    username: str
    role: str

    @property
    def is_platform_admin(self) -> bool:
        return self.role == ADMIN_ROLE


@dataclass
class ServiceContext:
    session: Session
    actor: Actor


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = 50


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


def paginate(
    session: Session, statement: Select[Any], page: PageRequest, *, scalars: bool = True
) -> Page[Any]:
    """Run ``statement`` for one page (LIMIT/OFFSET) and count all its matches (COUNT)."""
    counted = statement.order_by(None).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    paged = statement.offset(page.offset).limit(page.limit)
    if scalars:
        items: Sequence[Any] = session.scalars(paged).unique().all()
    else:
        items = session.execute(paged).all()
    return Page(items=items, total=total, offset=page.offset, limit=page.limit)

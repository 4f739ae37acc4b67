"""FastAPI dependencies shared by the routers: caller, service context, paging, fields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.limits import DEFAULT_LIMIT, MAX_FILTER_VALUES, MAX_LIMIT, MAX_OFFSET
from sevenbridges_local.services.context import Actor, PageRequest, ServiceContext

ALWAYS_KEPT_FIELDS = frozenset({"href", "id"})
ALL_FIELDS = "_all"


def current_actor(request: Request) -> Actor:
    """The caller authenticated by the gate middleware."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise errors.unauthorized()
    return actor


def _context(request: Request, *, write: bool) -> Iterator[ServiceContext]:
    actor = current_actor(request)
    database: Database = request.app.state.database
    session = database.write_session() if write else database.read_session()
    try:
        yield ServiceContext(session=session, actor=actor)
    finally:
        session.close()


def read_context(request: Request) -> Iterator[ServiceContext]:
    yield from _context(request, write=False)


def write_context(request: Request) -> Iterator[ServiceContext]:
    yield from _context(request, write=True)


# scope="function": the session closes as soon as the endpoint returns, not after the response
# is streamed, so write locks are never held across network I/O.
ReadContext = Annotated[ServiceContext, Depends(read_context, scope="function")]
WriteContext = Annotated[ServiceContext, Depends(write_context, scope="function")]
CurrentActor = Annotated[Actor, Depends(current_actor)]


def page_request(
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="How many matches to skip (0 to 2^63 - 1).",
        ),
    ] = 0,
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Page size; values above {MAX_LIMIT} count as {MAX_LIMIT}.",
        ),
    ] = DEFAULT_LIMIT,
) -> PageRequest:
    """``offset`` and ``limit`` of every offset-paged list; ``limit`` is clamped like the
    platform does, never refused for being large."""
    return PageRequest(offset=offset, limit=min(limit, MAX_LIMIT))


Paging = Annotated[PageRequest, Depends(page_request)]


def repeated(description: str) -> Any:
    """A repeatable query filter (``?tag=a&tag=b``) of at most ``MAX_FILTER_VALUES`` values
    (400/90000 beyond): each value is a condition of one SQL statement."""
    return Query(
        description=f"{description}; repeat the parameter for more (at most {MAX_FILTER_VALUES})",
        max_length=MAX_FILTER_VALUES,
    )


@dataclass(frozen=True)
class FieldSelection:
    """The ``fields`` query parameter: ``_all``, ``a,b,c`` or exclusions like ``!description``."""

    include: frozenset[str] | None = None  # None: every field
    exclude: frozenset[str] = frozenset()

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.include is None and not self.exclude:
            return resource
        return {
            key: value
            for key, value in resource.items()
            if key in ALWAYS_KEPT_FIELDS
            or ((self.include is None or key in self.include) and key not in self.exclude)
        }


def field_selection(
    fields: Annotated[
        str | None,
        Query(
            description="Fields to return, comma-separated (`name,size`), exclusions (`!tags`) "
            "or `_all`; `href` and `id` are always returned",
        ),
    ] = None,
) -> FieldSelection:
    raw = fields or ""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    include = frozenset(name for name in names if not name.startswith("!"))
    exclude = frozenset(name[1:] for name in names if name.startswith("!"))
    if ALL_FIELDS in include:  # "_all" wins over any other name listed with it
        include = frozenset()
    return FieldSelection(include=include or None, exclude=exclude)


Fields = Annotated[FieldSelection, Depends(field_selection)]


def _query_bool(value: Any) -> Any:
    # Python clients render booleans as True/False; other HTTP clients send true/false.
    if isinstance(value, str):
        if value in ("True", "true"):
            return True
        if value in ("False", "false"):
            return False
        raise ValueError("expected True or False")
    return value


QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
"""A query parameter type accepting exactly ``True``/``False``/``true``/``false``."""

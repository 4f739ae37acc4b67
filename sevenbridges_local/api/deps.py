"""FastAPI dependencies shared by the routers: caller, service context, paging, fields, bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BeforeValidator

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.services.context import Actor, PageRequest, ServiceContext

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
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


def _int_query(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(
            f"Invalid value for query parameter '{name}': expected an integer."
        )


def page_request(request: Request) -> PageRequest:
    """``offset`` (>= 0) and ``limit`` (>= 1; clamped to the maximum, as the platform does)."""
    offset = _int_query(request, "offset", 0)
    limit = _int_query(request, "limit", DEFAULT_LIMIT)
    if offset < 0:
        raise errors.bad_request(
            "Invalid value for query parameter 'offset': must not be negative."
        )
    if limit < 1:
        raise errors.bad_request(
            f"Invalid value for query parameter 'limit': expected 1 to {MAX_LIMIT}."
        )
    return PageRequest(offset=offset, limit=min(limit, MAX_LIMIT))


Paging = Annotated[PageRequest, Depends(page_request)]


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


def field_selection(request: Request) -> FieldSelection:
    raw = request.query_params.get("fields") or ""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    include = frozenset(name for name in names if not name.startswith("!"))
    exclude = frozenset(name[1:] for name in names if name.startswith("!"))
    if ALL_FIELDS in include:  # "_all" wins over any other name listed with it
        include = frozenset()
    return FieldSelection(include=include or None, exclude=exclude)


Fields = Annotated[FieldSelection, Depends(field_selection)]


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body or JSON ``null`` count as ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_request("The request body is not valid JSON.", errors.UNDECODABLE_BODY)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.bad_request("The request body must be a JSON object.")
    return data


JsonBody = Annotated[dict[str, Any], Depends(json_body)]


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

"""SQL whose spelling differs between SQLite and PostgreSQL, with one meaning on both.

- :func:`like_ci`: SQLite's ``LIKE`` ignores the case of ASCII letters and knows no escape
  character unless told; PostgreSQL's ``LIKE`` is case-sensitive and treats ``\\`` as an escape.
  On PostgreSQL this is ``ILIKE ... ESCAPE ''``.
- :func:`as_number`: SQLite's ``CAST(text AS REAL)`` reads a leading number and gives 0 for
  anything else; PostgreSQL raises on text that is not a number. There a non-number becomes NULL
  (so it matches no comparison) and numbers are ``NUMERIC`` (no overflow for big exponents).
- :func:`number_param`: a bound number compared with :func:`as_number` (``NUMERIC`` on PostgreSQL,
  where a float parameter would turn the comparison into ``double precision``).
- :func:`upsert`: ``INSERT ... ON CONFLICT DO UPDATE`` has the same spelling on both, but
  SQLAlchemy builds it from each dialect's own ``insert``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Numeric, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

# A decimal number in full (what JSON and the search language write); the exponent is bounded so
# the NUMERIC cast can never overflow.
_PG_NUMBER_PATTERN = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,4})?\s*$"


class _LikeCi(FunctionElement[bool]):
    type = Boolean()
    inherit_cache = True
    name = "like_ci"


@compiles(_LikeCi)
def _like_ci_default(element: _LikeCi, compiler: Any, **kw: Any) -> str:
    column, pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)}"


@compiles(_LikeCi, "postgresql")
def _like_ci_postgresql(element: _LikeCi, compiler: Any, **kw: Any) -> str:
    column, pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} ILIKE {compiler.process(pattern, **kw)} ESCAPE ''"


def like_ci(column: Any, pattern: str) -> ColumnElement[bool]:
    """``column LIKE pattern`` with ``%``/``_`` wildcards, ASCII case ignored, no escapes."""
    return _LikeCi(column, bindparam(None, pattern, unique=True))


class _AsNumber(FunctionElement[float]):
    type = Float()
    inherit_cache = True
    name = "as_number"


@compiles(_AsNumber)
def _as_number_default(element: _AsNumber, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"CAST({compiler.process(column, **kw)} AS REAL)"


@compiles(_AsNumber, "postgresql")
def _as_number_postgresql(element: _AsNumber, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    text = compiler.process(column, **kw)
    return f"(CASE WHEN {text} ~ '{_PG_NUMBER_PATTERN}' THEN CAST({text} AS NUMERIC) ELSE NULL END)"


def as_number(column: Any) -> ColumnElement[float]:
    """The text column read as a number (see the module's notes for non-numbers)."""
    return _AsNumber(column)


class _NumberParam(FunctionElement[float]):
    type = Numeric()
    inherit_cache = True
    name = "number_param"


@compiles(_NumberParam)
def _number_param_default(element: _NumberParam, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return str(compiler.process(value, **kw))


@compiles(_NumberParam, "postgresql")
def _number_param_postgresql(element: _NumberParam, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS NUMERIC)"


def number_param(value: float) -> ColumnElement[float]:
    return _NumberParam(bindparam(None, value, unique=True))


def upsert(dialect: str, model: Any) -> Any:
    """An ``INSERT`` into ``model``'s table that can take ``.on_conflict_do_update(...)``, for
    the database ``dialect`` (``Database.dialect``: ``postgresql`` or ``sqlite``)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def order_key(column: Any, *, descending: bool = False) -> Any:
    """An ORDER BY key that puts NULLs where SQLite does (first ascending, last descending);
    PostgreSQL's default is the opposite."""
    nullable = bool(getattr(getattr(column, "expression", column), "nullable", True))
    if descending:
        return column.desc().nulls_last() if nullable else column.desc()
    return column.asc().nulls_first() if nullable else column.asc()

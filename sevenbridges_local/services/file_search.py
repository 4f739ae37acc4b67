"""``POST /files/search``: a subset of the platform's file query language, compiled to SQL.

``IN`` (project scopes), ``WHERE`` with AND/OR/NOT and parentheses, comparisons, ``IN``/``NOT IN``,
``LIKE``, ``LIMIT`` and ``TOKEN``. Bad queries and continuation tokens are 400/5033.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select

from sevenbridges_local import errors, strict_json
from sevenbridges_local.clock import naive_utc
from sevenbridges_local.db.files import File, FileMetadata, FileTag
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.db.sql import as_number, like_ci, number_param
from sevenbridges_local.limits import MAX_SEARCH_QUERY_LENGTH
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.files import (
    INVALID_REQUEST,
    decode_token,
    encode_token,
    match_text,
    name_variants,
    readable_project_ids,
    split_project_id,
)
from sevenbridges_local.services.projects import project_membership

SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 1000
# Bounds on a query, so that a hostile one is refused (400/5033) before it costs anything: the
# parser recurses once per NOT or parenthesis, and SQLite refuses expressions deeper than 1,000
# levels (a chain of N ORs is N levels deep) or with more than 32,766 bound values.
SEARCH_MAX_QUERY_CHARS = MAX_SEARCH_QUERY_LENGTH  # also checked at the boundary
SEARCH_MAX_DEPTH = 32  # NOT and parentheses nested in each other
SEARCH_MAX_TERMS = 200  # comparisons in the whole query
SEARCH_MAX_VALUES = 1000  # values in all IN (...) lists together
SEARCH_MAX_SCOPES = 100  # projects after IN
_INT64 = 2**63


@dataclass
class SearchResult:
    count: int
    items: Sequence[File]
    cont_token: str | None


def search_files(
    ctx: ServiceContext, query: Any, *, cont_token: str | None, limit: int | None
) -> SearchResult:
    if not isinstance(query, str) or not query.strip():
        raise errors.bad_request("The search query must not be empty.", INVALID_REQUEST)
    if len(query) > SEARCH_MAX_QUERY_CHARS:
        raise _query_error(
            f"it has {len(query)} characters; at most {SEARCH_MAX_QUERY_CHARS} are allowed."
        )
    parsed = parse_query(query)
    statement = select(File).where(File.parent_id.is_not(None))
    statement = statement.where(File.project_id.in_(readable_project_ids(ctx)))
    if parsed.scopes:
        scope_conditions = []
        for scope in parsed.scopes:
            owner, slug = split_project_id(scope)
            project, _ = project_membership(ctx, owner, slug)
            scope_conditions.append(File.project_id == project.id)
        statement = statement.where(or_(*scope_conditions))
    if parsed.condition is not None:
        statement = statement.where(parsed.condition)
    token = cont_token or parsed.token
    page_size = limit if limit is not None else parsed.limit or SEARCH_DEFAULT_LIMIT
    if page_size <= 0:
        raise errors.bad_request("'limit' must be positive.", INVALID_REQUEST)
    page_size = min(page_size, SEARCH_MAX_LIMIT)
    counted = statement.subquery()
    total = ctx.session.scalar(select(func.count()).select_from(counted)) or 0
    if token:
        after = decode_token(token).get("after_id")
        if not isinstance(after, str):
            raise errors.bad_request(f"Invalid continuation token '{token}'.", INVALID_REQUEST)
        statement = statement.where(File.id > after)
    rows = list(ctx.session.scalars(statement.order_by(File.id).limit(page_size + 1)).unique())
    next_token = (
        encode_token({"after_id": rows[page_size - 1].id}) if len(rows) > page_size else None
    )
    return SearchResult(count=total, items=rows[:page_size], cont_token=next_token)


def metadata_condition(key: str, operator: str, value: Any) -> Any:
    rows = select(FileMetadata.file_id).where(FileMetadata.key == key)
    if isinstance(value, list):
        matched = rows.where(FileMetadata.match_value.in_([match_text(item) for item in value]))
        return File.id.in_(matched) if operator == "IN" else not_(File.id.in_(matched))
    if operator in ("=", "!="):
        matched = rows.where(FileMetadata.match_value == match_text(value))
        return File.id.in_(matched) if operator == "=" else not_(File.id.in_(matched))
    column: Any = FileMetadata.match_value
    if isinstance(value, int | float) and not isinstance(value, bool):
        column = as_number(FileMetadata.match_value)
        value = number_param(value)
    return File.id.in_(rows.where(_compare(column, operator, value)))


def tag_condition(operator: str, value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    tagged = File.id.in_(select(FileTag.file_id).where(FileTag.tag.in_(values)))
    return not_(tagged) if operator in ("!=", "NOT IN") else tagged


def column_condition(column: Any, operator: str, value: Any) -> Any:
    return _compare(column, operator, value)


def _compare(column: Any, operator: str, value: Any) -> Any:
    if operator == "IN":
        return column.in_(value)
    if operator == "NOT IN":
        return not_(column.in_(value))
    comparisons = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    if operator == "LIKE":
        return like_ci(column, value)
    return comparisons[operator](value)


# The query language: [IN "owner/project"[, ...]] [WHERE condition] [LIMIT n] [TOKEN "t"].
# A condition combines comparisons with AND, OR, NOT and parentheses; a comparison is
# ``field op value`` with op one of = != <> < <= > >= LIKE, or ``field [NOT] IN (v1, v2)``.
# Fields: id, name, type, size, parent, project, created_on, modified_on, origin.task, tag
# (or tags), metadata.<key>. Values: "double quoted" strings, numbers, true, false.

_TOKEN_PATTERN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)"""
    r"""|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),\[\]])|(?P<word>[A-Za-z_][\w.]*))"""
)
_KEYWORDS = frozenset(
    {"IN", "WHERE", "LIMIT", "TOKEN", "AND", "OR", "NOT", "LIKE", "TRUE", "FALSE"}
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, op, punct, word, keyword
    text: str
    value: Any


def _query_error(message: str) -> errors.ApiError:
    return errors.bad_request(f"Invalid search query: {message}", INVALID_REQUEST)


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    query = query.rstrip()
    while position < len(query):
        match = _TOKEN_PATTERN.match(query, position)
        if match is None or match.end() == position:
            raise _query_error(f"unexpected text at {query[position : position + 20]!r}.")
        position = match.end()
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "string":
            tokens.append(_Token(kind, text, _string_value(text)))
        elif kind == "number":
            tokens.append(_Token(kind, text, _number_value(text)))
        elif kind == "word" and text.upper() in _KEYWORDS:
            tokens.append(_Token("keyword", text.upper(), text.upper()))
        else:
            tokens.append(_Token(kind, text, text))
    return tokens


def _string_value(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        raise _query_error(f"bad escape in the string {text[:40]!r}.") from None
    assert isinstance(value, str)
    character = strict_json.unpaired_surrogate(value)
    if character is not None:  # an escape such as \ud800 alone: no stored text can match it
        raise _query_error(
            f"the string {text[:40]!r} holds an unpaired surrogate (U+{ord(character):04X})."
        )
    return value


def _number_value(text: str) -> int | float:
    digits = text.lstrip("-").split(".")[0]
    if len(digits) > 19:  # also keeps int() away from its slow path for huge literals
        raise _query_error(f"the number {text[:25]}... is too large.")
    if "." in text:
        return float(text)
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise _query_error(f"the number {text} is too large.")
    return value


@dataclass
class ParsedQuery:
    scopes: list[str] = field(default_factory=list)
    condition: Any = None
    limit: int | None = None
    token: str | None = None


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.terms = 0
        self.values = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _query_error("it ends too early.")
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            found = self.peek()
            raise _query_error(
                f"expected {text or kind} but found {found.text if found else 'the end'}."
            )
        return token

    def query(self) -> ParsedQuery:
        parsed = ParsedQuery()
        if self.accept("keyword", "IN"):
            parsed.scopes.append(self.expect("string").value)
            while self.accept("punct", ","):
                parsed.scopes.append(self.expect("string").value)
                if len(parsed.scopes) > SEARCH_MAX_SCOPES:
                    raise _query_error(f"at most {SEARCH_MAX_SCOPES} projects can follow IN.")
        if self.accept("keyword", "WHERE"):
            parsed.condition = self.disjunction()
        if self.accept("keyword", "LIMIT"):
            limit = self.expect("number").value
            if not isinstance(limit, int) or limit <= 0:
                raise _query_error("LIMIT must be a positive integer.")
            parsed.limit = limit
        if self.accept("keyword", "TOKEN"):
            parsed.token = str(self.take().value)
        leftover = self.peek()
        if leftover is not None:
            raise _query_error(f"unexpected {leftover.text!r}.")
        return parsed

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.accept("keyword", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.accept("keyword", "AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def negation(self) -> Any:
        if self.accept("keyword", "NOT"):
            self._deeper()
            inner = not_(self.negation())
            self.depth -= 1
            return inner
        if self.accept("punct", "("):
            self._deeper()
            inner = self.disjunction()
            self.expect("punct", ")")
            self.depth -= 1
            return inner
        return self.comparison()

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > SEARCH_MAX_DEPTH:
            raise _query_error(
                f"NOT and parentheses are nested more than {SEARCH_MAX_DEPTH} levels deep."
            )

    def _count_term(self) -> None:
        self.terms += 1
        if self.terms > SEARCH_MAX_TERMS:
            raise _query_error(
                f"it has more than {SEARCH_MAX_TERMS} comparisons; use IN (...) lists or "
                "several queries."
            )

    def value(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            return token.text == "TRUE"
        raise _query_error(f"expected a value but found {token.text!r}.")

    def value_list(self) -> list[Any]:
        closing = ")" if self.accept("punct", "(") else None
        if closing is None:
            self.expect("punct", "[")
            closing = "]"
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        self.expect("punct", closing)
        self.values += len(values)
        if self.values > SEARCH_MAX_VALUES:
            raise _query_error(f"its IN lists hold more than {SEARCH_MAX_VALUES} values together.")
        return values

    def comparison(self) -> Any:
        name = self.expect("word").text
        self._count_term()
        if self.accept("keyword", "NOT"):
            self.expect("keyword", "IN")
            return _condition(name, "NOT IN", self.value_list())
        if self.accept("keyword", "IN"):
            return _condition(name, "IN", self.value_list())
        if self.accept("keyword", "LIKE"):
            pattern = self.value()
            if not isinstance(pattern, str):
                raise _query_error("LIKE needs a string pattern.")
            return _condition(name, "LIKE", pattern.replace("*", "%"))
        operator = self.expect("op").text
        return _condition(name, "!=" if operator == "<>" else operator, self.value())


def parse_query(query: str) -> ParsedQuery:
    return _Parser(_tokenize(query)).query()


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _query_error('dates must be strings like "2024-05-01T00:00:00Z".')
    try:
        return naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:  # not a date, or one whose UTC time no datetime holds
        raise _query_error(f"{value!r} is not a date (years 1 to 9999 in UTC).")


def _project_ids(values: list[Any]) -> Any:
    conditions = []
    for value in values:
        owner, slug = split_project_id(value)
        conditions.append(and_(User.username == owner, Project.slug == slug))
    return select(Project.id).join(User, User.id == Project.owner_id).where(or_(*conditions))


def _name_condition(operator: str, value: Any) -> Any:
    """Names match in any normalisation (see ``files.name_variants``)."""
    given = value if isinstance(value, list) else [value]
    spellings = [
        variant
        for item in given
        for variant in (name_variants(item) if isinstance(item, str) else [item])
    ]
    if operator == "LIKE":
        return or_(*[like_ci(File.name, pattern) for pattern in spellings])
    if operator in ("=", "IN"):
        return File.name.in_(spellings)
    if operator in ("!=", "NOT IN"):
        return not_(File.name.in_(spellings))
    return _compare(File.name, operator, value)  # < <= > >= compare text as given


def _condition(name: str, operator: str, value: Any) -> Any:
    lowered = name.lower()
    if lowered.startswith("metadata."):
        return metadata_condition(name[len("metadata.") :], operator, value)
    if lowered in ("tag", "tags"):
        if operator not in ("=", "!=", "IN", "NOT IN"):
            raise _query_error("tags can only be compared with =, !=, IN and NOT IN.")
        return tag_condition(operator, value)
    if lowered == "project":
        if operator not in ("=", "!=", "IN", "NOT IN"):
            raise _query_error("project can only be compared with =, !=, IN and NOT IN.")
        values = value if isinstance(value, list) else [value]
        inside = File.project_id.in_(_project_ids(values))
        return not_(inside) if operator in ("!=", "NOT IN") else inside
    columns: dict[str, Any] = {
        "id": File.id,
        "name": File.name,
        "type": File.type,
        "size": File.size,
        "parent": File.parent_id,
        "origin.task": File.origin_task,
        "created_on": File.created_on,
        "modified_on": File.modified_on,
    }
    if lowered not in columns:
        raise _query_error(f"unknown field {name!r}.")
    if lowered == "name":
        return _name_condition(operator, value)
    if lowered == "type":  # FILE / folder / Folder all mean the same
        value = (
            [str(item).lower() for item in value]
            if isinstance(value, list)
            else (str(value).lower())
        )
    if lowered in ("created_on", "modified_on"):
        value = (
            [_timestamp(item) for item in value] if isinstance(value, list) else (_timestamp(value))
        )
    return column_condition(columns[lowered], operator, value)

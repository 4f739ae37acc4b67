"""Type checks for JSON request bodies, with messages that name the offending field."""

from __future__ import annotations

from typing import Any

from sevenbridges_local import errors


def _type_error(field: str, expected: str, code: int) -> errors.ApiError:
    return errors.bad_request(f"Invalid value for '{field}': expected {expected}.", code)


def expect_str(
    value: Any, field: str, *, code: int = errors.BAD_REQUEST, nullable: bool = False
) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _type_error(field, "a string", code)
    return value


def expect_bool(value: Any, field: str, *, code: int = errors.BAD_REQUEST) -> bool:
    if not isinstance(value, bool):
        raise _type_error(field, "true or false", code)
    return value


def expect_int(value: Any, field: str, *, code: int = errors.BAD_REQUEST) -> int:
    # bool is an int subclass in Python but not a number on the wire
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(field, "an integer", code)
    return value


def expect_object(
    value: Any, field: str, *, code: int = errors.BAD_REQUEST, nullable: bool = False
) -> dict[str, Any] | None:
    if value is None and nullable:
        return None
    if not isinstance(value, dict):
        raise _type_error(field, "a JSON object", code)
    return value


def expect_str_list(
    value: Any, field: str, *, code: int = errors.BAD_REQUEST, nullable: bool = False
) -> list[str] | None:
    if value is None and nullable:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _type_error(field, "a list of strings", code)
    return value

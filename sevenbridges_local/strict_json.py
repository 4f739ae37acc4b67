"""Strict JSON decoding for request bodies: UTF-8 only, bounded nesting, storable numbers.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``-Infinity``, turns ``1e999`` into an
infinite float and takes integers of any size. None of them can be sent back as JSON (every
response holding one would fail) and huge integers do not fit a database column, so they are
refused here. Nesting is measured on the text, without recursion, before the parser (which
recurses) sees it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from sevenbridges_local import errors
from sevenbridges_local.limits import MAX_JSON_DEPTH, MAX_JSON_INTEGER, MIN_JSON_INTEGER

_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
# Nesting step per byte value: +1 for an opening bracket, -1 for a closing one.
_STEP = tuple(1 if byte in b"[{" else -1 for byte in range(256))
# Longest decimal text of a 64-bit integer, sign included.
_MAX_INTEGER_DIGITS = len(str(MIN_JSON_INTEGER))


def undecodable(reason: str) -> errors.ApiError:
    return errors.bad_request(
        f"The request body is not valid JSON: {reason}.", errors.UNDECODABLE_BODY
    )


def _too_deep(limit: int) -> errors.ApiError:
    return errors.bad_request(f"The request body is nested more than {limit} levels deep.")


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw`` (0 for a scalar); brackets in strings skipped.

    Linear and without recursion: escaped backslashes and quotes are dropped (left to right, as
    a JSON lexer pairs them), so every remaining quote opens or closes a string and the text
    outside strings is every other piece between quotes. An unterminated string hides the rest,
    which the parser then refuses anyway.
    """
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets))))


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    if nesting_depth(raw) > limit:
        raise _too_deep(limit)


def _refuse_constant(name: str) -> Any:
    raise undecodable(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise errors.bad_request(f"The number {text[:40]} in the request body is out of range.")
    return value


def _bounded_int(text: str) -> int:
    value = int(text) if len(text) <= _MAX_INTEGER_DIGITS else None
    if value is None or not MIN_JSON_INTEGER <= value <= MAX_JSON_INTEGER:
        raise errors.bad_request(
            f"The integer {text[:40]}{'...' if len(text) > 40 else ''} in the request body is "
            "out of range: integers must fit in 64 bits."
        )
    return value


def loads(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a request body; ``None`` for an empty (or blank) one.

    Errors: 400/90009 for text that is not JSON (or not UTF-8, or uses NaN/Infinity);
    400/90000 for nesting deeper than ``max_depth`` or numbers that cannot be stored.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise undecodable("it is not UTF-8 text")
    if not text.strip():
        return None
    check_depth(raw, max_depth)
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:  # cannot happen after check_depth; kept as a last line of defence
        raise _too_deep(max_depth)
    except json.JSONDecodeError as exc:
        raise undecodable(f"{exc.msg} at line {exc.lineno}, column {exc.colno}")


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        return iter(value.values())
    if isinstance(value, list | tuple):
        return iter(value)
    return iter(())


def check_tree(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """The checks of :func:`loads` on an already decoded document (e.g. parsed YAML).

    Walks with an explicit stack, so any depth is measured without recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise errors.bad_request("The request body holds a number that is out of range.")
        if isinstance(item, int) and not MIN_JSON_INTEGER <= item <= MAX_JSON_INTEGER:
            raise errors.bad_request(
                "The request body holds an integer that does not fit in 64 bits."
            )
        if isinstance(item, dict | list | tuple):
            if depth + 1 > max_depth:
                raise _too_deep(max_depth)
            stack.extend((child, depth + 1) for child in _children(item))

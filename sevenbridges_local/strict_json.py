"""Strict JSON decoding for request bodies: UTF-8 only, bounded nesting, storable numbers.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``-Infinity``, turns ``1e999`` into an
infinite float and takes integers of any size. None of them can be sent back as JSON (every
response holding one would fail) and huge integers do not fit a database column, so they are
refused here. Nesting is measured on the text, without recursion, before the parser (which
recurses) sees it. JSON may also escape half of a UTF-16 surrogate pair (``"\\ud800"``): Python
decodes it to a string that no UTF-8 text (a database column, a file name, a JSON response) can
hold, so such strings and keys are refused too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from sevenbridges_local import errors, json_numbers
from sevenbridges_local.limits import MAX_JSON_DEPTH, MAX_JSON_INTEGER, MIN_JSON_INTEGER

_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
# Nesting step per byte value: +1 for an opening bracket, -1 for a closing one.
_STEP = tuple(1 if byte in b"[{" else -1 for byte in range(256))
# Longest decimal text of a 64-bit integer, sign included.
_MAX_INTEGER_DIGITS = len(str(MIN_JSON_INTEGER))
# A JSON escape of a surrogate code point (U+D800 to U+DFFF); a pair of them is one character.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
KEY_MARK = "[key]"  # in a location: the text is the object key itself, not its value

Location = tuple[str | int, ...]


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


class UnpairedSurrogate(errors.ApiError):
    """Text in a request body that holds an unpaired surrogate; ``location`` says where (keys and
    indexes from the top, ending with :data:`KEY_MARK` when an object key is at fault)."""

    def __init__(self, location: Location, character: str) -> None:
        self.location = location
        self.codepoint = f"U+{ord(character):04X}"
        super().__init__(
            400,
            errors.BAD_REQUEST,
            f"The request body holds text with an unpaired surrogate ({self.codepoint}): "
            "text must be valid Unicode.",
        )


def unpaired_surrogate(text: str) -> str | None:
    """The first unpaired surrogate in ``text`` (JSON and YAML escapes can make one), or None.

    Python keeps a properly escaped pair as one character, so any surrogate left is unpaired."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def find_unpaired_surrogate(value: Any) -> tuple[Location, str] | None:
    """Where a string or key with an unpaired surrogate is in a decoded document (None if none)."""
    stack: list[tuple[Any, Location]] = [(value, ())]
    while stack:
        item, location = stack.pop()
        if isinstance(item, str):
            character = unpaired_surrogate(item)
            if character is not None:
                return location, character
        elif isinstance(item, dict):
            for key, child in item.items():
                character = unpaired_surrogate(key) if isinstance(key, str) else None
                if character is not None:
                    return (*location, key, KEY_MARK), character
                stack.append((child, (*location, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*location, index)) for index, child in enumerate(item))
    return None


def _refuse_constant(name: str) -> Any:
    raise undecodable(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # Keeps its written form (task inputs: 1.5e3 reaches the tool as 1.5e3, not 1500.0).
    value = json_numbers.float_from_json(text)
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
    400/90000 for nesting deeper than ``max_depth`` or numbers that cannot be stored;
    :class:`UnpairedSurrogate` (400/90000) for a string or key holding an unpaired surrogate.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise undecodable("it is not UTF-8 text")
    if not text.strip():
        return None
    check_depth(raw, max_depth)
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:  # cannot happen after check_depth; kept as a last line of defence
        raise _too_deep(max_depth)
    except json.JSONDecodeError as exc:
        raise undecodable(f"{exc.msg} at line {exc.lineno}, column {exc.colno}")
    # Only an escape can make a surrogate (raw UTF-8 cannot encode one), so most bodies skip
    # the walk; an escaped pair matches too and is then found to be one valid character.
    if _SURROGATE_ESCAPE.search(raw):
        found = find_unpaired_surrogate(value)
        if found is not None:
            raise UnpairedSurrogate(*found)
    return value


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        return iter(value.values())
    if isinstance(value, list | tuple):
        return iter(value)
    return iter(())


def check_tree(value: Any, *, max_depth: int = MAX_JSON_DEPTH, big_integers: bool = False) -> None:
    """The checks of :func:`loads` on an already decoded document (e.g. parsed YAML).

    ``big_integers`` lets integers beyond 64 bits through: for documents stored whole as JSON
    text (an app's CWL), where no integer lands in a database column. Walks with an explicit
    stack, so any depth is measured without recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            character = unpaired_surrogate(item)
            if character is not None:
                raise UnpairedSurrogate((), character)
            continue
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise errors.bad_request("The request body holds a number that is out of range.")
        if (
            isinstance(item, int)
            and not big_integers
            and not MIN_JSON_INTEGER <= item <= MAX_JSON_INTEGER
        ):
            raise errors.bad_request(
                "The request body holds an integer that does not fit in 64 bits."
            )
        if isinstance(item, dict | list | tuple):
            if depth + 1 > max_depth:
                raise _too_deep(max_depth)
            if isinstance(item, dict):  # keys are text too (YAML keys may be other scalars)
                stack.extend((key, depth) for key in item if isinstance(key, str))
            stack.extend((child, depth + 1) for child in _children(item))

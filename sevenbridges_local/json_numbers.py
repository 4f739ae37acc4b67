"""JSON numbers that keep the form they were written in.

A CWL document says ``default: 1.23e5`` and cwltool, reading it, puts ``123000`` on the command
line; read into a Python float and written again, the same number becomes ``123000.0`` and the
tool sees that instead. So floats read from app documents (JSON or YAML) become
:class:`JsonFloat`, a float that remembers its text, and every JSON this platform writes for
storage, for responses and for cwltool goes through :func:`dumps`, which writes that text back.
Integers need nothing: Python keeps them as ``int`` whatever their size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# A number as JSON writes it (RFC 8259, section 6).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class JsonFloat(float):
    """A float with the JSON text it was read from (``text``); it compares and computes as the
    float it is, and ``repr`` stays the float's."""

    __slots__ = ("text",)

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonFloat, (self.text,))

    def __deepcopy__(self, memo: dict[int, Any]) -> JsonFloat:
        return self  # immutable

    def __copy__(self) -> JsonFloat:
        return self


def float_from_json(text: str) -> float:
    """``parse_float`` for :func:`json.loads`: a :class:`JsonFloat` when the value is finite."""
    number = JsonFloat(text)
    return number if math.isfinite(number) else float(text)


def json_form(text: str) -> str | None:
    """The JSON text of a YAML float written as ``text`` (``+.5`` is ``0.5``, ``1_000.0`` is
    ``1000.0``), or None when it has no finite JSON form."""
    candidate = text.strip().replace("_", "")
    if candidate.startswith("+"):
        candidate = candidate[1:]
    sign = "-" if candidate.startswith("-") else ""
    digits = candidate[len(sign) :]
    mantissa, marker, exponent = digits.partition("e" if "e" in digits else "E")
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    if mantissa.endswith("."):
        mantissa += "0"
    if mantissa.startswith("0") and len(mantissa) > 1 and mantissa[1].isdigit():
        mantissa = mantissa.lstrip("0") or "0"
        if mantissa.startswith("."):
            mantissa = "0" + mantissa
    result = sign + mantissa + (marker + exponent if marker else "")
    if not _JSON_NUMBER.fullmatch(result):
        return None
    return result


def _holds_kept_float(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, JsonFloat):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _float_text(number: float) -> str:
    if isinstance(number, JsonFloat):
        return number.text
    if not math.isfinite(number):
        raise ValueError(f"Out of range float values are not JSON compliant: {number!r}")
    return float.__repr__(number)


def dumps(
    value: Any,
    *,
    ensure_ascii: bool = True,
    separators: tuple[str, str] | None = None,
) -> str:
    """:func:`json.dumps` that writes a :class:`JsonFloat` as its own text (NaN and infinities
    are refused, as JSON has no such numbers)."""
    if not _holds_kept_float(value):
        return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False, separators=separators)
    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, allow_nan=False, separators=separators)
    string_encoder = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    # The pure-Python encoder takes the float formatter as an argument; the C one does not.
    iterencode = json.encoder._make_iterencode(  # type: ignore[attr-defined]
        {},
        encoder.default,
        string_encoder,
        None,
        _float_text,
        encoder.key_separator,
        encoder.item_separator,
        False,
        False,
        True,
    )
    return "".join(iterencode(value, 0))


def loads(text: str | bytes) -> Any:
    """:func:`json.loads` whose floats are :class:`JsonFloat`."""
    return json.loads(text, parse_float=float_from_json)

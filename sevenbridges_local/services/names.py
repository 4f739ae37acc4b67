"""Text rules shared by every name people see: byte lengths and characters that disguise text.

File and folder names add their own rules in ``files.py`` (no ``/``, at most 255 bytes, which a
file system can hold); project names use the character rule here too, so no name on the
platform can display as something it is not.
"""

from __future__ import annotations

import unicodedata

# Characters that make a name display as something it is not. Bidi controls are exactly the
# Unicode Bidi_Control set (ALM, LRM, RLM, the embeddings/overrides and the isolates); the
# zero-width ones are invisible but make "a.txt" and "a\u200b.txt" two different names.
BIDI_CONTROLS = frozenset(
    [
        "\u061c",  # arabic letter mark
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        *map(chr, range(0x202A, 0x202F)),  # embeddings, pop, overrides
        *map(chr, range(0x2066, 0x206A)),  # isolates
    ]
)
ZERO_WIDTH = frozenset(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that fits in ``max_bytes`` UTF-8 bytes (whole characters)."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    # Dropping the incomplete tail leaves only whole characters.
    return encoded[:max_bytes].decode("utf-8", "ignore")


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def is_disguising(char: str) -> bool:
    """A bidi control, a zero-width character, a control character or a lone surrogate."""
    return char in BIDI_CONTROLS or char in ZERO_WIDTH or unicodedata.category(char) in ("Cc", "Cs")


def disguising_character(text: str) -> str | None:
    """Why ``text`` may not be a name because of a character in it (None: no such character)."""
    for char in text:
        if char in BIDI_CONTROLS:
            return (
                "must not contain bidirectional control characters, which can make it display "
                f"as a different name (found {_codepoint(char)})"
            )
        if char in ZERO_WIDTH:
            return f"must not contain invisible zero-width characters (found {_codepoint(char)})"
        category = unicodedata.category(char)
        if category == "Cc":
            return f"must not contain control characters (found {_codepoint(char)})"
        if category == "Cs":
            return f"must not contain unpaired surrogates (found {_codepoint(char)})"
    return None

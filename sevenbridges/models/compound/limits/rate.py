"""One rate-limit bucket: how many requests are allowed, left, and when the window resets."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sevenbridges.meta.fields import DateTimeField, IntegerField
from sevenbridges.meta.resource import Resource

_EPOCH_TEXT = re.compile(r"\d+(\.\d+)?")


class ResetTimeField(DateTimeField):
    """Datetime field that also reads epoch seconds, as numbers or as numeric strings.

    The platform reports the reset moment as Unix epoch seconds, while the reference client
    expects ISO text (and fails on the platform's answer). Both forms are accepted here; epoch
    values become local time, matching ``Api.reset_time``.
    """

    def to_python(self, value: Any, instance: Any) -> datetime | None:
        if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
            return datetime.fromtimestamp(float(value))
        return super().to_python(value, instance)


def parse_reset_time(value: Any) -> datetime | None:
    """Interpret a reset value (epoch number, numeric string or ISO text); None if it is none."""
    return ResetTimeField(read_only=True).to_python(value, None)


class Rate(Resource):
    """A rate-limit bucket; ``limit == -1`` means unlimited."""

    limit = IntegerField(read_only=True)
    remaining = IntegerField(read_only=True)
    reset = ResetTimeField(read_only=True)

    def __str__(self) -> str:
        return f"<Rate: limit={self.limit}, remaining={self.remaining}>"

    __repr__ = __str__

"""Quantities with a unit (stored or downloaded data) and what they cost."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, FloatField, StringField
from sevenbridges.meta.resource import Resource


class StorageCost(Resource):
    """Cost attached to a :class:`Measurement`."""

    amount = FloatField(read_only=True)
    currency = StringField(read_only=True)


class Measurement(Resource):
    """A size with its unit, e.g. ``12.5 GB/Month``, and its optional cost."""

    size = FloatField(read_only=True)
    unit = StringField(read_only=True)
    cost = CompoundField(StorageCost, read_only=True)

    def __str__(self) -> str:
        return f"<Measurement size={self.size}, unit={self.unit}>"

    __repr__ = __str__

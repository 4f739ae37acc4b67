"""Monetary amount with a currency, used by tasks, billing groups and invoices."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, FloatField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.price_breakdown import Breakdown


class Price(Resource):
    """An amount of money, optionally split into a :class:`Breakdown`."""

    currency = StringField(read_only=True)
    amount = FloatField(read_only=True)
    breakdown = CompoundField(Breakdown, read_only=True)

    def __str__(self) -> str:
        return f"<Price: currency={self.currency}, amount={self.amount}>"

    __repr__ = __str__

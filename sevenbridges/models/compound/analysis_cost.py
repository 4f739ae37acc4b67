"""Cost of one analysis (task) as reported by the billing analysis breakdown."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.analysis_cost_breakdown import AnalysisCostBreakdown


class AnalysisCost(Resource):
    """Total cost of an analysis; the platform reports ``amount`` as a string."""

    currency = StringField(read_only=True)
    amount = StringField(read_only=True)
    breakdown = CompoundField(AnalysisCostBreakdown, read_only=True)

    def __str__(self) -> str:
        return f"<AnalysisCost: currency={self.currency}, amount={self.amount}>"

    __repr__ = __str__

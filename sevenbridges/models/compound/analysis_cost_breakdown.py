"""Components of the cost of one analysis in a billing breakdown."""

from __future__ import annotations

from sevenbridges.meta.fields import FloatField
from sevenbridges.meta.resource import Resource


class AnalysisCostBreakdown(Resource):
    """Storage, computation and inbound transfer parts of an analysis cost."""

    storage = FloatField(read_only=True)
    computation = FloatField(read_only=True)
    data_transfer_in = FloatField(read_only=True)

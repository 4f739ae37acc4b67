"""Cost of data downloaded out of the platform."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class EgressCost(Resource):
    """Egress cost; the platform reports ``amount`` as a string."""

    currency = StringField(read_only=True)
    amount = StringField(read_only=True)

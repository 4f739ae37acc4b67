"""Time span covered by an invoice."""

from __future__ import annotations

from sevenbridges.meta.fields import DateTimeField
from sevenbridges.meta.resource import Resource


class InvoicePeriod(Resource):
    """Start and end of an invoice; ``from`` is a Python keyword, hence ``from_``."""

    from_ = DateTimeField(read_only=True, name="from")
    to = DateTimeField(read_only=True)

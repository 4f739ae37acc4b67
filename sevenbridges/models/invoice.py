"""Invoices issued to the caller's billing groups."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sevenbridges.meta.fields import BooleanField, CompoundField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.billing.invoice_period import InvoicePeriod
from sevenbridges.models.compound.price import Price

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Invoice(Resource):
    """An invoice: costs of one billing period."""

    _URL = {
        "query": "/billing/invoices",
        "get": "/billing/invoices/{id}",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    pending = BooleanField(read_only=True)
    analysis_costs = CompoundField(Price, read_only=True)
    storage_costs = CompoundField(Price, read_only=True)
    total = CompoundField(Price, read_only=True)
    invoice_period = CompoundField(InvoicePeriod, read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<Invoice: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        """One page of the caller's invoices."""
        api = api or cls._API
        logger.debug("Querying invoices")
        return cls._query(url=cls._URL["query"], offset=offset, limit=limit, fields="_all", api=api)

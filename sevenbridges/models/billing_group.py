"""Billing groups: who pays for a project's analyses, storage and downloads."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    HrefField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.models.billing_analysis_breakdown import BillingGroupAnalysisBreakdown
from sevenbridges.models.billing_breakdown_rows import BreakdownRow
from sevenbridges.models.billing_egress_breakdown import BillingGroupEgressBreakdown
from sevenbridges.models.billing_storage_breakdown import BillingGroupStorageBreakdown
from sevenbridges.models.compound.price import Price

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class BillingGroup(Resource):
    """A billing group the caller belongs to."""

    _URL = {
        "query": "/billing/groups",
        "get": "/billing/groups/{id}",
    }

    href = HrefField(read_only=True)
    id = UuidField(read_only=True)
    owner = StringField(read_only=True)
    name = StringField(read_only=True)
    type = StringField(read_only=True)
    pending = BooleanField(read_only=True)
    # Writable like on the platform's model, but billing groups have no save().
    disabled = BooleanField(read_only=False)
    balance = CompoundField(Price, read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<BillingGroup: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        """One page of the caller's billing groups."""
        api = api or cls._API
        logger.debug("Querying billing groups")
        return cls._query(url=cls._URL["query"], offset=offset, limit=limit, fields="_all", api=api)

    def _breakdown(self, row_class: type[BreakdownRow], **filters: Any) -> Collection:
        return row_class.query(self.id, api=self._api, **filters)

    def analysis_breakdown(
        self,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        invoice_id: str | None = None,
        fields: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """Per-analysis costs charged to this group."""
        return self._breakdown(
            BillingGroupAnalysisBreakdown, date_from=date_from, date_to=date_to,
            invoice_id=invoice_id, fields=fields, offset=offset, limit=limit,
        )

    def storage_breakdown(
        self,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        invoice_id: str | None = None,
        fields: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """Per-project storage costs charged to this group."""
        return self._breakdown(
            BillingGroupStorageBreakdown, date_from=date_from, date_to=date_to,
            invoice_id=invoice_id, fields=fields, offset=offset, limit=limit,
        )

    def egress_breakdown(
        self,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        invoice_id: str | None = None,
        fields: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """Per-download egress costs charged to this group."""
        return self._breakdown(
            BillingGroupEgressBreakdown, date_from=date_from, date_to=date_to,
            invoice_id=invoice_id, fields=fields, offset=offset, limit=limit,
        )

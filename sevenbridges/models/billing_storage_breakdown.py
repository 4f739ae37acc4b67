"""Billing group storage breakdown: what each project's stored data cost."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.fields import BooleanField, CompoundField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.billing import format_breakdown_date
from sevenbridges.models.compound.measurement import Measurement

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class BillingGroupStorageBreakdown(Resource):
    """One row of the storage breakdown of a billing group."""

    _URL = {"query": "/billing/groups/{id}/breakdown/storage"}

    project_name = StringField(read_only=True)
    project_created_by = StringField(read_only=True)
    location = StringField(read_only=True)
    active = CompoundField(Measurement, read_only=True)
    archived = CompoundField(Measurement, read_only=True)
    project_locked = BooleanField(read_only=True)

    def __str__(self) -> str:
        return "<BillingGroupStorageBreakdown>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        bg_id: Any,
        api: Api | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        invoice_id: str | None = None,
        fields: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """Rows for billing group ``bg_id`` (id or ``BillingGroup``), optionally filtered."""
        api = api or cls._API
        group_id = Transform.to_billing_group(bg_id)
        logger.debug("Querying storage breakdown of billing group %s", group_id)
        return cls._query(
            url=cls._URL["query"].format(id=group_id),
            date_from=format_breakdown_date(date_from),
            date_to=format_breakdown_date(date_to),
            invoice_id=invoice_id,
            fields=fields,
            offset=offset,
            limit=limit,
            api=api,
        )

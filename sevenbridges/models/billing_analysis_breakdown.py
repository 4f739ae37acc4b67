"""Billing group analysis breakdown: what each task or analysis cost."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    FloatField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.analysis_cost import AnalysisCost
from sevenbridges.models.compound.billing import format_breakdown_date

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class BillingGroupAnalysisBreakdown(Resource):
    """One row of the analysis breakdown of a billing group."""

    _URL = {"query": "/billing/groups/{id}/breakdown/analysis"}

    project_name = StringField(read_only=True)
    analysis_app_name = StringField(read_only=True)
    analysis_name = StringField(read_only=True)
    analysis_type = StringField(read_only=True)
    analysis_id = UuidField(read_only=True)
    ran_by = StringField(read_only=True)
    analysis_status = StringField(read_only=True)
    analysis_cost = CompoundField(AnalysisCost, read_only=True)
    refunded_amount = FloatField(read_only=True)
    time_started = DateTimeField(read_only=True)
    time_finished = DateTimeField(read_only=True)
    project_locked = BooleanField(read_only=True)

    def __str__(self) -> str:
        return "<BillingGroupAnalysisBreakdown>"

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
        logger.debug("Querying analysis breakdown of billing group %s", group_id)
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

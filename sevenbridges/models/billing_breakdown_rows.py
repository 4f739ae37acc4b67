"""What the three billing breakdowns (analysis, storage, egress) have in common."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.billing import format_breakdown_date

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class BreakdownRow(Resource):
    """A row of a billing group breakdown; subclasses name the kind and declare the fields."""

    _KIND = ""

    def __str__(self) -> str:
        return f"<{type(self).__name__}>"

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
        group_id = Transform.to_billing_group(bg_id)
        logger.debug("Querying %s breakdown of billing group %s", cls._KIND, group_id)
        return cls._query(
            url=f"/billing/groups/{group_id}/breakdown/{cls._KIND}",
            date_from=format_breakdown_date(date_from),
            date_to=format_breakdown_date(date_to),
            invoice_id=invoice_id,
            fields=fields,
            offset=offset,
            limit=limit,
            api=api or cls._API,
        )

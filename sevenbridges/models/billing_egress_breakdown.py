"""Billing group egress breakdown: what downloads out of the platform cost."""

from __future__ import annotations

from sevenbridges.meta.fields import BooleanField, CompoundField, StringField
from sevenbridges.models.billing_breakdown_rows import BreakdownRow
from sevenbridges.models.compound.egress_cost import EgressCost
from sevenbridges.models.compound.measurement import Measurement


class BillingGroupEgressBreakdown(BreakdownRow):
    """One row of the egress breakdown of a billing group."""

    _KIND = "egress"

    project_name = StringField(read_only=True)
    downloaded_by = StringField(read_only=True)
    downloaded = CompoundField(Measurement, read_only=True)
    egress_cost = CompoundField(EgressCost, read_only=True)
    project_locked = BooleanField(read_only=True)

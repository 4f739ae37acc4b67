"""Billing group storage breakdown: what each project's stored data cost."""

from __future__ import annotations

from sevenbridges.meta.fields import BooleanField, CompoundField, StringField
from sevenbridges.models.billing_breakdown_rows import BreakdownRow
from sevenbridges.models.compound.measurement import Measurement


class BillingGroupStorageBreakdown(BreakdownRow):
    """One row of the storage breakdown of a billing group."""

    _KIND = "storage"

    project_name = StringField(read_only=True)
    project_created_by = StringField(read_only=True)
    location = StringField(read_only=True)
    active = CompoundField(Measurement, read_only=True)
    archived = CompoundField(Measurement, read_only=True)
    project_locked = BooleanField(read_only=True)

"""Billing group analysis breakdown: what each task or analysis cost."""

from __future__ import annotations

from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    FloatField,
    StringField,
    UuidField,
)
from sevenbridges.models.billing_breakdown_rows import BreakdownRow
from sevenbridges.models.compound.analysis_cost import AnalysisCost


class BillingGroupAnalysisBreakdown(BreakdownRow):
    """One row of the analysis breakdown of a billing group."""

    _KIND = "analysis"

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

"""A project's share of a billing group's spending, with its tasks."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, CompoundListField, HrefField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.billing.task_breakdown import TaskBreakdown
from sevenbridges.models.compound.price import Price


class ProjectBreakdown(Resource):
    """Analysis spending of one project and the tasks behind it."""

    href = HrefField(read_only=True)
    analysis_spending = CompoundField(Price, read_only=True)
    task_breakdown = CompoundListField(TaskBreakdown, read_only=True)

    def __str__(self) -> str:
        return f"<ProjectBreakdown: href={self.href}>"

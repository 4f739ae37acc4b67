"""One task's cost line inside a project's billing breakdown."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, DateTimeField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.price import Price


class TaskBreakdown(Resource):
    """Who ran the task, when it ran, and what it cost."""

    href = HrefField(read_only=True)
    runner_username = StringField(read_only=True)
    time_started = DateTimeField(read_only=True)
    time_finished = DateTimeField(read_only=True)
    task_cost = CompoundField(Price, read_only=True)

    def __str__(self) -> str:
        return f"<TaskBreakdown: href={self.href}>"

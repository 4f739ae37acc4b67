"""What happened while a task ran: overall status and one entry per job."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundListField, DateTimeField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.jobs.job import Job

__all__ = ["ExecutionDetails"]


class ExecutionDetails(Resource):
    """Answer of ``task.get_execution_details()``; ``jobs`` lists :class:`Job` objects."""

    href = HrefField(read_only=True)
    start_time = DateTimeField(read_only=True)
    end_time = DateTimeField(read_only=True)
    status = StringField(read_only=True)
    message = StringField(read_only=True)
    jobs = CompoundListField(Job, read_only=True)

    def __str__(self) -> str:
        return "<Execution Details>"

    __repr__ = __str__

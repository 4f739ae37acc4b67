"""One job (a tool run) of a task."""

from __future__ import annotations

from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    StringField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.jobs.job_docker import JobDocker
from sevenbridges.models.compound.jobs.job_instance import Instance
from sevenbridges.models.compound.jobs.job_log import Logs


class Job(Resource):
    """An entry of ``execution_details.jobs``: one tool invocation, with its logs."""

    name = StringField(read_only=True)
    start_time = DateTimeField(read_only=True)
    end_time = DateTimeField(read_only=True)
    status = StringField(read_only=True)
    command_line = StringField(read_only=True)
    retried = BooleanField(read_only=True)
    instance = CompoundField(Instance, read_only=True)
    docker = CompoundField(JobDocker, read_only=True)
    logs = CompoundField(Logs, read_only=True)

    def __str__(self) -> str:
        return f"<Job: name={self.field('name')}, status={self.field('status')}>"

    __repr__ = __str__

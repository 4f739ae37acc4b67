"""The machine a job ran on."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.jobs.job_instance_disk import Disk


class Instance(Resource):
    """``job.instance``: instance ``id``, ``type`` (e.g. ``c5.2xlarge``), cloud ``provider``."""

    id = StringField(read_only=True)
    type = StringField(read_only=True)
    provider = StringField(read_only=True)
    disk = CompoundField(Disk, read_only=True)

    def __str__(self) -> str:
        return f"<Instance: id={self.field('id')}, type={self.field('type')}>"

    __repr__ = __str__

"""The disk attached to the machine a job ran on."""

from __future__ import annotations

from sevenbridges.meta.fields import IntegerField, StringField
from sevenbridges.meta.resource import Resource


class Disk(Resource):
    """``job.instance.disk``: ``size`` in ``unit`` (e.g. 1024 GB), and the disk ``type``."""

    size = IntegerField(read_only=True)
    unit = StringField(read_only=True)
    type = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<Disk: size={self.field('size')}, unit={self.field('unit')}>"

    __repr__ = __str__

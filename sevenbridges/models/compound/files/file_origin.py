"""Where a file came from (the task that produced it)."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class FileOrigin(Resource):
    """``origin`` of a file: ``task`` is the id of the task that produced it, if any."""

    task = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<FileOrigin: task={self.field('task')}>"

    __repr__ = __str__

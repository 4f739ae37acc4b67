"""The container image a job ran in."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class JobDocker(Resource):
    """``job.docker``: ``checksum`` identifies the image (empty when no container was used)."""

    checksum = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<JobDocker: checksum={self.field('checksum')}>"

    __repr__ = __str__

"""A "folder" (common key prefix) found in a volume listing."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class VolumePrefix(Resource):
    """A sub-folder of a listing; ``href`` lists it (``prefix=...``)."""

    href = StringField(read_only=True)
    prefix = StringField(read_only=True)
    volume = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<VolumePrefix: prefix={self.prefix}>"

    __repr__ = __str__

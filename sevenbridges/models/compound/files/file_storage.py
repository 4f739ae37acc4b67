"""Where a file's bytes live: platform storage or a connected volume."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class FileStorage(Resource):
    """``storage`` of a file: ``type`` is PLATFORM or VOLUME; volume files name their location."""

    type = StringField(read_only=True)
    volume = StringField(read_only=True)
    location = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<FileStorage: type={self.field('type')}>"

    __repr__ = __str__

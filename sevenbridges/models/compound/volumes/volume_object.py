"""One object (usually a file) found in a volume."""

from __future__ import annotations

from sevenbridges.meta.fields import DictField, StringField
from sevenbridges.meta.resource import Resource


class VolumeObject(Resource):
    """An object of a volume listing or of ``volume.get_volume_object_info()``.

    ``type`` is the storage type (``s3``, ``gcs``, ``OSS``); ``metadata`` holds what the
    provider reports (``size``, ``etag``, ...).
    """

    href = StringField(read_only=True)
    location = StringField(read_only=True)
    volume = StringField(read_only=True)
    type = StringField(read_only=True)
    metadata = DictField(read_only=True)

    def __str__(self) -> str:
        return f"<VolumeObject: location={self.location}>"

    __repr__ = __str__

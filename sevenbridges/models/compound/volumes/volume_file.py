"""Where a file sits on a volume: the ``source`` of an import, the ``destination`` of an
export."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class VolumeFile(Resource):
    """``volume`` (``owner/name``) and ``location`` (key relative to the volume's root)."""

    volume = StringField(read_only=True)
    location = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<VolumeFile: volume={self.volume}, location={self.location}>"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return self is other or self.location == other.location  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

"""Where an import puts its file (or folder) on the platform."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class ImportDestination(Resource):
    """``project`` (``owner/slug``), ``parent`` (a folder id, when given) and ``name``."""

    project = StringField(read_only=True)
    parent = StringField(read_only=True)
    name = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<ImportDestination: project={self.project}, name={self.name}>"

    __repr__ = __str__

"""One item of a DRS bulk import's ``result``: the imported File, or the error that stopped it."""

from __future__ import annotations

from sevenbridges.meta.fields import CompoundField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.error import Error
from sevenbridges.models.file import File

__all__ = ["FileImportResult"]


class FileImportResult(Resource):
    """``resource`` (a File) when the item was imported, ``error`` when it was not."""

    error = CompoundField(Error, read_only=True)
    resource = CompoundField(File, read_only=True)

    def __str__(self) -> str:
        error = self.error
        return str(error) if error else str(self.resource)

    __repr__ = __str__

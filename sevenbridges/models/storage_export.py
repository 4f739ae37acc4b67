"""Exports: platform files written to a volume (``api.exports``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    DictField,
    HrefField,
    StringField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.bulk import BulkRecord
from sevenbridges.models.compound.error import Error
from sevenbridges.models.compound.volumes.properties import VolumeProperties
from sevenbridges.models.compound.volumes.volume_file import VolumeFile
from sevenbridges.models.file import File

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Export(Resource):
    """An export job; ``source`` is the platform file, ``destination`` where it goes,
    ``result`` the file once COMPLETED (an alias of the object unless ``copy_only``)."""

    _URL = {
        "query": "/storage/exports",
        "get": "/storage/exports/{id}",
        "bulk_get": "/bulk/storage/exports/get",
        "bulk_create": "/bulk/storage/exports/create",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    state = StringField(read_only=True)
    _source = DictField(name="source", read_only=True)
    destination = CompoundField(VolumeFile, read_only=True)
    started_on = DateTimeField(read_only=True)
    finished_on = DateTimeField(read_only=True)
    overwrite = BooleanField(read_only=True)
    error = CompoundField(Error, read_only=True)
    _result = DictField(name="result", read_only=True)
    properties = CompoundField(VolumeProperties, read_only=True)

    def __str__(self) -> str:
        return f"<Export: id={self.id}>"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return self is other or self.id == other.id  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    @property
    def source(self) -> File | None:
        """The exported file (fetched when a field of it is read)."""
        found = self._source
        if not isinstance(found, Mapping) or not found.get("file"):
            return None
        return File(id=found["file"], api=self._api)

    @property
    def result(self) -> File | None:
        found = self._result
        if not isinstance(found, Mapping) or not found:
            return None
        return File(api=self._api, **found)

    @classmethod
    def submit_export(
        cls,
        file: Any,
        volume: Any,
        location: str,
        properties: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        copy_only: bool = False,
        api: Api | None = None,
    ) -> Export:
        """Start writing ``file`` to ``location`` of ``volume`` (an RW volume)."""
        data: dict[str, Any] = {}
        if properties:
            data["properties"] = properties
        data["source"] = {"file": Transform.to_file(file)}
        data["destination"] = {"volume": Transform.to_volume(volume), "location": location}
        data["overwrite"] = overwrite
        api = cls._resolve_api(api)
        logger.info("Submitting an export to %s", location)
        if copy_only:
            answer = api.post(cls._URL["query"], data=data, params={"copy_only": True}).json()
        else:
            answer = api.post(cls._URL["query"], data=data).json()
        return Export(api=api, **answer)

    @classmethod
    def query(
        cls,
        volume: Any = None,
        state: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """My exports, optionally to one volume or in one state."""
        return super()._query(
            url=cls._URL["query"],
            volume=Transform.to_volume(volume) if volume else None,
            state=state,
            offset=offset,
            limit=limit,
            fields="_all",
            api=api,
        )

    @classmethod
    def bulk_get(cls, exports: Sequence[Any], api: Api | None = None) -> list[ExportBulkRecord]:
        api = cls._resolve_api(api)
        data = {"export_ids": [Transform.to_export(item) for item in exports]}
        response = api.post(url=cls._URL["bulk_get"], data=data)
        return ExportBulkRecord.parse_records(response=response, api=api)  # type: ignore[return-value]

    @classmethod
    def bulk_submit(
        cls,
        exports: Sequence[Mapping[str, Any]],
        copy_only: bool = False,
        api: Api | None = None,
    ) -> list[ExportBulkRecord]:
        """Submit several exports: dicts with ``file``, ``volume``, ``location`` and optionally
        ``properties`` and ``overwrite``."""
        if not exports:
            raise SbgError("Exports are required")
        api = cls._resolve_api(api)
        items = [
            {
                "source": {"file": Transform.to_file(given.get("file"))},
                "destination": {
                    "volume": Transform.to_volume(given.get("volume")),
                    "location": Transform.to_location(given.get("location")),
                },
                "properties": given.get("properties", {}),
                "overwrite": given.get("overwrite", False),
            }
            for given in exports
        ]
        response = api.post(
            url=cls._URL["bulk_create"], params={"copy_only": copy_only}, data={"items": items}
        )
        return ExportBulkRecord.parse_records(response=response, api=api)  # type: ignore[return-value]


class ExportBulkRecord(BulkRecord):
    """One item of a bulk export call: ``resource`` is the Export, or ``error`` says why not."""

    resource = CompoundField(Export, read_only=True)

"""Imports: objects of a volume brought into a project (``api.imports``)."""

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
from sevenbridges.models.compound.volumes.import_destination import ImportDestination
from sevenbridges.models.compound.volumes.volume_file import VolumeFile
from sevenbridges.models.file import File

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


def _destination(project: Any, parent: Any) -> dict[str, Any]:
    if project and parent:
        raise SbgError("Project and parent identifiers are mutually exclusive")
    if project:
        return {"project": Transform.to_project(project)}
    if parent:
        return {"parent": Transform.to_file(parent)}
    raise SbgError("Project or parent identifier is required.")


class Import(Resource):
    """An import job: ``state`` goes PENDING -> RUNNING -> COMPLETED or FAILED; ``result`` is
    the imported file (a folder for a prefix), ``error`` says why it failed."""

    _URL = {
        "query": "/storage/imports",
        "get": "/storage/imports/{id}",
        "bulk_get": "/bulk/storage/imports/get",
        "bulk_create": "/bulk/storage/imports/create",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    state = StringField(read_only=True)
    preserve_folder_structure = BooleanField(read_only=True)
    autorename = BooleanField(read_only=True)
    source = CompoundField(VolumeFile, read_only=True)
    destination = CompoundField(ImportDestination, read_only=True)
    started_on = DateTimeField(read_only=True)
    finished_on = DateTimeField(read_only=True)
    overwrite = BooleanField(read_only=True)
    error = CompoundField(Error, read_only=True)
    _result = DictField(name="result", read_only=True)

    def __str__(self) -> str:
        return f"<Import: id={self.id}>"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return self is other or self.id == other.id  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    @property
    def result(self) -> File | None:
        """The imported file or folder once COMPLETED, else None."""
        found = self._result
        if not isinstance(found, Mapping) or not found:
            return None
        return File(api=self._api, **found)

    @classmethod
    def submit_import(
        cls,
        volume: Any,
        location: str,
        project: Any = None,
        name: str | None = None,
        overwrite: bool = False,
        properties: Mapping[str, Any] | None = None,
        parent: Any = None,
        preserve_folder_structure: bool = True,
        autorename: bool = False,
        api: Api | None = None,
    ) -> Import:
        """Start importing ``location`` of ``volume`` (an object, or a prefix ending in ``/``)
        into ``project`` or folder ``parent`` (exactly one of them)."""
        destination = _destination(project, parent)
        if name:
            destination["name"] = name
        data: dict[str, Any] = {
            "source": {"volume": Transform.to_volume(volume), "location": location},
            "destination": destination,
            "overwrite": overwrite,
        }
        # Sent only when they differ from the platform's defaults, as the reference client does.
        if not preserve_folder_structure:
            data["preserve_folder_structure"] = preserve_folder_structure
        if autorename:
            data["autorename"] = autorename
        if properties:
            data["properties"] = properties
        api = cls._resolve_api(api)
        logger.info("Submitting an import of %s", location)
        answer = api.post(cls._URL["query"], data=data).json()
        return Import(api=api, **answer)

    @classmethod
    def query(
        cls,
        project: Any = None,
        volume: Any = None,
        state: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """My imports, optionally of one volume, into one project, or in one state."""
        return super()._query(
            url=cls._URL["query"],
            project=Transform.to_project(project) if project else None,
            volume=Transform.to_volume(volume) if volume else None,
            state=state,
            fields="_all",
            offset=offset,
            limit=limit,
            api=api,
        )

    @classmethod
    def bulk_get(cls, imports: Sequence[Any], api: Api | None = None) -> list[ImportBulkRecord]:
        """Several imports (objects or ids) in one call; one record each, in order."""
        api = cls._resolve_api(api)
        data = {"import_ids": [Transform.to_import(item) for item in imports]}
        response = api.post(url=cls._URL["bulk_get"], data=data)
        return ImportBulkRecord.parse_records(response=response, api=api)  # type: ignore[return-value]

    @classmethod
    def bulk_submit(
        cls, imports: Sequence[Mapping[str, Any]], api: Api | None = None
    ) -> list[ImportBulkRecord]:
        """Submit several imports: dicts with ``volume``, ``location``, ``project`` xor
        ``parent`` and optionally ``name``, ``overwrite``, ``autorename``,
        ``preserve_folder_structure``."""
        if not imports:
            raise SbgError("Imports are required")
        api = cls._resolve_api(api)
        items = []
        for given in imports:
            destination = _destination(given.get("project"), given.get("parent"))
            item: dict[str, Any] = {
                "source": {
                    "volume": Transform.to_volume(given.get("volume")),
                    "location": Transform.to_location(given.get("location")),
                },
                "destination": destination,
                "overwrite": given.get("overwrite", False),
            }
            if given.get("name"):
                destination["name"] = given["name"]
            for key in ("autorename", "preserve_folder_structure"):
                if given.get(key) is not None:
                    item[key] = given[key]
            items.append(item)
        response = api.post(url=cls._URL["bulk_create"], data={"items": items})
        return ImportBulkRecord.parse_records(response=response, api=api)  # type: ignore[return-value]


class ImportBulkRecord(BulkRecord):
    """One item of a bulk import call: ``resource`` is the Import, or ``error`` says why not."""

    resource = CompoundField(Import, read_only=True)

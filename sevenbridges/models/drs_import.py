"""DRS bulk imports: bring ``drs://`` objects of any GA4GH DRS server in as platform files.

::

    job = api.drs_imports.bulk_submit(
        [{'drs_uri': 'drs://drs.example.org/abc', 'project': project}],
        tags=['drs'], conflict_resolution='AUTORENAME',
    )
    while job.reload().state != 'FINISHED':
        time.sleep(1)
    imported = job.result_files  # FileBulkRecord list, or None when nothing was imported
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.fields import CompoundListField, DateTimeField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.import_result import FileImportResult
from sevenbridges.models.file import File

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.models.file import FileBulkRecord

logger = logging.getLogger(__name__)

__all__ = ["DRSImportBulk"]


class DRSImportBulk(Resource):
    """A DRS bulk import job: ``state`` moves to ``FINISHED``; ``result`` has one
    :class:`FileImportResult` per submitted item, in order."""

    _URL = {
        "get": "/bulk/drs/imports/{id}",
        "create": "/bulk/drs/imports/create",
    }

    id = StringField(read_only=True)
    href = HrefField(read_only=True)
    result = CompoundListField(FileImportResult, read_only=True)
    state = StringField(read_only=True)
    started_on = DateTimeField(read_only=True)
    finished_on = DateTimeField(read_only=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Per job: the files already fetched for ``result_files``.
        self._fetched_files: list[FileBulkRecord] = []

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return other is self or other.id == self.id  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by id, as the reference

    def __str__(self) -> str:
        return f"<DRSBulkImport: id={self.id}>"

    __repr__ = __str__

    @property
    def result_files(self) -> list[FileBulkRecord] | None:
        """The imported files (one ``File.bulk_get`` for those not fetched yet), or None."""
        fetched = self._fetched_files
        known = {record.resource.id for record in fetched if record.resource is not None}
        wanted: list[str] = []
        for entry in self.result or []:
            resource = getattr(entry, "resource", None)
            file_id = getattr(resource, "id", None)
            if file_id and file_id not in known and file_id not in wanted:
                wanted.append(file_id)
        if wanted:
            fetched.extend(File.bulk_get(files=wanted, api=self._api))
        return fetched or None

    @classmethod
    def bulk_get(cls, import_job_id: Any, api: Api | None = None) -> DRSImportBulk:
        """The job with this id (a non-empty string)."""
        if not import_job_id:
            raise SbgError("DRS import is required!")
        if not isinstance(import_job_id, str):
            raise SbgError("Invalid DRS import parameter!")
        api = cls._resolve_api(api)
        response = api.get(url=cls._URL["get"].format(id=import_job_id))
        return cls(api=api, **response.json())

    @classmethod
    def bulk_submit(
        cls,
        imports: Iterable[MutableMapping[str, Any]],
        tags: list[str] | None = None,
        conflict_resolution: str = "SKIP",
        api: Api | None = None,
    ) -> DRSImportBulk:
        """Start importing; each import is ``{'drs_uri', 'project' or 'parent', 'name'?,
        'metadata'?}``. Project and folder objects become their ids (in the given dicts)."""
        if not imports:
            raise SbgError("Imports are required")
        api = cls._resolve_api(api)
        items = []
        for import_ in imports:
            project, parent = import_.get("project"), import_.get("parent")
            if project and parent:
                raise SbgError("Project and parent identifiers are mutually exclusive")
            if project:
                import_["project"] = Transform.to_project(project)
            elif parent:
                import_["parent"] = Transform.to_file(parent)
            else:
                raise SbgError("Project or parent identifier is required.")
            items.append(import_)
        body = {"conflict_resolution": conflict_resolution, "tags": tags, "items": items}
        response = api.post(url=cls._URL["create"], data=body)
        return cls(api=api, **response.json())

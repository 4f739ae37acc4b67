"""Asynchronous bulk file jobs: copy, move and delete many files as background work."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.fields import (
    BasicListField,
    DateTimeField,
    HrefField,
    IntegerField,
    StringField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.file import FileBulkRecord

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)

__all__ = ["AsyncJob", "AsyncFileBulkRecord"]


class AsyncFileBulkRecord(FileBulkRecord):
    """One item of an async file job's result: the File it produced, or an error."""

    @classmethod
    def parse_records(  # type: ignore[override]
        cls, result: Iterable[Any] | None, api: Any = None
    ) -> list[AsyncFileBulkRecord]:
        """Records from a job's raw ``result`` list (not from an HTTP response)."""
        return cls._from_items(result or [], api or cls._API)  # type: ignore[return-value]


def _job_item(item: Any) -> Any:
    """Let callers put File / Project objects in job items; ids are sent as given."""
    if not isinstance(item, Mapping):
        return item
    normalized = dict(item)
    for key in ("file", "parent"):
        value = normalized.get(key)
        if value is not None and not isinstance(value, str):
            normalized[key] = Transform.to_file(value)
    project = normalized.get("project")
    if project is not None and not isinstance(project, str):
        normalized["project"] = Transform.to_project(project)
    return normalized


class AsyncJob(Resource):
    """A background file job. Poll with ``reload()`` until ``state`` is ``FINISHED``, then read
    ``get_result()``::

        job = api.async_jobs.file_bulk_copy([{'file': f.id, 'project': dst}])
        while job.reload().state != AsyncJobStates.FINISHED:
            time.sleep(1)
    """

    _URL = {
        "list_file_jobs": "/async/files",
        "get_file_copy_job": "/async/files/copy/{id}",
        "get_file_delete_job": "/async/files/delete/{id}",
        "get_file_move_job": "/async/files/move/{id}",
        "bulk_copy_files": "/async/files/copy",
        "bulk_delete_files": "/async/files/delete",
        "bulk_move_files": "/async/files/move",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    type = StringField(read_only=True)
    state = StringField(read_only=True)
    result = BasicListField(read_only=True)
    total_files = IntegerField(read_only=True)
    failed_files = IntegerField(read_only=True)
    completed_files = IntegerField(read_only=True)
    started_on = DateTimeField(read_only=True)
    finished_on = DateTimeField(read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<AsyncJob: type={self.type} id={self.id}>"

    __repr__ = __str__

    # ----------------------------------------------------------------- fetching jobs

    @classmethod
    def _get_job(cls, url_key: str, id: Any, api: Any) -> AsyncJob:
        job_id = Transform.to_async_job(id)
        api = cls._resolve_api(api)
        response = api.get(url=cls._URL[url_key].format(id=job_id))
        job = cls(api=api, **response.json())
        job._data.fetched = True
        return job

    @classmethod
    def get_file_copy_job(cls, id: Any, api: Api | None = None) -> AsyncJob:
        """A copy job by id (or AsyncJob)."""
        return cls._get_job("get_file_copy_job", id, api)

    @classmethod
    def get_file_move_job(cls, id: Any, api: Api | None = None) -> AsyncJob:
        """A move job by id (or AsyncJob)."""
        return cls._get_job("get_file_move_job", id, api)

    @classmethod
    def get_file_delete_job(cls, id: Any, api: Api | None = None) -> AsyncJob:
        """A delete job by id (or AsyncJob)."""
        return cls._get_job("get_file_delete_job", id, api)

    @classmethod
    def list_file_jobs(
        cls, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        """One page of the caller's async file jobs."""
        return cls._query(url=cls._URL["list_file_jobs"], offset=offset, limit=limit, api=api)

    # ----------------------------------------------------------------- submitting jobs

    @classmethod
    def _submit(cls, url_key: str, files: Any, api: Any) -> AsyncJob:
        if not files:
            raise SbgError("Files are required.")
        api = cls._resolve_api(api)
        items = [_job_item(item) for item in files]
        logger.debug("Submitting async job %s with %d items", url_key, len(items))
        response = api.post(url=cls._URL[url_key], data={"items": items})
        return cls(api=api, **response.json())

    @classmethod
    def file_bulk_copy(cls, files: list[dict[str, Any]], api: Api | None = None) -> AsyncJob:
        """Copy files: items ``{'file': id, 'project': pid or 'parent': folder, 'name'?: new}``."""
        return cls._submit("bulk_copy_files", files, api)

    @classmethod
    def file_bulk_move(cls, files: list[dict[str, Any]], api: Api | None = None) -> AsyncJob:
        """Move files: items ``{'file': id, 'parent': folder or 'project': pid, 'name'?: new}``."""
        return cls._submit("bulk_move_files", files, api)

    @classmethod
    def file_bulk_delete(cls, files: list[dict[str, Any]], api: Api | None = None) -> AsyncJob:
        """Delete files and folders (non-empty ones too): items ``{'file': id}``."""
        return cls._submit("bulk_delete_files", files, api)

    # ----------------------------------------------------------------- results

    def get_result(self, api: Api | None = None) -> list[AsyncFileBulkRecord]:
        """One record per submitted item, in order (empty while the job has no result yet)."""
        api = api or self._api
        return AsyncFileBulkRecord.parse_records(result=self.result, api=api)

"""Files and folders: listing, editing, copying and moving, bulk calls, uploads and downloads."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import (
    HTTP_ERRORS,
    LocalFileAlreadyExists,
    ResourceNotModified,
    SbgError,
)
from sevenbridges.http.client import generate_session
from sevenbridges.meta.fields import (
    BasicListField,
    CompoundField,
    DateTimeField,
    HrefField,
    IntegerField,
    StringField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.bulk import BulkRecord
from sevenbridges.models.compound.files.download_info import DownloadInfo
from sevenbridges.models.compound.files.file_origin import FileOrigin
from sevenbridges.models.compound.files.file_storage import FileStorage
from sevenbridges.models.compound.files.metadata import Metadata
from sevenbridges.models.enums import RequestParameters, TransferState

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection
    from sevenbridges.transfer.download import Download
    from sevenbridges.transfer.upload import Upload

logger = logging.getLogger(__name__)

__all__ = ["File", "FileBulkRecord", "SearchResponse"]

# Keys that save() sends through their own endpoints, or never sends at all.
_METADATA = "metadata"
_TAGS = "tags"
_INTERNAL_KEYS = frozenset({"_secondary_files"})


def _one_of(**candidates: Any) -> str:
    """Name of the single truthy argument; SbgError when none or several are given."""
    given = [name for name, value in candidates.items() if value]
    if len(given) != 1:
        names = ", ".join(candidates)
        raise SbgError(f"Exactly one of {names} must be given (got {len(given)}).")
    return given[0]


def _origin_value(value: Any) -> Any:
    """Origin filters accept ids or resources (a Task, an automation run ...)."""
    if isinstance(value, str) or value is None:
        return value
    return getattr(value, "id", value)


def _storage_error(response: requests.Response) -> SbgError:
    """The exception for a failed signed-URL request (storage answers like the API does)."""
    status = response.status_code
    error_class = HTTP_ERRORS.get(status)
    error = error_class() if error_class is not None else SbgError(status=status)
    message = None
    try:
        body = response.json()
        if isinstance(body, Mapping):
            message = body.get("message")
            if isinstance(body.get("code"), int):
                error.code = body["code"]
    except ValueError:
        pass
    error.message = f"Storage refused the request (HTTP {status}): {message or response.reason}"
    return error


class File(Resource):
    """A file or a folder in a project.

    ``metadata`` and ``tags`` are edited in place and sent with ``save()``::

        f = api.files.get(file_id)
        f.metadata['sample_id'] = 'NA12878'
        f.tags.append('wgs')
        f.save()
    """

    _URL = {
        "query": "/files",
        "scroll": "/files/scroll",
        "get": "/files/{id}",
        "delete": "/files/{id}",
        "copy": "/files/{id}/actions/copy",
        "download_info": "/files/{id}/download_info",
        "metadata": "/files/{id}/metadata",
        "tags": "/files/{id}/tags",
        "bulk_get": "/bulk/files/get",
        "bulk_delete": "/bulk/files/delete",
        "bulk_update": "/bulk/files/update",
        "bulk_edit": "/bulk/files/edit",
        "create_folder": "/files",
        "list_folder": "/files/{id}/list",
        "scroll_folder": "/files/{id}/scroll",
        "copy_to_folder": "/files/{file_id}/actions/copy",
        "move_to_folder": "/files/{file_id}/actions/move",
        "search": "/files/search",
    }

    FOLDER_TYPE = "folder"

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    type = StringField(read_only=True)
    name = StringField(read_only=False)
    size = IntegerField(read_only=True)
    parent = StringField(read_only=True)
    project = StringField(read_only=True)
    created_on = DateTimeField(read_only=True)
    modified_on = DateTimeField(read_only=True)
    origin = CompoundField(FileOrigin, read_only=True)
    storage = CompoundField(FileStorage, read_only=True)
    metadata = CompoundField(Metadata, read_only=False)
    tags = BasicListField(read_only=False)
    _secondary_files = BasicListField(read_only=False, name="_secondary_files")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<File: id={self.id}>"

    __repr__ = __str__

    @property
    def secondary_files(self) -> list[File] | None:
        """Secondary files attached by a task's inputs or outputs (None when there are none)."""
        raw = self.field("_secondary_files")
        if not raw:
            return None
        return [
            item if isinstance(item, File) else File(api=self._api, **item)
            for item in raw
            if isinstance(item, (File, Mapping))
        ]

    def is_folder(self) -> bool:
        """True for folders, False for files."""
        return (self.type or "").lower() == self.FOLDER_TYPE

    # ----------------------------------------------------------------- listing

    @classmethod
    def query(
        cls,
        project: Any = None,
        names: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        origin: Mapping[str, Any] | None = None,
        tags: list[str] | None = None,
        offset: int | None = None,
        limit: int | None = None,
        dataset: Any = None,
        api: Api | None = None,
        parent: Any = None,
        cont_token: str | None = None,
    ) -> Collection:
        """Files of a project, a dataset or a folder (exactly one), filtered.

        ``names`` matches any of the given names, ``metadata`` and ``origin`` match every given
        key, ``tags`` any of the given tags. With ``cont_token`` (``'init'`` for the first page)
        the continuation-token listing is used; it takes neither ``offset`` nor ``metadata``.
        """
        container = _one_of(project=project, dataset=dataset, parent=parent)
        if cont_token and (offset is not None or metadata):
            raise SbgError("Listing with cont_token supports neither offset nor metadata filters.")
        params: dict[str, Any]
        if cont_token:
            url = cls._URL["scroll"]
            params = {"token": cont_token, "limit": limit, "fields": "_all"}
        else:
            url = cls._URL["query"]
            params = {"offset": offset, "limit": limit, "fields": "_all"}
        if container == "project":
            params["project"] = Transform.to_project(project)
        elif container == "dataset":
            params["dataset"] = Transform.to_dataset(dataset)
        else:
            params["parent"] = Transform.to_file(parent)
        if names is not None:
            # An empty list still filters (by the empty name), as the reference client does.
            params["name"] = [names] if isinstance(names, str) else (list(names) or "")
        if tags is not None:
            params["tag"] = Transform.to_tags(list(tags))
        for key, value in (metadata or {}).items():
            params[f"metadata.{key}"] = value
        for key, value in (origin or {}).items():
            params[f"origin.{key}"] = _origin_value(value)
        logger.debug("Querying files of %s %s", container, params.get(container))
        return cls._query(url=url, api=api, **params)

    def list_files(
        self,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
        cont_token: str | None = None,
    ) -> Collection:
        """One page of this folder's direct children (files and folders)."""
        if not self.is_folder():
            raise SbgError(f"{self.name} is not a folder: only folders can be listed.")
        if cont_token and offset is not None:
            raise SbgError("Listing with cont_token does not support offset.")
        api = api or self._api
        if cont_token:
            return self._query(
                url=self._URL["scroll_folder"].format(id=self.id),
                token=cont_token,
                limit=limit,
                fields="_all",
                api=api,
            )
        return self._query(
            url=self._URL["list_folder"].format(id=self.id),
            offset=offset,
            limit=limit,
            fields="_all",
            api=api,
        )

    @classmethod
    def search(
        cls,
        query: str,
        cont_token: str | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> SearchResponse:
        """Run a query in the platform's search language, e.g. ``IN "owner/project" WHERE ...``."""
        if not query:
            raise SbgError("Search query must not be empty.")
        if limit is not None and limit <= 0:
            raise SbgError("Search limit must be a positive number.")
        api = cls._resolve_api(api)
        response = api.post(
            url=cls._URL["search"],
            params={"cont_token": cont_token, "limit": limit},
            data={"query": query},
        )
        return SearchResponse(api=api, **response.json())

    # ----------------------------------------------------------------- editing

    @inplace_reload
    def save(self, inplace: bool = True, silent: bool = False) -> File | None:
        """Send local changes: metadata (PATCH, or PUT after ``file.metadata = {...}``), tags
        (PUT), then the other fields (PATCH); reload when metadata or tags changed.

        Raises ``ResourceNotModified`` when nothing changed, unless ``silent``.
        """
        changes = {
            key: value
            for key, value in self._modified_data().items()
            if key not in _INTERNAL_KEYS
        }
        if not changes:
            if silent:
                return None
            raise ResourceNotModified()
        api = self._api
        file_id = self.id
        logger.debug("Saving file %s: %s", file_id, sorted(changes))

        fresh: dict[str, Any] | None = None
        if _METADATA in changes:
            url = self._URL["metadata"].format(id=file_id)
            if self._overwrite_metadata:
                api.put(url=url, data=dict(self.field(_METADATA) or {}))
            else:
                api.patch(url=url, data=changes[_METADATA])
        if _TAGS in changes:
            api.put(url=self._URL["tags"].format(id=file_id), data=list(changes[_TAGS] or []))
        rest = {key: value for key, value in changes.items() if key not in (_METADATA, _TAGS)}
        if rest:
            response = api.patch(url=self._URL["get"].format(id=file_id), data=rest)
            fresh = response.json()
        if _METADATA in changes or _TAGS in changes:
            fresh = self._fetch_current(api)
        result = File(api=api, **fresh)
        result._data.fetched = True
        return result

    def _fetch_current(self, api: Any) -> dict[str, Any]:
        href = self.field("href")
        if href:
            return api.get(url=href, append_base=False).json()
        return api.get(url=self._URL["get"].format(id=self.id)).json()

    def reload(self) -> File:
        """Replace local data with the platform's; unsaved edits (and a pending metadata
        replace) are dropped."""
        super().reload()
        return self

    # ----------------------------------------------------------------- copy, move, folders

    def copy(self, project: Any, name: str | None = None) -> File:
        """Copy this file into ``project`` (optionally under a new name); returns the copy."""
        data: dict[str, Any] = {"project": Transform.to_project(project)}
        if name:
            data["name"] = name
        logger.debug("Copying file %s to project %s", self.id, data["project"])
        response = self._api.post(url=self._URL["copy"].format(id=self.id), data=data)
        return File(api=self._api, **response.json())

    def _to_folder(self, action: str, parent: Any, name: str | None, api: Any) -> File:
        if self.is_folder():
            raise SbgError(f"{self.name} is a folder: only files can be copied or moved.")
        api = api or self._api
        data: dict[str, Any] = {"parent": Transform.to_file(parent)}
        if name:
            data["name"] = name
        logger.debug("%s file %s to folder %s", action, self.id, data["parent"])
        response = api.post(url=self._URL[action].format(file_id=self.id), data=data)
        return File(api=api, **response.json())

    def copy_to_folder(self, parent: Any, name: str | None = None, api: Api | None = None) -> File:
        """Copy this file into the folder ``parent`` (a File or a folder id)."""
        return self._to_folder("copy_to_folder", parent, name, api)

    def move_to_folder(self, parent: Any, name: str | None = None, api: Api | None = None) -> File:
        """Move (and optionally rename) this file into the folder ``parent``."""
        return self._to_folder("move_to_folder", parent, name, api)

    @classmethod
    def create_folder(
        cls,
        name: str,
        parent: Any = None,
        project: Any = None,
        api: Api | None = None,
    ) -> File:
        """Create a folder at the root of ``project`` or inside the folder ``parent``."""
        where = _one_of(parent=parent, project=project)
        api = cls._resolve_api(api)
        data: dict[str, Any] = {"name": name, "type": cls.FOLDER_TYPE}
        if where == "parent":
            data["parent"] = Transform.to_file(parent)
        else:
            data["project"] = Transform.to_project(project)
        logger.debug("Creating folder %r in %s %s", name, where, data[where])
        response = api.post(url=cls._URL["create_folder"], data=data)
        return cls(api=api, **response.json())

    # ----------------------------------------------------------------- bulk calls

    @classmethod
    def _bulk_call(cls, action: str, data: dict[str, Any], api: Api | None) -> list[FileBulkRecord]:
        """POST one bulk request; the answer holds one record per file, in request order."""
        api = cls._resolve_api(api)
        response = api.post(url=cls._URL[action], data=data)
        return FileBulkRecord.parse_records(response, api=api)

    @classmethod
    def _bulk_ids(cls, files: Any) -> list[str]:
        if not files:
            raise SbgError("Files are required.")
        return [Transform.to_file(file_) for file_ in files]

    @classmethod
    def bulk_get(cls, files: Sequence[Any], api: Api | None = None) -> list[FileBulkRecord]:
        """Fetch up to 100 files (objects or ids) in one call; one record per file, in order."""
        return cls._bulk_call("bulk_get", {"file_ids": cls._bulk_ids(files)}, api)

    @classmethod
    def bulk_delete(cls, files: Sequence[Any], api: Api | None = None) -> list[FileBulkRecord]:
        """Delete up to 100 files (objects or ids) in one call; one record per file."""
        return cls._bulk_call("bulk_delete", {"file_ids": cls._bulk_ids(files)}, api)

    @classmethod
    def _bulk_items(cls, files: Any) -> list[dict[str, Any]]:
        if not files:
            raise SbgError("Files are required.")
        items = []
        for file_ in files:
            if not isinstance(file_, File):
                raise SbgError("Bulk update and edit take File objects.")
            metadata = file_.field(_METADATA)
            items.append(
                {
                    "id": file_.id,
                    "name": file_.name,
                    "tags": file_.tags,
                    "metadata": dict(metadata) if isinstance(metadata, Mapping) else metadata,
                }
            )
        return items

    @classmethod
    def bulk_update(cls, files: Sequence[File], api: Api | None = None) -> list[FileBulkRecord]:
        """Replace name, tags and metadata of up to 100 files with the objects' current values
        (metadata keys missing locally are erased on the platform)."""
        return cls._bulk_call("bulk_update", {"items": cls._bulk_items(files)}, api)

    @classmethod
    def bulk_edit(cls, files: Sequence[File], api: Api | None = None) -> list[FileBulkRecord]:
        """Modify name, tags and metadata of up to 100 files (keys not sent are kept)."""
        return cls._bulk_call("bulk_edit", {"items": cls._bulk_items(files)}, api)

    # ----------------------------------------------------------------- transfers

    @classmethod
    def upload(
        cls,
        path: str | os.PathLike[str],
        project: Any = None,
        parent: Any = None,
        file_name: str | None = None,
        overwrite: bool = False,
        retry: int = 6,
        timeout: float = 300,
        part_size: int | None = None,
        wait: bool = True,
        api: Api | None = None,
    ) -> Upload:
        """Upload a local file into a project or a folder (exactly one).

        With ``wait=True`` the upload runs to its end before returning; check the returned
        handle's ``status`` and ``result()`` (the new File). With ``wait=False`` the handle is
        returned unstarted: call ``start()``, then ``wait()`` or poll ``status``.
        """
        from sevenbridges.transfer.upload import Upload

        where = _one_of(project=project, parent=parent)
        api = cls._resolve_api(api)
        upload = Upload(
            file_path=os.fspath(path),
            project=Transform.to_project(project) if where == "project" else None,
            parent=Transform.to_file(parent) if where == "parent" else None,
            file_name=file_name,
            overwrite=overwrite,
            part_size=part_size,
            retry_count=retry,
            timeout=timeout,
            api=api,
        )
        if wait:
            upload.start()
            upload.wait()
        return upload

    def download_info(self) -> DownloadInfo:
        """A signed URL for this file's bytes (usable without a token until it expires)."""
        response = self._api.get(url=self._URL["download_info"].format(id=self.id))
        return DownloadInfo(api=self._api, **response.json())

    def download(
        self,
        path: str | os.PathLike[str],
        retry: int = 6,
        timeout: float = 300,
        chunk_size: int | None = None,
        wait: bool = True,
        overwrite: bool = False,
    ) -> Download | None:
        """Download this file to ``path``.

        An existing ``path`` raises ``LocalFileAlreadyExists`` unless ``overwrite``. With
        ``wait=True`` returns None once the file is complete (``SbgError`` if the transfer
        failed); with ``wait=False`` returns the unstarted ``Download`` handle.
        """
        from sevenbridges.transfer.download import Download

        target = os.fspath(path)
        if not overwrite and os.path.exists(target):
            raise LocalFileAlreadyExists(message=target)
        info = self.download_info()
        download = Download(
            url=info.url,
            file_path=target,
            part_size=chunk_size,
            retry_count=retry,
            timeout=timeout,
            api=self._api,
            # A signed URL that expires mid-transfer is replaced by a fresh one.
            refresh_url=lambda: self.download_info().url,
        )
        if not wait:
            return download
        download.start()
        download.wait()
        if download.status != TransferState.COMPLETED:
            reason = getattr(download, "error", None)
            if isinstance(reason, SbgError):
                raise reason
            raise SbgError(
                f"Download of {self.id} to {target} ended {download.status}"
                + (f": {reason}" if reason else ".")
            )
        return None

    def _storage_session(self) -> requests.Session:
        """A pooled session without the API's headers, for signed storage URLs."""
        api = self._api
        return generate_session(
            getattr(api, "pool_connections", None),
            getattr(api, "pool_maxsize", None),
            getattr(api, "pool_block", True),
            proxies=getattr(api, "proxies", None),
        )

    def stream(self, part_size: int = 32768) -> Iterator[bytes]:
        """Yield the file's bytes in chunks of ``part_size`` from one streamed GET.

        Raises ``SbgError`` if the connection ends before every byte arrived.
        """
        url = self.download_info().url
        session = self._storage_session()
        try:
            try:
                response = session.get(
                    url, stream=True, timeout=RequestParameters.DEFAULT_TIMEOUT
                )
            except requests.RequestException as exc:
                raise SbgError(message=f"Download of {self.id} failed: {exc}")
            with response:
                if response.status_code != 200:
                    raise _storage_error(response)
                expected = response.headers.get("Content-Length")
                received = 0
                try:
                    for chunk in response.iter_content(chunk_size=part_size):
                        received += len(chunk)
                        yield chunk
                except requests.RequestException as exc:
                    raise SbgError(
                        message=f"Download of {self.id} broke off after {received} bytes: {exc}"
                    )
                if expected is not None and received != int(expected):
                    raise SbgError(
                        message=(
                            f"Download of {self.id} is incomplete: got {received} of "
                            f"{expected} bytes."
                        )
                    )
        finally:
            session.close()

    def content(
        self, path: str | os.PathLike[str] | None = None, overwrite: bool = True,
        encoding: str = "utf-8",
    ) -> str:
        """The file's content as text. Saved to ``path`` when given, else to a temporary file
        that is removed afterwards."""
        if path is not None:
            self.download(path, overwrite=overwrite, wait=True)
            with open(path, encoding=encoding) as handle:
                return handle.read()
        with tempfile.TemporaryDirectory(prefix="sbg-content-") as directory:
            target = os.path.join(directory, "content")
            self.download(target, wait=True)
            with open(target, encoding=encoding) as handle:
                return handle.read()


class FileBulkRecord(BulkRecord):
    """One item of a bulk file call: ``resource`` is the File, or ``error`` says why not."""

    resource = CompoundField(File, read_only=True)


class SearchResponse(Resource):
    """Answer of ``File.search``: the number of matches, a token for more, and the rows."""

    count = IntegerField(read_only=True)
    cont_token = StringField(read_only=True)
    result_set = BasicListField(read_only=True)

    def __str__(self) -> str:
        return f"<SearchResponse: count={self.field('count')}>"

    __repr__ = __str__

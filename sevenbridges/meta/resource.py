"""Base class of every resource model.

A model declares its fields (:mod:`sevenbridges.meta.fields`) and its URL templates in ``_URL``;
this module supplies construction, lazy loading, dirty tracking, ``get``/``reload``/``delete`` and
the paging query helper used by every ``query()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from sevenbridges.errors import SbgError
from sevenbridges.http.client import HttpClient
from sevenbridges.meta.collection import Collection
from sevenbridges.meta.data import DataContainer
from sevenbridges.meta.fields import Field

logger = logging.getLogger(__name__)

__all__ = ["ResourceMeta", "Resource"]

# The platform's page size limit; a non-positive limit in a query means "as many as allowed".
_MAX_PAGE_SIZE = 100


def _snapshot(value: Any) -> Any:
    """Copy the JSON containers (dicts, lists) of ``value``; leaf objects are shared.

    Cheaper than ``copy.deepcopy`` and never copies objects such as resources or clients that
    may sit in the data (e.g. files given as task inputs).
    """
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Keys of ``new`` that differ from ``old``; nested dicts are compared key by key."""
    changes: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            changes[key] = value
            continue
        before = old[key]
        if isinstance(value, dict) and isinstance(before, dict):
            nested = _diff(before, value)
            if nested:
                changes[key] = nested
        elif value != before:
            changes[key] = value
    return changes


class ResourceMeta(type):
    """Collects the declared fields of a model and binds models to the Api they are read from."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> ResourceMeta:
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(base.__dict__.get("_fields", {}))
        for value in namespace.values():
            if isinstance(value, Field):
                fields[value.name] = value  # type: ignore[index]
        cls._fields = fields
        cls._read_only_keys = frozenset(key for key, field in fields.items() if field.read_only)
        return cls

    def __get__(cls, instance: Any, owner: type | None = None) -> ResourceMeta:
        # ``api.projects`` makes that Api the default of Project's class methods.
        if isinstance(instance, HttpClient):
            cls._API = instance
        return cls


class Resource(metaclass=ResourceMeta):
    """A platform object: JSON data behind typed fields, plus the common operations."""

    _API: ClassVar[Any] = None
    _URL: ClassVar[dict[str, str]] = {}
    _fields: ClassVar[dict[str, Field]]
    _read_only_keys: ClassVar[frozenset[str]]

    def __init__(self, **kwargs: Any) -> None:
        api = kwargs.pop("api", None)
        kwargs.pop("_parent", None)
        cls = type(self)
        self._api = api if api is not None else cls._API
        fields = cls._fields
        data: dict[str, Any] = {}
        for key, value in kwargs.items():
            field = fields.get(key)
            if field is None:
                continue  # the platform may send keys this client does not know
            field.validate(value)
            data[key] = value
        container = DataContainer(urls=cls._URL, api=self._api, parent=self)
        container.data = data
        self._data = container
        self._dirty: dict[str, Any] = {}
        self._old: dict[str, Any] = _snapshot(data)
        self._overwrite_metadata = False

    def __str__(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return str(self)

    # ----------------------------------------------------------------- data helpers

    def field(self, name: str) -> Any:
        """The raw value of ``name`` as stored, without lazy loading."""
        return self._data.data.get(name)

    def _set(self, key: str, value: Any) -> None:
        """Store a raw value, bypassing read-only checks and validation (not marked dirty)."""
        self._data.data[key] = value

    def update_old(self) -> None:
        """Take a new snapshot of the data: current values count as unmodified from now on."""
        self._old = _snapshot(self._data.data)

    def _modified_data(self) -> dict[str, Any]:
        """Writable data changed since the last snapshot: what ``save()`` should send."""
        current = self._data.data
        modified = _diff(self._old, current)
        for key, value in self._dirty.items():
            already = modified.get(key)
            if isinstance(value, dict) and isinstance(already, dict):
                # The diff is finer than what was assigned (``service['credentials'] = {...}``
                # with an unchanged key id sends only the secret), as the reference client
                # does; keys only marked dirty (removals) are kept.
                modified[key] = {**value, **already}
            else:
                modified[key] = value
        if self._overwrite_metadata and "metadata" in current:
            modified["metadata"] = current["metadata"]  # replaced as a whole, not patched
        read_only = type(self)._read_only_keys
        return {key: value for key, value in modified.items() if key not in read_only}

    def _update_read_only(self, data: Mapping[str, Any]) -> None:
        """Copy server-computed (read-only) values from ``data`` and take a new snapshot."""
        fields = type(self)._fields
        stored = self._data.data
        for key, value in data.items():
            field = fields.get(key)
            if field is not None and field.read_only:
                stored[key] = value
        self.update_old()

    def _replace_data(self, data: Mapping[str, Any]) -> None:
        """Make ``data`` the complete, clean state of this object."""
        self._data.data = dict(data)
        self._data.fetched = True
        self._dirty = {}
        self._overwrite_metadata = False
        self.update_old()

    def _absorb_fetched(self, fresh: dict[str, Any]) -> None:
        """Lazy-load callback: take the platform's data but keep local, unsaved changes."""
        local = self._data.data
        changed = set(self._dirty)
        changed.update(key for key, value in local.items() if self._old.get(key) != value)
        for key in changed:
            if key in local:
                fresh[key] = local[key]
        self._data.data = fresh
        self._old = _snapshot(fresh)
        # Changes the snapshot now includes must still be sent: record them as dirty.
        for key in changed:
            if key in fresh and key not in self._dirty:
                self._dirty[key] = fresh[key]

    def _adopt(self, other: Resource) -> None:
        """Take over the state of ``other`` (used by ``inplace_reload``)."""
        self._data.data = other._data.data
        self._data.fetched = other._data.fetched
        self._dirty = other._dirty
        self._old = other._old
        self._overwrite_metadata = getattr(other, "_overwrite_metadata", False)
        if self._api is None:
            self._api = other._api
            self._data.api = other._api

    def equals(self, other: Any) -> bool:
        """Same type and the same data."""
        if type(other) is not type(self):
            return False
        return self is other or self._data == other._data

    def deepcopy(self) -> Resource:
        """A new, independent object of the same class with a copy of the data."""
        return type(self)(api=self._api, **_snapshot(self._data.data))

    # ----------------------------------------------------------------- platform operations

    @classmethod
    def _resolve_api(cls, api: Any = None) -> Any:
        """``api`` if given, else the class default; a clear error when there is neither."""
        api = api or cls._API
        if api is None:
            raise SbgError(
                f"No Api for {cls.__name__}: pass api=..., or reach the class through an Api "
                "object (for example api.projects)."
            )
        return api

    @classmethod
    def get(cls, id: Any, api: Any = None) -> Resource:
        """Fetch one resource by id (a string, or an object with an ``id``)."""
        resource_id = id if isinstance(id, str) else getattr(id, "id", id)
        if not resource_id:
            raise SbgError("Invalid id value!")
        url = cls._URL.get("get")
        if not url:
            raise SbgError("Unable to retrieve resource!")
        api = cls._resolve_api(api)
        response = api.get(url=url.format(id=resource_id))
        resource = cls(api=api, **response.json())
        resource._data.fetched = True
        return resource

    def delete(self) -> None:
        """Delete this resource on the platform."""
        url = type(self)._URL.get("delete")
        if not url:
            raise SbgError("Resource can not be deleted!")
        api = self._resolve_api(self._api)
        api.delete(url=url.format(id=self.id))  # type: ignore[attr-defined]

    def reload(self) -> Resource:
        """Replace local data with the platform's current state; unsaved changes are dropped."""
        try:
            href = self._data.data.get("href")
            if href:
                response = self._api.get(url=href, append_base=False)
            else:
                url = type(self)._URL.get("get")
                resource_id = self._data.data.get("id")
                if not url or not resource_id:
                    raise SbgError("the object has neither an href nor an id")
                response = self._api.get(url=url.format(id=resource_id))
            fresh = response.json()
        except Exception as exc:
            raise SbgError(f"Resource can not be refreshed due to an error: {exc}") from exc
        self._replace_data(fresh)
        return self

    @classmethod
    def _query(cls, **kwargs: Any) -> Collection:
        """GET a list endpoint and return its first page as a :class:`Collection` of ``cls``.

        ``url`` (relative to the API root, or absolute) and ``api`` are taken from the keyword
        arguments; the rest are query parameters (None values are not sent).
        """
        api = cls._resolve_api(kwargs.pop("api", None))
        url: str = kwargs.pop("url")
        limit = kwargs.get("limit")
        if isinstance(limit, int) and limit <= 0:
            kwargs["limit"] = _MAX_PAGE_SIZE
        params = {key: value for key, value in kwargs.items() if value is not None}
        absolute = url.startswith(("http://", "https://"))
        logger.debug("Querying %s %s", cls.__name__, params)
        response = api.get(url=url, params=params, append_base=not absolute)
        return Collection.from_response(cls, response, api)

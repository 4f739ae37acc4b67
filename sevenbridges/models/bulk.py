"""Results of bulk calls: one record per requested item, holding a resource or an error."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from sevenbridges.errors import NonJSONResponseError
from sevenbridges.meta.fields import CompoundField, DictField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.error import Error

__all__ = ["BulkRecord", "TaskBulkRecord"]


class BulkRecord(Resource):
    """One item of a bulk answer: ``resource`` when it worked, ``error`` when it did not.

    Subclasses declare ``resource`` as a compound of their resource class (File, Task, ...); the
    base class keeps it as the raw JSON object.
    """

    error = CompoundField(Error, read_only=True)
    resource = DictField(read_only=True)

    @property
    def valid(self) -> bool:
        """True when the item succeeded (the platform sent no error for it)."""
        return self.field("error") is None

    def __str__(self) -> str:
        return f"<{type(self).__name__} valid={self.valid}>"

    __repr__ = __str__

    @classmethod
    def _from_items(cls, items: Iterable[Any], api: Any) -> list[BulkRecord]:
        records = []
        for item in items:
            # A record never has an address of its own: nothing to fetch lazily.
            record = cls(api=api, **item) if isinstance(item, Mapping) else cls(api=api)
            record._data.fetched = True
            records.append(record)
        return records

    @classmethod
    def parse_records(cls, response: Any, api: Any = None) -> list[BulkRecord]:
        """One record per element of the response's ``items``, in request order."""
        try:
            body = response.json()
        except ValueError:
            raise NonJSONResponseError(status=response.status_code, message=response.text)
        items = body.get("items") if isinstance(body, Mapping) else body
        return cls._from_items(items or [], api or cls._API)


class _DeferredCompoundField(CompoundField):
    """A compound field whose class is imported on first read.

    Resource modules import this one for ``BulkRecord``; naming their classes here directly
    would make the imports circular.
    """

    def __init__(self, module: str, class_name: str) -> None:
        super().__init__(dict, read_only=True)
        self._module = module
        self._class_name = class_name
        self._resolved = False

    def to_python(self, value: Any, instance: Any) -> Any:
        if not self._resolved:
            self.cls = getattr(importlib.import_module(self._module), self._class_name)
            self._resolved = True
        return super().to_python(value, instance)


class TaskBulkRecord(BulkRecord):
    """One item of ``Task.bulk_get``: ``resource`` is the Task, or ``error`` says why not."""

    resource = _DeferredCompoundField("sevenbridges.models.task", "Task")

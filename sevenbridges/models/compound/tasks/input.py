"""Task inputs as a write-through dict whose file values read back as File objects."""

from __future__ import annotations

from typing import Any

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.tasks import map_input_output


class _MappedDict(CompoundMutableDict):
    """A write-through dict whose values are passed through :func:`map_input_output` on read."""

    def _mapped(self, value: Any) -> Any:
        return map_input_output(value, self._api)

    def __getitem__(self, key: Any) -> Any:
        return self._mapped(super().__getitem__(key))

    def get(self, key: Any, default: Any = None) -> Any:
        current = self._current()
        return self._mapped(current[key]) if key in current else default

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self._mapped(value) for value in self._current().values()]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(key, self._mapped(value)) for key, value in self._current().items()]


class Input(_MappedDict, Resource):
    """``task.inputs``: ``task.inputs['reads'] = file`` marks that input as changed.

    Values may be File objects, lists of them, or plain values; ``task.save()`` sends files as
    ``{"class": "File", "path": id}``. Reading gives File objects for file inputs.
    """

    _name = "inputs"

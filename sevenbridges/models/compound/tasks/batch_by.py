"""How a batch task splits its batch input: ``{"type": "item"}`` or by metadata criteria."""

from __future__ import annotations

from typing import Any

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class BatchBy(CompoundMutableDict, Resource):
    """``task.batch_by``: e.g. ``{"type": "criteria", "criteria": ["metadata.sample_id"]}``.

    Every written key is marked as changed, even when the value looks equal, because criteria
    lists are often edited in place and must still reach the platform.
    """

    _name = "batch_by"

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_writable()
        source = self._parent_data(create=True)
        dict.__setitem__(self, key, value)
        if source is None:
            return
        source[key] = value
        self._parent._dirty.setdefault(self._name, {})[key] = value

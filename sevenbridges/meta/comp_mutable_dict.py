"""Dictionaries nested in a resource (metadata, permissions, settings …) that write through.

An instance is a view of one key (``_name``) of its parent resource's data: reads see the
parent's current values, writes change the parent's data and mark just the written keys dirty,
so ``save()`` patches only what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["CompoundMutableDict"]


class CompoundMutableDict(dict):
    """A ``dict`` bound to ``parent._data[_name]``; subclasses set ``_name`` to the JSON key.

    Without a parent it behaves like a dict that reads missing keys as None.
    """

    _name: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        self._parent = kwargs.pop("_parent", None)
        self._api = kwargs.pop("api", None)
        super().__init__(**kwargs)

    @classmethod
    def bound_to(cls, parent: Any, content: Mapping[str, Any]) -> CompoundMutableDict:
        """A view of ``parent._data[cls._name]`` holding ``content``, whatever its keys are
        (the keyword constructor cannot take a key named ``api``, ``_parent`` or ``self``)."""
        view = cls(api=parent._api, _parent=parent)
        dict.update(view, content)
        return view

    # ----------------------------------------------------------------- parent access

    def _parent_data(self, create: bool = False) -> dict[str, Any] | None:
        """The parent's dict for ``_name`` (None when detached)."""
        parent = self._parent
        if parent is None:
            return None
        data = parent._data[self._name]  # may lazily fetch the parent
        if isinstance(data, dict):
            return data
        if not create:
            return {}
        data = {}
        parent._data.data[self._name] = data
        return data

    def _current(self) -> dict[str, Any]:
        source = self._parent_data()
        return dict(dict.items(self)) if source is None else source

    def _check_writable(self) -> None:
        """Hook for read-only views: raise to refuse writes."""

    # ----------------------------------------------------------------- reading

    def __getitem__(self, key: Any) -> Any:
        source = self._parent_data()
        if source is None:
            return dict.get(self, key)
        return source.get(key)

    def get(self, key: Any, default: Any = None) -> Any:
        current = self._current()
        return current.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._current()

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._current()))

    def __len__(self) -> int:
        return len(self._current())

    def keys(self) -> list[Any]:  # type: ignore[override]
        return list(self._current().keys())

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(self._current().values())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return list(self._current().items())

    def copy(self) -> dict[str, Any]:
        """A plain dict with the current content."""
        return dict(self._current())

    # ----------------------------------------------------------------- writing

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_writable()
        source = self._parent_data(create=True)
        dict.__setitem__(self, key, value)
        if source is None:
            return
        if key in source and source[key] == value:
            return
        source[key] = value
        self._parent._dirty.setdefault(self._name, {})[key] = value

    def __delitem__(self, key: Any) -> None:
        # Removing a key is sent as null, which the platform treats as a removal.
        self._check_writable()
        source = self._parent_data(create=True)
        if source is None:
            dict.__delitem__(self, key)
            return
        if key not in source:
            raise KeyError(key)
        del source[key]
        if dict.__contains__(self, key):
            dict.__delitem__(self, key)
        self._parent._dirty.setdefault(self._name, {})[key] = None

    def update(self, e: Any = None, **f: Any) -> None:  # type: ignore[override]
        """Set every given key; only keys whose value changes are marked dirty."""
        pairs: Iterable[tuple[Any, Any]]
        if e is None:
            pairs = ()
        elif isinstance(e, Mapping):
            pairs = e.items()
        elif hasattr(e, "keys"):
            pairs = ((key, e[key]) for key in e.keys())
        else:
            pairs = e
        for key, value in pairs:
            self[key] = value
        for key, value in f.items():
            self[key] = value

    # ----------------------------------------------------------------- comparison and display

    def equals(self, other: Any) -> bool:
        """Same type and the same content."""
        return type(other) is type(self) and self._current() == other._current()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompoundMutableDict):
            return self._current() == other._current()
        if isinstance(other, Mapping):
            return self._current() == dict(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._current())

    __str__ = __repr__

"""Storage for a resource's JSON data, with lazy loading of missing keys."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["DataContainer"]


class DataContainer:
    """The raw JSON of one resource.

    Reading a key that is missing fetches the whole resource once (``GET href``, or the class's
    ``get`` URL with its id); afterwards missing keys read as None. ``data`` is the plain dict.
    """

    __slots__ = ("data", "urls", "api", "parent", "fetched")

    def __init__(self, urls: dict[str, str] | None, api: Any, parent: Any = None) -> None:
        self.data: dict[str, Any] = {}
        self.urls = urls or {}
        self.api = api
        self.parent = parent
        self.fetched = False

    def __getitem__(self, key: str) -> Any:
        data = self.data
        if key in data:
            return data[key]
        if not self.fetched:
            self.fetch()
        return self.data.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataContainer):
            return self.data == other.data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: str, default: Any = None) -> Any:
        """Raw value without lazy loading."""
        return self.data.get(key, default)

    def _address(self) -> tuple[str, bool] | None:
        """Where the full resource lives: (url, is_absolute), or None when unknown."""
        href = self.data.get("href")
        if href:
            return href, True
        get_url = self.urls.get("get")
        resource_id = self.data.get("id")
        if get_url and resource_id:
            return get_url.format(id=resource_id), False
        return None

    def fetch(self) -> bool:
        """Load the full resource from the platform once; True when something was loaded."""
        self.fetched = True
        address = self._address()
        if address is None or self.api is None:
            return False
        url, absolute = address
        logger.debug("Lazy loading %s", url)
        fresh = self.api.get(url=url, append_base=not absolute).json()
        if self.parent is not None and hasattr(self.parent, "_absorb_fetched"):
            self.parent._absorb_fetched(fresh)
        else:
            self.data.update(fresh)
        return True

    def __repr__(self) -> str:
        return f"<DataContainer: {sorted(self.data)}>"

"""Paged results of list endpoints."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from sevenbridges.errors import NonJSONResponseError, PaginationError

logger = logging.getLogger(__name__)

__all__ = ["Collection", "VolumeCollection"]


def _json_body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        raise NonJSONResponseError(status=response.status_code, message=response.text)


class _PlainLink:
    """Stand-in used only while the link models are unavailable."""

    def __init__(self, **data: Any) -> None:
        self.href = data.get("href")
        self.rel = data.get("rel")
        self.method = data.get("method")
        self.next = data.get("next")

    def __repr__(self) -> str:
        return f"<Link: method={self.method}, rel={self.rel}, href={self.href}>"


def _model(module: str, name: str) -> Any:
    """Import a model class on demand (the models import this module, not the reverse)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _links(raw_links: Any, class_name: str) -> list[Any]:
    link_class = _model("sevenbridges.models.link", class_name) or _PlainLink
    return [link_class(**link) if isinstance(link, Mapping) else link for link in raw_links or []]


def _link_value(link: Any, key: str) -> Any:
    if isinstance(link, Mapping):
        return link.get(key)
    return getattr(link, key, None)


class Collection(list):
    """One page of a list endpoint: a list of resources plus paging helpers.

    ``len()`` and iteration cover this page only; :meth:`all` walks every page.
    """

    def __init__(
        self,
        resource: Any,
        href: str | None,
        total: Any,
        items: list[Any],
        links: list[Any],
        api: Any,
    ) -> None:
        super().__init__(items)
        self.resource = resource
        self.href = href
        self.links = links
        self._total = total
        self._api = api

    @classmethod
    def from_response(cls, resource: Any, response: Any, api: Any) -> Collection:
        """Build a page from a list response (``href``, ``items``, ``links`` + total header)."""
        data = _json_body(response)
        items = [resource(api=api, **item) for item in data.get("items") or []]
        return cls(
            resource=resource,
            href=data.get("href"),
            total=response.headers.get("X-Total-Matching-Query"),
            items=items,
            links=_links(data.get("links"), "Link"),
            api=api,
        )

    @property
    def total(self) -> int:
        """Number of matches of the whole query (-1 when the platform did not say)."""
        return -1 if self._total is None else int(self._total)

    def _load(self, url: str) -> Collection:
        response = self._api.get(url=url, append_base=False)
        return type(self).from_response(self.resource, response, self._api)

    def _link_to(self, rel: str) -> str | None:
        for link in self.links:
            link_rel = _link_value(link, "rel")
            if isinstance(link_rel, str) and link_rel.lower() == rel:
                return _link_value(link, "href")
        return None

    def next_page(self) -> Collection:
        """The following page; :class:`PaginationError` on the last one."""
        href = self._link_to("next")
        if not href:
            raise PaginationError("No more entries.")
        return self._load(href)

    def previous_page(self) -> Collection:
        """The preceding page; :class:`PaginationError` on the first one."""
        href = self._link_to("prev")
        if not href:
            raise PaginationError("No more entries.")
        return self._load(href)

    def all(self) -> Iterator[Any]:
        """Every item of the query, from the first fetched page on, fetching pages as needed."""
        page = self._load(self.href) if self.href else self
        while True:
            yield from page
            try:
                page = page.next_page()
            except PaginationError:
                return

    def __repr__(self) -> str:
        return f"<Collection: total={self.total}, available={len(self)}>"


class VolumeCollection(Collection):
    """One page of a volume listing: objects, common prefixes and a ``next`` link."""

    def __init__(
        self,
        href: str | None,
        items: list[Any],
        links: list[Any],
        prefixes: list[Any],
        api: Any,
    ) -> None:
        super().__init__(
            resource=_model("sevenbridges.models.compound.volumes.volume_object", "VolumeObject"),
            href=href,
            total=-1,
            items=items,
            links=links,
            api=api,
        )
        self.prefixes = prefixes

    @classmethod
    def from_volume_response(cls, response: Any, api: Any) -> VolumeCollection:
        """Build a page from a volume listing response."""
        data = _json_body(response)
        object_class = _model("sevenbridges.models.compound.volumes.volume_object", "VolumeObject")
        prefix_class = _model("sevenbridges.models.compound.volumes.volume_prefix", "VolumePrefix")
        items = data.get("items") or []
        prefixes = data.get("prefixes") or []
        return cls(
            href=data.get("href"),
            items=[object_class(api=api, **item) for item in items] if object_class else items,
            links=_links(data.get("links"), "VolumeLink"),
            prefixes=(
                [prefix_class(api=api, **item) for item in prefixes] if prefix_class else prefixes
            ),
            api=api,
        )

    @property
    def total(self) -> int:
        return -1

    def _load(self, url: str) -> VolumeCollection:
        response = self._api.get(url=url, append_base=False)
        return type(self).from_volume_response(response, self._api)

    def next_page(self) -> VolumeCollection:
        for link in self.links:
            href = _link_value(link, "next")
            if href:
                return self._load(href)
        raise PaginationError("No more entries.")

    def previous_page(self) -> VolumeCollection:
        raise PaginationError("Cannot paginate backwards")

    def __repr__(self) -> str:
        return f"<VolumeCollection: items={len(self)}>"

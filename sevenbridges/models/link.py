"""Pagination links returned with list responses."""

from __future__ import annotations

from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource


class Link(Resource):
    """A link to another page of a collection (``rel`` is ``next`` or ``prev``)."""

    href = HrefField(read_only=True)
    rel = StringField(read_only=True)
    method = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<Link: method={self.method}, rel={self.rel}, href={self.href}>"

    __repr__ = __str__


class VolumeLink(Resource):
    """Continuation link of a volume listing; it only carries the next page's URL."""

    next = HrefField(read_only=True)

    def __str__(self) -> str:
        return f"<VolumeLink: next={self.next}>"

    __repr__ = __str__

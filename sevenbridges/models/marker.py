"""Genome browser markers on BAM files."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified
from sevenbridges.meta.fields import CompoundField, DateTimeField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.markers.position import MarkerPosition

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Marker(Resource):
    """A named region (``chromosome``, ``position`` start/end) of a BAM file."""

    _URL = {
        "query": "/genome/markers",
        "get": "/genome/markers/{id}",
        "delete": "/genome/markers/{id}",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    file = StringField(read_only=True)
    name = StringField(read_only=False)
    chromosome = StringField(read_only=False)
    position = CompoundField(MarkerPosition, read_only=False)
    created_time = DateTimeField(read_only=True)
    created_by = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<Marker: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        file: Any,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """Markers of one BAM file (``File`` or id)."""
        return cls._query(
            url=cls._URL["query"],
            offset=offset,
            limit=limit,
            file=Transform.to_file(file),
            fields="_all",
            api=api,
        )

    @classmethod
    def create(
        cls,
        file: Any,
        name: str,
        position: dict[str, int],
        chromosome: str,
        private: bool = True,
        api: Api | None = None,
    ) -> Marker:
        """Place a marker on a BAM file; ``position`` is ``{"start": int, "end": int}``."""
        api = cls._resolve_api(api)
        data = {
            "file": Transform.to_file(file),
            "name": name,
            "position": position,
            "chromosome": chromosome,
            "private": private,
        }
        logger.debug("Creating marker %r on file %s", name, data["file"])
        response = api.post(url=cls._URL["query"], data=data)
        return Marker(api=api, **response.json())

    @inplace_reload
    def save(self, inplace: bool = True) -> Marker:
        """PATCH the changed fields (position: only the changed sub-keys)."""
        changes = self._modified_data()
        if not changes:
            raise ResourceNotModified()
        logger.debug("Saving marker %s: %s", self.id, sorted(changes))
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changes)
        return Marker(api=self._api, **response.json())

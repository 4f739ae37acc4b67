"""Divisions: groups of users inside an enterprise account."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Division(Resource):
    """A division; all fields are read-only."""

    _URL = {"query": "/divisions", "get": "/divisions/{id}"}

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<Division: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        """The divisions the caller can see."""
        return cls._query(url=cls._URL["query"], offset=offset, limit=limit, fields="_all", api=api)

    def get_teams(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """Teams of this division (the caller's own, as ``Team.query`` lists by default)."""
        return self._api.teams.query(division=self.id, offset=offset, limit=limit)

    def get_members(
        self, role: str | None = None, offset: int | None = None, limit: int | None = None
    ) -> Collection:
        """Users of this division, optionally only those with ``role`` (``DivisionRole``)."""
        return self._api.users.query(self, role=role, offset=offset, limit=limit)

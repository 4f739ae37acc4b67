"""Teams: named groups of users of one division, usable as project and volume members."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified
from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.team_member import TeamMember

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Team(Resource):
    """A team; rename it by setting ``name`` and calling :meth:`save`."""

    _URL = {
        "query": "/teams",
        "get": "/teams/{id}",
        "members_query": "/teams/{id}/members",
        "members_get": "/teams/{id}/members/{member}",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<Team: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        division: Any,
        list_all: bool = False,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """Teams of ``division``: the caller's own, or every team with ``list_all=True``."""
        return cls._query(
            url=cls._URL["query"],
            division=Transform.to_division(division),
            _all=list_all,
            offset=offset,
            limit=limit,
            fields="_all",
            api=api,
        )

    @classmethod
    def create(cls, name: str, division: Any, api: Api | None = None) -> Team:
        """Create a team in ``division`` (division admins)."""
        api = cls._resolve_api(api)
        data = {"name": name, "division": Transform.to_division(division)}
        logger.debug("Creating team %r in division %s", name, data["division"])
        response = api.post(url=cls._URL["query"], data=data)
        return Team(api=api, **response.json())

    @inplace_reload
    def save(self, inplace: bool = True) -> Team:
        """PATCH the changed fields (the name)."""
        changes = self._modified_data()
        if not changes:
            raise ResourceNotModified()
        logger.debug("Saving team %s: %s", self.id, sorted(changes))
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changes)
        return Team(api=self._api, **response.json())

    def get_members(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """One page of this team's members."""
        return TeamMember._query(
            url=self._URL["members_query"].format(id=self.id),
            offset=offset,
            limit=limit,
            api=self._api,
        )

    def add_member(self, user: Any) -> TeamMember:
        """Add a user (username or ``User``) of the team's division."""
        username = Transform.to_user(user)
        logger.debug("Adding %s to team %s", username, self.id)
        response = self._api.post(
            url=self._URL["members_query"].format(id=self.id), data={"id": username}
        )
        return TeamMember(api=self._api, **response.json())

    def remove_member(self, user: Any) -> None:
        """Remove a member (username, ``User`` or ``TeamMember``) from the team."""
        if isinstance(user, TeamMember):
            username = user.username or user.id
        else:
            username = Transform.to_user(user)
        logger.debug("Removing %s from team %s", username, self.id)
        self._api.delete(url=self._URL["members_get"].format(id=self.id, member=username))

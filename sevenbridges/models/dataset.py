"""Datasets: published, described collections of files with members of their own."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.member import Member

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class Dataset(Resource):
    """A dataset (id ``owner/name``); ``name`` and ``description`` are writable."""

    _URL = {
        "query": "/datasets",
        "owned_by": "/datasets/{username}",
        "get": "/datasets/{id}",
        "delete": "/datasets/{id}",
        "members": "/datasets/{id}/members",
        "member": "/datasets/{id}/members/{username}",
        "permissions": "/datasets/{id}/members/{username}/permissions",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)
    description = StringField(read_only=False)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<Dataset: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(cls, visibility: str | None = None, api: Api | None = None) -> Collection:
        """Datasets the caller can see; ``visibility='public'``: the public ones."""
        return cls._query(url=cls._URL["query"], visibility=visibility, fields="_all", api=api)

    @classmethod
    def get_owned_by(cls, username: Any, api: Api | None = None) -> Collection:
        """Datasets of one owner (username or ``User``) that the caller can see."""
        owner = Transform.to_user(username)
        return cls._query(url=cls._URL["owned_by"].format(username=owner), fields="_all", api=api)

    @inplace_reload
    def save(self, inplace: bool = True) -> Dataset | None:
        """PATCH the changed name and description; empty values are not sent. As the
        reference client does, nothing changed means no request (and ``None`` back)."""
        changes = self._modified_data()
        if not changes:
            return None
        data = {key: value for key, value in changes.items() if key not in ("name", "description")}
        for key in ("name", "description"):
            if changes.get(key):
                data[key] = changes[key]
        logger.debug("Saving dataset %s: %s", self.id, sorted(data))
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=data)
        return Dataset(api=self._api, **response.json())

    def get_members(self, api: Api | None = None) -> Collection:
        """The dataset's members (users, teams and divisions)."""
        return Member._query(url=self._URL["members"].format(id=self.id), api=api or self._api)

    def get_member(self, username: Any, api: Api | None = None) -> Member:
        api = api or self._api
        name = Transform.to_member(username) if isinstance(username, Member) else username
        response = api.get(url=self._URL["member"].format(id=self.id, username=name))
        return Member(api=api, **response.json())

    def add_member(
        self, username: Any, permissions: dict[str, bool], api: Api | None = None
    ) -> Member:
        """Add a user with the given permission flags."""
        api = api or self._api
        data = {"username": Transform.to_user(username), "permissions": permissions}
        response = api.post(url=self._URL["members"].format(id=self.id), data=data)
        return Member(api=api, **response.json())

    def remove_member(self, member: Any, api: Api | None = None) -> None:
        """Remove a member (username or ``Member``)."""
        api = api or self._api
        username = Transform.to_member(member)
        api.delete(url=self._URL["member"].format(id=self.id, username=username))

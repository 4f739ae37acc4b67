"""Platform users."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


class User(Resource):
    """A platform user; all fields are read-only."""

    _URL = {
        "me": "/user",
        "get": "/users/{id}",
        "query": "/users",
        "delete": "/users/{username}",
    }

    href = HrefField(read_only=True)
    username = StringField(read_only=True)
    email = StringField(read_only=True)
    first_name = StringField(read_only=True)
    last_name = StringField(read_only=True)
    affiliation = StringField(read_only=True)
    phone = StringField(read_only=True)
    address = StringField(read_only=True)
    state = StringField(read_only=True)
    country = StringField(read_only=True)
    zip_code = StringField(read_only=True)
    city = StringField(read_only=True)
    role = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.username == other.username

    def __str__(self) -> str:
        return f"<User: username={self.username}>"

    __repr__ = __str__

    @classmethod
    def me(cls, api: Api | None = None) -> User:
        """The user who owns the token."""
        api = api or cls._API
        logger.debug("Fetching the current user")
        response = api.get(url=cls._URL["me"])
        return cls(api=api, **response.json())

    @classmethod
    def get(cls, user: User | str, api: Api | None = None) -> User:
        """One user by username (or a ``User`` object)."""
        username = Transform.to_user(user)
        return super().get(id=username, api=api)

    @classmethod
    def query(
        cls,
        division: object,
        role: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """Users of a division, optionally only those with ``role``."""
        api = api or cls._API
        division_id = Transform.to_division(division)
        logger.debug("Querying users of division %s", division_id)
        return cls._query(
            url=cls._URL["query"],
            division=division_id,
            role=role,
            offset=offset,
            limit=limit,
            api=api,
        )

    def disable(self, api: Api | None = None) -> None:
        """Disable this user (``DELETE /users/{username}``)."""
        api = api or self._api
        logger.debug("Disabling user %s", self.username)
        api.delete(url=self._URL["delete"].format(username=self.username))

"""Members of projects (and of volumes and datasets, which share the same shape)."""

from __future__ import annotations

import logging
from typing import Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified
from sevenbridges.meta.fields import CompoundField, HrefField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.projects.permissions import Permissions

__all__ = ["Member", "Permissions"]

logger = logging.getLogger(__name__)


class Member(Resource):
    """A user, team or division with permissions on a project, volume or dataset.

    Change permissions through the dict and save::

        member.permissions['write'] = True
        member.save()
    """

    # Relative to the member's own href, not to the API root.
    _URL = {"permissions": "/permissions"}

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    username = StringField(read_only=False)
    email = StringField(read_only=False)
    type = StringField(read_only=False)
    permissions = CompoundField(Permissions, read_only=False)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        if self is other:
            return True
        same_id = self.id is not None and self.id == other.id
        same_username = self.username is not None and self.username == other.username
        return same_id or same_username

    def __str__(self) -> str:
        return f"<Member: username={self.username}>"

    __repr__ = __str__

    @inplace_reload
    def save(self, inplace: bool = True) -> Member:
        """Send the changed permission keys with ``PATCH {href}/permissions``.

        Raises ``ResourceNotModified`` when no permission changed.
        """
        changed = self._modified_data().get("permissions")
        if not changed:
            raise ResourceNotModified()
        logger.debug("Updating permissions of member %s: %s", self.username, changed)
        response = self._api.patch(
            url=self.href + self._URL["permissions"], data=dict(changed), append_base=False
        )
        permissions = dict(self.field("permissions") or {})
        permissions.update(changed)
        # The body is optional (the platform may answer 204); when present it is authoritative.
        permissions.update(_permissions_from_response(response))
        current = {name: self.field(name) for name in self._fields}
        current["permissions"] = permissions
        return Member(api=self._api, **{k: v for k, v in current.items() if v is not None})


def _permissions_from_response(response: Any) -> dict[str, Any]:
    """Permission flags from a PATCH answer: either the flags themselves or a member object."""
    if response is None or not getattr(response, "content", b""):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    if isinstance(body.get("permissions"), dict):
        return dict(body["permissions"])
    return {key: value for key, value in body.items() if isinstance(value, bool)}

"""Members of a team."""

from __future__ import annotations

from sevenbridges.meta.fields import HrefField, StringField
from sevenbridges.meta.resource import Resource


class TeamMember(Resource):
    """A user in a team with their team ``role`` (``MEMBER`` or ``ADMIN``)."""

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    username = StringField(read_only=False)
    role = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<TeamMember: username={self.username}>"

    __repr__ = __str__

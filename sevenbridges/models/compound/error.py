"""Error object embedded in bulk results, imports and exports."""

from __future__ import annotations

from sevenbridges.meta.fields import IntegerField, StringField
from sevenbridges.meta.resource import Resource


class Error(Resource):
    """A platform error as it appears nested in another resource."""

    status = IntegerField(read_only=True)
    code = IntegerField(read_only=True)
    message = StringField(read_only=True)
    more_info = StringField(read_only=True)

    def __str__(self) -> str:
        return f"<Error: status={self.status}, code={self.code}>"

    __repr__ = __str__

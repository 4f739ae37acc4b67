"""Split of a price into its storage, computation and transfer parts."""

from __future__ import annotations

from sevenbridges.meta.fields import StringField
from sevenbridges.meta.resource import Resource


class Breakdown(Resource):
    """Cost components of a :class:`~sevenbridges.models.compound.price.Price`."""

    storage = StringField(read_only=True)
    computation = StringField(read_only=True)
    data_transfer = StringField(read_only=True)

    def __str__(self) -> str:
        text = f"<Breakdown: storage={self.storage}, computation={self.computation}"
        # Older price objects carry no transfer component; only show it when present.
        if self.data_transfer:
            text += f", data_transfer={self.data_transfer}"
        return text + ">"

    __repr__ = __str__

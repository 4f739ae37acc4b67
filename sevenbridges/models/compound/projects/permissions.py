"""Member permissions (read, copy, write, execute, admin) as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class Permissions(CompoundMutableDict, Resource):
    """Permission flags of a member; assigning a key marks only that key as changed."""

    _name = "permissions"

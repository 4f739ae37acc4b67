"""Where a marker sits on its chromosome: ``start`` and ``end`` as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class MarkerPosition(CompoundMutableDict, Resource):
    """``marker.position['end'] = 43125490`` marks only ``end`` as changed."""

    _name = "position"

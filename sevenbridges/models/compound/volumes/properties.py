"""Provider properties (e.g. S3 server-side encryption) as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class VolumeProperties(CompoundMutableDict, Resource):
    """``properties`` of an export (``sse_algorithm``, ``aws_canned_acl``, ...); missing keys
    read as None."""

    _name = "properties"

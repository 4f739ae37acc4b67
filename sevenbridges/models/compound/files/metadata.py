"""File metadata as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class Metadata(CompoundMutableDict, Resource):
    """Metadata of a file: ``file.metadata['sample_id'] = 'x'`` marks only that key as changed.

    A missing key reads as None. Saving sends the changed keys (PATCH); assigning the whole dict
    (``file.metadata = {...}``) replaces the metadata instead (PUT).
    """

    _name = "metadata"

"""The cloud service behind a volume, as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class VolumeService(CompoundMutableDict, Resource):
    """``service`` of a volume: ``type``, ``bucket``, ``prefix``, ``endpoint``, ``root_url``,
    ``credentials`` (public part only when read), ``properties``.

    Setting a key (``volume.service['credentials'] = {...}``) marks only it as changed, so
    ``volume.save()`` sends just that sub-key.
    """

    _name = "service"

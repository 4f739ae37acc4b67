"""Project settings as a write-through dict."""

from __future__ import annotations

from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource


class Settings(CompoundMutableDict, Resource):
    """Project settings (``locked``, ``use_interruptible_instances``, ...).

    Changing a key marks only that key as changed, so ``project.save()`` sends just it.
    """

    _name = "settings"

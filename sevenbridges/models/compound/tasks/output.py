"""Task outputs: a read-only dict whose file values read back as File objects."""

from __future__ import annotations

from sevenbridges.errors import ReadOnlyPropertyError
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.tasks.input import _MappedDict


class Output(_MappedDict, Resource):
    """``task.outputs``: output id -> File, list of Files, or a plain value (numbers, strings)."""

    _name = "outputs"

    def _check_writable(self) -> None:
        raise ReadOnlyPropertyError("Task outputs are produced by the platform and read only.")

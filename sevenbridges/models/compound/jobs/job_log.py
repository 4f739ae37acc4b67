"""Log files of a job, as a read-only dict of File objects."""

from __future__ import annotations

import logging
import re
from typing import Any

from sevenbridges.errors import ReadOnlyPropertyError
from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.resource import Resource

logger = logging.getLogger(__name__)

# Log values are API URLs such as ``https://host/v2/files/<id>/download_info``.
_FILE_ID_IN_URL = re.compile(r"files/([^/?#]+)/")


def _file_id(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    matches = _FILE_ID_IN_URL.findall(url)
    return matches[-1] if matches else None


class Logs(CompoundMutableDict, Resource):
    """``job.logs``: log name (e.g. ``job.err.log``) -> a lazy ``File`` of that log.

    A value that does not point at a file reads as None.
    """

    _name = "logs"

    def _as_file(self, url: Any) -> Any:
        from sevenbridges.models.file import File

        file_id = _file_id(url)
        if file_id is None:
            logger.debug("Log value %r does not name a file", url)
            return None
        return File(api=self._api, id=file_id)

    def _check_writable(self) -> None:
        raise ReadOnlyPropertyError("Job logs are read only.")

    def __getitem__(self, key: Any) -> Any:
        return self._as_file(super().__getitem__(key))

    def get(self, key: Any, default: Any = None) -> Any:
        current = self._current()
        return self._as_file(current[key]) if key in current else default

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self._as_file(value) for value in self._current().values()]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(key, self._as_file(value)) for key, value in self._current().items()]

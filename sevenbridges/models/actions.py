"""Platform actions: feedback to the operators and the synchronous bulk copy of files."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.http.client import client_info
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.enums import FeedbackType

if TYPE_CHECKING:
    from sevenbridges.api import Api

logger = logging.getLogger(__name__)


class Actions(Resource):
    """Class methods only, reached as ``api.actions``."""

    _URL = {
        "send_feedback": "/action/notifications/feedback",
        "bulk_copy": "/action/files/copy",
    }

    def __str__(self) -> str:
        return "<Actions>"

    __repr__ = __str__

    @classmethod
    def send_feedback(
        cls,
        type: str = FeedbackType.IDEA,  # noqa: A002 - the reference keyword
        referrer: str | None = None,
        text: str | None = None,
        api: Api | None = None,
    ) -> None:
        """Send an IDEA, PROBLEM or THOUGHT; ``referrer`` defaults to this client's info."""
        api = cls._resolve_api(api)
        data = {"type": type, "text": text, "referrer": referrer or str(client_info)}
        logger.debug("Sending feedback of type %s", type)
        api.post(url=cls._URL["send_feedback"], data=data)

    @classmethod
    def bulk_copy_files(
        cls, files: list[Any], destination_project: Any, api: Api | None = None
    ) -> dict[str, Any]:
        """Copy files to a project's root now; the raw result keyed by source file id."""
        api = cls._resolve_api(api)
        data = {
            "project": Transform.to_project(destination_project),
            "file_ids": [Transform.to_file(item) for item in files],
        }
        logger.debug("Copying %d files to %s", len(data["file_ids"]), data["project"])
        return api.post(url=cls._URL["bulk_copy"], data=data).json()

"""The API root document: absolute URLs of the main resource families."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.fields import HrefField
from sevenbridges.meta.resource import Resource

if TYPE_CHECKING:
    from sevenbridges.api import Api

logger = logging.getLogger(__name__)


class Endpoints(Resource):
    """What ``GET {root}/`` answers."""

    _URL = {"get": "/"}

    rate_limit_url = HrefField(read_only=True)
    user_url = HrefField(read_only=True)
    users_url = HrefField(read_only=True)
    billing_url = HrefField(read_only=True)
    projects_url = HrefField(read_only=True)
    files_url = HrefField(read_only=True)
    tasks_url = HrefField(read_only=True)
    apps_url = HrefField(read_only=True)
    action_url = HrefField(read_only=True)
    upload_url = HrefField(read_only=True)

    def __str__(self) -> str:
        return "<Endpoints>"

    __repr__ = __str__

    @classmethod
    def get(cls, api: Api | None = None, **kwargs: Any) -> Endpoints:
        """Fetch the API root document."""
        api = api or cls._API
        logger.debug("Fetching API endpoints")
        response = api.get(url=cls._URL["get"])
        return cls(api=api, **response.json())

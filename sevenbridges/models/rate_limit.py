"""The caller's current rate-limit state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.meta.fields import CompoundField
from sevenbridges.meta.resource import Resource
from sevenbridges.models.compound.limits.rate import Rate

if TYPE_CHECKING:
    from sevenbridges.api import Api

logger = logging.getLogger(__name__)


class RateLimit(Resource):
    """Request rate (``rate``) and parallel instance (``instance_limit``) limits."""

    _URL = {"get": "/rate_limit"}

    rate = CompoundField(Rate, read_only=True)
    instance_limit = CompoundField(Rate, read_only=True)

    @classmethod
    def get(cls, id: Any = None, api: Api | None = None) -> RateLimit:
        """Fetch the rate limits; ``id`` exists only for signature compatibility."""
        api = api or cls._API
        logger.debug("Fetching rate limit")
        response = api.get(url=cls._URL["get"])
        return cls(api=api, **response.json())

"""Error handlers: callables ``handler(api, response) -> response`` run after every API response.

A handler may wait and re-send the request (``api.session.send(response.request)``) to turn a
transient failure into a success. Handlers marked with :func:`repeatable_handler` restart the
handler chain whenever they return a different response, so every handler sees the final one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

logger = logging.getLogger(__name__)

__all__ = [
    "repeatable_handler",
    "rate_limit_sleeper",
    "maintenance_sleeper",
    "general_error_sleeper",
]

H = TypeVar("H", bound=Callable[..., Any])

# Used when a 429 arrives without a usable reset header: wait a little instead of spinning.
_FALLBACK_RATE_LIMIT_WAIT = 1.0


def repeatable_handler(f: H) -> H:
    """Mark the handler ``f`` so the chain restarts after it replaced the response."""
    f.is_repeatable = True  # type: ignore[attr-defined]
    return f


def _resend(api: Any, response: requests.Response) -> requests.Response:
    # Exactly this call: users' test suites patch ``api.session.send`` and check it.
    return api.session.send(response.request)


def _seconds_until_reset(response: requests.Response) -> float:
    reset = response.headers.get("X-RateLimit-Reset")
    try:
        return max(int(reset) - int(time.time()), 0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _FALLBACK_RATE_LIMIT_WAIT


@repeatable_handler
def rate_limit_sleeper(api: Any, response: requests.Response) -> requests.Response:
    """While the platform answers 429, sleep until the rate-limit window resets and re-send."""
    while response.status_code == 429:
        wait = _seconds_until_reset(response)
        logger.warning("Rate limit reached; waiting %s s before retrying", wait)
        time.sleep(wait)
        response = _resend(api, response)
    return response


def _is_maintenance(response: requests.Response) -> bool:
    """A 503 whose JSON body has ``code == 0`` announces scheduled maintenance."""
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == 0


@repeatable_handler
def maintenance_sleeper(
    api: Any, response: requests.Response, sleep: float = 300
) -> requests.Response:
    """While the platform is in maintenance, sleep ``sleep`` seconds and re-send.

    Any other 503 (another code, or a body that is not JSON) is returned untouched.
    """
    while response.status_code == 503 and _is_maintenance(response):
        logger.warning("Platform under maintenance; retrying in %s s", sleep)
        time.sleep(sleep)
        response = _resend(api, response)
    return response


@repeatable_handler
def general_error_sleeper(
    api: Any, response: requests.Response, sleep: float = 300
) -> requests.Response:
    """While the platform answers with a 5xx status, sleep ``sleep`` seconds and re-send."""
    while response.status_code >= 500:
        logger.warning("Server error %s; retrying in %s s", response.status_code, sleep)
        time.sleep(sleep)
        response = _resend(api, response)
    return response

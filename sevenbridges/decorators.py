"""Decorators used by the HTTP layer and the resource models."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from sevenbridges.errors import HTTP_ERRORS, NonJSONResponseError, SbgError
from sevenbridges.http.reachability import connection_refused, is_loopback_url, unreachable_message

logger = logging.getLogger(__name__)

__all__ = ["check_for_error", "inplace_reload", "throttle", "retry", "retry_on_excs"]

F = TypeVar("F", bound=Callable[..., Any])

_ERROR_BODY_KEYS = ("message", "code", "status", "more_info")


def _error_from_response(response: requests.Response) -> SbgError:
    """Build the exception for a non-2xx response, filled in from the platform's error body."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        return NonJSONResponseError(status=status, message=response.text)
    error_class = HTTP_ERRORS.get(status)
    error = error_class() if error_class is not None else SbgError(status=status)
    if isinstance(body, dict):
        for key in _ERROR_BODY_KEYS:
            if key in body:
                setattr(error, key, body[key])
    return error


def check_for_error(func: F) -> F:
    """Map the response of a low-level request call to a return value or an exception.

    200-203 return the response, 204 returns None, any other status raises the exception for
    that status. Transport failures from ``requests`` become :class:`SbgError`.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> requests.Response | None:
        try:
            response = func(*args, **kwargs)
        except requests.ConnectionError as exc:
            url = getattr(exc.request, "url", None) or ""
            if is_loopback_url(url) and connection_refused(exc):
                raise SbgError(message=unreachable_message(url)) from exc
            raise SbgError(message=str(exc)) from exc
        except requests.RequestException as exc:
            raise SbgError(message=str(exc))
        status = response.status_code
        if 200 <= status <= 203:
            return response
        if status == 204:
            return None
        raise _error_from_response(response)

    return wrapper  # type: ignore[return-value]


def throttle(func: F) -> F:
    """Run a client method while holding the client's parallel-request limiter."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._throttle_limiter:
            return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def inplace_reload(method: F) -> F:
    """Let a resource method update the object it was called on.

    The decorated method returns a fresh resource. With ``inplace=True`` (the default, honoured
    only as a keyword argument) that resource's data is copied into ``self`` and ``self`` is
    returned; with ``inplace=False`` the fresh resource is returned and ``self`` is left alone.
    A method returning None returns ``self``.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_place = kwargs.get("inplace", True)
        result = method(self, *args, **kwargs)
        if result is None:
            return self
        if in_place and result is not self:
            self._adopt(result)
            return self
        return result

    return wrapper  # type: ignore[return-value]


def retry_on_excs(
    excs: type[BaseException] | tuple[type[BaseException], ...],
    retry_count: int = 3,
    delay: float = 1,
) -> Callable[[F], F]:
    """Retry a callable up to ``retry_count`` times on the given exceptions, ``delay`` s apart."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, retry_count + 1):
                try:
                    return func(*args, **kwargs)
                except excs as exc:
                    if attempt >= retry_count:
                        raise
                    logger.debug(
                        "%s failed (%s), attempt %d of %d",
                        func.__qualname__,
                        exc,
                        attempt,
                        retry_count,
                    )
                    time.sleep(delay)
            return func(*args, **kwargs)  # only reached when retry_count < 1

        return wrapper  # type: ignore[return-value]

    return decorator


def retry(retry_count: int) -> Callable[[F], F]:
    """Retry a callable on any exception, backing off exponentially (1, 2, 4 … 30 s)."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, retry_count + 1):
                try:
                    return func(*args, **kwargs)
                except Exception as exc:
                    if attempt >= retry_count:
                        raise
                    logger.debug(
                        "%s failed (%s), attempt %d of %d",
                        func.__qualname__,
                        exc,
                        attempt,
                        retry_count,
                    )
                    time.sleep(min(2 ** (attempt - 1), 30))
            return func(*args, **kwargs)  # only reached when retry_count < 1

        return wrapper  # type: ignore[return-value]

    return decorator

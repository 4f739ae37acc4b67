"""The HTTP layer: one pooled ``requests`` session per client, auth headers, error mapping.

Every API call goes through :meth:`HttpClient._request`, which adds the platform headers, sends
the JSON body, runs the error handlers, remembers the rate-limit and request-id headers and maps
the final status to a return value or an exception (see ``decorators.check_for_error``).
"""

from __future__ import annotations

import configparser
import contextlib
import copy
import json
import logging
import platform
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import requests
import urllib3
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter

from sevenbridges import __version__
from sevenbridges.config import Config, format_proxies
from sevenbridges.decorators import check_for_error, throttle
from sevenbridges.errors import SbgError, URITooLong
from sevenbridges.http.error_handlers import maintenance_sleeper
from sevenbridges.http.reachability import TransportRetry
from sevenbridges.models.enums import RequestParameters

logger = logging.getLogger(__name__)

__all__ = [
    "HttpClient",
    "RequestSession",
    "AAHeader",
    "generate_session",
    "config_vars",
    "mask_secrets",
    "client_info",
]

client_info: dict[str, str] = {
    "version": __version__,
    "os": platform.system(),
    "python": platform.python_version(),
    "requests": requests.__version__,
    "urllib3": urllib3.__version__,
}

USER_AGENT = (
    f"sevenbridges-python/{client_info['version']} ({client_info['os']}, "
    f"Python/{client_info['python']}; requests/{client_info['requests']}; "
    f"urllib3/{client_info['urllib3']})"
)

DEFAULT_POOL_MAXSIZE = 100
DEFAULT_MAX_PARALLEL_REQUESTS = 100

TOKEN_HEADER = "X-SBG-Auth-Token"
SESSION_HEADER = "X-SBG-Session-Id"
OAUTH_HEADER = "Authorization"
_SECRET_HEADERS = {TOKEN_HEADER.lower(), SESSION_HEADER.lower(), OAUTH_HEADER.lower()}
_MASK = "*****"


class AAHeader:
    """The header that turns on advance-access (preview) features of the platform."""

    key = "X-Sbg-Advance-Access"
    value = "Advance"


class RequestSession(requests.Session):
    """A ``requests.Session`` that refuses URLs longer than the platform accepts.

    ``default_timeout`` applies to a bare ``send(request)`` (how error handlers re-send), so a
    re-sent request keeps the Api's timeout.
    """

    default_timeout: float | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if "timeout" not in kwargs and self.default_timeout is not None:
            kwargs["timeout"] = self.default_timeout
        url_length = len(request.url or "")
        if url_length > RequestParameters.MAX_URL_LENGTH:
            raise URITooLong(
                message=(
                    f"Request URL is {url_length} characters long; the limit is "
                    f"{RequestParameters.MAX_URL_LENGTH}. Send fewer query parameters."
                )
            )
        return super().send(request, **kwargs)


def generate_session(
    pool_connections: int | None = DEFAULT_POOLSIZE,
    pool_maxsize: int | None = DEFAULT_POOL_MAXSIZE,
    pool_block: bool = True,
    proxies: Mapping[str, Any] | None = None,
    retry_count: int | None = None,
    backoff_factor: float | None = None,
) -> RequestSession:
    """Create a pooled :class:`RequestSession` with transport retries on http and https."""
    if isinstance(pool_connections, Mapping):
        # Old single-argument form: generate_session(proxies).
        proxies, pool_connections = pool_connections, DEFAULT_POOLSIZE
    retries = TransportRetry(
        total=retry_count or RequestParameters.DEFAULT_RETRY_COUNT,
        backoff_factor=backoff_factor or RequestParameters.DEFAULT_BACKOFF_FACTOR,
    )
    adapter = HTTPAdapter(
        pool_connections=pool_connections or DEFAULT_POOLSIZE,
        pool_maxsize=pool_maxsize or DEFAULT_POOL_MAXSIZE,
        pool_block=pool_block,
        max_retries=retries,
    )
    session = RequestSession()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if proxies:
        session.proxies.update(proxies)
    return session


def config_vars(
    profiles: Iterable[str | None], advance_access: bool | None = None
) -> tuple[Any, Any, Any, Any]:
    """Return ``(url, token, proxies, advance_access)`` of the first profile that loads.

    ``None`` as a profile means the environment. Four Nones when no profile works.
    """
    for profile in profiles:
        try:
            config = Config(profile, advance_access=advance_access)
        except (SbgError, configparser.Error) as exc:
            logger.debug("Configuration source %r not usable: %s", profile or "environment", exc)
            continue
        return config.api_endpoint, config.auth_token, config.proxies, config.advance_access
    return None, None, None, None


def mask_secrets(request_data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``request_data`` whose secret headers are replaced, for logging."""
    masked = copy.deepcopy(dict(request_data))
    headers = masked.get("headers")
    if isinstance(headers, Mapping):
        masked["headers"] = {
            name: (_MASK if name.lower() in _SECRET_HEADERS else value)
            for name, value in headers.items()
        }
    return masked


def _masked_token(token: str | None) -> str:
    if not token:
        return ""
    # Not even a suffix: a repr ends up in logs and bug reports.
    return "****"


def _as_flag(value: Any) -> bool:
    """Advance-access settings come as booleans or as raw strings from the config file."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class HttpClient:
    """Base of :class:`sevenbridges.Api`: configuration, session, and the request path."""

    # Internal: when set, requests authenticate with a session id instead of a token.
    _session_id: str | None = None

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        oauth_token: str | None = None,
        config: Config | None = None,
        timeout: float | None = None,
        proxies: Mapping[str, Any] | None = None,
        error_handlers: Iterable[Callable[..., Any]] | None = None,
        advance_access: bool = False,
        pool_connections: int | None = None,
        pool_maxsize: int | None = None,
        pool_block: bool = True,
        max_parallel_requests: int | None = None,
        retry_count: int | None = None,
        backoff_factor: float | None = None,
    ) -> None:
        if url is None and token is None and config is None:
            url, token, session_proxies, configured_aa = config_vars(
                [None, "default"], advance_access
            )
            advance_access = configured_aa or advance_access
        elif config is not None:
            url, token, session_proxies = config.api_endpoint, config.auth_token, config.proxies
            advance_access = advance_access or config.advance_access
        else:
            session_proxies = format_proxies(proxies)

        if not url:
            raise SbgError(
                "URL is missing! Pass url=, set SB_API_ENDPOINT or configure a credentials profile."
            )
        if not token and not oauth_token:
            raise SbgError(
                "Required authorization model not selected! Pass token= or oauth_token=, set "
                "SB_AUTH_TOKEN or configure a credentials profile."
            )

        self.url: str = url[:-1] if url.endswith("/") else url
        self.token = token
        self.oauth_token = oauth_token
        self.timeout = timeout
        self.aa: bool = _as_flag(advance_access)
        if self.aa:
            logger.warning(
                "Advance access is on: preview features may change or disappear without notice."
            )

        self.headers: dict[str, str] = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if token:
            self.headers[TOKEN_HEADER] = token
        else:
            self.headers[OAUTH_HEADER] = f"Bearer {oauth_token}"

        self.pool_connections = pool_connections or DEFAULT_POOLSIZE
        self.pool_maxsize = pool_maxsize or DEFAULT_POOL_MAXSIZE
        self.pool_block = pool_block
        self.proxies: dict[str, Any] = dict(session_proxies or {})
        self._session = generate_session(
            self.pool_connections,
            self.pool_maxsize,
            self.pool_block,
            proxies=self.proxies,
            retry_count=retry_count,
            backoff_factor=backoff_factor,
        )
        self._session.default_timeout = timeout
        self._throttle_limiter: Any = (
            threading.Semaphore(max_parallel_requests)
            if max_parallel_requests
            else contextlib.nullcontext()
        )

        self.error_handlers: list[Callable[..., Any]] = [maintenance_sleeper]
        for handler in error_handlers or ():
            self.add_error_handler(handler)

        self._limit: str | None = None
        self._remaining: str | None = None
        self._reset: str | None = None
        self._request_id: str | None = None

    # ----------------------------------------------------------------- error handlers

    def add_error_handler(self, handler: Callable[..., Any]) -> None:
        """Append ``handler(api, response) -> response`` unless it is already installed."""
        if not callable(handler):
            raise SbgError(f"Error handler {handler!r} is not callable.")
        if handler not in self.error_handlers:
            self.error_handlers.append(handler)

    def remove_error_handler(self, handler: Callable[..., Any]) -> None:
        """Remove ``handler`` if it is installed."""
        if handler in self.error_handlers:
            self.error_handlers.remove(handler)

    def _run_error_handlers(self, response: requests.Response) -> requests.Response:
        handlers = self.error_handlers
        position = 0
        while position < len(handlers):
            handler = handlers[position]
            new_response = handler(self, response)
            if new_response is not response and getattr(handler, "is_repeatable", False):
                # The response changed: let every handler look at the new one.
                response = new_response
                position = 0
                continue
            response = new_response
            position += 1
        return response

    # ----------------------------------------------------------------- properties

    @property
    def session(self) -> RequestSession:
        return self._session

    @property
    def limit(self) -> int | None:
        """Requests allowed per rate-limit window (asks the platform first)."""
        self.get(url="/rate_limit")
        return int(self._limit) if self._limit is not None else None

    @property
    def remaining(self) -> int | None:
        """Requests left in the current window (asks the platform first)."""
        self.get(url="/rate_limit")
        return int(self._remaining) if self._remaining is not None else None

    @property
    def reset_time(self) -> datetime | None:
        """When the current window resets, local time (asks the platform first)."""
        self.get(url="/rate_limit")
        return datetime.fromtimestamp(float(self._reset)) if self._reset is not None else None

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` of the last response."""
        return self._request_id

    # ----------------------------------------------------------------- request path

    def _api_headers(self, extra: Mapping[str, str] | None) -> Mapping[str, str]:
        headers: Mapping[str, str] = self.headers
        if not (extra or self.aa or self._session_id):
            return headers  # the common case: no copy needed, requests does not mutate it
        merged = dict(extra or {})
        merged.update(headers)  # the client's own headers win, as on the platform's client
        if self.aa:
            merged[AAHeader.key] = AAHeader.value
        if self._session_id:
            merged.pop(TOKEN_HEADER, None)
            merged.pop(OAUTH_HEADER, None)
            merged[SESSION_HEADER] = self._session_id
        return merged

    def _remember_headers(self, response: requests.Response) -> None:
        headers = response.headers
        limit = headers.get("X-RateLimit-Limit")
        if limit is not None:
            self._limit = limit
        remaining = headers.get("X-RateLimit-Remaining")
        if remaining is not None:
            self._remaining = remaining
        reset = headers.get("X-RateLimit-Reset")
        if reset is not None:
            self._reset = reset
        request_id = headers.get("X-Request-Id")
        if request_id is not None:
            self._request_id = request_id

    @throttle
    @check_for_error
    def _request(
        self,
        verb: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        append_base: bool = False,
        stream: bool = False,
    ) -> requests.Response:
        if append_base:
            url = self.url + url
        if params and isinstance(params, Mapping):
            params = {key: value for key, value in params.items() if value is not None}
        if stream:
            # Signed URLs: no token and no JSON content type may go to storage.
            send_headers: Mapping[str, str] | None = headers
            body = None
        else:
            send_headers = self._api_headers(headers)
            body = json.dumps(data)

        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        response = self._session.request(
            verb,
            url,
            params=params,
            data=body,
            headers=send_headers,
            timeout=self.timeout,
            stream=stream,
        )
        if self.error_handlers:
            response = self._run_error_handlers(response)
        self._remember_headers(response)
        if debug:
            self._log_exchange(verb, url, send_headers, params, response, started, stream)
        return response

    def _log_exchange(
        self,
        verb: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Any,
        response: requests.Response,
        started: float,
        stream: bool,
    ) -> None:
        shown_url = url.split("?", 1)[0] + "?…" if stream and "?" in url else url
        request_data = mask_secrets({"headers": dict(headers or {}), "params": params})
        logger.debug(
            "%s %s -> %s in %.1f ms (request id %s) headers=%s params=%s",
            verb,
            shown_url,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            response.headers.get("X-Request-Id"),
            request_data["headers"],
            request_data["params"],
        )

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        append_base: bool = True,
        stream: bool = False,
    ) -> requests.Response | None:
        return self._request(
            "GET", url=url, headers=headers, params=params, data=data,
            append_base=append_base, stream=stream,
        )

    def post(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        append_base: bool = True,
    ) -> requests.Response | None:
        return self._request(
            "POST", url=url, headers=headers, params=params, data=data, append_base=append_base
        )

    def put(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        append_base: bool = True,
    ) -> requests.Response | None:
        return self._request(
            "PUT", url=url, headers=headers, params=params, data=data, append_base=append_base
        )

    def patch(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        append_base: bool = True,
    ) -> requests.Response | None:
        return self._request(
            "PATCH", url=url, headers=headers, params=params, data=data, append_base=append_base
        )

    def delete(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        append_base: bool = True,
    ) -> requests.Response | None:
        return self._request(
            "DELETE", url=url, headers=headers, params=params, data={}, append_base=append_base
        )

    # ----------------------------------------------------------------- representation

    def __repr__(self) -> str:
        return f'<API({self.url}) - "{_masked_token(self.token or self.oauth_token)}">'

    __str__ = __repr__

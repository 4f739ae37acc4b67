"""Telling "nothing listens there" apart from a flaky network.

A refused connection to a loopback address cannot get better by waiting: no server runs on this
machine at that port (for the local platform, ``sbg local serve`` is not running). Nor can a
server certificate that this machine does not trust (any host): the next attempt is shown the
same certificate. The transport therefore retries neither, and the client says so in one
sentence at once. Every other
transport retry is logged at INFO, so a slow minute of retries is never silent.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

logger = logging.getLogger("sevenbridges.http.client")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (with or without brackets)."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    """Whether ``error`` is, or wraps (cause, context, args, urllib3's ``reason``), a ``kind``."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend([current.__cause__, current.__context__])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False


def connection_refused(error: BaseException | None) -> bool:
    """Whether ``error`` (or an exception it wraps) is a refused TCP connection."""
    return _caused_by(error, ConnectionRefusedError)


def certificate_rejected(error: BaseException | None) -> bool:
    """Whether ``error`` (or an exception it wraps) is a server certificate this machine does
    not trust: asking again gets the same certificate."""
    return _caused_by(error, ssl.SSLCertVerificationError)


def unreachable_message(url: str) -> str:
    """The sentence for an endpoint that refused the connection."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    if parts.path.startswith("/v2"):
        root += "/v2"
    if is_loopback_url(url):
        return f"cannot reach {root}: is `sbg local serve` running?"
    return f"cannot reach {root}: check the endpoint URL and your network"


class TransportRetry(Retry):
    """urllib3's retries, minus the hopeless ones, each retry logged at INFO."""

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        host = getattr(_pool, "host", None)
        hopeless = error is not None and (
            (is_loopback_host(host) and connection_refused(error)) or certificate_rejected(error)
        )
        if hopeless:
            raise MaxRetryError(_pool, url or "", error) from error
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        where = f"{getattr(_pool, 'scheme', 'http')}://{host}:{getattr(_pool, 'port', '')}"
        reason = error if error is not None else f"HTTP {getattr(response, 'status', '?')}"
        logger.info(
            "retrying %s %s%s after: %s (%s retries left)",
            method,
            where,
            url or "",
            reason,
            retry.total,
        )
        return retry

"""Forwarded scheme and host from trusted reverse proxies (nginx, a cloud load balancer).

Behind a proxy that terminates TLS, the API sees plain HTTP from the proxy's address under an
internal host name; the hrefs and signed URLs it hands out must name what the client used
instead. This ASGI middleware believes ``Forwarded`` (RFC 7239: ``proto=``, ``host=``) and else
``X-Forwarded-Proto`` / ``X-Forwarded-Host`` only when the connection comes from an address in
the ``trusted_proxies`` setting; from anyone else they are ignored, so a client cannot make the
platform hand out URLs that point elsewhere. Of a comma-separated list the last entry counts:
it is the one the trusted proxy itself added. A request rewritten this way carries
``scope["sbg.forwarded"] = True`` (the data plane's URLs then use the forwarded scheme too).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

FORWARDED_SCOPE_KEY = "sbg.forwarded"
# A host name or IPv4 address, or a bracketed IPv6 address, with an optional port.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_SCHEMES = ("http", "https")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _last(value: str | None) -> str | None:
    if not value:
        return None
    last = value.split(",")[-1].strip()
    return last or None


def _forwarded_pairs(value: str | None) -> dict[str, str]:
    """The parameters of the last element of a ``Forwarded`` header, names lower-cased."""
    element = _last(value)
    pairs: dict[str, str] = {}
    if element is None:
        return pairs
    for part in element.split(";"):
        name, sep, raw = part.partition("=")
        if sep:
            pairs[name.strip().lower()] = raw.strip().strip('"')
    return pairs


def forwarded_origin(headers: Headers) -> tuple[str | None, str | None]:
    """(scheme, host) the headers forward; None for what they do not say or say wrongly."""
    pairs = _forwarded_pairs(headers.get("forwarded"))
    scheme = pairs.get("proto") or _last(headers.get("x-forwarded-proto"))
    host = pairs.get("host") or _last(headers.get("x-forwarded-host"))
    scheme = scheme.lower() if scheme and scheme.lower() in _SCHEMES else None
    host = host if host and _HOST.match(host) else None
    return scheme, host


class ForwardedMiddleware:
    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.networks and client and self._trusted(client[0]):
            scheme, host = forwarded_origin(Headers(scope=scope))
            if scheme or host:
                scope = dict(scope)
                if scheme:
                    scope["scheme"] = scheme
                if host:
                    headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
                    scope["headers"] = [(b"host", host.encode("latin-1")), *headers]
                scope[FORWARDED_SCOPE_KEY] = True
        await self.app(scope, receive, send)

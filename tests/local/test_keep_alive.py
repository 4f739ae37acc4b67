"""Idle keep-alive connections stay open long enough for clients that pause between calls.

With uvicorn's 5 s default, a client that reused its connection just as the server closed it
got a reset (seen as a failed request under load); the server now keeps them for a minute."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from sevenbridges_local.cli import KEEP_ALIVE_SECONDS
from sevenbridges_local.embedded import EmbeddedServer


def test_a_connection_idle_for_longer_than_uvicorns_default_is_still_served(
    platform: EmbeddedServer,
) -> None:
    assert KEEP_ALIVE_SECONDS >= 60
    address = urlsplit(platform.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", "/health")
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        socket_before = connection.sock
        time.sleep(6.5)  # past uvicorn's default of 5 s
        connection.request("GET", "/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is socket_before  # the same connection, not a new one
    finally:
        connection.close()

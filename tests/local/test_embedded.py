"""EmbeddedServer: the contract tests, the demo and the benchmarks rely on."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from sevenbridges_local.embedded import EmbeddedServer


def test_start_stop_and_context_manager(tmp_path: Path, http: requests.Session) -> None:
    server = EmbeddedServer(tmp_path / "data")
    assert not server.running
    with server:
        assert server.running
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v2")
        assert http.get(server.url + "/").status_code == 200
        assert server.start() is server  # already running: nothing happens
        assert server.token() not in repr(server)  # secrets never show in a repr
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        http.get(server.url + "/", timeout=2)
    server.stop()  # stopping twice is harmless
    # The token is available without a running server, from the same data directory.
    assert len(server.token("admin")) == 32


def test_a_server_that_cannot_start_reports_its_output(tmp_path: Path) -> None:
    with socket.socket() as occupied:
        occupied.bind(("127.0.0.1", 0))
        occupied.listen()
        server = EmbeddedServer(tmp_path / "data", port=occupied.getsockname()[1])
        with pytest.raises(RuntimeError) as failure:
            server.start()
    message = str(failure.value)
    assert "exited with code" in message
    port = server.port
    assert f"port {port} on 127.0.0.1 is already in use" in message  # the server's own line
    assert not server.running

"""A refused loopback endpoint is reported at once; every other transport retry is logged."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

import sevenbridges as sbg
from sevenbridges_local.embedded import EmbeddedServer


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_loopback_endpoint_says_start_the_server_without_retrying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = _closed_port()
    api = sbg.Api(url=f"http://127.0.0.1:{port}/v2", token="0" * 32, retry_count=6)
    caplog.set_level(logging.INFO)
    with pytest.raises(sbg.SbgError) as raised:
        api.users.me()
    assert raised.value.message == (
        f"cannot reach http://127.0.0.1:{port}/v2: is `sbg local serve` running?"
    )
    assert not [record for record in caplog.records if "retrying" in record.getMessage()]


@pytest.fixture
def hang_up_server() -> Iterator[int]:
    """A TCP peer that accepts every connection and closes it at once, without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_each_transport_retry_is_logged_at_info(
    hang_up_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    api = sbg.Api(
        url=f"http://127.0.0.1:{hang_up_server}/v2",
        token="0" * 32,
        retry_count=3,
        backoff_factor=0.01,
    )
    caplog.set_level(logging.INFO, logger="sevenbridges")
    with pytest.raises(sbg.SbgError) as raised:
        api.users.me()
    assert "sbg local serve" not in str(raised.value.message)  # it answered: not "not running"
    retries = [
        record
        for record in caplog.records
        if record.name.startswith("sevenbridges") and "retrying GET" in record.getMessage()
    ]
    assert len(retries) == 3
    assert all(record.levelno == logging.INFO for record in retries)
    assert f"127.0.0.1:{hang_up_server}/v2/user" in retries[0].getMessage()
    assert "0" * 32 not in caplog.text  # never the token


def test_a_stopped_platform_is_reported_at_once(tmp_path) -> None:
    with EmbeddedServer(tmp_path / "data") as server:
        api = sbg.Api(url=server.url, token=server.token("admin"))
        assert api.users.me().username == "admin"
    with pytest.raises(sbg.SbgError) as raised:
        api.users.me()
    assert raised.value.message == f"cannot reach {server.url}: is `sbg local serve` running?"

"""Shared fixtures: one live local platform per test session, on a free loopback port.

Tests talk to it over HTTP exactly as users do. Tests that need a platform of their own (different
limits, restarts) start another ``EmbeddedServer`` with ``start_platform``.

The database: SQLite by default. ``--sbg-database=postgresql`` (or ``SBG_TEST_DATABASE=postgresql``)
starts a throw-away PostgreSQL cluster for the session (tests/pg_cluster.py) and gives every
platform the tests start a fresh database of its own in it; ``make test`` runs the tests marked
``postgres`` that way, ``make test-postgres`` all of them.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from pg_cluster import PostgresCluster, PostgresUnavailable

from sevenbridges_local.embedded import EmbeddedServer

# moto (S3, STS, IAM), a GCS emulator and a platform pointed at them, for the volume tests.
# The S3 blob store's moto server, and SBG_TEST_STORAGE=s3 (the whole suite on S3).
pytest_plugins = ("cloud_fixtures", "storage_fixtures")

_user_numbers = itertools.count(1)

DATABASES = ("sqlite", "postgresql")
# The session's PostgreSQL cluster, or why there is none (a reason to skip with).
_cluster: PostgresCluster | None = None
_cluster_problem: str | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sbg-database",
        choices=DATABASES,
        default=None,
        help="database of the platforms the tests start (default: $SBG_TEST_DATABASE or sqlite)",
    )


def selected_database(config: pytest.Config) -> str:
    chosen = config.getoption("--sbg-database") or os.environ.get("SBG_TEST_DATABASE") or "sqlite"
    if chosen not in DATABASES:
        raise pytest.UsageError(f"SBG_TEST_DATABASE must be one of {', '.join(DATABASES)}")
    return chosen


def postgres_cluster_or_none() -> PostgresCluster | None:
    """The session's cluster, started on first use; None (see ``_cluster_problem``) when
    PostgreSQL cannot run here."""
    global _cluster, _cluster_problem
    if _cluster is None and _cluster_problem is None:
        try:
            _cluster = PostgresCluster().start()
        except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
            _cluster_problem = f"PostgreSQL cannot be started here: {exc}"
    return _cluster


def pytest_configure(config: pytest.Config) -> None:
    if selected_database(config) == "postgresql":
        cluster = postgres_cluster_or_none()
        if cluster is not None:
            EmbeddedServer.database_factory = lambda _data_dir: cluster.new_database()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if selected_database(config) != "postgresql":
        return
    unavailable = pytest.mark.skip(reason=_cluster_problem or "PostgreSQL is not available")
    for item in items:
        if _cluster is None:
            item.add_marker(unavailable)
        elif (marker := item.get_closest_marker("sqlite_only")) is not None:
            reason = marker.kwargs.get("reason", "tests SQLite itself")
            item.add_marker(pytest.mark.skip(reason=f"{reason}; run on SQLite only"))


def pytest_unconfigure(config: pytest.Config) -> None:
    global _cluster
    EmbeddedServer.database_factory = None
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


@pytest.fixture(scope="session")
def postgres_cluster() -> PostgresCluster:
    """A running PostgreSQL cluster (the session's), for tests of PostgreSQL itself."""
    cluster = postgres_cluster_or_none()
    if cluster is None:
        pytest.skip(_cluster_problem or "PostgreSQL is not available")
    return cluster


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(tmp_path_factory.mktemp("platform"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., EmbeddedServer]]:
    """Start a private platform with custom settings; stopped at the end of the test."""
    started: list[EmbeddedServer] = []

    def start(**settings) -> EmbeddedServer:
        server = EmbeddedServer(tmp_path_factory.mktemp("private-platform"), **settings)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def admin_token(platform: EmbeddedServer) -> str:
    return platform.token("admin")


@pytest.fixture
def platform_faults(platform: EmbeddedServer, admin_token: str) -> Iterator[Callable[..., dict]]:
    """``platform_faults(**switches)``: change the shared platform's runtime switches (rate
    limit and window, signed URL lifetime, transfer faults; see sevenbridges_local/faults.py)
    for one test, and put them back as they were afterwards. Far cheaper than a private
    platform, which costs a server start-up; tests of one worker run one at a time, so no
    other test sees the change. ``_local/faults`` is never rate limited, so the switches can
    always be put back."""
    session = requests.Session()
    session.trust_env = False  # loopback only
    url = platform.url + "/_local/faults"
    headers = {"X-SBG-Auth-Token": admin_token}

    def put(switches: dict[str, Any]) -> dict:
        response = session.put(url, json=switches, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    before = session.get(url, headers=headers, timeout=30)
    assert before.status_code == 200, before.text
    try:
        yield lambda **switches: put(switches)
    finally:
        put(before.json())
        session.close()


@pytest.fixture
def new_username() -> Callable[[str], str]:
    """Unique usernames, so tests sharing the session platform never collide."""

    def make(prefix: str = "user") -> str:
        return f"{prefix}{next(_user_numbers)}"

    return make


@pytest.fixture
def api_for(platform: EmbeddedServer):
    """``api_for("alice")``: an ``Api`` authenticated as alice (created if missing)."""
    import sevenbridges as sbg

    def make(username: str, **kwargs) -> sbg.Api:
        return sbg.Api(url=platform.url, token=platform.token(username), **kwargs)

    return make


@pytest.fixture
def admin_api(api_for):
    return api_for("admin")

"""Fixtures for server-level tests of the local platform (see local_helpers for the helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from local_helpers import Caller

from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # loopback only: ignore proxy settings of the environment
    yield session
    session.close()


@pytest.fixture
def caller_for(platform: EmbeddedServer, http: requests.Session) -> Callable[[str], Caller]:
    """``caller_for("alice")`` -> a Caller authenticated as alice (created if missing)."""

    def make(username: str) -> Caller:
        return Caller(http, platform.url, platform.token(username), username)

    return make


@pytest.fixture
def admin(platform: EmbeddedServer, http: requests.Session, admin_token: str) -> Caller:
    return Caller(http, platform.url, admin_token, "admin")


@pytest.fixture
def anonymous(platform: EmbeddedServer, http: requests.Session) -> Caller:
    return Caller(http, platform.url, None)


@pytest.fixture
def alice(caller_for: Callable[[str], Caller], new_username: Callable[[str], str]) -> Caller:
    return caller_for(new_username("alice"))


@pytest.fixture
def bob(caller_for: Callable[[str], Caller], new_username: Callable[[str], str]) -> Caller:
    return caller_for(new_username("bob"))


@pytest.fixture
def carol(caller_for: Callable[[str], Caller], new_username: Callable[[str], str]) -> Caller:
    return caller_for(new_username("carol"))

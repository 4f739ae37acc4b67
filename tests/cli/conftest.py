"""Fixtures for the ``sbg`` command line: a private HOME and a runner bound to the live platform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from sevenbridges.cli.main import cli
from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME (credentials, resume records) and no SB_* variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("SB_API_ENDPOINT", "SB_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def run(home: Path) -> Callable[..., Result]:
    """``run(*args)``: sbg with exactly these arguments (no connection flags added)."""

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def sbg_as(platform: EmbeddedServer, run: Callable[..., Result]) -> Callable[..., Any]:
    """``sbg_as(user)(*args)``: sbg with --endpoint and --token of ``user``."""

    def bind(username: str) -> Callable[..., Result]:
        token = platform.token(username)

        def invoke(*args: str) -> Result:
            return run("--endpoint", platform.url, "--token", token, *args)

        return invoke

    return bind


@pytest.fixture
def rest(platform: EmbeddedServer) -> Callable[..., Any]:
    """``rest(user, path, **params)``: the platform's own JSON answer to a GET, for comparisons."""
    session = requests.Session()
    session.trust_env = False

    def get(username: str, path: str, **params: Any) -> Any:
        response = session.get(
            platform.url + path,
            params=params,
            headers={"X-SBG-Auth-Token": platform.token(username)},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    yield get
    session.close()

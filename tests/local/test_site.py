"""The site around the API: ``GET /`` points to /v2, ``GET /health``, offline ``/docs``."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests

from sevenbridges_local.embedded import EmbeddedServer


def _site(server: EmbeddedServer) -> str:
    return server.url.removesuffix("/v2")


def test_root_points_to_the_api(platform: EmbeddedServer, http: requests.Session) -> None:
    site = _site(platform)
    response = http.get(site + "/")
    assert response.status_code == 200
    body = response.json()
    assert body["api_url"] == platform.url
    assert body["docs_url"] == site + "/docs" and body["health_url"] == site + "/health"
    # The link really is the API root: it lists the resources.
    assert "projects_url" in http.get(body["api_url"]).json()


def test_health_needs_no_token_and_reports_ready(
    platform: EmbeddedServer, http: requests.Session
) -> None:
    response = http.get(_site(platform) + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert re.match(r"^\d+\.\d+", body["version"])


def test_health_says_maintenance_with_503(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    server = start_platform(maintenance=True)
    response = http.get(_site(server) + "/health")
    assert response.status_code == 503
    assert response.json()["status"] == "maintenance"
    assert http.get(_site(server) + "/docs").status_code == 200


def test_docs_load_every_asset_from_the_platform_itself(
    platform: EmbeddedServer, http: requests.Session
) -> None:
    site = _site(platform)
    page = http.get(site + "/docs")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert any(asset.endswith(".js") for asset in assets)
    assert any(asset.endswith(".css") for asset in assets)
    for asset in assets:
        # No CDN: every script, style sheet and icon is a path on this server, and it answers.
        assert asset.startswith("/"), asset
        fetched = http.get(site + asset)
        assert fetched.status_code == 200 and fetched.content, asset
    assert "openapi" in http.get(site + "/openapi.json").json()

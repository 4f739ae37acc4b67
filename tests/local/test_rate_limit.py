"""Per-user fixed-window rate limiting (3 requests per 2 seconds, set on the shared platform)."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from local_helpers import TOKEN_HEADER, assert_error

from sevenbridges_local.embedded import EmbeddedServer

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _burst(http: requests.Session, url: str, token: str, count: int) -> list[requests.Response]:
    """``count`` requests inside one window (retried if a window boundary split them)."""
    for _ in range(5):
        responses = [http.get(url + "/user", headers={TOKEN_HEADER: token}) for _ in range(count)]
        if len({response.headers["X-RateLimit-Reset"] for response in responses}) == 1:
            return responses
        _wait_for_reset(responses[-1])
    raise AssertionError("could not fit the requests into one rate-limit window")


def _wait_for_reset(response: requests.Response) -> None:
    time.sleep(max(int(response.headers["X-RateLimit-Reset"]) - time.time(), 0) + 0.05)


def test_limit_per_window(
    platform: EmbeddedServer, platform_faults, new_username: Callable[[str], str], http
) -> None:
    platform_faults(rate_limit=3, rate_limit_window=2)
    server = platform
    token = server.token(new_username("limited"))
    responses = _burst(http, server.url, token, 4)

    assert [response.status_code for response in responses[:3]] == [200, 200, 200]
    assert [response.headers["X-RateLimit-Remaining"] for response in responses] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert all(response.headers["X-RateLimit-Limit"] == "3" for response in responses)
    refused = responses[3]
    assert_error(refused, 429, 1000)
    assert "Retry-After" not in refused.headers
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert reset >= int(time.time())

    # Asking for the status is free, even over the limit.
    status = http.get(server.url + "/rate_limit", headers={TOKEN_HEADER: token})
    assert status.status_code == 200
    assert status.json()["rate"] == {"limit": 3, "remaining": 0, "reset": reset}
    assert status.json()["instance_limit"]["limit"] == -1
    assert status.headers["X-RateLimit-Remaining"] == "0"

    # Another user has a budget of their own.
    zoe = server.token(new_username("zoe"))
    other = http.get(server.url + "/user", headers={TOKEN_HEADER: zoe})
    assert other.status_code == 200 and other.headers["X-RateLimit-Remaining"] == "2"

    _wait_for_reset(refused)
    after = http.get(server.url + "/user", headers={TOKEN_HEADER: token})
    assert after.status_code == 200
    assert after.headers["X-RateLimit-Remaining"] == "2"


def test_headers_on_every_response(platform: EmbeddedServer, http, admin_token: str) -> None:
    url, token = platform.url, admin_token
    responses = [
        http.get(url + "/"),  # anonymous
        http.get(url + "/user"),  # 401
        http.get(url + "/user", headers={TOKEN_HEADER: "f" * 32}),  # 401
        http.get(url + "/missing", headers={TOKEN_HEADER: token}),  # 404
        http.put(url + "/user", headers={TOKEN_HEADER: token}),  # 405
        http.post(url + "/projects", headers={TOKEN_HEADER: token}, data=b"{"),  # 400
        http.get(url + "/rate_limit", headers={TOKEN_HEADER: token}),  # 200, not counted
    ]
    for response in responses:
        assert all(header in response.headers for header in RATE_HEADERS), response.url
        assert response.headers["X-RateLimit-Reset"].isdigit()
        assert response.headers["X-RateLimit-Limit"] == "1000"
        assert int(response.headers["X-RateLimit-Remaining"]) <= 1000


def test_limit_changes_at_runtime(platform: EmbeddedServer, platform_faults, http) -> None:
    server = platform  # platform_faults puts the switches back after the test
    admin = {TOKEN_HEADER: server.token("admin")}
    assert http.get(server.url + "/user", headers=admin).headers["X-RateLimit-Limit"] == "1000"
    changed = http.put(server.url + "/_local/faults", headers=admin, json={"rate_limit": 1})
    assert changed.status_code == 200 and changed.json()["rate_limit"] == 1
    # Counters restart with the new limit; the control endpoint itself is never limited.
    assert http.get(server.url + "/user", headers=admin).status_code == 200
    assert_error(http.get(server.url + "/user", headers=admin), 429, 1000)
    assert http.get(server.url + "/_local/faults", headers=admin).status_code == 200
    http.put(server.url + "/_local/faults", headers=admin, json={"rate_limit": 1000})
    assert http.get(server.url + "/user", headers=admin).status_code == 200

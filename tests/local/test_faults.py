"""Maintenance mode and the ``/_local/faults`` control endpoint."""

from __future__ import annotations

from collections.abc import Callable

from local_helpers import TOKEN_HEADER, assert_error

from sevenbridges_local.embedded import EmbeddedServer

# The transfer switches (issue 3) are off by default.
TRANSFER_DEFAULTS = {
    "signed_url_ttl": 3600,
    "drop_transfers": 0,
    "corrupt_parts": 0,
    "transfer_delay_ms": 0,
    "wan_latency_ms": 0,
    "wan_bandwidth_mbps": 0,
}


def test_maintenance_mode_answers_503_code_0(
    start_platform: Callable[..., EmbeddedServer], http
) -> None:
    server = start_platform(maintenance=True)
    admin = {TOKEN_HEADER: server.token("admin")}
    faults = server.url + "/_local/faults"

    for response in (
        http.get(server.url + "/"),
        http.get(server.url + "/user"),
        http.get(server.url + "/user", headers=admin),
        http.post(server.url + "/projects", headers=admin, json={"name": "x"}),
        http.get(server.url + "/no-such-route", headers=admin),
    ):
        assert_error(response, 503, 0)
        assert response.headers["X-RateLimit-Reset"] and response.headers["X-Request-Id"]

    state = http.get(faults, headers=admin)
    assert state.status_code == 200
    assert state.json() == {
        "maintenance": True,
        "rate_limit": 1000,
        "rate_limit_window": 300,
        **TRANSFER_DEFAULTS,
    }

    switched = http.put(faults, headers=admin, json={"maintenance": False})
    assert switched.status_code == 200 and switched.json()["maintenance"] is False
    assert http.get(server.url + "/user", headers=admin).status_code == 200
    assert http.get(server.url + "/").status_code == 200

    before = http.get(server.url + "/projects", headers=admin).json()["items"]
    http.put(faults, headers=admin, json={"maintenance": True})
    assert_error(http.get(server.url + "/projects", headers=admin), 503, 0)
    assert_error(http.post(server.url + "/projects", headers=admin, json={"name": "x"}), 503, 0)
    http.put(faults, headers=admin, json={"maintenance": False})
    assert http.get(server.url + "/projects", headers=admin).status_code == 200
    # Nothing was created while the platform was down (admin only has the public-apps project).
    assert http.get(server.url + "/projects", headers=admin).json()["items"] == before


def test_faults_endpoint_is_for_platform_admins(platform: EmbeddedServer, http) -> None:
    faults = platform.url + "/_local/faults"
    user = {TOKEN_HEADER: platform.token("mallory")}
    assert_error(http.get(faults), 401, 90001)
    assert_error(http.get(faults, headers=user), 403, 90002)
    assert_error(http.put(faults, headers=user, json={"maintenance": True}), 403, 90002)
    assert http.get(platform.url + "/user", headers=user).status_code == 200


def test_faults_settings_are_validated(platform: EmbeddedServer, platform_faults, http) -> None:
    server = platform  # platform_faults puts the switches back after the test
    admin = {TOKEN_HEADER: server.token("admin")}
    faults = server.url + "/_local/faults"
    for body, field in (
        ({"maintenance": "yes"}, "maintenance"),
        ({"rate_limit": -1}, "rate_limit"),
        ({"rate_limit": 2.5}, "rate_limit"),
        ({"rate_limit_window": 0}, "rate_limit_window"),
        ({"latency": 5}, "latency"),
        ({"wan_latency_ms": -1}, "wan_latency_ms"),
        ({"wan_bandwidth_mbps": 1.5}, "wan_bandwidth_mbps"),
    ):
        error = assert_error(http.put(faults, headers=admin, json=body), 400, 90000)
        assert field in error["message"]
    unchanged = http.get(faults, headers=admin).json()
    assert unchanged == {
        "maintenance": False,
        "rate_limit": 1000,
        "rate_limit_window": 300,
        **TRANSFER_DEFAULTS,
    }
    # A subset is enough (the shared platform keeps its values).
    partial = http.put(faults, headers=admin, json={"rate_limit_window": 300})
    assert partial.json() == {
        "maintenance": False,
        "rate_limit": 1000,
        "rate_limit_window": 300,
        **TRANSFER_DEFAULTS,
    }

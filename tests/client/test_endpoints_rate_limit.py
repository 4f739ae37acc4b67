"""API root (``api.endpoints``) and rate limits (``api.rate_limit``) against the local platform."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import sevenbridges as sbg
from sevenbridges.errors import MethodNotAllowed, TooManyRequests, Unauthorized
from sevenbridges.models.compound.limits.rate import Rate, parse_reset_time
from sevenbridges.models.endpoints import Endpoints
from sevenbridges.models.rate_limit import RateLimit

ENDPOINT_PATHS = {
    "rate_limit_url": "/rate_limit",
    "user_url": "/user",
    "users_url": "/users",
    "billing_url": "/billing",
    "projects_url": "/projects",
    "files_url": "/files",
    "tasks_url": "/tasks",
    "apps_url": "/apps",
    "action_url": "/action",
    "upload_url": "/upload",
}


def test_endpoints_lists_absolute_urls_under_the_api_root(api_for, platform, new_username):
    api = api_for(new_username("endpoints"))

    endpoints = api.endpoints.get()

    assert isinstance(endpoints, Endpoints)
    for field, path in ENDPOINT_PATHS.items():
        assert getattr(endpoints, field) == platform.url + path, field
    assert str(endpoints) == repr(endpoints) == "<Endpoints>"


def test_endpoint_urls_are_usable_as_given(api_for, new_username):
    username = new_username("endpoints")
    api = api_for(username)

    user_url = api.endpoints.get().user_url
    body = api.get(url=user_url, append_base=False).json()

    assert body["username"] == username


def test_endpoints_is_a_read_only_resource(api_for, new_username):
    endpoints = api_for(new_username("endpoints")).endpoints.get()

    with pytest.raises(sbg.ReadOnlyPropertyError):
        endpoints.user_url = "http://127.0.0.1:1/v2/user"


def test_rate_limit_reports_the_request_budget(api_for, new_username):
    api = api_for(new_username("rates"))

    limits = api.rate_limit.get()

    assert isinstance(limits, RateLimit)
    rate = limits.rate
    assert isinstance(rate, Rate)
    assert isinstance(rate.limit, int) and rate.limit > 0
    assert isinstance(rate.remaining, int) and 0 <= rate.remaining <= rate.limit
    assert isinstance(rate.reset, datetime)
    assert str(rate) == f"<Rate: limit={rate.limit}, remaining={rate.remaining}>"
    instance = limits.instance_limit
    assert isinstance(instance, Rate)
    assert isinstance(instance.limit, int)


def test_rate_limit_body_matches_the_response_headers(api_for, new_username):
    api = api_for(new_username("rates"))

    rate = api.rate_limit.get().rate
    # Api.limit issues its own GET /rate_limit and reads the headers of that response.
    assert api.limit == rate.limit
    # The reset time from the body and from the header describe the same window.
    assert abs(api.reset_time - rate.reset) <= timedelta(seconds=2)


def test_rate_limit_get_accepts_an_explicit_api(api_for, new_username):
    api = api_for(new_username("rates"))

    limits = RateLimit.get(api=api)

    assert limits.rate.limit == api.limit


def test_remaining_requests_go_down_and_the_limit_is_enforced(
    platform_faults, api_for, new_username
):
    platform_faults(rate_limit=6, rate_limit_window=3600)
    api = api_for(new_username("limited"), debug=True)

    first = api.rate_limit.get().rate
    api.users.me()
    second = api.rate_limit.get().rate

    assert first.limit == second.limit == 6
    # Asking for the budget is free; the call in between spent one request.
    assert second.remaining == first.remaining - 1
    with pytest.raises(TooManyRequests) as caught:
        for _ in range(first.limit + 1):
            api.users.me()
    assert caught.value.status == 429
    assert caught.value.code == 1000
    assert caught.value.message


def test_wrong_method_is_method_not_allowed(api_for, new_username):
    api = api_for(new_username("methods"))

    with pytest.raises(MethodNotAllowed) as caught:
        api.put(url="/rate_limit", data={})
    assert caught.value.status == 405
    assert caught.value.code == 90006


def test_bad_token_is_unauthorized(platform):
    api = sbg.Api(url=platform.url, token="0" * 32, debug=True)

    with pytest.raises(Unauthorized) as caught:
        api.rate_limit.get()
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:30:45Z", datetime(2024, 5, 1, 12, 30, 45)),
        ("2024-05-01T12:30:45.123Z", datetime(2024, 5, 1, 12, 30, 45, 123000)),
        ("2024-05-01T12:30:45", datetime(2024, 5, 1, 12, 30, 45)),
        ("2024-05-01T12:30:45+02:00", datetime(2024, 5, 1, 10, 30, 45)),
        (1717171717, datetime.fromtimestamp(1717171717)),
        ("1717171717", datetime.fromtimestamp(1717171717)),
        (1717171717.5, datetime.fromtimestamp(1717171717.5)),
        (None, None),
        ("", None),
    ],
)
def test_rate_reset_accepts_epoch_seconds_and_iso_text(raw, expected):
    # The platform sends epoch integers where the reference client expected ISO text.
    assert Rate(reset=raw).reset == expected
    assert parse_reset_time(raw) == expected


@pytest.mark.parametrize("raw", ["soon", "2024-13-45T99:00:00", True, {"at": 1}])
def test_rate_reset_reads_values_that_are_not_times_as_none(raw):
    # Like every DateTimeField: an unreadable value never crashes attribute access.
    assert Rate(reset=raw).reset is None
    assert parse_reset_time(raw) is None

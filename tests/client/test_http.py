"""The HTTP layer against the live local platform: wire format, URL rule, secrets, handlers."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter, HTTPAdapter

import sevenbridges as sbg
from sevenbridges import errors
from sevenbridges.http import error_handlers
from sevenbridges.http.client import (
    AAHeader,
    RequestSession,
    client_info,
    generate_session,
    mask_secrets,
)
from sevenbridges.http.error_handlers import (
    general_error_sleeper,
    maintenance_sleeper,
    rate_limit_sleeper,
    repeatable_handler,
)
from sevenbridges.models.project import Project
from sevenbridges.models.user import User

USER_AGENT = re.compile(
    r"^sevenbridges-python/2\.11\.2 \([^,]+, Python/\d+\.\d+\.\d+; requests/[\w.]+; "
    r"urllib3/[\w.]+\)$"
)


def record_responses(api: sbg.Api) -> list[requests.Response]:
    """Collect every response the client's session receives (including handler re-sends)."""
    seen: list[requests.Response] = []
    api.session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    return seen


@pytest.fixture
def maintenance(platform, admin_token):
    """Turn maintenance on the shared platform on; it is always switched off at the end."""
    faults_url = platform.url + "/_local/faults"

    def switch(on: bool) -> None:
        response = requests.put(
            faults_url,
            json={"maintenance": on},
            headers={"X-SBG-Auth-Token": admin_token},
            timeout=30,
        )
        response.raise_for_status()

    switch(True)
    try:
        yield switch
    finally:
        switch(False)


# --------------------------------------------------------------------------- wire format


def test_every_api_request_carries_the_platform_headers_and_a_json_body(admin_api, admin_token):
    seen = record_responses(admin_api)
    response = admin_api.get("/user")
    assert response.json()["username"] == "admin"
    sent = seen[-1].request
    assert sent.headers["Content-Type"] == "application/json"
    assert USER_AGENT.match(sent.headers["User-Agent"]), sent.headers["User-Agent"]
    assert sent.headers["X-SBG-Auth-Token"] == admin_token
    assert "Authorization" not in sent.headers
    assert AAHeader.key not in sent.headers
    assert sent.body in (b"null", "null")


def test_post_sends_json_and_delete_sends_an_empty_object(api_for, new_username):
    api = api_for(new_username("wire"))
    seen = record_responses(api)
    created = api.post("/projects", data={"name": "wire format", "tags": ["a", "b"]}).json()
    assert json.loads(seen[-1].request.body) == {"name": "wire format", "tags": ["a", "b"]}
    assert api.delete(f"/projects/{created['id']}") is None  # 204
    assert seen[-1].status_code == 204
    assert seen[-1].request.body in (b"{}", "{}")
    assert seen[-1].request.method == "DELETE"


def test_params_with_none_are_not_sent(api_for, new_username):
    api = api_for(new_username("params"))
    response = api.get("/projects/", params={"limit": 1, "name": None, "offset": 0})
    query = parse_qs(urlsplit(response.request.url).query)
    assert query == {"limit": ["1"], "offset": ["0"]}


def test_caller_headers_are_sent_but_the_client_headers_win(admin_api):
    response = admin_api.get("/user", headers={"X-Trace": "abc", "Content-Type": "text/yaml"})
    assert response.request.headers["X-Trace"] == "abc"
    assert response.request.headers["Content-Type"] == "application/json"


def test_advance_access_adds_its_header_and_can_be_switched(platform, admin_token, caplog):
    with caplog.at_level(logging.WARNING, logger="sevenbridges"):
        api = sbg.Api(url=platform.url, token=admin_token, advance_access=True)
    assert api.aa is True
    assert "dvance access" in caplog.text
    assert api.get("/user").request.headers[AAHeader.key] == AAHeader.value == "Advance"
    api.aa = False
    assert AAHeader.key not in api.get("/user").request.headers


def test_oauth_token_goes_in_a_bearer_header(platform):
    api = sbg.Api(url=platform.url, oauth_token="oauth-secret-value")
    seen = record_responses(api)
    with contextlib.suppress(errors.Unauthorized):  # the local platform may not know OAuth
        api.get("/user")
    assert seen[-1].request.headers["Authorization"] == "Bearer oauth-secret-value"
    assert "X-SBG-Auth-Token" not in seen[-1].request.headers


def test_developer_token_wins_over_oauth(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token, oauth_token="ignored")
    sent = api.get("/user").request.headers
    assert sent["X-SBG-Auth-Token"] == admin_token
    assert "Authorization" not in sent


def test_session_id_replaces_the_token_headers(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token)
    api._session_id = "session-123"
    seen = record_responses(api)
    with contextlib.suppress(errors.Unauthorized):
        api.get("/user")
    sent = seen[-1].request.headers
    assert sent["X-SBG-Session-Id"] == "session-123"
    assert "X-SBG-Auth-Token" not in sent
    assert "Authorization" not in sent


def test_stream_get_sends_no_api_headers(platform, admin_api):
    response = admin_api.get(platform.url + "/", append_base=False, stream=True)
    assert response.status_code == 200
    assert "X-SBG-Auth-Token" not in response.request.headers
    assert response.request.headers.get("Content-Type") != "application/json"
    assert response.request.body is None
    assert "user_url" in response.json()


def test_append_base_false_takes_an_absolute_url(platform, admin_api):
    response = admin_api.get(platform.url + "/user", append_base=False)
    assert response.json()["username"] == "admin"


def test_timeout_is_passed_to_requests(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token, timeout=12.5)
    timeouts: list[object] = []
    original = api.session.request

    def spy(*args, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return original(*args, **kwargs)

    api.session.request = spy
    api.users.me()
    assert timeouts == [12.5]
    assert sbg.Api(url=platform.url, token=admin_token).timeout is None


def test_parallel_requests_are_bounded_by_max_parallel_requests(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token, max_parallel_requests=2)
    lock = threading.Lock()
    in_flight = 0
    peak = 0
    original = api.session.request

    def counting(*args, **kwargs):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(0.05)  # widen the window in which calls could overlap
            return original(*args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    api.session.request = counting
    with ThreadPoolExecutor(max_workers=6) as pool:
        names = list(pool.map(lambda _: api.users.me().username, range(12)))
    assert names == ["admin"] * 12
    assert 1 <= peak <= 2


# --------------------------------------------------------------------------- construction


def test_api_signature_matches_the_reference():
    parameters = inspect.signature(sbg.Api).parameters
    assert {name: p.default for name, p in parameters.items()} == {
        "url": None, "token": None, "oauth_token": None, "config": None, "timeout": None,
        "download_max_workers": 16, "upload_max_workers": 16, "proxies": None,
        "error_handlers": None, "advance_access": False, "pool_connections": 10,
        "pool_maxsize": 100, "pool_block": True, "max_parallel_requests": 100,
        "retry_count": 6, "backoff_factor": 1, "debug": False,
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/v2",
        "http://127.4.5.6/v2",
        "http://localhost:9000/v2",
        "HTTP://LocalHost/v2",
        "http://[::1]:8080/v2",
    ],
)
def test_plain_http_is_accepted_on_loopback(url):
    api = sbg.Api(url=url, token="t" * 32)
    assert api.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.sbgenomics.com/v2",
        "http://10.0.0.8:8765/v2",
        "http://localhost.example.com/v2",
        "http://127.0.0.1.example.com/v2",
        "http://[2001:db8::1]/v2",
    ],
)
def test_plain_http_to_other_hosts_is_refused_unless_debug(url):
    with pytest.raises(errors.SbgError, match="http"):
        sbg.Api(url=url, token="t" * 32)
    assert sbg.Api(url=url, token="t" * 32, debug=True).url == url
    # nothing is sent at construction time, so https never needs a server either
    assert sbg.Api(url=url.replace("http:", "https:"), token="t" * 32)


def test_trailing_slash_is_stripped(platform, admin_token):
    api = sbg.Api(url=platform.url + "/", token=admin_token)
    assert api.url == platform.url
    assert api.users.me().username == "admin"


def test_missing_url_or_token_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SB_API_ENDPOINT", raising=False)
    monkeypatch.delenv("SB_AUTH_TOKEN", raising=False)
    with pytest.raises(errors.SbgError, match="URL is missing"):
        sbg.Api()
    with pytest.raises(errors.SbgError, match="Required authorization"):
        sbg.Api(url="https://api.example.org/v2")


def test_resource_attributes_bind_the_api_they_are_read_from(platform, admin_token):
    first = sbg.Api(url=platform.url, token=admin_token)
    second = sbg.Api(url=platform.url, token=admin_token)
    assert first.projects is Project
    assert Project._API is first
    assert second.users is User and User._API is second
    assert second.projects is Project and Project._API is second
    assert (first.billing_groups, first.invoices) == (sbg.BillingGroup, sbg.Invoice)
    assert (first.endpoints, first.rate_limit) == (sbg.Endpoints, sbg.RateLimit)


def test_thread_pools_are_created_lazily_with_the_requested_sizes():
    api = sbg.Api(url="https://api.example.org/v2", token="t" * 32,
                  download_max_workers=3, upload_max_workers=5)
    assert api._download_pool is None and api._upload_pool is None
    assert api.download_pool is api.download_pool
    assert api.download_pool._max_workers == 3
    assert api.upload_pool._max_workers == 5
    api.download_pool.shutdown()
    api.upload_pool.shutdown()
    replacement = ThreadPoolExecutor(max_workers=1)
    api.download_pool = replacement
    assert api.download_pool is replacement
    replacement.shutdown()


# --------------------------------------------------------------------------- sessions


def test_api_session_carries_pool_and_retry_settings():
    api = sbg.Api(url="https://api.example.org/v2", token="t" * 32, pool_connections=3,
                  pool_maxsize=7, pool_block=False, retry_count=2, backoff_factor=0.5)
    assert isinstance(api.session, RequestSession)
    for prefix in ("http://", "https://"):
        adapter = api.session.get_adapter(prefix + "example.org")
        assert isinstance(adapter, HTTPAdapter)
        assert adapter.max_retries.total == 2
        assert adapter.max_retries.backoff_factor == 0.5
        assert (adapter._pool_connections, adapter._pool_maxsize, adapter._pool_block) == (
            3, 7, False,
        )
    assert (api.pool_connections, api.pool_maxsize, api.pool_block) == (3, 7, False)


def test_generate_session_defaults_and_old_signature():
    session = generate_session(10, 100, True)
    retries = session.get_adapter("https://x").max_retries
    assert (retries.total, retries.backoff_factor) == (6, 1)
    assert session.proxies == {}
    zeroes = generate_session(10, 100, True, retry_count=0, backoff_factor=0)
    assert zeroes.get_adapter("https://x").max_retries.total == 6  # falsy means default
    old_style = generate_session({"https": "proxy.example:3128"})
    assert old_style.proxies == {"https": "proxy.example:3128"}
    assert isinstance(old_style, RequestSession)


def test_request_session_refuses_long_urls_without_connecting():
    session = RequestSession()
    # Port 9 on loopback has no server: a real attempt would fail with a connection error.
    with pytest.raises(errors.URITooLong) as caught:
        session.get("http://127.0.0.1:9/" + "a" * 6001)
    assert caught.value.status == 414
    prepared = requests.Request("GET", "http://127.0.0.1:9/" + "a" * 5000).prepare()
    assert len(prepared.url) <= 6000
    with pytest.raises(requests.ConnectionError):
        session.send(prepared, timeout=5)


# --------------------------------------------------------------------------- secrets


def test_repr_and_str_show_the_url_but_never_the_token(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token)
    for text in (repr(api), str(api)):
        assert text.startswith(f"<API({platform.url}) - ")
        assert admin_token not in text
    oauth = sbg.Api(url=platform.url, oauth_token="a-secret-oauth-token-value")
    assert "a-secret-oauth-token-value" not in repr(oauth)


def test_debug_logs_never_contain_the_token(platform, admin_token, caplog):
    api = sbg.Api(url=platform.url, token=admin_token)
    with caplog.at_level(logging.DEBUG, logger="sevenbridges"):
        api.users.me()
        with pytest.raises(errors.NotFound):
            api.get("/no/such/route")
        api.get("/projects/", params={"limit": 1})
    assert "GET" in caplog.text
    assert "/user" in caplog.text
    assert "404" in caplog.text
    assert "*****" in caplog.text
    assert admin_token not in caplog.text


def test_mask_secrets_copies_and_masks_secret_headers():
    original = {
        "url": "https://x/v2/user",
        "headers": {"X-SBG-Auth-Token": "tok", "X-SBG-Session-Id": "sid",
                    "Authorization": "Bearer o", "Accept": "*/*"},
        "params": {"nested": {"a": [1, 2]}},
    }
    masked = mask_secrets(original)
    assert masked["headers"] == {"X-SBG-Auth-Token": "*****", "X-SBG-Session-Id": "*****",
                                 "Authorization": "*****", "Accept": "*/*"}
    assert original["headers"]["X-SBG-Auth-Token"] == "tok"
    masked["params"]["nested"]["a"].append(3)
    assert original["params"]["nested"]["a"] == [1, 2]
    assert mask_secrets({"url": "u"}) == {"url": "u"}


def test_client_info_describes_this_client():
    assert set(client_info) == {"version", "os", "python", "requests", "urllib3"}
    assert client_info["version"] == sbg.__version__ == "2.11.2"
    assert sbg.__toolkit_version__ == "0.1.0"
    assert client_info["requests"] == requests.__version__


# --------------------------------------------------------------------------- rate limit, request id


def test_rate_limit_properties_ask_the_platform_first(platform_faults, api_for, new_username):
    platform_faults(rate_limit=50, rate_limit_window=300)
    api = api_for(new_username("counter"))
    seen = record_responses(api)
    assert api.limit == 50
    assert urlsplit(seen[-1].url).path.endswith("/rate_limit")
    first = api.remaining
    assert isinstance(first, int) and 0 < first <= 50
    api.users.me()  # one counted call
    assert api.remaining == first - 1
    reset = api.reset_time
    assert isinstance(reset, datetime)
    assert reset == datetime.fromtimestamp(int(seen[-1].headers["X-RateLimit-Reset"]))
    assert [urlsplit(r.url).path.rsplit("/", 1)[-1] for r in seen] == [
        "rate_limit", "rate_limit", "user", "rate_limit", "rate_limit",
    ]


def test_request_id_is_the_last_seen_header(admin_api):
    assert admin_api.request_id is None or isinstance(admin_api.request_id, str)
    first = admin_api.get("/user")
    assert admin_api.request_id == first.headers["X-Request-Id"]
    second = admin_api.get("/user")
    assert admin_api.request_id == second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    with pytest.raises(errors.NotFound):
        admin_api.get("/nowhere")
    assert admin_api.request_id not in (first.headers["X-Request-Id"], None)


# --------------------------------------------------------------------------- error handlers


def test_handler_list_management(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token,
                  error_handlers=[maintenance_sleeper, rate_limit_sleeper, rate_limit_sleeper])
    assert api.error_handlers == [maintenance_sleeper, rate_limit_sleeper]
    quick = functools.partial(maintenance_sleeper, sleep=0.1)
    api.add_error_handler(quick)
    api.add_error_handler(quick)
    assert api.error_handlers == [maintenance_sleeper, rate_limit_sleeper, quick]
    with pytest.raises(errors.SbgError):
        api.add_error_handler("not callable")
    api.remove_error_handler(rate_limit_sleeper)
    api.remove_error_handler(rate_limit_sleeper)  # removing twice is harmless
    assert api.error_handlers == [maintenance_sleeper, quick]
    default = sbg.Api(url=platform.url, token=admin_token)
    assert default.error_handlers == [maintenance_sleeper]


def test_all_built_in_handlers_are_repeatable():
    for handler in (maintenance_sleeper, rate_limit_sleeper, general_error_sleeper):
        assert handler.is_repeatable is True

    def plain(api, response):
        return response

    assert repeatable_handler(plain) is plain and plain.is_repeatable is True


def test_a_repeatable_handler_that_replaces_the_response_restarts_the_chain(admin_api):
    calls: list[str] = []

    def first(api, response):
        calls.append("first")
        return response

    @repeatable_handler
    def resend_once(api, response):
        calls.append("resend_once")
        if calls.count("resend_once") == 1:
            return api.session.send(response.request)
        return response

    def replace_without_restart(api, response):
        calls.append("replace")
        if calls.count("replace") == 1:
            return api.session.send(response.request)
        return response

    admin_api.error_handlers = [first, resend_once, replace_without_restart]
    seen = record_responses(admin_api)
    returned = admin_api.get("/user")
    assert calls == ["first", "resend_once", "first", "resend_once", "replace"]
    assert len(seen) == 3
    assert returned is seen[-1]


def test_rate_limit_sleeper_waits_for_the_reset_and_succeeds(
    platform_faults, api_for, new_username
):
    platform_faults(rate_limit=2, rate_limit_window=2)
    sleepy = new_username("sleepy")
    api = api_for(sleepy, error_handlers=[rate_limit_sleeper])
    sends: list[tuple[int, float, str | None]] = []
    original_send = api.session.send

    def spy(request, **kwargs):
        sent_at = time.time()
        response = original_send(request, **kwargs)
        sends.append((response.status_code, sent_at, response.headers.get("X-RateLimit-Reset")))
        return response

    api.session.send = spy
    names = [api.users.me().username for _ in range(3)]
    assert names == [sleepy] * 3
    statuses = [status for status, _, _ in sends]
    assert statuses[:3] == [200, 200, 429]
    assert statuses[-1] == 200
    announced_reset = int(sends[2][2])
    retry_sent_at = sends[3][1]
    assert retry_sent_at >= announced_reset  # it waited for the window to end


class _FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_rate_limit_sleeper_sleeps_until_the_announced_reset(monkeypatch):
    clock = _FakeClock(1000.4)
    monkeypatch.setattr(error_handlers, "time", clock)
    api = _api_answering_sequence([
        (429, {"X-RateLimit-Reset": "1003"}),
        (429, {"X-RateLimit-Reset": "900"}),  # already past: no waiting
        (429, {}),  # no reset header: a short fallback wait instead of a crash
        (200, {}),
    ])
    assert api.get("/user").status_code == 200
    assert clock.slept == [3, 0, 1.0]


def test_maintenance_sleeper_waits_until_maintenance_ends(admin_api, maintenance):
    admin_api.error_handlers = [functools.partial(maintenance_sleeper, sleep=0.2)]
    saw_maintenance = threading.Event()
    statuses: list[int] = []

    def watch(response, *args, **kwargs):
        statuses.append(response.status_code)
        if response.status_code == 503:
            saw_maintenance.set()

    admin_api.session.hooks["response"].append(watch)

    def end_maintenance_later():
        saw_maintenance.wait(60)
        maintenance(False)

    helper = threading.Thread(target=end_maintenance_later)
    helper.start()
    try:
        assert admin_api.users.me().username == "admin"
    finally:
        helper.join()
    assert statuses[0] == 503 and statuses[-1] == 200


def test_general_error_sleeper_retries_server_errors(admin_api, maintenance):
    admin_api.error_handlers = [functools.partial(general_error_sleeper, sleep=0.2)]
    statuses: list[int] = []
    first_error = threading.Event()

    def watch(response, *args, **kwargs):
        statuses.append(response.status_code)
        if response.status_code >= 500:
            first_error.set()

    admin_api.session.hooks["response"].append(watch)
    helper = threading.Thread(target=lambda: (first_error.wait(60), maintenance(False)))
    helper.start()
    try:
        assert admin_api.users.me().username == "admin"
    finally:
        helper.join()
    assert statuses[0] == 503 and statuses[-1] == 200


def test_maintenance_sleeper_ignores_other_503s(monkeypatch):
    clock = _FakeClock(0)
    monkeypatch.setattr(error_handlers, "time", clock)
    api = _api_answering_sequence([(503, {})], body={"code": 90005, "message": "down"})
    with pytest.raises(errors.ServiceUnavailable) as caught:
        api.get("/user")
    assert caught.value.code == 90005
    assert clock.slept == []


# --------------------------------------------------------------------------- canned transport


class _SequenceAdapter(BaseAdapter):
    """Plays a fixed sequence of (status, headers) answers; the last one repeats."""

    def __init__(self, answers, body):
        super().__init__()
        self.answers = list(answers)
        self.body = body

    def send(self, request, **kwargs):
        status, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        response.headers.update(headers)
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def _api_answering_sequence(answers, body=None) -> sbg.Api:
    api = sbg.Api(url="https://platform.invalid/v2", token="t" * 32,
                  error_handlers=[rate_limit_sleeper])
    api.session.mount("https://", _SequenceAdapter(answers, body or {"code": 1000}))
    return api

"""Errors: the hierarchy itself, and how each HTTP status of the live platform maps to it."""

from __future__ import annotations

import pickle
import socket

import pytest
import requests
from requests.adapters import BaseAdapter

import sevenbridges as sbg
from sevenbridges import errors
from sevenbridges.decorators import check_for_error
from sevenbridges.http.error_handlers import maintenance_sleeper

HTTP_CLASSES = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    408: errors.RequestTimeout,
    409: errors.Conflict,
    414: errors.URITooLong,
    429: errors.TooManyRequests,
    500: errors.ServerError,
    503: errors.ServiceUnavailable,
}


# --------------------------------------------------------------------------- the hierarchy


def test_every_public_error_is_an_sbg_error_and_exported():
    for name in errors.__all__:
        if name == "HTTP_ERRORS":
            continue
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SbgError), name
    for name in [
        "SbgError", "ResourceNotModified", "ReadOnlyPropertyError", "ValidationError",
        "TaskValidationError", "PaginationError", "BadRequest", "Unauthorized", "Forbidden",
        "NotFound", "Conflict", "TooManyRequests", "ServerError", "ServiceUnavailable",
        "MethodNotAllowed", "RequestTimeout", "LocalFileAlreadyExists",
        "ExecutionDetailsInvalidTaskType",
    ]:
        assert getattr(sbg, name) is getattr(errors, name)
        assert name in sbg.__all__
    for name in ["NonJSONResponseError", "AdvanceAccessError", "URITooLong"]:
        assert name not in sbg.__all__
        assert issubclass(getattr(errors, name), errors.SbgError)


def test_sbg_error_keeps_all_four_keys_and_str_is_the_message():
    error = errors.SbgError("boom", code=5002, status=404, more_info="https://docs")
    assert (error.message, error.code, error.status, error.more_info) == (
        "boom", 5002, 404, "https://docs",
    )
    assert str(error) == "boom"
    assert str(errors.SbgError()) == "None"
    # keyword order: message first
    assert errors.SbgError("m", 1, 2, "i").more_info == "i"


@pytest.mark.parametrize("status, cls", sorted(HTTP_CLASSES.items()))
def test_http_errors_have_fixed_status_and_code_message_order(status, cls):
    error = cls(7, "text", "info")
    assert error.status == status
    assert (error.code, error.message, error.more_info) == (7, "text", "info")
    assert str(error) == "text"
    assert cls().message is None


def test_client_side_errors_use_minus_one():
    for error in [
        errors.ResourceNotModified(),
        errors.ReadOnlyPropertyError("ro"),
        errors.ValidationError("bad"),
        errors.PaginationError("none"),
        errors.AdvanceAccessError(),
        errors.TaskValidationError("invalid", task="the-task"),
    ]:
        assert error.status == -1
        assert error.code == -1
    assert errors.TaskValidationError("invalid", task="the-task").task == "the-task"
    assert errors.TaskValidationError("invalid").task is None
    assert errors.ResourceNotModified().message  # explains itself
    assert errors.LocalFileAlreadyExists(message="/tmp/x").status == -1
    assert str(errors.LocalFileAlreadyExists(message="/tmp/x")) == "/tmp/x"
    assert errors.ExecutionDetailsInvalidTaskType().status == -1


def test_non_json_response_error_takes_status_first():
    error = errors.NonJSONResponseError(502, message="<html>bad gateway</html>")
    assert error.status == 502
    assert error.code is None
    assert "bad gateway" in str(error)


def test_errors_survive_pickling():
    original = errors.NotFound(code=5002, message="no such file", more_info="x")
    restored = pickle.loads(pickle.dumps(original))
    assert type(restored) is errors.NotFound
    assert (restored.code, restored.message) == (5002, "no such file")
    assert (restored.status, restored.more_info) == (404, "x")
    task_error = pickle.loads(pickle.dumps(errors.TaskValidationError("m", task="t")))
    assert task_error.task == "t"


# --------------------------------------------------------------------------- live platform


def test_401_for_a_bad_token(platform):
    api = sbg.Api(url=platform.url, token="0" * 32)
    with pytest.raises(errors.Unauthorized) as caught:
        api.users.me()
    assert caught.value.status == 401
    assert caught.value.code == 90001
    assert caught.value.message  # the server's text is carried over
    assert caught.value.more_info


def test_404_for_an_unknown_project(api_for, new_username):
    username = new_username("nf")
    api = api_for(username)
    with pytest.raises(errors.NotFound) as caught:
        api.projects.get(f"{username}/no-such-project")
    assert caught.value.status == 404
    assert isinstance(caught.value.code, int) and caught.value.code != 0
    assert caught.value.message


def test_404_for_an_unknown_route(admin_api):
    with pytest.raises(errors.NotFound) as caught:
        admin_api.get("/definitely/not/a/route")
    assert caught.value.code == 90003


def test_405_for_a_wrong_method(admin_api):
    with pytest.raises(errors.MethodNotAllowed) as caught:
        admin_api.put("/user", data={"first_name": "x"})
    assert caught.value.status == 405
    assert caught.value.code == 90006


def test_409_for_adding_the_same_member_twice(api_for, new_username):
    owner, guest = new_username("own"), new_username("guest")
    api = api_for(owner)
    api_for(guest)  # make sure the guest exists
    project = api.post("/projects", data={"name": "conflicts"}).json()
    members_url = f"/projects/{project['id']}/members"
    member = {"username": guest, "type": "USER", "permissions": {"read": True}}
    api.post(members_url, data=member)
    with pytest.raises(errors.Conflict) as caught:
        api.post(members_url, data=member)
    assert caught.value.status == 409
    assert caught.value.message


def test_400_for_an_invalid_body(api_for, new_username):
    api = api_for(new_username("bad"))
    with pytest.raises(errors.BadRequest) as caught:
        api.post("/projects", data={"description": "a project without a name"})
    assert caught.value.status == 400
    assert isinstance(caught.value.code, int)
    assert caught.value.message


def test_429_when_the_rate_limit_is_exceeded(platform_faults, api_for, new_username):
    platform_faults(rate_limit=2, rate_limit_window=30)
    api = api_for(new_username("limited"))
    api.users.me()
    api.users.me()
    with pytest.raises(errors.TooManyRequests) as caught:
        api.users.me()
    assert caught.value.status == 429
    assert caught.value.code == 1000
    assert caught.value.message


@pytest.fixture
def maintenance(platform, admin_token):
    """Switch maintenance on the shared platform on, and always off again afterwards."""
    faults_url = platform.url + "/_local/faults"
    headers = {"X-SBG-Auth-Token": admin_token}

    def switch(on: bool) -> None:
        response = requests.put(faults_url, json={"maintenance": on}, headers=headers, timeout=30)
        response.raise_for_status()
        assert response.json()["maintenance"] is on

    switch(True)
    try:
        yield switch
    finally:
        switch(False)


def test_503_maintenance_maps_to_service_unavailable_without_the_sleeper(admin_api, maintenance):
    admin_api.remove_error_handler(maintenance_sleeper)
    with pytest.raises(errors.ServiceUnavailable) as caught:
        admin_api.users.me()
    assert caught.value.status == 503
    assert caught.value.code == 0


def test_transport_failures_become_sbg_error():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = sbg.Api(url=f"http://127.0.0.1:{port}/v2", token="t" * 32, retry_count=1)
    with pytest.raises(errors.SbgError) as caught:
        api.users.me()
    assert type(caught.value) is errors.SbgError
    assert "127.0.0.1" in caught.value.message or "onnect" in caught.value.message


def test_uri_too_long_is_refused_before_sending(admin_api):
    admin_api.users.me()
    request_id = admin_api.request_id
    with pytest.raises(errors.URITooLong) as caught:
        admin_api.get("/projects/", params={"name": "x" * 7000})
    assert caught.value.status == 414
    assert admin_api.request_id == request_id  # nothing reached the server


# --------------------------------------------------------------------------- cases the server
# cannot produce: a tiny in-process transport adapter plays the server.


class _CannedAdapter(BaseAdapter):
    """Answers every request with one fixed response."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers["Content-Type"] = self.content_type
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def _api_answering(status: int, body: bytes, content_type: str = "application/json") -> sbg.Api:
    api = sbg.Api(url="https://platform.invalid/v2", token="t" * 32)
    api.session.mount("https://", _CannedAdapter(status, body, content_type))
    return api


def test_non_json_error_body_gives_non_json_response_error():
    api = _api_answering(502, b"<html>Bad gateway</html>", "text/html")
    with pytest.raises(errors.NonJSONResponseError) as caught:
        api.get("/user")
    assert caught.value.status == 502
    assert "Bad gateway" in caught.value.message


def test_unlisted_status_gives_plain_sbg_error_filled_from_body():
    api = _api_answering(418, b'{"status": 418, "code": 1234, "message": "teapot"}')
    with pytest.raises(errors.SbgError) as caught:
        api.get("/user")
    assert type(caught.value) is errors.SbgError
    assert (caught.value.status, caught.value.code, caught.value.message) == (418, 1234, "teapot")


@pytest.mark.parametrize("status", [403, 408, 500])
def test_statuses_the_local_platform_rarely_sends(status):
    api = _api_answering(status, b'{"code": 42, "message": "canned", "more_info": "m"}')
    with pytest.raises(HTTP_CLASSES[status]) as caught:
        api.get("/user")
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, 42, "canned")
    assert caught.value.more_info == "m"


def test_non_json_503_is_returned_by_the_sleeper_and_raised():
    api = _api_answering(503, b"Service Unavailable", "text/plain")
    with pytest.raises(errors.NonJSONResponseError) as caught:
        api.get("/user")  # maintenance_sleeper (installed by default) must not wait on this
    assert caught.value.status == 503


def test_success_statuses():
    assert _api_answering(203, b"{}").get("/user").status_code == 203
    assert _api_answering(204, b"").delete("/projects/a/b") is None
    with pytest.raises(errors.SbgError):
        _api_answering(206, b"{}").get("/user")


def test_check_for_error_wraps_any_callable():
    calls = []

    @check_for_error
    def fake_request():
        calls.append(1)
        raise requests.ConnectionError("line is down")

    with pytest.raises(errors.SbgError, match="line is down"):
        fake_request()
    assert calls == [1]

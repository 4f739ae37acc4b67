"""Every failure is the platform's JSON error body with the right status and code."""

from __future__ import annotations

from collections.abc import Callable

from local_helpers import Caller, assert_error, run_sql

from sevenbridges_local.embedded import EmbeddedServer


def test_unknown_routes_are_404_json(admin: Caller, anonymous: Caller) -> None:
    assert_error(admin.get("/no-such-resource"), 404, 90003)
    assert_error(admin.get("/projects/a/b/c/d/e"), 404, 90003)
    # Outside the API root no token is needed to be told there is nothing.
    assert_error(anonymous.get(anonymous.url.removesuffix("/v2") + "/elsewhere"), 404, 90003)


def test_wrong_method_is_405_json(admin: Caller) -> None:
    response = admin.put("/user", json={})
    assert_error(response, 405, 90006)
    assert "GET" in response.headers["Allow"]
    assert_error(admin.post("/billing/groups", json={}), 405, 90006)


def test_malformed_json_body_is_400_90009(admin: Caller) -> None:
    response = admin.post(
        "/projects", data=b'{"name": "oops"', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 90009)
    assert_error(admin.post("/projects", data=b"\xff\xfe"), 400, 90009)


def test_body_must_be_an_object(admin: Caller) -> None:
    body = assert_error(admin.post("/projects", json=["name"]), 400, 90000)
    assert "object" in body["message"]


def test_null_and_empty_bodies_are_accepted_where_none_is_expected(
    alice: Caller, bob: Caller
) -> None:
    json_headers = {"Content-Type": "application/json"}
    assert alice.get("/user", data=b"null", headers=json_headers).status_code == 200
    assert alice.get("/billing/groups", data=b"{}", headers=json_headers).status_code == 200
    project = alice.create_project("null bodies")
    members = f"/projects/{project['id']}/members"
    assert alice.post(members, json={"username": bob.username}).status_code == 201
    deleted = alice.delete(f"{members}/{bob.username}", data=b"{}", headers=json_headers)
    assert deleted.status_code == 204
    assert alice.delete(f"/projects/{project['id']}", data=b"null").status_code == 204


def test_wrong_value_types_name_the_field(alice: Caller) -> None:
    body = assert_error(alice.post("/projects", json={"name": "x", "tags": "a,b"}), 400, 90000)
    assert "'tags'" in body["message"]
    body = assert_error(alice.post("/projects", json={"name": 42}), 400, 90000)
    assert "'name'" in body["message"]
    body = assert_error(alice.post("/projects", json={"name": "x", "settings": []}), 400, 90000)
    assert "'settings'" in body["message"]
    body = assert_error(
        alice.post("/projects", json={"name": "x", "settings": {"locked": "yes"}}), 400, 90000
    )
    assert "settings.locked" in body["message"]


def test_project_name_limits(alice: Caller) -> None:
    assert_error(alice.post("/projects", json={}), 400, 3007)
    assert_error(alice.post("/projects", json={"name": "   "}), 400, 3007)
    body = assert_error(alice.post("/projects", json={"name": "n" * 256}), 400, 90000)
    assert "'name'" in body["message"]
    assert alice.create_project("n" * 255)["name"] == "n" * 255
    for name in ("bad\nname", "tab\there", "bell\x07"):
        body = assert_error(alice.post("/projects", json={"name": name}), 400, 90000)
        assert "control characters" in body["message"]


def test_every_response_has_its_own_request_id(alice: Caller, anonymous: Caller) -> None:
    responses = [
        alice.get("/user"),
        alice.get("/nowhere"),
        anonymous.get("/"),
        anonymous.get("/user"),
    ]
    request_ids = [response.headers["X-Request-Id"] for response in responses]
    assert all(request_ids)
    assert len(set(request_ids)) == len(request_ids)


def test_unexpected_errors_are_500_json_without_traceback(
    start_platform: Callable[..., EmbeddedServer], http
) -> None:
    server = start_platform()
    token = server.token("admin")
    # Break the database behind the server's back: the next invoice lookup fails inside it.
    run_sql(server, "DROP TABLE invoices")
    response = http.get(server.url + "/billing/invoices", headers={"X-SBG-Auth-Token": token})
    body = assert_error(response, 500, 90004)
    assert "Traceback" not in response.text and "invoices" not in body["message"]
    assert response.headers["X-Request-Id"]
    assert response.headers["X-RateLimit-Limit"] == "1000"
    # The failure is logged with its request id, traceback included, on the server side.
    log = server.log_path.read_text()
    missing = (
        "no such table: invoices"
        if server.database_url.startswith("sqlite")
        else 'relation "invoices" does not exist'
    )
    assert "Traceback" in log and missing in log

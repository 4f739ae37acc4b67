"""Stopping and starting the platform loses nothing."""

from __future__ import annotations

from collections.abc import Callable

import requests
from local_helpers import Caller, assert_error


def _snapshot(caller: Caller, project_id: str) -> dict:
    def body(path: str) -> object:
        response = caller.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    return {
        "me": body("/user"),
        "projects": body("/projects"),
        "project": body(f"/projects/{project_id}"),
        "members": body(f"/projects/{project_id}/members"),
        "groups": body("/billing/groups"),
        "invoices": body("/billing/invoices"),
        "storage": body(
            f"/billing/groups/{body('/billing/groups')['items'][0]['id']}/breakdown/storage"
        ),
    }


def test_everything_survives_a_restart(start_platform: Callable, http: requests.Session) -> None:
    server = start_platform()
    alice = Caller(http, server.url, server.token("alice"), "alice")
    bob = Caller(http, server.url, server.token("bob"), "bob")
    carol = Caller(http, server.url, server.token("carol"), "carol")
    admin = Caller(http, server.url, server.token("admin"), "admin")

    project = alice.create_project(
        "kept", description="survives", tags=["t1", "t2"], settings={"use_memoization": True}
    )
    alice.create_project("kept")  # takes the slug kept-1
    alice.post(
        f"/projects/{project['id']}/members",
        json={"username": bob.username, "permissions": {"write": True}},
    )
    assert admin.delete("/users/carol").status_code == 204
    before = {caller.username: _snapshot(caller, project["id"]) for caller in (alice, bob)}
    port = server.port

    server.restart()

    assert server.port == port
    after = {caller.username: _snapshot(caller, project["id"]) for caller in (alice, bob)}
    assert after == before
    assert after["bob"]["members"]["items"][1]["permissions"]["write"] is True
    assert_error(carol.get("/user"), 401, 90001)  # still disabled
    assert admin.get("/user").status_code == 200
    # Slug numbering continues from the stored projects.
    assert alice.create_project("kept")["id"] == "alice/kept-2"
    # Tokens are derived again, not re-issued: the same token comes back after a restart.
    assert server.token("alice") == alice.token

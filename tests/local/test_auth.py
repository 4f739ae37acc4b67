"""Authentication: both token headers, bad tokens, disabled users, the public API root."""

from __future__ import annotations

import re

from local_helpers import TOKEN_HEADER, Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer


def test_api_root_needs_no_token_and_lists_absolute_urls(
    anonymous: Caller, platform: EmbeddedServer
) -> None:
    for path in ("/", ""):
        response = anonymous.get(path)
        assert response.status_code == 200
        endpoints = response.json()
        assert endpoints["projects_url"] == f"{platform.url}/projects"
        assert endpoints["user_url"] == f"{platform.url}/user"
        assert endpoints["rate_limit_url"] == f"{platform.url}/rate_limit"
        expected = {"users", "billing", "files", "tasks", "apps", "action", "upload"}
        assert all(endpoints[f"{name}_url"] == f"{platform.url}/{name}" for name in expected)


def test_developer_token_header_identifies_the_user(alice: Caller) -> None:
    response = alice.get("/user")
    assert response.status_code == 200
    assert response.json()["username"] == alice.username


def test_bearer_token_header_identifies_the_user(alice: Caller) -> None:
    response = alice.http.get(
        alice.url + "/user", headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert response.status_code == 200
    assert response.json()["username"] == alice.username


def test_developer_token_header_wins_over_bearer(alice: Caller, bob: Caller) -> None:
    response = alice.http.get(
        alice.url + "/user",
        headers={TOKEN_HEADER: alice.token, "Authorization": f"Bearer {bob.token}"},
    )
    assert response.json()["username"] == alice.username


def test_tokens_are_32_lowercase_hex_characters(alice: Caller) -> None:
    assert alice.token is not None
    assert re.fullmatch(r"[0-9a-f]{32}", alice.token)


def test_missing_token_is_401(anonymous: Caller) -> None:
    for path in ("/user", "/projects", "/billing/groups", "/no/such/route"):
        assert_error(anonymous.get(path), 401, 90001)


def test_unknown_and_malformed_tokens_are_401(anonymous: Caller, alice: Caller) -> None:
    assert alice.token is not None
    wrong_tokens = [
        "0" * 32,
        alice.token.upper(),
        alice.token[:-1],
        "not a token",
        alice.token + "0",
    ]
    for token in wrong_tokens:
        assert_error(anonymous.get("/user", headers={TOKEN_HEADER: token}), 401, 90001)
    assert_error(
        anonymous.get("/user", headers={"Authorization": "Basic " + alice.token}), 401, 90001
    )


def test_disabling_a_user_revokes_their_token(admin: Caller, bob: Caller) -> None:
    assert bob.get("/user").status_code == 200
    assert admin.delete(f"/users/{bob.username}").status_code == 204
    assert_error(bob.get("/user"), 401, 90001)
    # Disabling is idempotent, and the admin still sees the account.
    assert admin.delete(f"/users/{bob.username}").status_code == 204
    assert admin.get(f"/users/{bob.username}").status_code == 200


def test_only_platform_admins_disable_users(alice: Caller, bob: Caller, admin: Caller) -> None:
    assert_error(alice.delete(f"/users/{bob.username}"), 403, 2001)
    assert bob.get("/user").status_code == 200
    assert_error(admin.delete("/users/nobody-has-this-name"), 404, 2002)
    assert_error(admin.delete("/users/admin"), 403, 2001)  # never lock yourself out

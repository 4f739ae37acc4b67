"""Project members: adding, permissions, and the platform's rules on who manages whom."""

from __future__ import annotations

import pytest
from local_helpers import Caller, assert_error

ALL = {"read": True, "copy": True, "write": True, "execute": True, "admin": True}


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project("membership")


def _members_path(project: dict) -> str:
    return f"/projects/{project['id']}/members"


def test_member_shape_and_default_permissions(alice: Caller, bob: Caller, project: dict) -> None:
    response = alice.post(_members_path(project), json={"username": bob.username, "type": "USER"})
    assert response.status_code == 201
    member = response.json()
    assert member == {
        "href": f"{alice.url}/projects/{project['id']}/members/{bob.username}",
        "id": bob.username,
        "username": bob.username,
        "email": bob.get("/user").json()["email"],
        "type": "USER",
        "permissions": {
            "read": True,
            "copy": True,
            "write": False,
            "execute": False,
            "admin": False,
        },
    }
    assert alice.get(member["href"]).json() == member
    # The new member now sees the project and its member list.
    assert bob.get(f"/projects/{project['id']}").status_code == 200
    listed = bob.get(_members_path(project))
    assert [m["username"] for m in listed.json()["items"]] == [alice.username, bob.username]
    assert listed.headers["X-Total-Matching-Query"] == "2"


def test_add_by_email(alice: Caller, bob: Caller, project: dict) -> None:
    email = bob.get("/user").json()["email"]
    response = alice.post(
        _members_path(project), json={"email": email.upper(), "permissions": {"write": True}}
    )
    assert response.status_code == 201
    assert response.json()["username"] == bob.username
    assert response.json()["permissions"] == {
        "read": True,
        "copy": False,
        "write": True,
        "execute": False,
        "admin": False,
    }


def test_given_permissions_follow_the_platform_rules(
    alice: Caller, bob: Caller, carol: Caller, project: dict
) -> None:
    admin_member = alice.post(
        _members_path(project), json={"username": bob.username, "permissions": {"admin": True}}
    ).json()
    assert admin_member["permissions"] == ALL  # admin implies everything
    no_read = alice.post(
        _members_path(project),
        json={"username": carol.username, "permissions": {"read": False, "execute": True}},
    ).json()
    assert no_read["permissions"]["read"] is True  # membership always grants read
    assert no_read["permissions"]["execute"] is True


def test_adding_problems(alice: Caller, bob: Caller, project: dict) -> None:
    path = _members_path(project)
    assert_error(alice.post(path, json={"username": "nobody-has-this-name"}), 404, 2002)
    assert_error(alice.post(path, json={"email": "nobody@nowhere.test"}), 404, 2002)
    assert_error(alice.post(path, json={}), 400, 3005)
    assert_error(alice.post(path, data=b"null"), 400, 3005)
    assert_error(alice.post(path, json={"username": alice.username}), 409, 3003)
    # Teams and divisions must exist (tests/local/test_teams.py covers the rest).
    assert_error(alice.post(path, json={"username": "some-team", "type": "TEAM"}), 404, 2106)
    assert_error(alice.post(path, json={"username": "some-team", "type": "DIVISION"}), 404, 2112)
    body = assert_error(
        alice.post(path, json={"username": bob.username, "permissions": {"fly": True}}), 400, 90000
    )
    assert "fly" in body["message"]
    body = assert_error(
        alice.post(path, json={"username": bob.username, "permissions": {"write": "yes"}}),
        400,
        90000,
    )
    assert "write" in body["message"]
    assert_error(alice.get(f"{path}/{bob.username}"), 404, 3002)  # nothing was added


def test_only_admin_members_manage_members(
    alice: Caller, bob: Caller, carol: Caller, project: dict
) -> None:
    path = _members_path(project)
    alice.post(path, json={"username": bob.username, "permissions": {"write": True}})
    assert_error(bob.post(path, json={"username": carol.username}), 403, 3001)
    assert_error(bob.patch(f"{path}/{alice.username}/permissions", json={"copy": False}), 403, 3001)
    assert_error(bob.delete(f"{path}/{alice.username}"), 403, 3001)
    # Non-members learn nothing about the project.
    assert_error(carol.get(path), 404, 3002)
    assert_error(carol.post(path, json={"username": carol.username}), 404, 3002)
    # Promoted to admin, bob may manage members.
    alice.patch(f"{path}/{bob.username}/permissions", json={"admin": True})
    assert bob.post(path, json={"username": carol.username}).status_code == 201
    assert bob.delete(f"{path}/{carol.username}").status_code == 204


@pytest.mark.postgres
def test_patch_permissions_changes_only_given_keys(
    alice: Caller, bob: Caller, project: dict
) -> None:
    path = f"{_members_path(project)}/{bob.username}"
    alice.post(_members_path(project), json={"username": bob.username})
    response = alice.patch(f"{path}/permissions", json={"write": True, "execute": True})
    assert response.status_code == 200
    assert response.json()["username"] == bob.username
    assert response.json()["permissions"] == {
        "read": True,
        "copy": True,
        "write": True,
        "execute": True,
        "admin": False,
    }
    after = alice.patch(f"{path}/permissions", json={"copy": False}).json()["permissions"]
    assert after == {"read": True, "copy": False, "write": True, "execute": True, "admin": False}
    assert alice.get(path).json()["permissions"] == after
    assert_error(alice.patch(f"{path}/permissions", json={"admin": 1}), 400, 90000)
    assert_error(
        alice.patch(f"{_members_path(project)}/nobody/permissions", json={"copy": True}), 404, 3002
    )


def test_owner_keeps_admin_and_membership(alice: Caller, bob: Caller, project: dict) -> None:
    path = _members_path(project)
    alice.post(path, json={"username": bob.username, "permissions": {"admin": True}})
    body = assert_error(
        bob.patch(f"{path}/{alice.username}/permissions", json={"admin": False}), 403, 3001
    )
    assert "owner" in body["message"]
    body = assert_error(bob.delete(f"{path}/{alice.username}"), 403, 3001)
    assert "owner" in body["message"]
    assert alice.get(f"{path}/{alice.username}").json()["permissions"] == ALL


@pytest.mark.postgres
def test_removed_members_lose_access(alice: Caller, bob: Caller, project: dict) -> None:
    path = _members_path(project)
    alice.post(path, json={"username": bob.username})
    assert alice.delete(f"{path}/{bob.username}").status_code == 204
    assert_error(bob.get(f"/projects/{project['id']}"), 404, 3002)
    assert_error(alice.get(f"{path}/{bob.username}"), 404, 3002)
    assert_error(alice.delete(f"{path}/{bob.username}"), 404, 3002)


@pytest.mark.postgres
def test_member_list_is_paginated(alice: Caller, caller_for, new_username, project: dict) -> None:
    path = _members_path(project)
    for _ in range(3):
        alice.post(path, json={"username": caller_for(new_username("member")).username})
    page = alice.get(path, params={"limit": 2})
    assert page.headers["X-Total-Matching-Query"] == "4"
    assert len(page.json()["items"]) == 2
    assert [link["rel"] for link in page.json()["links"]] == ["next"]

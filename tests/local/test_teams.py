"""Divisions, teams and access through them, over HTTP against the live platform."""

from __future__ import annotations

import itertools

import pytest
from local_helpers import Caller, assert_error
from volume_support import s3_body

_numbers = itertools.count(1)


@pytest.fixture
def division(admin: Caller, alice: Caller, bob: Caller) -> str:
    """A fresh division with alice as its admin and bob as a member."""
    slug = f"lab-{next(_numbers)}-{alice.username}"
    created = admin.post("/_local/divisions", json={"id": slug, "name": "Crystallography lab"})
    assert created.status_code == 201, created.text
    assert created.json() == {
        "href": f"{admin.url}/divisions/{slug}",
        "id": slug,
        "name": "Crystallography lab",
    }
    for caller, role in ((alice, "admin"), (bob, "member")):
        response = admin.put(
            f"/_local/divisions/{slug}/members/{caller.username}", json={"role": role}
        )
        assert response.status_code == 200, response.text
    return slug


def _team(caller: Caller, division: str, name: str = "Helix") -> dict:
    response = caller.post("/teams", json={"name": name, "division": division})
    assert response.status_code == 201, response.text
    return response.json()


def test_only_platform_admins_manage_divisions(alice: Caller, admin: Caller) -> None:
    assert_error(alice.post("/_local/divisions", json={"id": "mine", "name": "Mine"}), 403, 2107)
    assert_error(admin.post("/_local/divisions", json={"id": "Bad Slug!", "name": "x"}), 400, 90000)
    assert_error(admin.put("/_local/divisions/no-such-division/members/admin"), 404, 2112)


def test_divisions_are_seen_by_their_members(
    division: str, alice: Caller, bob: Caller, carol: Caller, admin: Caller
) -> None:
    listed = bob.get("/divisions", params={"fields": "_all"})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [division]
    assert listed.headers["X-Total-Matching-Query"] == "1"
    assert bob.get(f"/divisions/{division}").json()["name"] == "Crystallography lab"
    # Outsiders see neither the division nor its teams.
    assert carol.get("/divisions").json()["items"] == []
    assert_error(carol.get(f"/divisions/{division}"), 404, 2112)
    assert_error(carol.get("/teams", params={"division": division}), 404, 2112)
    # Members listed with their division role.
    users = bob.get("/users", params={"division": division}).json()["items"]
    assert {(u["username"], u["role"]) for u in users} == {
        (alice.username, "admin"),
        (bob.username, "member"),
    }
    assert division in {d["id"] for d in admin.get("/divisions").json()["items"]}


def test_team_life_cycle(division: str, alice: Caller, bob: Caller, carol: Caller) -> None:
    team = _team(alice, division)
    assert team["name"] == "Helix" and team["href"] == f"{alice.url}/teams/{team['id']}"
    # The creating division admin runs the team.
    members = alice.get(f"/teams/{team['id']}/members").json()["items"]
    assert [(m["username"], m["role"]) for m in members] == [(alice.username, "ADMIN")]
    # Bob sees the team among all teams of the division, not among his own yet.
    assert bob.get("/teams", params={"division": division}).json()["items"] == []
    everything = bob.get("/teams", params={"division": division, "_all": "True"}).json()
    assert [item["id"] for item in everything["items"]] == [team["id"]]
    added = alice.post(f"/teams/{team['id']}/members", json={"id": bob.username})
    assert added.status_code == 201
    assert added.json() == {
        "href": f"{alice.url}/teams/{team['id']}/members/{bob.username}",
        "id": bob.username,
        "username": bob.username,
        "role": "MEMBER",
    }
    assert [t["id"] for t in bob.get("/teams", params={"division": division}).json()["items"]] == [
        team["id"]
    ]
    renamed = alice.patch(f"/teams/{team['id']}", json={"name": "Double helix"})
    assert renamed.json()["name"] == "Double helix"
    assert bob.get(f"/teams/{team['id']}").json()["name"] == "Double helix"
    # A plain member neither renames nor manages others; they may leave.
    assert_error(bob.patch(f"/teams/{team['id']}", json={"name": "Mine"}), 403, 2107)
    assert_error(bob.delete(f"/teams/{team['id']}/members/{alice.username}"), 403, 2107)
    assert bob.delete(f"/teams/{team['id']}/members/{bob.username}").status_code == 204
    assert_error(alice.delete(f"/teams/{team['id']}/members/{bob.username}"), 404, 2111)
    # Bad input.
    assert_error(
        alice.post(f"/teams/{team['id']}/members", json={"id": "nobody-at-all"}), 404, 2002
    )
    assert_error(alice.post(f"/teams/{team['id']}/members", json={"id": carol.username}), 400, 2109)
    assert_error(alice.post(f"/teams/{team['id']}/members", json={"id": alice.username}), 409, 2110)
    assert_error(alice.patch(f"/teams/{team['id']}", json={"name": "  "}), 400, 2108)
    assert_error(alice.get("/teams/no-such-team"), 404, 2106)
    assert_error(carol.get(f"/teams/{team['id']}"), 404, 2106)
    assert_error(alice.get("/teams"), 400, 2105)
    assert_error(bob.post("/teams", json={"name": "Bob's", "division": division}), 403, 2107)
    assert_error(
        alice.post("/teams", json={"name": "x", "division": "no-such-division"}), 404, 2112
    )


def test_access_through_a_team_is_granted_then_revoked(
    division: str, alice: Caller, bob: Caller
) -> None:
    project = alice.create_project("team access")
    team = _team(alice, division, "Readers")
    path = f"/projects/{project['id']}"
    assert_error(bob.get(path), 404, 3002)
    granted = alice.post(
        f"{path}/members",
        json={"username": team["id"], "type": "TEAM", "permissions": {"read": True, "write": True}},
    )
    assert granted.status_code == 201, granted.text
    member = granted.json()
    assert member["type"] == "TEAM" and member["username"] == team["id"] and member["email"] == ""
    assert member["permissions"]["write"] is True and member["permissions"]["admin"] is False
    assert member["href"] == f"{alice.url}{path}/members/{team['id']}"
    # Not yet in the team: still no access.
    assert_error(bob.get(path), 404, 3002)
    alice.post(f"/teams/{team['id']}/members", json={"id": bob.username})
    assert bob.get(path).status_code == 200
    assert project["id"] in [p["id"] for p in bob.get("/projects/").json()["items"]]
    # Write through the team; admin not.
    folder = bob.post(
        "/files", json={"name": "from-bob", "project": project["id"], "type": "folder"}
    )
    assert folder.status_code == 201, folder.text
    assert_error(bob.patch(path, json={"description": "mine now"}), 403, 3001)
    # The member list shows the team; its permissions change like a user's.
    listed = alice.get(f"{path}/members").json()
    assert [m["type"] for m in listed["items"]] == ["USER", "TEAM"]
    changed = alice.patch(f"{path}/members/{team['id']}/permissions", json={"admin": True})
    assert changed.status_code == 200 and changed.json()["permissions"]["admin"] is True
    assert bob.patch(path, json={"description": "team admin"}).status_code == 200
    # Leaving the team takes it all away at once.
    alice.delete(f"/teams/{team['id']}/members/{bob.username}")
    assert_error(bob.get(path), 404, 3002)
    assert project["id"] not in [p["id"] for p in bob.get("/projects/").json()["items"]]
    # Back in the team, then the team is removed from the project.
    alice.post(f"/teams/{team['id']}/members", json={"id": bob.username})
    assert bob.get(path).status_code == 200
    assert alice.delete(f"{path}/members/{team['id']}").status_code == 204
    assert_error(bob.get(path), 404, 3002)
    assert [m["type"] for m in alice.get(f"{path}/members").json()["items"]] == ["USER"]


def test_access_through_the_division(
    division: str, admin: Caller, alice: Caller, bob: Caller, carol: Caller
) -> None:
    project = alice.create_project("division access")
    path = f"/projects/{project['id']}"
    added = alice.post(f"{path}/members", json={"username": division, "type": "DIVISION"})
    assert added.status_code == 201, added.text
    assert added.json()["type"] == "DIVISION" and added.json()["permissions"]["read"] is True
    assert alice.get(f"{path}/members/{division}").json()["id"] == division
    assert bob.get(path).status_code == 200
    assert_error(carol.get(path), 404, 3002)
    assert admin.delete(f"/_local/divisions/{division}/members/{bob.username}").status_code == 204
    assert_error(bob.get(path), 404, 3002)
    assert_error(
        alice.post(f"{path}/members", json={"username": division, "type": "DIVISION"}), 409, 3003
    )


def test_teams_and_divisions_of_elsewhere_are_refused(
    division: str, admin: Caller, alice: Caller, carol: Caller
) -> None:
    team = _team(alice, division)
    other = f"other-{next(_numbers)}-{carol.username}"
    admin.post("/_local/divisions", json={"id": other, "name": "Other"})
    admin.put(f"/_local/divisions/{other}/members/{carol.username}", json={"role": "admin"})
    project = carol.create_project("elsewhere")
    path = f"/projects/{project['id']}/members"
    assert_error(carol.post(path, json={"username": team["id"], "type": "TEAM"}), 400, 2109)
    assert_error(carol.post(path, json={"username": division, "type": "DIVISION"}), 400, 2109)
    assert_error(carol.post(path, json={"username": "no-such-team", "type": "TEAM"}), 404, 2106)
    assert_error(carol.post(path, json={"username": "no-such-div", "type": "DIVISION"}), 404, 2112)
    assert_error(carol.post(path, json={"username": "x", "type": "ROBOT"}), 400, 3014)
    # Nothing was added.
    assert [m["type"] for m in carol.get(path).json()["items"]] == ["USER"]
    # The same holds for a dataset's members.
    published = carol.post(
        "/_local/datasets", json={"project": project["id"], "name": f"elsewhere {other}"}
    )
    assert published.status_code == 201, published.text
    dataset_members = f"/datasets/{published.json()['id']}/members"
    team_member = {"username": team["id"], "type": "TEAM", "permissions": {"read": True}}
    assert_error(carol.post(dataset_members, json=team_member), 400, 2109)
    division_member = {"username": division, "type": "DIVISION", "permissions": {"read": True}}
    assert_error(carol.post(dataset_members, json=division_member), 400, 2109)
    assert [m["type"] for m in carol.get(dataset_members).json()["items"]] == ["USER"]


def test_division_administration_bad_input(division: str, admin: Caller, carol: Caller) -> None:
    members = f"/_local/divisions/{division}/members"
    assert_error(admin.put(f"{members}/nobody-at-all", json={"role": "member"}), 404, 2002)
    assert_error(admin.put(f"{members}/{carol.username}", json={"role": "owner"}), 400, 90000)
    assert_error(admin.delete(f"{members}/{carol.username}"), 404, 2002)  # not a member
    assert_error(
        admin.post("/_local/divisions", json={"id": division, "name": "Again"}), 409, 90007
    )
    assert_error(admin.post("/_local/divisions", json={"id": "fine-id", "name": " "}), 400, 2108)
    assert_error(carol.put(f"{members}/{carol.username}", json={"role": "admin"}), 403, 2107)
    # Nothing changed: carol is in no division.
    assert carol.get("/divisions").json()["items"] == []


def test_volume_access_through_a_team(cloud_platform, http, new_username, moto_cloud) -> None:
    """Volumes take the same effective permissions: a team member lists the volume, then not."""

    def caller(name: str) -> Caller:
        username = name if name == "admin" else new_username(name)
        return Caller(http, cloud_platform.url, cloud_platform.token(username), username)

    admin, owner, reader = caller("admin"), caller("volowner"), caller("volreader")
    slug = f"vol-{next(_numbers)}-{owner.username}"
    admin.post("/_local/divisions", json={"id": slug, "name": "Volume lab"})
    admin.put(f"/_local/divisions/{slug}/members/{owner.username}", json={"role": "admin"})
    admin.put(f"/_local/divisions/{slug}/members/{reader.username}", json={"role": "member"})
    team = _team(owner, slug)
    owner.post(f"/teams/{team['id']}/members", json={"id": reader.username})
    created = owner.post("/storage/volumes", json=s3_body(moto_cloud, moto_cloud.new_bucket()))
    assert created.status_code == 201, created.text
    path = f"/storage/volumes/{created.json()['id']}"
    assert_error(reader.get(path), 404, 9007)
    added = owner.post(
        f"{path}/members",
        json={"username": team["id"], "type": "TEAM", "permissions": {"read": True}},
    )
    assert added.status_code == 201, added.text
    assert added.json()["permissions"] == {
        "read": True,
        "copy": False,
        "write": False,
        "admin": False,
    }
    assert reader.get(path).status_code == 200
    assert created.json()["id"] in [v["id"] for v in reader.get("/storage/volumes").json()["items"]]
    assert_error(reader.patch(path, json={"description": "x"}), 403, 9019)
    owner.delete(f"/teams/{team['id']}/members/{reader.username}")
    assert_error(reader.get(path), 404, 9007)
    assert reader.get("/storage/volumes").json()["items"] == []

"""Projects: creation rules, listing filters, updates, deletion, and who may do what."""

from __future__ import annotations

import re
import uuid

from local_helpers import Caller, assert_error

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _own_group(caller: Caller) -> dict:
    return caller.get("/billing/groups").json()["items"][0]


def test_new_project_defaults(alice: Caller) -> None:
    project = alice.create_project("Genome Run #1")
    assert project["id"] == f"{alice.username}/genome-run-1"
    assert project["href"] == f"{alice.url}/projects/{project['id']}"
    assert project["type"] == "v2"
    assert project["category"] == "PRIVATE"
    assert project["billing_group"] == _own_group(alice)["id"]
    assert project["created_by"] == alice.username
    assert project["description"] == "" and project["tags"] == []
    assert project["settings"]["locked"] is False
    assert TIMESTAMP.match(project["created_on"]) and TIMESTAMP.match(project["modified_on"])
    # Every project has a root folder (a 24-hex file id) from the start.
    root = alice.get(f"/files/{project['root_folder']}").json()
    assert root["type"] == "folder" and root["project"] == project["id"]
    fetched = alice.get(f"/projects/{project['id']}")
    assert fetched.status_code == 200 and fetched.json() == project
    # The creator is a member with every permission.
    member = alice.get(f"/projects/{project['id']}/members/{alice.username}").json()
    assert all(member["permissions"].values())


def test_creation_keeps_given_fields(alice: Caller) -> None:
    project = alice.create_project(
        "described",
        description="# Notes",
        tags=["tcga", "wgs"],
        settings={"use_memoization": True, "intermediate_files": {"retention": "LIMITED"}},
        category="controlled",
        billing_group=_own_group(alice)["id"],
    )
    assert project["description"] == "# Notes"
    assert project["tags"] == ["tcga", "wgs"]
    assert project["settings"]["use_memoization"] is True
    assert project["settings"]["intermediate_files"] == {"retention": "LIMITED"}
    assert project["settings"]["use_interruptible_instances"] is True  # default kept
    assert project["category"] == "CONTROLLED"


def test_slugs_are_unique_per_owner(alice: Caller, bob: Caller) -> None:
    ids = [alice.create_project("Same  Name!")["id"] for _ in range(3)]
    assert ids == [
        f"{alice.username}/same-name",
        f"{alice.username}/same-name-1",
        f"{alice.username}/same-name-2",
    ]
    assert bob.create_project("Same  Name!")["id"] == f"{bob.username}/same-name"
    assert alice.create_project("???")["id"] == f"{alice.username}/project"


def test_project_names_cannot_disguise_themselves_and_slugs_stay_short(alice: Caller) -> None:
    for hidden in ("\u202e", "\u2067", "\u200b", "\ufeff"):
        refused = alice.post("/projects", json={"name": f"payroll{hidden}fdp.exe"})
        body = assert_error(refused, 400, 90000)
        assert f"U+{ord(hidden):04X}" in body["message"]
    existing = alice.create_project("plain")
    assert_error(alice.patch(f"/projects/{existing['id']}", json={"name": "a\u202eb"}), 400, 90000)
    # Lower-casing "İ" gives two characters; the id stays short all the same.
    long_name = alice.create_project("İ" * 255)
    owner, slug = long_name["id"].split("/")
    assert owner == alice.username and 0 < len(slug) <= 200 and slug.isascii()
    assert long_name["name"] == "İ" * 255
    assert alice.get(f"/projects/{long_name['id']}").status_code == 200


def test_billing_group_rules(alice: Caller, bob: Caller) -> None:
    assert_error(alice.post("/projects", json={"name": "x", "billing_group": "nope"}), 400, 4005)
    unknown = str(uuid.uuid4())
    assert_error(alice.post("/projects", json={"name": "x", "billing_group": unknown}), 404, 4002)
    bobs_group = _own_group(bob)["id"]
    assert_error(
        alice.post("/projects", json={"name": "x", "billing_group": bobs_group}), 403, 4006
    )


def test_invalid_category_and_type(alice: Caller) -> None:
    assert_error(alice.post("/projects", json={"name": "x", "category": "SECRET"}), 400, 90000)
    assert_error(alice.post("/projects", json={"name": "x", "type": "v1"}), 400, 3010)


def test_listing_shows_only_projects_i_am_a_member_of(alice: Caller, bob: Caller) -> None:
    mine = alice.create_project("alice only")
    shared = bob.create_project("shared with alice")
    bob.create_project("bob only")
    bob.post(f"/projects/{shared['id']}/members", json={"username": alice.username})

    listed = [project["id"] for project in alice.get("/projects").json()["items"]]
    assert listed == [mine["id"], shared["id"]]
    by_bob = alice.get(f"/projects/{bob.username}").json()["items"]
    assert [project["id"] for project in by_bob] == [shared["id"]]
    assert alice.get("/projects/nobody-has-this-name").json()["items"] == []


def test_listing_filters(alice: Caller) -> None:
    alpha = alice.create_project("alpha", tags=["a", "b"])
    beta = alice.create_project("beta", tags=["b"], category="CONTROLLED")
    alice.create_project("alphabet")

    def ids(**params: object) -> list[str]:
        return [project["id"] for project in alice.get("/projects", params=params).json()["items"]]

    assert ids(name="alpha") == [alpha["id"]]  # exact match only
    assert ids(tags="b") == [alpha["id"], beta["id"]]
    assert ids(tags=["a", "b"]) == [alpha["id"]]  # must carry all tags
    assert ids(tags=["a", "c"]) == []
    assert ids(category="CONTROLLED") == [beta["id"]]
    assert ids(name="beta", category="PRIVATE") == []


def test_non_members_cannot_see_a_project(alice: Caller, bob: Caller) -> None:
    project = alice.create_project("private")
    for response in (
        bob.get(f"/projects/{project['id']}"),
        bob.patch(f"/projects/{project['id']}", json={"name": "mine"}),
        bob.delete(f"/projects/{project['id']}"),
        bob.get(f"/projects/{project['id']}/members"),
    ):
        assert_error(response, 404, 3002)
    assert_error(alice.get(f"/projects/{alice.username}/does-not-exist"), 404, 3002)


def test_patch_changes_only_given_keys(alice: Caller) -> None:
    project = alice.create_project(
        "patch me", description="old", tags=["x"], settings={"intermediate_files": {"a": 1, "b": 2}}
    )
    path = f"/projects/{project['id']}"
    response = alice.patch(
        path,
        json={
            "description": "new",
            "settings": {"use_memoization": True, "intermediate_files": {"b": 3}},
        },
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["description"] == "new"
    assert patched["name"] == "patch me" and patched["tags"] == ["x"]
    assert patched["settings"]["use_memoization"] is True
    assert patched["settings"]["locked"] is False
    assert patched["settings"]["intermediate_files"] == {"a": 1, "b": 3}
    assert patched["id"] == project["id"]  # renaming never moves a project

    renamed = alice.patch(path, json={"name": "renamed", "tags": ["y", "z"]}).json()
    assert renamed["name"] == "renamed" and renamed["tags"] == ["y", "z"]
    assert alice.get(path).json() == renamed
    assert_error(alice.patch(path, json={"name": ""}), 400, 3007)
    assert_error(alice.patch(path, json={"billing_group": "x"}), 400, 4005)


def test_put_replaces_writable_keys(alice: Caller) -> None:
    project = alice.create_project(
        "put me", description="old", tags=["x"], settings={"use_memoization": True}
    )
    path = f"/projects/{project['id']}"
    replaced = alice.put(path, json={"name": "replaced", "tags": ["new"]})
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["name"] == "replaced" and body["tags"] == ["new"]
    assert body["description"] == ""
    assert body["settings"]["use_memoization"] is False
    assert body["billing_group"] == project["billing_group"]
    assert_error(alice.put(path, json={"description": "no name"}), 400, 3007)


def test_changing_details_needs_admin_permission(alice: Caller, bob: Caller) -> None:
    project = alice.create_project("guarded")
    path = f"/projects/{project['id']}"
    alice.post(
        f"{path}/members",
        json={"username": bob.username, "permissions": {"write": True, "execute": True}},
    )
    assert bob.get(path).status_code == 200
    assert_error(bob.patch(path, json={"name": "bob's now"}), 403, 3001)
    assert_error(bob.put(path, json={"name": "bob's now"}), 403, 3001)
    assert_error(bob.delete(path), 403, 3001)
    assert alice.get(path).json()["name"] == "guarded"


def test_billing_group_change_needs_membership_of_the_group(alice: Caller, bob: Caller) -> None:
    project = alice.create_project("billing moves")
    path = f"/projects/{project['id']}"
    assert_error(alice.patch(path, json={"billing_group": _own_group(bob)["id"]}), 403, 4006)
    same = alice.patch(path, json={"billing_group": _own_group(alice)["id"]})
    assert same.status_code == 200


def test_delete_removes_the_project(alice: Caller, bob: Caller) -> None:
    project = alice.create_project("doomed")
    path = f"/projects/{project['id']}"
    alice.post(f"{path}/members", json={"username": bob.username})
    assert alice.delete(path).status_code == 204
    assert_error(alice.get(path), 404, 3002)
    assert_error(bob.get(path), 404, 3002)
    assert project["id"] not in [p["id"] for p in alice.get("/projects").json()["items"]]
    # The slug is free again.
    assert alice.create_project("doomed")["id"] == project["id"]

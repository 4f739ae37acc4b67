"""Users: yourself, others (admins only), division listings."""

from __future__ import annotations

from local_helpers import Caller, assert_error, run_sql

from sevenbridges_local.embedded import EmbeddedServer

USER_KEYS = {
    "href",
    "username",
    "email",
    "first_name",
    "last_name",
    "affiliation",
    "phone",
    "address",
    "city",
    "state",
    "zip_code",
    "country",
    "role",
}


def test_current_user(alice: Caller) -> None:
    me = alice.get("/user").json()
    assert set(me) == USER_KEYS
    assert me["username"] == alice.username
    assert me["href"] == f"{alice.url}/users/{alice.username}"
    assert me["role"] == "USER"
    assert "@" in me["email"]
    assert all(isinstance(value, str) for value in me.values())


def test_seeded_admin_has_the_admin_role(admin: Caller) -> None:
    assert admin.get("/user").json()["role"] == "ADMIN"


def test_users_see_themselves_but_not_others(alice: Caller, bob: Caller) -> None:
    mine = alice.get(f"/users/{alice.username}")
    assert mine.status_code == 200 and mine.json() == alice.get("/user").json()
    assert_error(alice.get(f"/users/{bob.username}"), 403, 2001)
    assert_error(alice.get("/users/nobody-has-this-name"), 404, 2002)


def test_admins_see_everyone(admin: Caller, bob: Caller) -> None:
    response = admin.get(f"/users/{bob.username}")
    assert response.status_code == 200
    assert response.json()["username"] == bob.username


def test_listing_users_needs_a_known_division(alice: Caller) -> None:
    assert_error(alice.get("/users"), 400, 2105)
    assert_error(alice.get("/users", params={"division": "no-such-division"}), 404, 90003)


def test_division_members_are_listed_with_their_division_role(
    platform: EmbeddedServer, alice: Caller, bob: Caller, carol: Caller
) -> None:
    # Divisions cannot be created through the API yet: set one up in the database.
    run_sql(
        platform,
        "INSERT INTO divisions (slug, name, created_on) VALUES (?, ?, '2024-01-01 00:00:00')",
        (f"lab-{alice.username}", "Test lab"),
    )
    (division_id,) = run_sql(
        platform, "SELECT id FROM divisions WHERE slug = ?", (f"lab-{alice.username}",)
    )[0]
    for caller, role in ((alice, "admin"), (bob, "member")):
        run_sql(
            platform,
            "UPDATE users SET division_id = ?, division_role = ? WHERE username = ?",
            (division_id, role, caller.username),
        )
    division = f"lab-{alice.username}"

    response = bob.get("/users", params={"division": division})
    assert response.status_code == 200
    assert response.headers["X-Total-Matching-Query"] == "2"
    listed = {user["username"]: user["role"] for user in response.json()["items"]}
    assert listed == {alice.username: "admin", bob.username: "member"}

    admins = bob.get("/users", params={"division": division, "role": "ADMIN"}).json()["items"]
    assert [user["username"] for user in admins] == [alice.username]
    assert_error(bob.get("/users", params={"division": division, "role": "chief"}), 400, 90000)
    # Outsiders may not look inside the division.
    assert_error(carol.get("/users", params={"division": division}), 403, 2001)

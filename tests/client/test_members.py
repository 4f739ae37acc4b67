"""Project members: adding, listing, permission changes seen from both sides, removal."""

from __future__ import annotations

import pytest

from sevenbridges.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ResourceNotModified,
    SbgError,
)
from sevenbridges.models.compound.projects.permissions import Permissions
from sevenbridges.models.member import Member

PERMISSION_KEYS = ("read", "copy", "write", "execute", "admin")
READ_ONLY = {"read": True, "copy": False, "write": False, "execute": False, "admin": False}
WRITER = {"read": True, "copy": True, "write": True, "execute": False, "admin": False}
ADMIN = {"read": True, "copy": True, "write": True, "execute": True, "admin": True}


@pytest.fixture
def team(api_for, new_username):
    """An owner, two collaborators and one project, each user with their own client."""
    names = {role: new_username(role) for role in ("owner", "alice", "bob")}
    apis = {role: api_for(name) for role, name in names.items()}
    project = apis["owner"].projects.create(name="shared work")
    return names, apis, project


def permissions_of(member: Member) -> dict[str, bool]:
    return {key: member.permissions[key] for key in PERMISSION_KEYS}


def test_add_member_returns_the_member(team, platform):
    names, _, project = team

    member = project.add_member(names["alice"], WRITER)

    assert isinstance(member, Member)
    assert member.username == names["alice"]
    assert member.type == "USER"
    assert member.href == f"{platform.url}/projects/{project.id}/members/{names['alice']}"
    assert isinstance(member.permissions, Permissions)
    assert permissions_of(member) == WRITER
    assert str(member) == repr(member) == f"<Member: username={names['alice']}>"


def test_add_member_accepts_a_user_object(team):
    names, apis, project = team
    alice = apis["alice"].users.me()

    member = project.add_member(alice, READ_ONLY)

    assert member.username == names["alice"]


def test_add_member_by_email(team):
    names, apis, project = team
    email = apis["bob"].users.me().email

    member = project.add_member_email(email, permissions=READ_ONLY)

    assert member.username == names["bob"]
    assert permissions_of(member) == READ_ONLY


def test_get_members_lists_everyone(team):
    names, _, project = team
    project.add_member(names["alice"], WRITER)
    project.add_member(names["bob"], READ_ONLY)

    members = project.get_members()

    assert {m.username for m in members} == {names["owner"], names["alice"], names["bob"]}
    assert members.total == 3
    by_name = {m.username: m for m in members}
    assert permissions_of(by_name[names["owner"]])["admin"] is True
    assert permissions_of(by_name[names["bob"]]) == READ_ONLY


def test_get_members_paginates(team, api_for, new_username):
    names, _, project = team
    extra = [new_username("crowd") for _ in range(4)]
    for username in extra:
        api_for(username)  # the users must exist before they can be added
        project.add_member(username, READ_ONLY)

    first = project.get_members(limit=2)
    everyone = list(first.all())

    assert len(first) == 2
    assert first.total == 5
    assert {m.username for m in everyone} == {names["owner"], *extra}
    assert [m.username for m in project.get_members(offset=2, limit=2)] == [
        m.username for m in first.next_page()
    ]


def test_get_member_by_username_user_or_member(team):
    names, apis, project = team
    added = project.add_member(names["alice"], WRITER)

    by_name = project.get_member(names["alice"])
    by_user = project.get_member(apis["alice"].users.me())
    by_member = project.get_member(added)

    assert by_name == by_user == by_member == added
    assert permissions_of(by_name) == WRITER


def test_get_member_of_a_non_member_is_not_found(team):
    names, _, project = team

    with pytest.raises(NotFound):
        project.get_member(names["bob"])


def test_permission_change_is_visible_to_the_member(team):
    names, apis, project = team
    member = project.add_member(names["alice"], READ_ONLY)
    alice_project = apis["alice"].projects.get(project.id)

    member.permissions["write"] = True
    saved = member.save()

    assert saved is member
    assert permissions_of(member) == {**READ_ONLY, "write": True}
    seen_by_alice = alice_project.get_member(names["alice"])
    assert permissions_of(seen_by_alice) == {**READ_ONLY, "write": True}

    # Changing project details takes admin rights; writing is not enough.
    alice_project.description = "edited by alice"
    with pytest.raises(Forbidden):
        alice_project.save()

    member.permissions["admin"] = True
    member.save()

    # The platform's answer is authoritative: admin implies every other permission.
    assert permissions_of(member) == ADMIN
    assert permissions_of(alice_project.get_member(names["alice"])) == ADMIN
    alice_project.save()
    assert project.reload().description == "edited by alice"


def test_unknown_permission_is_a_bad_request(team):
    names, _, project = team
    member = project.add_member(names["alice"], READ_ONLY)

    member.permissions["launch_rockets"] = True
    with pytest.raises(BadRequest):
        member.save()
    assert permissions_of(project.get_member(names["alice"])) == READ_ONLY


def test_owner_keeps_admin_rights(team):
    names, _, project = team
    owner_membership = project.get_member(names["owner"])

    owner_membership.permissions["admin"] = False
    with pytest.raises(Forbidden):
        owner_membership.save()
    with pytest.raises(Forbidden):
        project.remove_member(names["owner"])
    assert project.get_member(names["owner"]).permissions["admin"] is True


def test_member_save_sends_only_changed_permissions(team):
    names, apis, project = team
    project.add_member(names["alice"], READ_ONLY)
    project.add_member(names["bob"], ADMIN)
    owner_copy = project.get_member(names["alice"])
    bob_copy = apis["bob"].projects.get(project.id).get_member(names["alice"])

    # Bob grants copy; the owner, working from an older copy, grants execute.
    bob_copy.permissions["copy"] = True
    bob_copy.save()
    owner_copy.permissions["execute"] = True
    owner_copy.save()

    fresh = project.get_member(names["alice"])
    assert permissions_of(fresh) == {**READ_ONLY, "copy": True, "execute": True}


def test_member_save_without_changes_raises_not_modified(team):
    names, _, project = team
    member = project.add_member(names["alice"], WRITER)

    with pytest.raises(ResourceNotModified):
        member.save()
    member.permissions["write"] = True  # already true
    with pytest.raises(ResourceNotModified):
        member.save()

    member.permissions["write"] = False
    member.save()
    with pytest.raises(ResourceNotModified):
        member.save()
    assert project.get_member(names["alice"]).permissions["write"] is False


def test_member_save_not_in_place(team):
    names, _, project = team
    member = project.add_member(names["alice"], READ_ONLY)

    member.permissions["copy"] = True
    result = member.save(inplace=False)

    assert result is not member
    assert result.permissions["copy"] is True
    assert project.get_member(names["alice"]).permissions["copy"] is True


def test_permissions_update_and_missing_keys(team):
    names, _, project = team
    member = project.add_member(names["alice"], READ_ONLY)

    member.permissions.update({"write": True}, copy=True)
    member.save()

    assert member.permissions["no-such-permission"] is None
    assert permissions_of(project.get_member(names["alice"])) == {
        **READ_ONLY,
        "write": True,
        "copy": True,
    }


def test_read_only_member_cannot_change_permissions_or_members(team):
    names, apis, project = team
    project.add_member(names["alice"], READ_ONLY)
    alice_view = apis["alice"].projects.get(project.id)

    with pytest.raises(Forbidden) as caught:
        alice_view.add_member(names["bob"], ADMIN)
    assert caught.value.code == 3001
    own_membership = alice_view.get_member(names["alice"])
    own_membership.permissions["admin"] = True
    with pytest.raises(Forbidden):
        own_membership.save()
    with pytest.raises(Forbidden):
        alice_view.remove_member(names["owner"])
    assert permissions_of(project.get_member(names["alice"])) == READ_ONLY


def test_non_admin_writer_cannot_add_members(team):
    names, apis, project = team
    project.add_member(names["alice"], WRITER)

    with pytest.raises(Forbidden):
        apis["alice"].projects.get(project.id).add_member(names["bob"], READ_ONLY)
    with pytest.raises(NotFound):
        project.get_member(names["bob"])


def test_project_admin_member_can_add_members(team):
    names, apis, project = team
    project.add_member(names["alice"], ADMIN)

    apis["alice"].projects.get(project.id).add_member(names["bob"], READ_ONLY)

    assert project.get_member(names["bob"]).username == names["bob"]


def test_non_member_gets_not_found(team):
    names, apis, project = team
    bob_view = apis["bob"]

    with pytest.raises(NotFound):
        bob_view.projects.get(project.id)
    with pytest.raises(NotFound):
        bob_view.get(url=f"/projects/{project.id}/members")


def test_adding_an_unknown_user_is_not_found(team, new_username):
    _, _, project = team

    with pytest.raises(NotFound):
        project.add_member("nobody-" + new_username("ghost"), READ_ONLY)


def test_adding_an_existing_member_conflicts(team):
    names, _, project = team
    project.add_member(names["alice"], READ_ONLY)

    with pytest.raises(Conflict) as caught:
        project.add_member(names["alice"], WRITER)
    assert caught.value.status == 409
    assert permissions_of(project.get_member(names["alice"])) == READ_ONLY


def test_add_member_argument_errors(team):
    _, _, project = team

    with pytest.raises(SbgError):
        project.add_member(None, READ_ONLY)
    with pytest.raises(SbgError):
        project.add_member(12, READ_ONLY)
    with pytest.raises(BadRequest) as caught:
        project.add_member_email("", permissions=READ_ONLY)
    assert caught.value.code == 3005


def test_add_member_without_permissions_gets_defaults(team):
    names, _, project = team

    member = project.add_member(names["alice"], None)

    assert member.permissions["read"] is True
    assert member.permissions["admin"] is False


def test_remove_member(team):
    names, apis, project = team
    member = project.add_member(names["alice"], READ_ONLY)
    project.add_member(names["bob"], READ_ONLY)
    assert apis["alice"].projects.get(project.id) == project

    assert project.remove_member(names["alice"]) is None
    project.remove_member(apis["bob"].users.me())

    with pytest.raises(NotFound):
        apis["alice"].projects.get(project.id)
    with pytest.raises(NotFound):
        project.get_member(member)
    assert {m.username for m in project.get_members()} == {names["owner"]}
    with pytest.raises(NotFound):
        project.remove_member(names["alice"])


def test_member_equality(team):
    names, _, project = team
    first = project.add_member(names["alice"], READ_ONLY)
    same = project.get_member(names["alice"])
    other = project.add_member(names["bob"], READ_ONLY)

    assert first == same
    assert first != other
    assert first != names["alice"]


@pytest.mark.parametrize(
    ("method", "member_type"), [("add_member_team", "TEAM"), ("add_member_division", "DIVISION")]
)
def test_team_and_division_members_are_sent_with_their_type(team, method, member_type):
    _, _, project = team

    # An unknown team or division: the platform names the member type it received.
    with pytest.raises(NotFound) as caught:
        getattr(project, method)("some-group", READ_ONLY)
    assert member_type.title() in caught.value.message
    with pytest.raises(SbgError):
        getattr(project, method)(None, READ_ONLY)

"""``api.users``: the current user, other users, and disabling users."""

from __future__ import annotations

import pytest

import sevenbridges as sbg
from sevenbridges.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    ReadOnlyPropertyError,
    SbgError,
    Unauthorized,
)
from sevenbridges.models.user import User

USER_STRING_FIELDS = (
    "href",
    "username",
    "email",
    "first_name",
    "last_name",
    "affiliation",
    "phone",
    "address",
    "state",
    "country",
    "zip_code",
    "city",
    "role",
)


def test_me_returns_the_token_owner(api_for, platform, new_username):
    username = new_username("me")
    api = api_for(username)

    me = api.users.me()

    assert isinstance(me, User)
    assert me.username == username
    assert me.href == f"{platform.url}/users/{username}"
    assert me.role == "USER"
    assert me.email
    for field in USER_STRING_FIELDS:
        value = getattr(me, field)
        assert value is None or isinstance(value, str), field
    assert str(me) == repr(me) == f"<User: username={username}>"


def test_get_by_username_or_user_object(api_for, new_username):
    username = new_username("self")
    api = api_for(username)
    me = api.users.me()

    by_name = api.users.get(username)
    by_object = api.users.get(me)

    assert by_name.username == by_object.username == username
    assert by_name == by_object == me
    assert by_name.email == me.email


def test_admin_sees_other_users(admin_api, api_for, new_username):
    username = new_username("seen")
    other = api_for(username).users.me()

    fetched = admin_api.users.get(username)

    assert fetched == other
    assert fetched.email == other.email
    assert fetched != admin_api.users.me()
    assert admin_api.users.me().role == "ADMIN"


def test_regular_users_cannot_see_each_other(api_for, new_username):
    viewer, other = new_username("viewer"), new_username("private")
    api = api_for(viewer)
    api_for(other).users.me()

    with pytest.raises(Forbidden) as caught:
        api.users.get(other)
    assert caught.value.status == 403
    assert caught.value.code == 2001


def test_user_equality_needs_the_same_type(api_for, new_username):
    me = api_for(new_username("eq")).users.me()

    assert me != me.username
    assert me != object()


def test_reload_fetches_the_user_again(api_for, new_username):
    username = new_username("reload")
    me = api_for(username).users.me()

    assert me.reload() is me
    assert me.username == username


def test_unknown_user_is_not_found(admin_api, new_username):
    with pytest.raises(NotFound) as caught:
        admin_api.users.get("nobody-" + new_username("ghost"))
    assert caught.value.status == 404
    assert caught.value.code == 2002
    assert caught.value.message


def test_get_without_a_user_is_refused_client_side(api_for, new_username):
    api = api_for(new_username("seeker"))

    with pytest.raises(SbgError):
        api.users.get(None)
    with pytest.raises(SbgError):
        api.users.get(42)


def test_user_fields_are_read_only(api_for, new_username):
    me = api_for(new_username("ro")).users.me()

    with pytest.raises(ReadOnlyPropertyError):
        me.email = "changed@example.org"
    with pytest.raises(ReadOnlyPropertyError):
        me.username = "someone-else"


def test_invalid_token_is_unauthorized(platform):
    api = sbg.Api(url=platform.url, token="f" * 32, debug=True)

    with pytest.raises(Unauthorized) as caught:
        api.users.me()
    assert caught.value.status == 401
    assert caught.value.code == 90001


def test_query_requires_a_division(api_for, new_username):
    api = api_for(new_username("nodivision"))

    with pytest.raises(SbgError):
        api.users.query(division=None)
    # Sent without a division anyway, the platform refuses it too.
    with pytest.raises(BadRequest) as caught:
        api.get(url="/users")
    assert caught.value.code == 2105


def test_query_of_an_unknown_division(api_for, new_username):
    api = api_for(new_username("nodivision"))

    with pytest.raises(NotFound):
        api.users.query(division="no-such-division-" + new_username("d"), role="member")


def test_admin_cannot_disable_an_unknown_user_or_themselves(admin_api, new_username):
    with pytest.raises(NotFound):
        User(username="nobody-" + new_username("ghost"), api=admin_api).disable()
    with pytest.raises(Forbidden):
        admin_api.users.me().disable()


def test_only_admins_may_disable_users(api_for, new_username):
    regular, victim = new_username("regular"), new_username("victim")
    api = api_for(regular)
    api_for(victim).users.me()

    # A lazy object: regular users cannot even load someone else's profile.
    with pytest.raises(Forbidden) as caught:
        User(username=victim, api=api).disable()
    assert caught.value.status == 403
    with pytest.raises(Forbidden):
        api.users.me().disable()
    # The victim still works.
    assert api_for(victim).users.me().username == victim


def test_admin_disables_a_user(platform, admin_api, new_username):
    victim = new_username("disabled")
    victim_api = sbg.Api(url=platform.url, token=platform.token(victim), debug=True)
    assert victim_api.users.me().username == victim

    result = admin_api.users.get(victim).disable()

    assert result is None
    with pytest.raises(Unauthorized):
        victim_api.users.me()


def test_disable_accepts_an_explicit_api(platform, admin_api, api_for, new_username):
    victim = new_username("disabled")
    victim_api = sbg.Api(url=platform.url, token=platform.token(victim), debug=True)
    victim_user = victim_api.users.me()

    # The object belongs to the victim's client; the admin's client does the deleting.
    victim_user.disable(api=admin_api)

    with pytest.raises(Unauthorized):
        victim_api.users.me()

"""``api.projects``: create, get, query and paginate, save, reload, delete; errors and restarts."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

import sevenbridges as sbg
from sevenbridges.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PaginationError,
    ReadOnlyPropertyError,
    ResourceNotModified,
    SbgError,
    ServiceUnavailable,
    ValidationError,
)
from sevenbridges.http.error_handlers import maintenance_sleeper
from sevenbridges.meta.collection import Collection
from sevenbridges.models.project import Project

READ_ONLY = {"read": True, "copy": False, "write": False, "execute": False, "admin": False}
ADMIN = {"read": True, "copy": True, "write": True, "execute": True, "admin": True}


def billing_group_id(api: sbg.Api) -> str:
    return api.billing_groups.query()[0].id


def test_create_returns_the_full_project(api_for, platform, new_username):
    username = new_username("creator")
    api = api_for(username)
    group = billing_group_id(api)

    project = api.projects.create(
        name="Helix data",
        billing_group=group,
        description="X-ray *diffraction*",
        tags=["tcga", "xray"],
        settings={"locked": False, "use_memoization": True},
    )

    assert isinstance(project, Project)
    assert project.id.startswith(username + "/")
    assert project.href == f"{platform.url}/projects/{project.id}"
    assert project.name == "Helix data"
    assert project.billing_group == group
    assert project.description == "X-ray *diffraction*"
    assert project.tags == ["tcga", "xray"]
    assert project.settings["use_memoization"] is True
    assert project.settings["locked"] is False
    assert project.type == "v2"
    assert project.created_by == username
    assert isinstance(project.created_on, datetime)
    assert isinstance(project.modified_on, datetime)
    assert project.category
    assert str(project) == repr(project) == f"<Project: id={project.id}>"


def test_create_accepts_a_billing_group_object(api_for, new_username):
    api = api_for(new_username("bgobj"))
    group = api.billing_groups.query()[0]

    project = api.projects.create(name="with object", billing_group=group)

    assert project.billing_group == group.id


def test_create_with_only_a_name(api_for, new_username):
    api = api_for(new_username("minimal"))

    project = api.projects.create(name="minimal")

    assert project.name == "minimal"
    assert project.tags == []
    # Without a billing group the platform charges the caller's own group.
    assert project.billing_group == billing_group_id(api)


def test_create_without_a_name_is_refused_client_side(api_for, new_username):
    api = api_for(new_username("noname"))

    with pytest.raises(SbgError):
        api.projects.create(name=None)


@pytest.mark.parametrize(
    "bad_arguments",
    [
        {"name": 12345},
        {"name": "ok", "billing_group": "not-a-uuid"},
        {"name": "ok", "description": ["not", "text"]},
        {"name": "ok", "tags": "not-a-list"},
    ],
)
def test_create_with_wrong_types_is_refused_before_sending(api_for, new_username, bad_arguments):
    api = api_for(new_username("badtypes"))

    with pytest.raises(ValidationError):
        api.projects.create(**bad_arguments)
    assert api.projects.query().total == 0


def test_create_with_an_oversized_name_is_a_bad_request(api_for, new_username):
    api = api_for(new_username("longname"))

    with pytest.raises(BadRequest) as caught:
        api.projects.create(name="x" * 1000)
    assert caught.value.status == 400
    assert caught.value.code == 90000
    assert "name" in caught.value.message
    assert api.projects.query().total == 0


def test_create_with_someone_elses_billing_group_is_refused(api_for, new_username):
    owner_api, other_api = api_for(new_username("bgowner")), api_for(new_username("bgthief"))
    foreign_group = billing_group_id(owner_api)

    with pytest.raises(Forbidden) as caught:
        other_api.projects.create(name="free ride", billing_group=foreign_group)
    assert caught.value.code == 4006
    assert other_api.projects.query().total == 0


def test_create_with_an_unknown_billing_group_is_not_found(api_for, new_username):
    api = api_for(new_username("nobg"))

    with pytest.raises(NotFound) as caught:
        api.projects.create(name="no group", billing_group=str(uuid.uuid4()))
    assert caught.value.code == 4002


def test_same_name_twice_gives_two_projects(api_for, new_username):
    api = api_for(new_username("twins"))

    first = api.projects.create(name="twin")
    second = api.projects.create(name="twin")

    assert first != second
    assert first.name == second.name == "twin"
    assert api.projects.query(name="twin").total == 2


def test_get_by_id_and_equality(api_for, new_username):
    api = api_for(new_username("getter"))
    created = api.projects.create(name="findme", tags=["a"])

    fetched = api.projects.get(created.id)
    again = api.projects.get(id=created)

    assert fetched == created == again
    assert fetched.name == "findme" and fetched.tags == ["a"]
    assert fetched != created.id
    other = api.projects.create(name="different")
    assert fetched != other


def test_lazy_project_loads_on_first_access(api_for, new_username):
    api = api_for(new_username("lazy"))
    created = api.projects.create(name="lazy one", description="loaded later")

    lazy = Project(id=created.id, api=api)

    assert lazy.description == "loaded later"
    assert lazy.name == "lazy one"


def test_get_unknown_project_is_not_found(api_for, new_username):
    username = new_username("missing")
    api = api_for(username)

    with pytest.raises(NotFound) as caught:
        api.projects.get(f"{username}/does-not-exist")
    assert caught.value.status == 404
    assert caught.value.code == 3002


def test_get_with_an_empty_id_is_refused_client_side(api_for, new_username):
    api = api_for(new_username("emptyid"))

    with pytest.raises(SbgError):
        api.projects.get("")


def test_query_filters_by_name_category_tags_and_owner(api_for, new_username):
    owner = new_username("filters")
    api = api_for(owner)
    red = api.projects.create(name="red apple", tags=["fruit", "red"])
    green = api.projects.create(name="green apple", tags=["fruit", "green"])
    api.projects.create(name="red car", tags=["vehicle", "red"])

    everything = api.projects.query()
    assert everything.total == 3
    assert {p.name for p in everything} == {"red apple", "green apple", "red car"}

    by_name = api.projects.query(name="red apple")
    assert [p.id for p in by_name] == [red.id]

    by_tags = api.projects.query(tags=["fruit"])
    assert {p.id for p in by_tags} == {red.id, green.id}
    both_tags = api.projects.query(tags=["fruit", "red"])
    assert [p.id for p in both_tags] == [red.id]

    by_category = api.projects.query(category=red.category)
    assert by_category.total == 3
    assert api.projects.query(category="NO-SUCH-CATEGORY").total == 0

    by_owner = api.projects.query(owner=owner)
    assert by_owner.total == 3
    by_owner_object = api.projects.query(owner=api.users.me())
    assert {p.id for p in by_owner_object} == {p.id for p in by_owner}


def test_query_items_are_full_objects(api_for, new_username):
    api = api_for(new_username("full"))
    api.projects.create(name="full", description="described", tags=["t"])

    item = api.projects.query()[0]

    # fields=_all: the listing already carries everything, no lazy fetch needed.
    assert item.field("description") == "described"
    assert item.field("tags") == ["t"]


def test_query_rejects_tags_with_commas(api_for, new_username):
    api = api_for(new_username("commas"))

    with pytest.raises(SbgError):
        api.projects.query(tags=["a,b"])
    with pytest.raises(SbgError):
        api.projects.query(tags="not-a-list")


def test_query_shows_projects_shared_with_me(api_for, new_username):
    owner, guest = new_username("sharer"), new_username("guest")
    owner_api, guest_api = api_for(owner), api_for(guest)
    shared = owner_api.projects.create(name="shared")
    owner_api.projects.create(name="private")
    shared.add_member(guest, READ_ONLY)

    visible = guest_api.projects.query()
    of_owner = guest_api.projects.query(owner=owner)

    assert [p.id for p in visible] == [shared.id]
    assert [p.id for p in of_owner] == [shared.id]


def test_pagination_over_more_than_one_hundred_projects(api_for, new_username):
    api = api_for(new_username("many"))
    created_ids = {api.projects.create(name=f"project {number:03d}").id for number in range(105)}

    first = api.projects.query(limit=50)
    assert isinstance(first, Collection)
    assert first.total == 105
    assert len(first) == 50
    assert repr(first) == "<Collection: total=105, available=50>"
    assert isinstance(first[0], Project)
    assert first[-1] == first[49]
    sliced = first[10:13]
    assert isinstance(sliced, list) and [p.id for p in sliced] == [p.id for p in first][10:13]
    with pytest.raises(PaginationError):
        first.previous_page()

    second = first.next_page()
    third = second.next_page()
    assert (len(second), len(third)) == (50, 5)
    assert second.total == third.total == 105
    with pytest.raises(PaginationError):
        third.next_page()
    back = third.previous_page()
    assert [p.id for p in back] == [p.id for p in second]

    paged_ids = [p.id for page in (first, second, third) for p in page]
    assert len(paged_ids) == len(set(paged_ids)) == 105
    assert set(paged_ids) == created_ids

    everything = list(api.projects.query(limit=40).all())
    assert {p.id for p in everything} == created_ids
    assert len(everything) == 105

    # Offsets give the same window as following the links.
    assert [p.id for p in api.projects.query(offset=50, limit=50)] == [p.id for p in second]
    # A non-positive limit means "the maximum page", 100 items.
    assert len(api.projects.query(limit=0)) == 100
    assert len(api.projects.query()) <= 100


def test_save_sends_only_changed_fields(api_for, new_username):
    api = api_for(new_username("saver"))
    other_client = api_for(api.users.me().username)
    project = api.projects.create(name="before", description="original", tags=["one"])

    # Another client changes the description meanwhile; our save must not overwrite it.
    concurrent = other_client.projects.get(project.id)
    concurrent.description = "changed elsewhere"
    concurrent.save()

    project.name = "after"
    saved = project.save()

    assert saved is project
    assert project.name == "after"
    assert project.description == "changed elsewhere"
    fresh = other_client.projects.get(project.id)
    assert (fresh.name, fresh.description, fresh.tags) == ("after", "changed elsewhere", ["one"])
    assert fresh.id == project.id  # renaming keeps the id


def test_save_sends_only_changed_settings_keys(api_for, new_username):
    username = new_username("settings")
    api, other_client = api_for(username), api_for(username)
    project = api.projects.create(name="settings", settings={"locked": False})

    concurrent = other_client.projects.get(project.id)
    concurrent.settings["use_interruptible_instances"] = False
    concurrent.save()

    project.settings["use_memoization"] = True
    project.save()

    fresh = other_client.projects.get(project.id)
    assert fresh.settings["use_memoization"] is True
    assert fresh.settings["use_interruptible_instances"] is False
    assert fresh.settings["locked"] is False


def test_save_detects_in_place_tag_changes(api_for, new_username):
    api = api_for(new_username("tags"))
    project = api.projects.create(name="tagged", tags=["a"])

    project.tags.append("b")
    project.save()

    assert api.projects.get(project.id).tags == ["a", "b"]


def test_save_without_changes_raises_not_modified(api_for, new_username):
    api = api_for(new_username("unchanged"))
    project = api.projects.create(name="same")

    with pytest.raises(ResourceNotModified):
        project.save()
    project.name = "same"  # an equal value is not a change
    with pytest.raises(ResourceNotModified):
        project.save()

    project.description = "now changed"
    project.save()
    with pytest.raises(ResourceNotModified):
        project.save()


def test_save_not_in_place_returns_a_new_object(api_for, new_username):
    api = api_for(new_username("copysave"))
    project = api.projects.create(name="original")

    project.name = "renamed"
    result = project.save(inplace=False)

    assert result is not project
    assert result.name == "renamed"
    assert api.projects.get(project.id).name == "renamed"


def test_field_validation_on_assignment(api_for, new_username):
    api = api_for(new_username("validate"))
    project = api.projects.create(name="strict")

    with pytest.raises(ValidationError):
        project.name = 42
    with pytest.raises(ValidationError):
        project.tags = "not-a-list"
    with pytest.raises(ValidationError):
        project.billing_group = "not-a-uuid"
    with pytest.raises(ValidationError):
        project.type = "v22"
    with pytest.raises(ReadOnlyPropertyError):
        project.id = "someone/else"
    with pytest.raises(ReadOnlyPropertyError):
        project.created_by = "someone"
    with pytest.raises(ReadOnlyPropertyError):
        project.root_folder = "abc"
    # Nothing invalid reached the object.
    with pytest.raises(ResourceNotModified):
        project.save()


def test_save_with_an_oversized_name_is_a_bad_request(api_for, new_username):
    api = api_for(new_username("longsave"))
    project = api.projects.create(name="short")

    project.name = "y" * 1000
    with pytest.raises(BadRequest):
        project.save()
    assert api.projects.get(project.id).name == "short"


def test_reload_picks_up_changes_from_elsewhere(api_for, new_username):
    username = new_username("reloader")
    api, other_client = api_for(username), api_for(username)
    project = api.projects.create(name="stale")
    change = other_client.projects.get(project.id)
    change.description = "fresh"
    change.save()

    assert project.reload() is project
    assert project.description == "fresh"


def test_delete_removes_the_project(api_for, new_username):
    api = api_for(new_username("deleter"))
    project = api.projects.create(name="doomed")

    assert project.delete() is None

    with pytest.raises(NotFound):
        api.projects.get(project.id)
    assert api.projects.query().total == 0
    # reload() wraps every failure, a 404 included, in a plain SbgError.
    with pytest.raises(SbgError) as caught:
        project.reload()
    assert not isinstance(caught.value, NotFound)


def test_permission_levels_on_a_project(api_for, new_username):
    owner, reader, admin, stranger = (
        new_username("owner"),
        new_username("reader"),
        new_username("padmin"),
        new_username("stranger"),
    )
    owner_api, reader_api, admin_api, stranger_api = (
        api_for(name) for name in (owner, reader, admin, stranger)
    )
    project = owner_api.projects.create(name="guarded", description="secret")
    project.add_member(reader, READ_ONLY)
    project.add_member(admin, ADMIN)

    # A read-only member sees the project but may not change it.
    reader_view = reader_api.projects.get(project.id)
    assert reader_view.description == "secret"
    reader_view.description = "defaced"
    with pytest.raises(Forbidden) as caught:
        reader_view.save()
    assert caught.value.status == 403
    assert caught.value.code == 3001
    with pytest.raises(Forbidden):
        reader_view.delete()

    # A project admin may change it.
    admin_view = admin_api.projects.get(project.id)
    admin_view.description = "edited by admin"
    admin_view.save()
    assert project.reload().description == "edited by admin"

    # Someone who is not a member does not even learn that the project exists.
    with pytest.raises(NotFound):
        stranger_api.projects.get(project.id)
    # Nor may they change it (raw call: a model object cannot even be loaded by them).
    with pytest.raises(NotFound):
        stranger_api.patch(url=f"/projects/{project.id}", data={"name": "hijacked"})
    assert stranger_api.projects.query(owner=owner).total == 0


def test_project_survives_a_platform_restart(start_platform, new_username):
    server = start_platform()
    owner, guest = new_username("persist"), new_username("persistguest")
    api = sbg.Api(url=server.url, token=server.token(owner), debug=True)
    server.token(guest)
    project = api.projects.create(
        name="durable", description="kept", tags=["x"], settings={"use_memoization": True}
    )
    project.add_member(guest, READ_ONLY)

    server.restart()

    api = sbg.Api(url=server.url, token=server.token(owner), debug=True)
    again = api.projects.get(project.id)
    assert again == project
    assert (again.name, again.description, again.tags) == ("durable", "kept", ["x"])
    assert again.settings["use_memoization"] is True
    assert again.billing_group == project.billing_group
    assert again.created_on == project.created_on
    assert [m.username for m in again.get_members() if m.username == guest] == [guest]
    assert api.projects.query().total == 1


def test_maintenance_surfaces_as_service_unavailable(platform_faults, api_for, new_username):
    api = api_for(new_username("patient"), debug=True)
    # The default handler would wait out maintenance (300 s per try); here we want the error.
    api.remove_error_handler(maintenance_sleeper)
    project = api.projects.create(name="before maintenance")
    assert platform_faults(maintenance=True)["maintenance"] is True

    with pytest.raises(ServiceUnavailable) as caught:
        api.projects.query()
    assert (caught.value.status, caught.value.code) == (503, 0)
    project.description = "during maintenance"
    with pytest.raises(ServiceUnavailable):
        project.save()

    assert platform_faults(maintenance=False)["maintenance"] is False
    # The change was kept locally and goes through once the platform is back.
    project.save()
    assert api.projects.get(project.id).description == "during maintenance"

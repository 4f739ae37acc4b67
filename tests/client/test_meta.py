"""Resource machinery: fields, dirty tracking, nested dicts, lazy loading, paging, Transform."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

import sevenbridges as sbg
from sevenbridges import errors
from sevenbridges.decorators import inplace_reload
from sevenbridges.meta.collection import Collection, VolumeCollection
from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict
from sevenbridges.meta.data import DataContainer
from sevenbridges.meta.fields import (
    BasicListField,
    BooleanField,
    CompoundField,
    CompoundListField,
    DateTimeField,
    DictField,
    Field,
    FloatField,
    HrefField,
    IntegerField,
    ObjectIdField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource, ResourceMeta
from sevenbridges.meta.transformer import Transform

# --------------------------------------------------------------------------- models for the tests


class Dials(CompoundMutableDict, Resource):
    _name = "dials"


class Meta(CompoundMutableDict, Resource):
    _name = "metadata"


class Part(Resource):
    name = StringField(read_only=True)
    weight = FloatField(read_only=True)


def _even(value):
    if value is not None and value % 2:
        raise errors.ValidationError("must be even")


class Gadget(Resource):
    _URL = {"get": "/gadgets/{id}"}

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False, max_length=10)
    size = IntegerField(read_only=False)
    ratio = FloatField(read_only=False)
    enabled = BooleanField(read_only=False)
    token = UuidField(read_only=False)
    created_on = DateTimeField(read_only=True)
    tags = BasicListField(read_only=False, max_length=3)
    extra = DictField(read_only=False)
    owner_id = ObjectIdField(read_only=True)
    from_ = DateTimeField(read_only=True, name="from")
    even = Field(read_only=False, validator=_even)
    dials = CompoundField(Dials, read_only=False)
    metadata = CompoundField(Meta, read_only=False)
    main_part = CompoundField(Part, read_only=False, name="part")
    parts = CompoundListField(Part, read_only=True)


class Settings(CompoundMutableDict, Resource):
    _name = "settings"


class ProjectRecord(Resource):
    """Our own view of a project, so these tests depend only on the meta package."""

    _URL = {"get": "/projects/{id}", "delete": "/projects/{id}"}

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)
    description = StringField(read_only=False)
    tags = BasicListField(read_only=False)
    settings = CompoundField(Settings, read_only=False)
    created_on = DateTimeField(read_only=True)
    never_sent = StringField(read_only=True)


class BillingRecord(Resource):
    href = HrefField(read_only=True)
    id = UuidField(read_only=True)
    name = StringField(read_only=True)


def record_requests(api: sbg.Api) -> list[requests.PreparedRequest]:
    sent: list[requests.PreparedRequest] = []
    api.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
    return sent


def create_projects(api: sbg.Api, count: int, prefix: str = "p") -> list[str]:
    return [api.post("/projects", data={"name": f"{prefix}{n}"}).json()["id"] for n in range(count)]


# --------------------------------------------------------------------------- fields


def test_fields_are_registered_by_json_name_and_inherited():
    assert Gadget._fields["from"] is Gadget.__dict__["from_"]
    assert Gadget._fields["part"] is Gadget.__dict__["main_part"]
    assert "from_" not in Gadget._fields and "main_part" not in Gadget._fields
    assert {"href", "id", "created_on", "owner_id", "from", "parts"} == Gadget._read_only_keys

    class Gizmo(Gadget):
        colour = StringField(read_only=False)

    assert set(Gizmo._fields) == set(Gadget._fields) | {"colour"}
    assert isinstance(Gizmo, ResourceMeta)


def test_construction_keeps_declared_keys_only():
    gadget = Gadget(id="g1", name="first", unexpected=1, api=None)
    assert gadget.id == "g1"
    assert gadget.field("unexpected") is None
    assert "unexpected" not in gadget._data
    assert gadget._dirty == {}
    assert gadget._modified_data() == {}


@pytest.mark.parametrize(
    "key, value",
    [
        ("name", 5),
        ("name", "x" * 11),
        ("size", "3"),
        ("size", 1.5),
        ("ratio", "abc"),
        ("ratio", {}),
        ("enabled", "yes"),
        ("token", "not-a-uuid"),
        ("tags", "a,b"),
        ("tags", [1, 2, 3, 4]),
        ("even", 3),
    ],
)
def test_invalid_values_are_refused_on_construction_and_assignment(key, value):
    with pytest.raises(errors.ValidationError):
        Gadget(**{key: value})
    gadget = Gadget()
    attribute = {"from": "from_", "part": "main_part"}.get(key, key)
    with pytest.raises(errors.ValidationError):
        setattr(gadget, attribute, value)
    assert gadget._dirty == {}


def test_valid_values_and_their_python_types():
    token = uuid.uuid4()
    gadget = Gadget(name="", size=0, ratio="1.5", enabled=False, tags=[], even=4)
    assert (gadget.name, gadget.size, gadget.ratio, gadget.enabled) == ("", 0, 1.5, False)
    gadget.token = token
    assert gadget.token == str(token)
    gadget.ratio = 2
    assert gadget.ratio == 2.0 and isinstance(gadget.ratio, float)
    gadget.size = True  # bool is an int
    assert gadget.size is True


def test_read_only_fields_refuse_assignment():
    gadget = Gadget(id="g1", parts=[])
    with pytest.raises(errors.ReadOnlyPropertyError, match="Property id is marked as read only!"):
        gadget.id = "other"
    with pytest.raises(errors.ReadOnlyPropertyError, match="from_"):
        gadget.from_ = "2024-01-01T00:00:00Z"
    with pytest.raises(errors.ReadOnlyPropertyError):
        gadget.parts = []
    assert gadget.id == "g1"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-05-01T12:30:45Z", datetime(2024, 5, 1, 12, 30, 45)),
        ("2024-05-01T12:30:45", datetime(2024, 5, 1, 12, 30, 45)),
        ("2024-05-01T12:30:45.123Z", datetime(2024, 5, 1, 12, 30, 45, 123000)),
        ("2024-05-01T12:30:45.1234567Z", datetime(2024, 5, 1, 12, 30, 45, 123456)),
        ("2024-05-01T14:30:45+02:00", datetime(2024, 5, 1, 12, 30, 45)),
        ("2024-05-01", datetime(2024, 5, 1)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2024-13-45T00:00:00Z", None),
    ],
)
def test_datetime_field_parsing(raw, expected):
    assert Gadget(created_on=raw).created_on == expected


def test_datetime_field_accepts_epoch_seconds():
    assert Gadget(created_on=1717171717).created_on == datetime.fromtimestamp(1717171717)


def test_both_constructor_styles():
    assert StringField(True).read_only is True
    assert StringField(read_only=True, name="x").name == "x"
    assert StringField(name="x").read_only is False  # old keyword style, old default
    legacy = StringField("json_name")  # old positional style: the name came first
    assert (legacy.name, legacy.read_only) == ("json_name", False)
    assert IntegerField(False, "n").name == "n"
    assert DateTimeField().read_only is True
    assert UuidField().read_only is True
    assert ObjectIdField().read_only is True
    assert HrefField(name="h").read_only is True
    assert CompoundListField(Part).read_only is True
    assert CompoundField(Part).read_only is False
    assert CompoundField(Part, True, "p").name == "p"
    assert BasicListField(max_length=2).max_length == 2
    assert Field().read_only is True


def test_compound_fields_build_objects_on_every_read():
    gadget = Gadget(part={"name": "wheel", "weight": "2.5"},
                    parts=[{"name": "a"}, {"name": "b", "weight": 1}])
    part = gadget.main_part
    assert isinstance(part, Part) and part.name == "wheel" and part.weight == 2.5
    assert gadget.main_part is not part  # a new object every time
    assert [p.name for p in gadget.parts] == ["a", "b"]
    assert Gadget().parts == []
    assert Gadget().main_part is None
    gadget.main_part = Part(name="axle")
    assert gadget.field("part") == {"name": "axle"}
    assert gadget._modified_data() == {"part": {"name": "axle"}}


# --------------------------------------------------------------------------- dirty tracking


def test_assigning_an_equal_value_changes_nothing():
    gadget = Gadget(name="same", tags=["a"])
    gadget.name = "same"
    gadget.tags = ["a"]
    assert gadget._dirty == {}
    assert gadget._modified_data() == {}


def test_assignment_marks_dirty_and_read_only_keys_are_never_sent():
    gadget = Gadget(id="g1", name="old", size=1)
    gadget.name = "new"
    gadget._set("id", "changed-by-server")
    assert gadget._dirty == {"name": "new"}
    assert gadget._modified_data() == {"name": "new"}
    assert gadget.id == "changed-by-server"


def test_in_place_changes_are_detected():
    gadget = Gadget(tags=["a"], extra={"k": 1, "keep": True, "deep": {"x": 1, "y": 2}})
    gadget.tags.append("b")
    gadget.extra["k"] = 2
    gadget.extra["deep"]["y"] = 3
    assert gadget._dirty == {}
    assert gadget._modified_data() == {"tags": ["a", "b"], "extra": {"k": 2, "deep": {"y": 3}}}
    gadget.update_old()
    assert gadget._modified_data() == {}


def test_update_read_only_takes_only_server_fields():
    gadget = Gadget(id="g1", name="mine")
    gadget.tags = ["t"]
    gadget._update_read_only({"id": "g2", "name": "theirs", "created_on": "2024-01-01T00:00:00Z"})
    assert gadget.id == "g2"
    assert gadget.name == "mine"
    assert gadget.created_on == datetime(2024, 1, 1)
    assert gadget._modified_data() == {"tags": ["t"]}  # still pending: it is in _dirty


def test_assigning_metadata_as_a_whole_means_replace():
    gadget = Gadget(metadata={"a": 1, "b": 2})
    gadget.metadata["a"] = 5
    assert gadget._overwrite_metadata is False
    assert gadget._modified_data() == {"metadata": {"a": 5}}
    gadget.metadata = {"a": 5, "c": 3}
    assert gadget._overwrite_metadata is True
    assert gadget._modified_data() == {"metadata": {"a": 5, "c": 3}}
    with pytest.raises(errors.ValidationError):
        gadget.metadata = None


def test_equals_and_deepcopy():
    first = Gadget(id="g", tags=["a"], extra={"k": [1]})
    second = Gadget(id="g", tags=["a"], extra={"k": [1]})
    assert first.equals(second) and first.equals(first)
    assert not first.equals(Gadget(id="other"))
    assert not first.equals(Part())
    assert first != second  # no __eq__ on this class: identity
    copy = first.deepcopy()
    assert type(copy) is Gadget and copy.equals(first) and copy is not first
    copy.extra["k"].append(2)
    assert first.extra == {"k": [1]}
    assert str(first) == repr(first) == "Gadget"


# --------------------------------------------------------------------------- CompoundMutableDict


def test_nested_dict_reads_the_parents_current_data():
    gadget = Gadget(dials={"a": 1})
    dials = gadget.dials
    assert isinstance(dials, dict) and isinstance(dials, Dials)
    gadget._data.data["dials"]["b"] = 2
    assert dials["b"] == 2
    assert dials["missing"] is None
    assert dials.get("missing", "default") == "default"
    assert "a" in dials and len(dials) == 2
    assert dials.items() == [("a", 1), ("b", 2)]
    assert dials.keys() == ["a", "b"] and dials.values() == [1, 2]
    assert dict(dials) == {"a": 1, "b": 2}
    assert dials.copy() == {"a": 1, "b": 2}


def test_nested_dict_writes_through_and_marks_only_changed_keys():
    gadget = Gadget(dials={"a": 1, "b": 2})
    dials = gadget.dials
    dials["a"] = 1
    assert gadget._dirty == {}
    dials["a"] = 5
    assert gadget._dirty == {"dials": {"a": 5}}
    assert gadget.dials["a"] == 5
    dials.update({"b": 2, "c": 3}, d=4)
    assert gadget._dirty == {"dials": {"a": 5, "c": 3, "d": 4}}
    assert gadget._modified_data() == {"dials": {"a": 5, "c": 3, "d": 4}}
    assert json.loads(json.dumps(dials)) == {"a": 5, "b": 2, "c": 3, "d": 4}
    del dials["d"]
    assert "d" not in gadget.dials and gadget._dirty["dials"]["d"] is None
    with pytest.raises(KeyError):
        del dials["never-there"]


def test_nested_dict_comparison_and_display():
    gadget = Gadget(dials={"a": 1})
    assert gadget.dials == {"a": 1}
    assert gadget.dials != {"a": 2}
    assert gadget.dials.equals(Gadget(dials={"a": 1}).dials)
    assert not gadget.dials.equals({"a": 1})  # equals() also wants the same type
    assert repr(gadget.dials) == str(gadget.dials) == "{'a': 1}"


def test_detached_nested_dict_behaves_like_a_dict():
    dials = Dials(a=1)
    assert dials["a"] == 1 and dials["missing"] is None
    dials["b"] = 2
    assert dials.items() == [("a", 1), ("b", 2)]
    del dials["a"]
    assert dials == {"b": 2}


# --------------------------------------------------------------------------- inplace_reload


class Counter(Resource):
    id = StringField(read_only=True)
    value = IntegerField(read_only=False)

    @inplace_reload
    def bump(self, inplace=True):
        return Counter(id=self.id, value=(self.value or 0) + 1)

    @inplace_reload
    def nothing(self, inplace=True):
        return None


def test_inplace_reload():
    counter = Counter(id="c", value=0)
    assert counter.bump() is counter and counter.value == 1
    fresh = counter.bump(inplace=False)
    assert fresh is not counter and fresh.value == 2 and counter.value == 1
    assert counter.bump(False) is counter and counter.value == 2  # honoured only as a keyword
    assert counter.nothing() is counter
    assert counter._modified_data() == {}


# --------------------------------------------------------------------------- binding


def test_reading_a_model_from_a_client_binds_it(monkeypatch):
    monkeypatch.setattr(Gadget, "_API", None)

    class GadgetApi(sbg.Api):
        gadgets = Gadget

    class NotAClient:
        gadgets = Gadget

    api = GadgetApi(url="https://api.example.org/v2", token="t" * 32)
    assert NotAClient().gadgets is Gadget and Gadget._API is None
    assert api.gadgets is Gadget and Gadget._API is api
    assert Gadget()._api is api  # the class default is used by new objects
    other = GadgetApi(url="https://api.example.org/v2", token="u" * 32)
    assert Gadget(api=other)._api is other


# --------------------------------------------------------------------------- live platform


def test_collection_paging(api_for, new_username):
    api = api_for(new_username("pages"))
    created = create_projects(api, 5)
    page = ProjectRecord._query(url="/projects/", limit=2, fields="_all", api=api)
    assert isinstance(page, Collection) and isinstance(page, list)
    assert page.resource is ProjectRecord
    assert (len(page), page.total) == (2, 5)
    assert repr(page) == "<Collection: total=5, available=2>"
    assert all(isinstance(item, ProjectRecord) for item in page)
    assert page.href.startswith("http")
    with pytest.raises(errors.PaginationError, match="No more entries."):
        page.previous_page()
    second = page.next_page()
    third = second.next_page()
    assert (len(second), len(third)) == (2, 1)
    with pytest.raises(errors.PaginationError):
        third.next_page()
    assert [p.id for p in third.previous_page()] == [p.id for p in second]
    assert type(page[0:1]) is list and page[0:1] == [page[0]]
    everything = [p.id for p in page.all()]
    assert sorted(everything) == sorted(created)
    assert len([p.id for p in second.all()]) == 3  # from this page on


def test_query_parameters(platform, api_for, new_username):
    api = api_for(new_username("params"))
    create_projects(api, 1)
    sent = record_requests(api)
    ProjectRecord._query(url="/projects/", limit=0, offset=None, name=None, api=api)
    assert parse_qs(urlsplit(sent[-1].url).query) == {"limit": ["100"]}
    absolute = ProjectRecord._query(url=platform.url + "/projects/", limit=-5, api=api)
    assert absolute.total == 1
    assert parse_qs(urlsplit(sent[-1].url).query) == {"limit": ["100"]}


def test_listing_billing_groups(admin_api):
    groups = BillingRecord._query(url="/billing/groups", fields="_all", api=admin_api)
    assert groups.total >= 1 and len(groups) >= 1
    for group in groups:
        assert uuid.UUID(group.id) and group.name


def test_lazy_loading_fetches_once(api_for, new_username):
    api = api_for(new_username("lazy"))
    project_id = create_projects(api, 1)[0]
    sent = record_requests(api)
    record = ProjectRecord(id=project_id, api=api)
    assert record.field("name") is None and sent == []  # field() never fetches
    assert record.name == "p0"
    assert len(sent) == 1 and sent[0].url.endswith(f"/projects/{project_id}")
    assert isinstance(record.created_on, datetime)
    assert record.never_sent is None
    assert len(sent) == 1


def test_lazy_loading_through_href_and_writes_read_first(api_for, new_username):
    api = api_for(new_username("href"))
    project_id = create_projects(api, 1)[0]
    href = api.get(f"/projects/{project_id}").json()["href"]
    sent = record_requests(api)
    by_href = ProjectRecord(href=href, api=api)
    by_href.description = "new words"
    assert [request.url for request in sent] == [href]
    assert by_href.name == "p0"
    assert by_href._modified_data() == {"description": "new words"}


def test_lazy_loading_keeps_unsaved_local_changes(api_for, new_username):
    api = api_for(new_username("keep"))
    project_id = create_projects(api, 1)[0]
    record = ProjectRecord(id=project_id, name="p0", tags=["x"], api=api)
    record.name = "renamed locally"
    record.tags.append("y")
    assert record.description == ""  # missing: fetched now
    assert record.name == "renamed locally"
    assert record.tags == ["x", "y"]
    assert record._modified_data() == {"name": "renamed locally", "tags": ["x", "y"]}


def test_get_reload_and_delete(api_for, new_username):
    api = api_for(new_username("grd"))
    project_id = create_projects(api, 1)[0]
    record = ProjectRecord.get(project_id, api=api)
    assert record.name == "p0" and record.id == project_id
    assert ProjectRecord.get(record, api=api).id == project_id  # an object with an id works too
    record.name = "local only"
    assert record.reload() is record
    assert record.name == "p0" and record._dirty == {} and record._modified_data() == {}
    record.delete()
    with pytest.raises(errors.NotFound):
        ProjectRecord.get(project_id, api=api)
    with pytest.raises(errors.SbgError) as caught:
        record.reload()
    assert not isinstance(caught.value, errors.NotFound)
    assert str(caught.value).startswith("Resource can not be refreshed due to an error")


def test_get_and_delete_need_urls_and_ids():
    with pytest.raises(errors.SbgError, match="Invalid id value!"):
        ProjectRecord.get("")
    with pytest.raises(errors.SbgError, match="Unable to retrieve resource!"):
        Part.get("anything")
    with pytest.raises(errors.SbgError, match="Resource can not be deleted!"):
        Part(name="x").delete()
    with pytest.raises(errors.SbgError, match="refreshed"):
        Part(name="x").reload()
    with pytest.raises(errors.SbgError, match="No Api for ProjectRecord"):
        ProjectRecord.get("owner/project")
    with pytest.raises(errors.SbgError, match="No Api for ProjectRecord"):
        ProjectRecord._query(url="/projects/")
    with pytest.raises(errors.SbgError, match="No Api for ProjectRecord"):
        ProjectRecord(id="owner/project").delete()


def test_data_container_without_an_address_does_not_fetch():
    container = DataContainer(urls={"get": "/things/{id}"}, api=None, parent=None)
    container["name"] = "x"
    assert container["name"] == "x"
    assert container["missing"] is None and container.fetched is True
    assert container.fetch() is False


# --------------------------------------------------------------------------- canned transport


class _RoutedAdapter(BaseAdapter):
    """Answers by URL from a dict of url -> (status, content type, body bytes, headers)."""

    def __init__(self, routes):
        super().__init__()
        self.routes = routes

    def send(self, request, **kwargs):
        status, content_type, body, headers = self.routes[request.url]
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers["Content-Type"] = content_type
        response.headers.update(headers)
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def _canned_api(routes) -> sbg.Api:
    api = sbg.Api(url="https://platform.invalid/v2", token="t" * 32)
    api.session.mount("https://", _RoutedAdapter(routes))
    return api


def test_a_list_that_is_not_json_raises_non_json_response_error():
    api = _canned_api({
        "https://platform.invalid/v2/projects/": (200, "text/html", b"<html>oops</html>", {}),
    })
    with pytest.raises(errors.NonJSONResponseError) as caught:
        ProjectRecord._query(url="/projects/", api=api)
    assert caught.value.status == 200
    assert "oops" in caught.value.message


def test_a_list_without_a_total_header_reports_minus_one():
    body = json.dumps({"href": "https://platform.invalid/v2/projects/", "items": [{"id": "a/b"}],
                       "links": []}).encode()
    api = _canned_api({
        "https://platform.invalid/v2/projects/": (200, "application/json", body, {}),
    })
    page = ProjectRecord._query(url="/projects/", api=api)
    assert page.total == -1 and [p.id for p in page] == ["a/b"]


def _location(item):
    return item["location"] if isinstance(item, dict) else item.location


def test_volume_collection_follows_next_links_only_forwards():
    first_url = "https://platform.invalid/v2/storage/volumes/o/v/list"
    second_url = first_url + "?continuation_token=abc"
    pages = {
        first_url: {"href": first_url, "items": [{"location": "a.txt", "type": "FILE"}],
                    "prefixes": [{"prefix": "dir/"}], "links": [{"next": second_url}]},
        second_url: {"href": second_url, "items": [{"location": "b.txt", "type": "FILE"}],
                     "prefixes": [], "links": []},
    }
    api = _canned_api({
        url: (200, "application/json", json.dumps(page).encode(), {})
        for url, page in pages.items()
    })
    first = VolumeCollection.from_volume_response(api.get(first_url, append_base=False), api)
    assert first.total == -1 and len(first) == 1 and len(first.prefixes) == 1
    assert repr(first) == "<VolumeCollection: items=1>"
    second = first.next_page()
    assert [_location(item) for item in second] == ["b.txt"]
    with pytest.raises(errors.PaginationError, match="No more entries."):
        second.next_page()
    with pytest.raises(errors.PaginationError, match="Cannot paginate backwards"):
        first.previous_page()
    assert [_location(item) for item in first.all()] == ["a.txt", "b.txt"]


# --------------------------------------------------------------------------- Transform

TRANSFORMS = [
    "to_resource", "to_project", "to_task", "to_app", "to_file", "to_user", "to_billing_group",
    "to_volume", "to_marker", "to_division", "to_team", "to_import", "to_export", "to_dataset",
    "to_member", "to_automation", "to_automation_member", "to_automation_package",
    "to_async_job", "to_automation_run",
]


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_transform_passes_strings_and_refuses_empty_or_odd_values(name):
    transform = getattr(Transform, name)
    assert transform("some/id") == "some/id"
    with pytest.raises(errors.SbgError, match="is required!"):
        transform(None)
    with pytest.raises(errors.SbgError, match="is required!"):
        transform("")
    with pytest.raises(errors.SbgError, match="Invalid"):
        transform(42)


def test_transform_takes_ids_and_usernames_from_objects():
    project = sbg.Project(id="owner/project")
    assert Transform.to_project(project) == "owner/project"
    assert Transform.to_resource(project) == "owner/project"
    assert Transform.to_user(sbg.User(username="rosalind")) == "rosalind"
    assert Transform.to_member(sbg.Member(username="maurice")) == "maurice"
    assert Transform.to_billing_group(
        sbg.BillingGroup(id="2c7a0a4e-7d0a-4b5e-9a34-0d9a3f1b6c11")
    ) == "2c7a0a4e-7d0a-4b5e-9a34-0d9a3f1b6c11"
    # models of later releases are duck-typed
    assert Transform.to_file(SimpleNamespace(id="64f0")) == "64f0"
    assert Transform.to_automation_member(SimpleNamespace(username="bot")) == "bot"


def test_transform_refuses_resources_of_the_wrong_kind():
    with pytest.raises(errors.SbgError, match="Invalid project parameter!"):
        Transform.to_project(sbg.User(username="u"))
    with pytest.raises(errors.SbgError, match="Invalid user parameter!"):
        Transform.to_user(sbg.Member(username="m"))
    with pytest.raises(errors.SbgError, match="Invalid file parameter!"):
        Transform.to_file(SimpleNamespace(name="no id"))


def test_transform_location_dates_and_tags():
    assert Transform.to_location("bucket/key") == "bucket/key"
    with pytest.raises(errors.SbgError, match="Location is required!"):
        Transform.to_location(None)
    with pytest.raises(errors.SbgError, match="Invalid location parameter!"):
        Transform.to_location(5)
    assert Transform.to_datestring("2024-01-01") == "2024-01-01"
    assert Transform.to_datestring(datetime(2024, 1, 2, 3, 4, 5, 678)) == "2024-01-02T03:04:05"
    assert Transform.to_datestring(5) is None
    assert Transform.to_tags(["a", "b"]) == ["a", "b"]
    assert Transform.to_tags([]) == []
    with pytest.raises(errors.SbgError, match="must be a list"):
        Transform.to_tags("a")
    with pytest.raises(errors.SbgError, match="comma"):
        Transform.to_tags(["a,b"])

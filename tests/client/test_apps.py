"""``api.apps`` against a live local platform: query, get, revisions, install (JSON and YAML),
copy with every strategy, sync, errors, and the App object's own behaviour."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Conflict, Forbidden, NotFound, SbgError
from sevenbridges.meta.collection import Collection
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.app import App
from sevenbridges.models.enums import AppCopyStrategy, AppRawFormat

PUBLIC_PROJECT = "admin/public-apps"

TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Line counter",
    "doc": "Counts lines.",
    "baseCommand": ["wc", "-l"],
    "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
    "outputs": {"lines": {"type": "stdout"}},
}

TOOL_YAML = """\
cwlVersion: v1.0
class: CommandLineTool
label: Greeter
baseCommand: echo
inputs:
  greeting:
    type: string
    inputBinding: {position: 1}
outputs: []
"""


def tool(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(TOOL)
    document.update(changes)
    return document


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("appowner"))


@pytest.fixture
def project(owner: sbg.Api):
    return owner.projects.create(name="apps lab")


@pytest.fixture
def app(owner: sbg.Api, project) -> App:
    return owner.apps.install_app(id=f"{project.id}/line-counter", raw=tool())


def capture_requests(api: sbg.Api) -> list[Any]:
    """Every request this client sends from now on (prepared requests, as on the wire)."""
    sent: list[Any] = []
    api.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    return sent


def test_install_app_returns_the_new_app(app: App, project, platform):
    assert isinstance(app, App)
    assert app.id == f"{project.id}/line-counter"
    assert app._id == f"{project.id}/line-counter/0"
    assert app.revision == 0
    assert app.name == "Line counter"
    assert app.project == project.id
    assert app.href == f"{platform.url}/apps/{project.id}/line-counter/0"
    assert isinstance(app.raw, dict)
    assert app.raw["sbg:id"] == f"{project.id}/line-counter/0"
    assert app.raw["baseCommand"] == ["wc", "-l"]
    assert str(app) == repr(app) == f"<App: id={project.id}/line-counter rev=0>"


def test_install_app_sends_the_raw_document_then_fetches_the_app(owner, project):
    sent = capture_requests(owner)

    installed = owner.apps.install_app(id=f"{project.id}/wire", raw=tool())

    install, fetch = sent
    assert install.method == "POST"
    assert install.url.endswith(f"/apps/{project.id}/wire/raw")
    assert json.loads(install.body) == tool()
    assert fetch.method == "GET"
    assert fetch.url.endswith(f"/apps/{project.id}/wire/0")
    assert installed.revision == 0


def test_install_app_in_yaml(owner, project):
    sent = capture_requests(owner)

    installed = owner.apps.install_app(
        id=f"{project.id}/greeter", raw=TOOL_YAML, raw_format=AppRawFormat.YAML
    )

    # As with the reference client, the YAML text travels as a JSON string with a JSON type.
    assert json.loads(sent[0].body) == TOOL_YAML
    assert sent[0].headers["Content-Type"] == "application/json"
    assert installed.name == "Greeter"
    assert installed.raw["cwlVersion"] == "v1.0"
    assert installed.raw["inputs"]["greeting"]["type"] == "string"


def test_install_app_refuses_unknown_formats_before_sending(owner, project):
    sent = capture_requests(owner)
    with pytest.raises(SbgError):
        owner.apps.install_app(id=f"{project.id}/x", raw=tool(), raw_format="xml")
    assert sent == []


def test_invalid_cwl_raises_bad_request_with_the_reason(owner, project):
    with pytest.raises(BadRequest) as caught:
        owner.apps.install_app(
            id=f"{project.id}/broken", raw=tool(inputs={"text": {"type": "Filez"}})
        )
    assert caught.value.code == 6013
    assert caught.value.status == 400
    assert "Filez" in caught.value.message

    with pytest.raises(BadRequest) as draft2:
        owner.apps.install_app(
            id=f"{project.id}/old", raw=tool(cwlVersion="sbg:draft-2", inputs=[], outputs={})
        )
    assert draft2.value.code == 6013
    assert "sbg:draft-2 construct at outputs" in draft2.value.message


def test_install_app_twice_is_a_conflict(owner, app):
    with pytest.raises(Conflict) as caught:
        owner.apps.install_app(id=app.id, raw=tool())
    assert caught.value.code == 6003


def test_create_revision_and_get_revision(owner, app):
    second = owner.apps.create_revision(id=app.id, revision=1, raw=tool(label="Line counter 2"))

    assert second.id == app.id
    assert second.revision == 1
    assert second.name == "Line counter 2"
    assert second.raw["sbg:latestRevision"] == 1

    latest = owner.apps.get(app.id)
    assert (latest.revision, latest.name) == (1, "Line counter 2")
    first = owner.apps.get_revision(app.id, 0)
    assert (first.revision, first.name) == (0, "Line counter")
    # The revision id works with plain get too, and objects compare by app id.
    assert owner.apps.get(f"{app.id}/0").revision == 0
    assert first == latest
    assert first != owner.apps.get(f"{PUBLIC_PROJECT}/checksum")

    with pytest.raises(Conflict):
        owner.apps.create_revision(id=app.id, revision=1, raw=tool())
    with pytest.raises(NotFound):
        owner.apps.get_revision(app.id, 7)


def test_raw_round_trip_through_a_new_revision(owner, app):
    raw = owner.apps.get(app.id).raw
    raw["doc"] = "Counts lines, revised."

    revised = owner.apps.create_revision(id=app.id, revision=1, raw=raw)

    assert revised.raw["doc"] == "Counts lines, revised."
    assert revised.raw["sbg:id"] == f"{app.id}/1"


def test_query_filters(owner, project, app):
    other = owner.projects.create(name="apps lab two")
    owner.apps.install_app(id=f"{other.id}/greeter", raw=TOOL_YAML, raw_format="yaml")

    mine = owner.apps.query()
    assert isinstance(mine, Collection)
    assert mine.total == 2
    assert [item.id for item in mine] == [app.id, f"{other.id}/greeter"]
    assert all(isinstance(item, App) for item in mine)

    by_project = owner.apps.query(project=project)
    assert [item.id for item in by_project] == [app.id]
    assert [item.id for item in owner.apps.query(project=other.id)] == [f"{other.id}/greeter"]

    assert [item.id for item in owner.apps.query(q=["greeter"])] == [f"{other.id}/greeter"]
    assert [item.id for item in owner.apps.query(q="LINE")] == [app.id]
    assert list(owner.apps.query(q=["line", "greeter"])) == []

    by_id = owner.apps.query(id=[f"{other.id}/greeter", f"{app.id}/0"])
    assert [(item.id, item.revision) for item in by_id] == [
        (app.id, 0),
        (f"{other.id}/greeter", 0),
    ]

    public = owner.apps.query(visibility="public")
    assert [item.id for item in public] == [
        f"{PUBLIC_PROJECT}/{slug}"
        for slug in ("line-count", "checksum", "fastq-stats", "fastq-summary")
    ]

    paged = owner.apps.query(visibility="public", limit=3)
    assert len(paged) == 3 and paged.total == 4
    assert len(paged.next_page()) == 1
    assert len(list(paged.all())) == 4

    with pytest.raises(BadRequest) as caught:
        owner.apps.query(visibility="secret")
    assert caught.value.code == 6011


def test_public_apps_can_be_read_by_anyone(api_for, new_username):
    api = api_for(new_username("reader"))
    summary = api.apps.get(f"{PUBLIC_PROJECT}/fastq-summary")
    assert summary.raw["class"] == "Workflow"
    assert summary.name == "FASTQ summary"
    assert summary.project == PUBLIC_PROJECT
    # Lazy loading and reload work from the href.
    lazy = App(id=f"{PUBLIC_PROJECT}/checksum/0", api=api)
    assert lazy.name == "Checksum"
    assert lazy.reload().revision == 0


def test_permissions(owner, app, api_for, new_username):
    stranger_name = new_username("stranger")
    stranger = api_for(stranger_name)
    with pytest.raises(NotFound) as hidden:
        stranger.apps.get(app.id)
    assert hidden.value.code == 6002

    project = owner.projects.get(app.project)
    project.add_member(stranger_name, {"read": True, "write": False})
    assert stranger.apps.get(app.id).revision == 0
    with pytest.raises(Forbidden) as refused:
        stranger.apps.create_revision(id=app.id, revision=1, raw=tool())
    assert refused.value.code == 6001


@pytest.mark.parametrize(
    "strategy",
    [
        AppCopyStrategy.CLONE,
        AppCopyStrategy.DIRECT,
        AppCopyStrategy.CLONE_DIRECT,
        AppCopyStrategy.TRANSIENT,
    ],
)
def test_copy_with_each_strategy(owner, app, strategy):
    owner.apps.create_revision(id=app.id, revision=1, raw=tool(label="Line counter 2"))
    target = owner.projects.create(name=f"copy {strategy}")
    sent = capture_requests(owner)

    copied = app.copy(project=target, strategy=strategy)

    assert json.loads(sent[0].body) == {"project": target.id, "strategy": strategy}
    assert sent[0].url.endswith(f"/apps/{app.id}/actions/copy")
    assert copied.id == f"{target.id}/line-counter"
    assert copied.project == target.id
    assert copied.name == "Line counter 2"  # the latest revision, as no revision was asked for
    assert copied.raw["sbg:copyOf"] == f"{app.id}/1"
    keeps_history = strategy in (AppCopyStrategy.CLONE, AppCopyStrategy.CLONE_DIRECT)
    assert copied.revision == (1 if keeps_history else 0)


def test_copy_a_revision_under_a_new_name(owner, app):
    owner.apps.create_revision(id=app.id, revision=1, raw=tool(label="Line counter 2"))
    first = owner.apps.get_revision(app.id, 0)
    target = owner.projects.create(name="renamed copies")
    sent = capture_requests(owner)

    copied = first.copy(project=target.id, name="Counter", use_revision=True)

    assert sent[0].url.endswith(f"/apps/{app.id}/0/actions/copy")
    assert json.loads(sent[0].body) == {
        "project": target.id,
        "strategy": "clone",
        "name": "Counter",
    }
    assert copied.id == f"{target.id}/counter"
    assert copied.name == "Counter"
    assert copied.raw["sbg:copyOf"] == f"{app.id}/0"


def test_copy_refuses_unknown_strategies_before_sending(owner, app, project):
    sent = capture_requests(owner)
    with pytest.raises(SbgError):
        app.copy(project=project, strategy="deep")
    assert sent == []


def test_sync_follows_the_source(owner, app):
    target = owner.projects.create(name="synced copies")
    copied = app.copy(project=target, strategy=AppCopyStrategy.DIRECT)
    assert copied.sync().revision == 0  # nothing new yet

    owner.apps.create_revision(id=app.id, revision=1, raw=tool(label="Line counter 2"))
    synced = copied.sync()

    assert isinstance(synced, App)
    assert synced.id == copied.id
    assert synced.revision == 1
    assert synced.name == "Line counter 2"
    assert synced.raw["sbg:copyOf"] == f"{app.id}/1"

    with pytest.raises(BadRequest) as original:
        app.sync()
    assert original.value.code == 6009


def test_app_id_helpers():
    revisioned = App(id="me/proj/tool/12", revision=12)
    assert revisioned.id == "me/proj/tool"
    assert Transform.to_app(revisioned) == "me/proj/tool"
    assert App(id="me/proj/tool").id == "me/proj/tool"
    # A numeric app name is not mistaken for a revision.
    assert App(id="me/proj/42").id == "me/proj/42"
    assert str(App(id="me/proj/tool")) == "<App: id=me/proj/tool>"
    with pytest.raises(SbgError):
        Transform.to_app(sbg.Project(id="me/proj"))

"""The permission model as a table: every project-scoped endpoint family against every kind of
caller, on one live platform.

``NEEDS`` is the model: the permission each action needs on the project. A caller holding it
gets the action's success status; a member without it gets 403 with the action's service code;
a stranger gets 404 (the project, file, app or task "does not exist"); a disabled user gets 401.
Every expectation below is derived from those four rules.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from files_support import new_folder, seed_file, wait_for
from local_helpers import Caller
from test_tasks_support import PUBLIC_LINE_COUNT, SLEEP_TOOL, install_app

from sevenbridges_local.embedded import EmbeddedServer

PERMISSIONS = ("read", "copy", "write", "execute", "admin")
STRANGER = "stranger"
DISABLED = "disabled"
# Callers: the permissions a member holds (``admin`` implies all), or no membership at all.
ROLES: dict[str, frozenset[str] | None] = {
    "owner": frozenset(PERMISSIONS),
    "read": frozenset({"read"}),
    "read+copy": frozenset({"read", "copy"}),
    "read+write": frozenset({"read", "write"}),
    "read+execute": frozenset({"read", "execute"}),
    "read+admin": frozenset({"read", "admin"}),
    STRANGER: None,
    DISABLED: frozenset(PERMISSIONS),  # a full member whose account was then disabled
}


def effective(permissions: frozenset[str]) -> frozenset[str]:
    return frozenset(PERMISSIONS) if "admin" in permissions else permissions


@dataclass(frozen=True)
class Rule:
    """What an action needs and answers: success status, 403 code, stranger's 404 code."""

    needs: str | tuple[str, ...]  # several: all of them
    ok: int
    forbidden: int | None  # None: every member may (``read`` comes with membership)
    missing: int

    @property
    def required(self) -> frozenset[str]:
        return frozenset((self.needs,) if isinstance(self.needs, str) else self.needs)


# The permission model, one line per action.
NEEDS: dict[str, Rule] = {
    # projects and members (3001 no privilege, 3002 not found)
    "project.get": Rule("read", 200, None, 3002),
    "project.patch": Rule("admin", 200, 3001, 3002),
    "project.delete": Rule("admin", 204, 3001, 3002),
    "members.list": Rule("read", 200, None, 3002),
    "member.get": Rule("read", 200, None, 3002),
    "member.add": Rule("admin", 201, 3001, 3002),
    "member.patch": Rule("admin", 200, 3001, 3002),
    "member.remove": Rule("admin", 204, 3001, 3002),
    # files and folders (5001 no privilege, 5014 no copy privilege, 5032 no move privilege)
    "files.list": Rule("read", 200, None, 3002),
    "file.get": Rule("read", 200, None, 5002),
    "file.patch": Rule("write", 200, 5001, 5002),
    "file.metadata.get": Rule("read", 200, None, 5002),
    "file.metadata.patch": Rule("write", 200, 5001, 5002),
    "file.tags.put": Rule("write", 200, 5001, 5002),
    "file.copy": Rule("copy", 200, 5014, 5002),
    "file.move": Rule("write", 200, 5032, 5002),
    "file.delete": Rule("write", 204, 5001, 5002),
    "file.download_info": Rule("copy", 200, 5001, 5002),
    "folder.create": Rule("write", 201, 5001, 3002),
    "folder.list": Rule("read", 200, None, 5002),
    # bulk calls and async jobs: the item's result
    "bulk.get": Rule("read", 200, None, 5002),
    "bulk.edit": Rule("write", 200, 5001, 5002),
    "bulk.delete": Rule("write", 200, 5001, 5002),
    "async.copy": Rule("copy", 200, 5014, 5002),
    "async.move": Rule("write", 200, 5032, 5002),
    "async.delete": Rule("write", 200, 5001, 5002),
    # to the caller's own project: the content leaves P, as with a copy
    "async.move_out": Rule(("write", "copy"), 200, 5032, 5002),
    # uploads (8001 no privilege)
    "upload.init": Rule("write", 201, 8001, 3002),
    # apps (6001 no privilege, 6002 not found)
    "apps.list": Rule("read", 200, None, 3002),
    "app.get": Rule("read", 200, None, 6002),
    "app.install": Rule("write", 200, 6001, 3002),
    "app.copy_into": Rule("write", 200, 6001, 3002),
    # tasks (7001 no privilege, 7002 not found)
    "tasks.list": Rule("read", 200, None, 3002),
    "task.get": Rule("read", 200, None, 7002),
    "task.execution_details": Rule("read", 200, None, 7002),
    "task.create": Rule("execute", 201, 7001, 3002),
    "task.run": Rule("execute", 200, 7001, 7002),
    "task.abort": Rule("execute", 200, 7001, 7002),
    "task.patch": Rule("execute", 200, 7001, 7002),
    "task.delete": Rule("execute", 204, 7001, 7002),
    "task.clone": Rule("execute", 200, 7001, 7002),
}


def expected(role: str, action: str) -> tuple[int, int | None]:
    """(HTTP status, code) the model gives ``role`` for ``action``; code None on success."""
    rule = NEEDS[action]
    permissions = ROLES[role]
    if role == DISABLED:
        return 401, 90001
    if permissions is None:
        return 404, rule.missing
    if rule.required <= effective(permissions):
        return rule.ok, None
    assert rule.forbidden is not None, f"{action}: every member has {rule.needs}"
    return 403, rule.forbidden


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class World:
    """One project P owned by ``owner``, every role's caller, and shared targets in P."""

    platform: EmbeddedServer
    admin: Caller
    owner: Caller
    project: str = ""
    callers: dict[str, Caller] = field(default_factory=dict)
    homes: dict[str, str] = field(default_factory=dict)  # each caller's own project
    file: str = ""
    folder: str = ""
    app: str = ""
    task: str = ""
    target_member: str = ""
    to_abort: list[str] = field(default_factory=list)

    def new_file(self) -> str:
        return seed_file(self.platform, project=self.project, name=_unique("f") + ".txt")

    def new_member(self) -> str:
        username = _unique("extra")
        self.platform.token(username)
        grant(self.owner, self.project, username, frozenset({"read"}))
        return username

    def new_draft(self) -> str:
        response = self.owner.post(
            "/tasks",
            json={
                "name": "draft",
                "project": self.project,
                "app": self.app,
                "inputs": {"seconds": 1},
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def new_running(self) -> str:
        response = self.owner.post(
            "/tasks",
            params={"action": "run"},
            json={
                "name": "busy",
                "project": self.project,
                "app": self.app,
                "inputs": {"seconds": 300},
            },
        )
        assert response.status_code == 201, response.text
        self.to_abort.append(response.json()["id"])
        return str(response.json()["id"])


def grant(owner: Caller, project: str, username: str, permissions: frozenset[str]) -> None:
    body = {
        "username": username,
        "permissions": {name: name in permissions for name in PERMISSIONS},
    }
    response = owner.post(f"/projects/{project}/members", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def world(platform: EmbeddedServer, http: requests.Session) -> Iterator[World]:
    def caller(username: str) -> Caller:
        return Caller(http, platform.url, platform.token(username), username)

    owner = caller(_unique("owner"))
    world = World(platform=platform, admin=caller("admin"), owner=owner)
    world.project = owner.create_project("matrix")["id"]
    for role, permissions in ROLES.items():
        member = owner if role == "owner" else caller(_unique(role.replace("+", "-")))
        world.callers[role] = member
        if role != DISABLED:
            world.homes[role] = member.create_project("home")["id"]
        if role not in ("owner", STRANGER):
            assert permissions is not None
            grant(owner, world.project, member.username, permissions)
    assert world.admin.delete(f"/users/{world.callers[DISABLED].username}").status_code == 204
    world.file = world.new_file()
    world.folder = new_folder(owner, "shared", project=world.project)["id"]
    world.app = install_app(owner, world.project, "sleep", SLEEP_TOOL)
    world.task = world.new_draft()
    world.target_member = world.new_member()
    yield world
    for task_id in world.to_abort:
        owner.post(f"/tasks/{task_id}/actions/abort")


# --- the actions: each returns (HTTP status, code) of the answer or of the item's result ------


Outcome = tuple[int, int | None]


def answer(response: requests.Response) -> Outcome:
    if response.ok:
        return response.status_code, None
    body = response.json()
    return response.status_code, body.get("code")


def item_result(entry: dict[str, Any]) -> Outcome:
    """A bulk or async job item: 200 when it has a resource, else its error."""
    if "error" in entry and entry["error"]:
        return entry["error"]["status"], entry["error"]["code"]
    assert entry.get("resource"), entry
    return 200, None


def bulk(caller: Caller, operation: str, body: dict[str, Any]) -> Outcome:
    response = caller.post(f"/bulk/files/{operation}", json=body)
    if not response.ok:
        return answer(response)
    (entry,) = response.json()["items"]
    return item_result(entry)


def async_job(caller: Caller, kind: str, item: dict[str, Any]) -> Outcome:
    response = caller.post(f"/async/files/{kind}", json={"items": [item]})
    if not response.ok:
        return answer(response)
    href = response.json()["href"]

    def finished() -> dict[str, Any] | None:
        body = caller.get(href).json()
        return body if body["state"] == "FINISHED" else None

    (entry,) = wait_for(finished)["result"]
    return item_result(entry)


Action = Callable[[World, Caller, str], Outcome]


def _fresh_project_for(world: World, role: str) -> str:
    project = world.owner.create_project("doomed")["id"]
    permissions = ROLES[role]
    if role not in ("owner", STRANGER, DISABLED):
        assert permissions is not None
        grant(world.owner, project, world.callers[role].username, permissions)
    return project


ACTIONS: dict[str, Action] = {
    "project.get": lambda w, c, r: answer(c.get(f"/projects/{w.project}")),
    "project.patch": lambda w, c, r: answer(
        c.patch(f"/projects/{w.project}", json={"description": _unique("d")})
    ),
    "project.delete": lambda w, c, r: answer(c.delete(f"/projects/{_fresh_project_for(w, r)}")),
    "members.list": lambda w, c, r: answer(c.get(f"/projects/{w.project}/members")),
    "member.get": lambda w, c, r: answer(
        c.get(f"/projects/{w.project}/members/{w.owner.username}")
    ),
    "member.add": lambda w, c, r: _add_member(w, c),
    "member.patch": lambda w, c, r: answer(
        c.patch(
            f"/projects/{w.project}/members/{w.target_member}/permissions",
            json={"copy": False},
        )
    ),
    "member.remove": lambda w, c, r: answer(
        c.delete(f"/projects/{w.project}/members/{w.new_member()}")
    ),
    "files.list": lambda w, c, r: answer(c.get("/files", params={"project": w.project})),
    "file.get": lambda w, c, r: answer(c.get(f"/files/{w.file}")),
    "file.patch": lambda w, c, r: answer(c.patch(f"/files/{w.file}", json={"tags": ["t"]})),
    "file.metadata.get": lambda w, c, r: answer(c.get(f"/files/{w.file}/metadata")),
    "file.metadata.patch": lambda w, c, r: answer(
        c.patch(f"/files/{w.file}/metadata", json={"k": "v"})
    ),
    "file.tags.put": lambda w, c, r: answer(c.put(f"/files/{w.file}/tags", json=["t"])),
    "file.copy": lambda w, c, r: answer(
        c.post(
            f"/files/{w.file}/actions/copy",
            json={"project": w.homes.get(r, w.project), "name": _unique("copy")},
        )
    ),
    "file.move": lambda w, c, r: answer(
        c.post(f"/files/{w.new_file()}/actions/move", json={"parent": w.folder})
    ),
    "file.delete": lambda w, c, r: answer(c.delete(f"/files/{w.new_file()}")),
    "file.download_info": lambda w, c, r: answer(c.get(f"/files/{w.file}/download_info")),
    "folder.create": lambda w, c, r: answer(
        c.post("/files", json={"name": _unique("dir"), "type": "folder", "project": w.project})
    ),
    "folder.list": lambda w, c, r: answer(c.get(f"/files/{w.folder}/list")),
    "bulk.get": lambda w, c, r: bulk(c, "get", {"file_ids": [w.file]}),
    "bulk.edit": lambda w, c, r: bulk(c, "edit", {"items": [{"id": w.file, "tags": ["b"]}]}),
    "bulk.delete": lambda w, c, r: bulk(c, "delete", {"file_ids": [w.new_file()]}),
    "async.copy": lambda w, c, r: async_job(
        c,
        "copy",
        {"file": w.file, "project": w.homes.get(r, w.project), "name": _unique("copy")},
    ),
    "async.move": lambda w, c, r: async_job(c, "move", {"file": w.new_file(), "parent": w.folder}),
    "async.delete": lambda w, c, r: async_job(c, "delete", {"file": w.new_file()}),
    "async.move_out": lambda w, c, r: async_job(
        c, "move", {"file": w.new_file(), "project": w.homes.get(r, w.project)}
    ),
    "upload.init": lambda w, c, r: answer(
        c.post("/upload/multipart", json={"project": w.project, "name": _unique("up"), "size": 1})
    ),
    "apps.list": lambda w, c, r: answer(c.get("/apps", params={"project": w.project})),
    "app.get": lambda w, c, r: answer(c.get(f"/apps/{w.app.rsplit('/', 1)[0]}")),
    "app.install": lambda w, c, r: answer(
        c.post(f"/apps/{w.project}/{_unique('app')}/raw", json=SLEEP_TOOL)
    ),
    "app.copy_into": lambda w, c, r: answer(
        c.post(
            f"/apps/{PUBLIC_LINE_COUNT}/actions/copy",
            json={"project": w.project, "name": _unique("copied")},
        )
    ),
    "tasks.list": lambda w, c, r: answer(c.get("/tasks", params={"project": w.project})),
    "task.get": lambda w, c, r: answer(c.get(f"/tasks/{w.task}")),
    "task.execution_details": lambda w, c, r: answer(c.get(f"/tasks/{w.task}/execution_details")),
    "task.create": lambda w, c, r: answer(
        c.post("/tasks", json={"project": w.project, "app": w.app, "inputs": {"seconds": 1}})
    ),
    "task.run": lambda w, c, r: _run(w, c),
    "task.abort": lambda w, c, r: answer(c.post(f"/tasks/{w.new_running()}/actions/abort")),
    "task.patch": lambda w, c, r: answer(c.patch(f"/tasks/{w.task}", json={"name": "renamed"})),
    "task.delete": lambda w, c, r: answer(c.delete(f"/tasks/{w.new_draft()}")),
    "task.clone": lambda w, c, r: answer(c.post(f"/tasks/{w.task}/actions/clone")),
}


def _add_member(world: World, caller: Caller) -> Outcome:
    username = _unique("new")
    world.platform.token(username)  # the user exists
    body = {"username": username, "permissions": {"read": True}}
    return answer(caller.post(f"/projects/{world.project}/members", json=body))


def _run(world: World, caller: Caller) -> Outcome:
    draft = world.new_draft()
    outcome = answer(caller.post(f"/tasks/{draft}/actions/run"))
    if outcome[0] == 200:
        world.to_abort.append(draft)
    return outcome


def test_every_action_has_a_rule() -> None:
    assert set(ACTIONS) == set(NEEDS)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", list(NEEDS))
def test_permission_matrix(world: World, action: str, role: str) -> None:
    caller = world.callers[role]
    assert ACTIONS[action](world, caller, role) == expected(role, action)

"""Which files a task may use (issue 7): every file reference in every input value is checked,
whatever the input's type; only files of the task's own project (and public reference files)
are usable; the check runs again when a worker starts the task.

Users: alice owns project A and its secret file; bob is a stranger to A with his own project;
carol is a read-only member of A with a project of her own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from files_support import make_member, new_folder, seed_file, wait_for
from local_helpers import Caller, assert_error
from test_tasks_support import (
    CAT_TOOL,
    PUBLIC_LINE_COUNT,
    SLEEP_TOOL,
    create_task,
    created,
    download,
    file_ref,
    get_task,
    install_app,
    wait_for_status,
)

from sevenbridges_local.embedded import EmbeddedServer

SECRET = b"the secret recipe\n"

# ``cat`` of a File field inside a record input.
RECORD_CAT: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["cat"],
    "inputs": {
        "pair": {
            "type": {
                "type": "record",
                "name": "pair",
                "fields": {"first": {"type": "File", "inputBinding": {"position": 1}}},
            }
        }
    },
    "stdout": "out.txt",
    "outputs": {"out": {"type": "stdout"}},
}

# ``cat`` of whatever an ``Any`` input holds.
ANY_CAT: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["cat"],
    "inputs": {"thing": {"type": "Any", "inputBinding": {"position": 1}}},
    "stdout": "out.txt",
    "outputs": {"out": {"type": "stdout"}},
}

# ``cat`` of a file and of its ``.idx`` secondary file.
INDEXED_CAT: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["cat"],
    "arguments": [{"valueFrom": "$(inputs.ref.path).idx", "position": 2}],
    "inputs": {
        "ref": {"type": "File", "secondaryFiles": [".idx"], "inputBinding": {"position": 1}}
    },
    "stdout": "out.txt",
    "outputs": {"out": {"type": "stdout"}},
}

# Lists a folder input.
LIST_FOLDER: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["ls"],
    "inputs": {"folder": {"type": "Directory", "inputBinding": {"position": 1}}},
    "stdout": "out.txt",
    "outputs": {"out": {"type": "stdout"}},
}

APPS = {"record": RECORD_CAT, "any": ANY_CAT, "indexed": INDEXED_CAT, "folder": LIST_FOLDER}


def _caller(platform: EmbeddedServer, http: requests.Session, prefix: str) -> Caller:
    username = f"{prefix}-{secrets.token_hex(4)}"
    return Caller(http, platform.url, platform.token(username), username)


class World:
    """Alice's project with a secret file; bob's and carol's projects with the apps."""

    def __init__(self, platform: EmbeddedServer, http: requests.Session) -> None:
        self.alice = _caller(platform, http, "alice")
        self.bob = _caller(platform, http, "bob")
        self.carol = _caller(platform, http, "carol")
        self.project_a = self.alice.create_project("secrets")
        self.secret = seed_file(
            platform, project=self.project_a["id"], name="recipe.txt", content=SECRET
        )
        make_member(self.alice, self.project_a["id"], self.carol, read=True)
        self.project_b = self.bob.create_project("mine")
        self.project_c = self.carol.create_project("mine too")
        self.apps: dict[tuple[str, str], str] = {}
        self.own_file: dict[str, str] = {}
        self.own_folder: dict[str, str] = {}
        for caller, project in (
            (self.alice, self.project_a),
            (self.bob, self.project_b),
            (self.carol, self.project_c),
        ):
            for slug, document in APPS.items():
                self.apps[(project["id"], slug)] = install_app(
                    caller, project["id"], slug, document
                )
            self.own_file[project["id"]] = seed_file(
                platform, project=project["id"], name="own.txt", content=b"own\n"
            )
            self.own_folder[project["id"]] = new_folder(caller, "own", project=project["id"])["id"]


@pytest.fixture(scope="module")
def world(platform: EmbeddedServer, http: requests.Session) -> World:
    return World(platform, http)


def _shapes(world: World, project_id: str, target: str) -> Iterator[tuple[str, str, Any]]:
    """(label, app, inputs, extra task fields) naming ``target`` in every shape of value."""
    own, folder = world.own_file[project_id], world.own_folder[project_id]
    app = world.apps
    yield "record field", app[(project_id, "record")], {"pair": {"first": file_ref(target)}}
    yield "Any", app[(project_id, "any")], {"thing": file_ref(target)}
    yield "Any location", app[(project_id, "any")], {"thing": {"class": "File", "location": target}}
    yield (
        "Any lower-case class",
        app[(project_id, "any")],
        {"thing": {"class": "file", "path": target}},
    )
    yield "Any array", app[(project_id, "any")], {"thing": [1, "x", file_ref(target)]}
    yield "Any map", app[(project_id, "any")], {"thing": {"a": [{"b": file_ref(target)}]}}
    yield (
        "Any secondaryFiles",
        app[(project_id, "any")],
        {"thing": {**file_ref(own), "secondaryFiles": [file_ref(target)]}},
    )
    yield (
        "File secondaryFiles",
        app[(project_id, "indexed")],
        {"ref": {**file_ref(own), "secondaryFiles": [file_ref(target)]}},
    )
    yield (
        "File secondaryFiles bare id",
        app[(project_id, "indexed")],
        {"ref": {**file_ref(own), "secondaryFiles": [target]}},
    )
    yield (
        "Directory listing",
        app[(project_id, "folder")],
        {"folder": {"class": "Directory", "path": folder, "listing": [file_ref(target)]}},
    )
    yield "File", PUBLIC_LINE_COUNT, {"input_file": target}


def _input_of(inputs: dict[str, Any]) -> str:
    (input_id,) = inputs
    return input_id


def test_a_stranger_cannot_reach_a_file_through_any_shape_of_input(world: World) -> None:
    """Before the fix, a record field or an ``Any`` value ran ``cat`` on alice's file."""
    bob, project = world.bob, world.project_b["id"]
    for label, app, inputs in _shapes(world, project, world.secret):
        response = create_task(bob, run=True, name=label, project=project, app=app, inputs=inputs)
        assert response.status_code == 201, (label, response.text)
        task = response.json()
        assert task["status"] == "DRAFT", (label, task["status"])
        problems = [(error["code"], error["input"]) for error in task["errors"]]
        assert (7024, _input_of(inputs)) in problems, (label, task["errors"])
        message = " ".join(error["message"] for error in task["errors"])
        assert f"'{world.secret}' does not exist or cannot be read" in message, label
        # Nothing about the file leaks: not its name, size or project.
        assert "recipe.txt" not in response.text and world.project_a["id"] not in response.text
        assert_error(bob.post(f"/tasks/{task['id']}/actions/run"), 400, 7024)
        assert get_task(bob, task["id"])["status"] == "DRAFT"

    batch_app = install_app(bob, project, "cat", CAT_TOOL)
    batch = created(
        bob,
        run=True,
        name="batch",
        project=project,
        app=batch_app,
        inputs={"files": [file_ref(world.own_file[project]), file_ref(world.secret)]},
        batch_input="files",
        batch_by={"type": "item"},
    )
    assert batch["status"] == "DRAFT"
    assert [(error["code"], error["input"]) for error in batch["errors"]] == [(7024, "files")]
    assert_error(bob.post(f"/tasks/{batch['id']}/actions/run"), 400, 7024)


def test_a_member_of_another_project_is_told_to_copy_the_file_first(world: World) -> None:
    """Carol can read alice's file in A, yet her task in her own project C may not use it."""
    carol, project = world.carol, world.project_c["id"]
    expected = (
        f"file '{world.secret}' is in project '{world.project_a['id']}'; "
        "a task can only use files of its own project (copy it first)"
    )
    for label, app, inputs in _shapes(world, project, world.secret):
        task = created(carol, run=True, name=label, project=project, app=app, inputs=inputs)
        assert task["status"] == "DRAFT", label
        (error,) = [error for error in task["errors"] if world.secret in error["message"]]
        assert (error["code"], error["input"]) == (7024, _input_of(inputs)), label
        assert error["message"] == f"Input '{_input_of(inputs)}': {expected}.", label
        refused = assert_error(carol.post(f"/tasks/{task['id']}/actions/run"), 400, 7024)
        assert expected in refused["message"]

    # Switching a valid draft to a file of another project makes it invalid too.
    draft = created(
        carol,
        name="switch",
        project=project,
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": world.own_file[project]},
    )
    assert draft["errors"] == []
    switched = carol.patch(f"/tasks/{draft['id']}", json={"inputs": {"input_file": world.secret}})
    assert switched.status_code == 200
    assert [error["code"] for error in switched.json()["errors"]] == [7024]


def test_the_owner_uses_own_files_in_every_shape(world: World) -> None:
    """The same shapes work for files of the task's own project (records, Any, secondaries)."""
    alice, project, secret = world.alice, world.project_a["id"], world.secret
    tasks = {
        "record": created(
            alice,
            run=True,
            name="record",
            project=project,
            app=world.apps[(project, "record")],
            inputs={"pair": {"first": file_ref(secret)}},
        ),
        "any": created(
            alice,
            run=True,
            name="any",
            project=project,
            app=world.apps[(project, "any")],
            inputs={"thing": file_ref(secret)},
        ),
    }
    for label, task in tasks.items():
        assert task["errors"] == [], (label, task["errors"])
        stored = task["inputs"]["pair"]["first"] if label == "record" else task["inputs"]["thing"]
        assert stored["name"] == "recipe.txt" and stored["size"] == len(SECRET)
    for label, task in tasks.items():
        done = wait_for_status(alice, task["id"])
        assert done["status"] == "COMPLETED", (label, done["execution_status"])
        assert download(alice, done["outputs"]["out"]["path"]) == SECRET, label


def test_secondary_files_come_from_the_tasks_own_project(
    world: World, platform: EmbeddedServer
) -> None:
    """Found by pattern: only next to the primary file. Given explicitly: only usable files."""
    alice, carol = world.alice, world.carol
    project_a, project_c = world.project_a["id"], world.project_c["id"]
    # Alice's A holds ref.txt and ref.txt.idx; a sub-folder holds another index.
    ref_a = seed_file(platform, project=project_a, name="ref.txt", content=b"ref A\n")
    seed_file(platform, project=project_a, name="ref.txt.idx", content=b"index A\n")
    sub = new_folder(alice, "indexes", project=project_a)
    spare = seed_file(platform, parent=sub["id"], name="ref.txt.idx", content=b"spare A\n")
    # Carol's C holds a ref.txt of her own without an index; she can read A's index.
    ref_c = seed_file(platform, project=project_c, name="ref.txt", content=b"ref C\n")

    found = created(
        alice,
        run=True,
        name="by pattern",
        project=project_a,
        app=world.apps[(project_a, "indexed")],
        inputs={"ref": ref_a},
    )
    done = wait_for_status(alice, found["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(alice, done["outputs"]["out"]["path"]) == b"ref A\nindex A\n"

    # The same name in another project the runner can read is not picked up.
    missing = created(
        carol,
        run=True,
        name="no index",
        project=project_c,
        app=world.apps[(project_c, "indexed")],
        inputs={"ref": ref_c},
    )
    assert missing["errors"] == []
    ended = wait_for_status(carol, missing["id"])
    assert ended["status"] == "FAILED"
    assert "index A" not in str(ended)

    # Given explicitly, a secondary file of the task's own project is staged beside the file
    # (and wins over the one found by pattern); one of another project is refused.
    explicit = created(
        alice,
        run=True,
        name="explicit",
        project=project_a,
        app=world.apps[(project_a, "indexed")],
        inputs={"ref": {**file_ref(ref_a), "secondaryFiles": [file_ref(spare)]}},
    )
    assert explicit["errors"] == []
    assert explicit["inputs"]["ref"]["secondaryFiles"][0]["name"] == "ref.txt.idx"
    done = wait_for_status(alice, explicit["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(alice, done["outputs"]["out"]["path"]) == b"ref A\nspare A\n"
    refused = created(
        carol,
        name="explicit elsewhere",
        project=project_c,
        app=world.apps[(project_c, "indexed")],
        inputs={"ref": {**file_ref(ref_c), "secondaryFiles": [file_ref(spare)]}},
    )
    assert [error["code"] for error in refused["errors"]] == [7024]
    assert "copy it first" in refused["errors"][0]["message"]


def test_public_reference_files_are_usable_from_every_project(
    world: World, platform: EmbeddedServer, admin: Caller
) -> None:
    reference = admin.create_project(f"reference {secrets.token_hex(3)}", category="PUBLIC")
    genome = seed_file(platform, project=reference["id"], name="genome.txt", content=b"a\nb\n")
    private = admin.create_project(f"private {secrets.token_hex(3)}")
    hidden = seed_file(platform, project=private["id"], name="hidden.txt")
    bob, project = world.bob, world.project_b["id"]

    task = created(
        bob,
        run=True,
        name="reference",
        project=project,
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": genome},
    )
    assert task["errors"] == []
    done = wait_for_status(bob, task["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(bob, done["outputs"]["line_count"]["path"]).strip() == b"2"
    # An admin's project that is not PUBLIC is no reference.
    other = created(
        bob, name="hidden", project=project, app=PUBLIC_LINE_COUNT, inputs={"input_file": hidden}
    )
    assert "does not exist or cannot be read" in other["errors"][0]["message"]

    # Only platform administrators make projects PUBLIC, so no one else can publish files.
    alice = world.alice
    assert_error(alice.post("/projects", json={"name": "x", "category": "PUBLIC"}), 403, 3001)
    assert_error(
        alice.patch(f"/projects/{world.project_a['id']}", json={"category": "PUBLIC"}), 403, 3001
    )
    make_member(admin, private["id"], alice, admin=True)
    assert_error(alice.patch(f"/projects/{private['id']}", json={"category": "PUBLIC"}), 403, 3001)
    assert admin.get(f"/projects/{private['id']}").json()["category"] == "PRIVATE"


def test_a_queued_task_whose_input_became_unusable_fails_with_a_clear_message(
    start_platform: Callable[..., EmbeddedServer], http: requests.Session
) -> None:
    """Inputs and the runner are checked again when a worker starts the task."""
    server = start_platform()
    owner = _caller(server, http, "owner")
    runner = _caller(server, http, "runner")
    leaver = _caller(server, http, "leaver")
    admin = Caller(http, server.url, server.token("admin"), "admin")
    project = owner.create_project("queue")
    elsewhere = owner.create_project("elsewhere")
    make_member(owner, project["id"], runner, execute=True)
    make_member(owner, project["id"], leaver, execute=True)
    moved = seed_file(server, project=project["id"], name="moved.txt")
    kept = seed_file(server, project=project["id"], name="kept.txt", content=b"1\n2\n")
    sleep = install_app(owner, project["id"], "sleep", SLEEP_TOOL)

    workers = os.cpu_count() or 1  # the default number of task workers
    busy = [
        created(
            owner,
            run=True,
            name=f"busy {i}",
            project=project["id"],
            app=sleep,
            inputs={"seconds": 60},
        )
        for i in range(workers)
    ]
    for task in busy:
        wait_for_status(owner, task["id"], ("RUNNING",))

    def queue(caller: Caller, name: str, file_id: str) -> dict[str, Any]:
        task = created(
            caller,
            run=True,
            name=name,
            project=project["id"],
            app=PUBLIC_LINE_COUNT,
            inputs={"input_file": file_id},
        )
        assert task["status"] == "QUEUED", task
        return task

    file_moved = queue(owner, "file moved", moved)
    runner_removed = queue(runner, "runner removed", kept)
    runner_disabled = queue(leaver, "runner disabled", kept)
    still_fine = queue(owner, "still fine", kept)

    job = owner.post(
        "/async/files/move", json={"items": [{"file": moved, "project": elsewhere["id"]}]}
    )
    assert job.status_code == 201, job.text
    wait_for(lambda: owner.get(f"/files/{moved}").json()["project"] == elsewhere["id"])
    assert owner.delete(f"/projects/{project['id']}/members/{runner.username}").status_code == 204
    assert admin.delete(f"/users/{leaver.username}").status_code == 204

    for task in busy:
        owner.post(f"/tasks/{task['id']}/actions/abort")
    outcomes = {
        task["name"]: wait_for_status(owner, task["id"], timeout=120)
        for task in (file_moved, runner_removed, runner_disabled, still_fine)
    }
    messages = {name: task["execution_status"]["message"] for name, task in outcomes.items()}
    statuses = {name: task["status"] for name, task in outcomes.items()}
    assert statuses == {
        "file moved": "FAILED",
        "runner removed": "FAILED",
        "runner disabled": "FAILED",
        "still fine": "COMPLETED",
    }, messages
    assert messages["file moved"] == (
        f"The task cannot start: Input 'input_file': file '{moved}' is in project "
        f"'{elsewhere['id']}'; a task can only use files of its own project (copy it first)."
    )
    assert messages["runner removed"] == (
        f"The task cannot start: {runner.username} no longer has the 'execute' permission on "
        f"project '{project['id']}'."
    )
    assert messages["runner disabled"] == (
        "The task cannot start: The account of the user who ran the task is disabled or gone."
    )
    assert "outputs" not in outcomes["file moved"] or not outcomes["file moved"]["outputs"]

"""Tasks on the wire: drafts, validation, the action each status allows (7xxx codes), PATCH
rules, clone, listing filters, bulk get and permissions (rest-api.md §3.11)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from files_support import make_member, seed_file
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
    transitions,
    wait_for_status,
)

from sevenbridges_local.embedded import EmbeddedServer

TASK_KEYS = {
    "href",
    "id",
    "name",
    "description",
    "status",
    "project",
    "app",
    "type",
    "created_by",
    "created_time",
    "batch",
    "inputs",
    "outputs",
    "execution_status",
    "errors",
    "warnings",
    "price",
}
STATUS_KEYS = {
    "steps_completed",
    "steps_total",
    "message",
    "system_limit",
    "account_limit",
    "instance_init",
    "queued_duration",
    "running_duration",
    "execution_duration",
    "duration",
}


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project("analysis")


@pytest.fixture
def text_file(platform: EmbeddedServer, project: dict[str, Any]) -> str:
    return seed_file(platform, project=project["id"], name="notes.txt", content=b"a\nb\nc\n")


def line_count(project: dict[str, Any], file_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "count lines",
        "project": project["id"],
        "app": PUBLIC_LINE_COUNT,
        "inputs": {"input_file": file_ref(file_id)},
        **extra,
    }


def test_a_draft_has_every_key_and_reads_back(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    task = created(alice, **line_count(project, text_file, description="first try"))
    assert TASK_KEYS <= set(task)
    assert str(uuid.UUID(task["id"])) == task["id"]
    assert task["href"] == f"{alice.url}/tasks/{task['id']}"
    assert task["status"] == "DRAFT"
    assert task["app"] == PUBLIC_LINE_COUNT + "/0"  # the revision it resolved to
    assert (task["project"], task["created_by"], task["type"]) == (
        project["id"],
        alice.username,
        "v2",
    )
    assert task["description"] == "first try"
    assert task["errors"] == [] and task["warnings"] == []
    assert task["inputs"] == {
        "input_file": {"class": "File", "path": text_file, "name": "notes.txt", "size": 6}
    }
    assert set(task["execution_status"]) >= STATUS_KEYS
    assert task["execution_status"]["steps_total"] == 1
    assert task["price"] == {
        "currency": "USD",
        "amount": 0.0,
        "breakdown": {"storage": "0.00", "computation": "0.00"},
    }
    # Not started: no start/end times, no executor, and no null UUID or nested object keys.
    for absent in ("start_time", "end_time", "executed_by", "parent", "batch_group", "batch_by"):
        assert absent not in task
    assert get_task(alice, task["id"]) == task
    # A bare file id works as an input too.
    by_id = created(alice, **line_count(project, text_file, inputs={"input_file": text_file}))
    assert by_id["inputs"]["input_file"]["path"] == text_file


def test_validation_errors_leave_a_draft_even_with_action_run(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    missing = create_task(alice, run=True, **line_count(project, text_file, inputs={}))
    assert missing.status_code == 201  # 2xx: the client raises TaskValidationError itself
    body = missing.json()
    assert body["status"] == "DRAFT"
    assert [(error["code"], error["input"]) for error in body["errors"]] == [(7012, "input_file")]
    assert "input_file" in body["errors"][0]["message"]

    wrong = created(
        alice,
        run=True,
        **line_count(project, text_file, inputs={"input_file": 42, "extra": True}),
    )
    assert wrong["status"] == "DRAFT"
    assert [error["code"] for error in wrong["errors"]] == [7024]
    assert [warning["input"] for warning in wrong["warnings"]] == ["extra"]

    ghost = created(alice, run=True, **line_count(project, "f" * 24))
    assert ghost["status"] == "DRAFT"
    assert "does not exist" in ghost["errors"][0]["message"]

    # Running an invalid draft is refused with 7024.
    assert_error(alice.post(f"/tasks/{missing.json()['id']}/actions/run"), 400, 7024)
    assert get_task(alice, missing.json()["id"])["status"] == "DRAFT"


def test_other_users_files_are_not_valid_inputs(
    alice: Caller, bob: Caller, platform: EmbeddedServer, project: dict[str, Any]
) -> None:
    other = bob.create_project("private")
    secret = seed_file(platform, project=other["id"], name="secret.txt")
    task = created(alice, **line_count(project, secret))
    assert task["errors"] and task["errors"][0]["code"] == 7024


@pytest.mark.postgres
def test_a_run_goes_through_every_status_and_then_refuses_draft_actions(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any], text_file: str
) -> None:
    task = created(alice, **line_count(project, text_file))
    started = alice.post(f"/tasks/{task['id']}/actions/run")
    assert started.status_code == 200, started.text
    assert started.json()["status"] in ("QUEUED", "CREATING", "RUNNING", "COMPLETED")
    assert started.json()["executed_by"] == alice.username

    done = wait_for_status(alice, task["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert transitions(platform, task["id"]) == [
        "DRAFT",
        "QUEUED",
        "CREATING",
        "RUNNING",
        "COMPLETED",
    ]
    assert done["created_time"] <= done["start_time"] <= done["end_time"]
    status = done["execution_status"]
    assert (status["steps_completed"], status["steps_total"]) == (1, 1)
    assert status["duration"] >= status["execution_duration"] >= status["running_duration"] > 0
    assert set(done["price"]["breakdown"]) == {"storage", "computation"}
    assert all(isinstance(value, str) for value in done["price"]["breakdown"].values())

    output = done["outputs"]["line_count"]
    assert output["class"] == "File" and output["name"] == "notes.txt.lines.txt"
    assert download(alice, output["path"]).strip() == b"3"
    record = alice.get(f"/files/{output['path']}").json()
    assert record["origin"] == {"task": task["id"]}
    assert record["project"] == project["id"]
    listed = alice.get("/files", params={"project": project["id"], "origin.task": task["id"]})
    assert [item["id"] for item in listed.json()["items"]] == [output["path"]]
    # The run is on the analysis ledger of the project's billing group.
    ledger = alice.get(f"/billing/groups/{project['billing_group']}/breakdown/analysis").json()
    (charge,) = [row for row in ledger["items"] if row["analysis_id"] == task["id"]]
    assert (charge["analysis_status"], charge["ran_by"]) == ("COMPLETED", alice.username)
    assert charge["analysis_app_name"] == "Line count"

    # Only drafts run (7007) or are deleted (7010); a finished task cannot be aborted (7011).
    assert_error(alice.post(f"/tasks/{task['id']}/actions/run"), 400, 7007)
    assert_error(alice.delete(f"/tasks/{task['id']}"), 400, 7010)
    assert_error(alice.post(f"/tasks/{task['id']}/actions/abort"), 400, 7011)
    # After DRAFT only name and description change (7026); unchanged values are accepted.
    renamed = alice.patch(f"/tasks/{task['id']}", json={"name": "renamed", "description": "d"})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["description"]) == ("renamed", "d")
    assert_error(
        alice.patch(f"/tasks/{task['id']}", json={"inputs": {"input_file": None}}), 400, 7026
    )
    same_app = alice.patch(f"/tasks/{task['id']}", json={"app": done["app"], "name": "again"})
    assert same_app.status_code == 200 and same_app.json()["name"] == "again"
    assert get_task(alice, task["id"])["status"] == "COMPLETED"


def test_drafts_are_edited_revalidated_and_deleted(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any], text_file: str
) -> None:
    task = created(alice, **line_count(project, text_file, inputs={}))
    assert task["errors"]
    fixed = alice.patch(
        f"/tasks/{task['id']}", json={"inputs": {"input_file": file_ref(text_file)}}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["errors"] == []
    assert fixed.json()["inputs"]["input_file"]["name"] == "notes.txt"
    other = seed_file(platform, project=project["id"], name="other.txt")
    switched = alice.patch(f"/tasks/{task['id']}", json={"inputs": {"input_file": other}})
    assert switched.json()["inputs"]["input_file"]["path"] == other
    # null removes an input, which makes the draft invalid again.
    emptied = alice.patch(f"/tasks/{task['id']}", json={"inputs": {"input_file": None}})
    assert emptied.json()["errors"][0]["code"] == 7012

    assert alice.delete(f"/tasks/{task['id']}").status_code == 204
    assert_error(alice.get(f"/tasks/{task['id']}"), 404, 7002)
    assert_error(alice.delete(f"/tasks/{task['id']}"), 404, 7002)


def test_batch_descriptions_are_checked(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    app = install_app(alice, project["id"], "cat", CAT_TOOL)
    body = {
        "name": "b",
        "project": project["id"],
        "app": app,
        "inputs": {"files": [file_ref(text_file)]},
    }
    assert_error(create_task(alice, **body, batch_by={"type": "item"}), 400, 7023)
    assert_error(create_task(alice, **body, batch_input="files"), 400, 7023)
    assert_error(
        create_task(alice, **body, batch_input="files", batch_by={"type": "size"}), 400, 7020
    )
    assert_error(
        create_task(alice, **body, batch_input="files", batch_by={"type": "criteria"}), 400, 7019
    )
    task = created(alice, **body, batch_input="files", batch_by={"type": "ITEM"})
    assert task["batch"] is True
    assert (task["batch_input"], task["batch_by"]) == ("files", {"type": "item"})
    # PATCH follows the same rules; it can also switch batching off.
    assert_error(alice.patch(f"/tasks/{task['id']}", json={"batch_by": {"type": "x"}}), 400, 7020)
    off = alice.patch(f"/tasks/{task['id']}", json={"batch": False})
    assert off.json()["batch"] is False
    unknown = created(alice, **body, batch_input="nope", batch_by={"type": "item"})
    assert unknown["errors"][0]["code"] == 7018
    # Disabling batching at creation (batch=False) makes a plain task.
    plain = alice.post(
        "/tasks",
        params={"batch": "False"},
        json={**body, "batch_input": "files", "batch_by": {"type": "item"}},
    )
    assert plain.status_code == 201 and plain.json()["batch"] is False


def test_creation_is_refused_with_the_right_codes(
    alice: Caller, bob: Caller, project: dict[str, Any], text_file: str
) -> None:
    good = line_count(project, text_file)
    assert_error(create_task(alice, **{**good, "app": None}), 400, 7015)
    assert_error(create_task(alice, **{**good, "app": "just-a-name"}), 400, 7016)
    assert_error(create_task(alice, **{**good, "app": "admin/public-apps/nope"}), 404, 6002)
    assert_error(create_task(alice, **{**good, "project": None}), 400, 3006)
    assert_error(create_task(alice, **{**good, "project": "no-slash"}), 400, 3012)
    assert_error(create_task(bob, **good), 404, 3002)  # not a member
    assert_error(alice.post("/tasks", params={"action": "jump"}, json=good), 400, 7013)
    assert_error(create_task(alice, **{**good, "inputs": [1]}), 400, 90000)


def test_unknown_and_malformed_task_ids(alice: Caller) -> None:
    assert_error(alice.get(f"/tasks/{uuid.uuid4()}"), 404, 7002)
    assert_error(alice.get("/tasks/not-a-uuid"), 400, 7005)
    assert_error(alice.post(f"/tasks/{uuid.uuid4()}/actions/run"), 404, 7002)
    assert_error(alice.post(f"/tasks/{uuid.uuid4()}/actions/fly"), 400, 7013)
    assert_error(alice.get(f"/tasks/{uuid.uuid4()}/execution_details"), 404, 7002)


def test_permissions(
    alice: Caller, bob: Caller, carol: Caller, project: dict[str, Any], text_file: str
) -> None:
    task = created(alice, **line_count(project, text_file))
    make_member(alice, project["id"], bob, read=True)  # no execute permission
    assert get_task(bob, task["id"])["id"] == task["id"]
    assert bob.get(f"/tasks/{task['id']}/execution_details").status_code == 200
    assert_error(bob.post(f"/tasks/{task['id']}/actions/run"), 403, 7001)
    assert_error(bob.patch(f"/tasks/{task['id']}", json={"name": "x"}), 403, 7001)
    assert_error(bob.delete(f"/tasks/{task['id']}"), 403, 7001)
    assert_error(bob.post(f"/tasks/{task['id']}/actions/clone"), 403, 7001)
    assert_error(create_task(bob, **line_count(project, text_file)), 403, 7001)
    # Non-members cannot tell the task exists.
    assert_error(carol.get(f"/tasks/{task['id']}"), 404, 7002)
    assert_error(carol.post(f"/tasks/{task['id']}/actions/abort"), 404, 7002)
    assert carol.get("/tasks").json()["items"] == []


def test_clone_copies_a_task_as_draft_or_runs_it(
    alice: Caller, project: dict[str, Any], text_file: str
) -> None:
    source = created(alice, run=True, **line_count(project, text_file, description="original"))
    wait_for_status(alice, source["id"])
    draft = alice.post(f"/tasks/{source['id']}/actions/clone")
    assert draft.status_code == 200, draft.text
    copy = draft.json()
    assert copy["id"] != source["id"] and copy["status"] == "DRAFT"
    for key in ("name", "description", "app", "project", "inputs"):
        assert copy[key] == source[key]
    assert copy["outputs"] == {}

    rerun = alice.post(f"/tasks/{source['id']}/actions/clone", params={"action": "run"}).json()
    assert rerun["status"] != "DRAFT"
    finished = wait_for_status(alice, rerun["id"])
    assert finished["status"] == "COMPLETED"
    # The platform names repeated outputs _1_<name>, _2_<name>, ...
    assert finished["outputs"]["line_count"]["name"] == "_1_notes.txt.lines.txt"
    again = alice.post(f"/tasks/{source['id']}/actions/clone", params={"action": "run"}).json()
    third = wait_for_status(alice, again["id"])
    assert third["outputs"]["line_count"]["name"] == "_2_notes.txt.lines.txt"


@pytest.mark.postgres
def test_listing_filters_order_and_paging(
    alice: Caller, platform: EmbeddedServer, project: dict[str, Any], text_file: str
) -> None:
    other = alice.create_project("elsewhere")
    other_file = seed_file(platform, project=other["id"], name="x.txt")
    drafts = [created(alice, **line_count(project, text_file, name=f"draft {i}")) for i in range(3)]
    ran = created(alice, run=True, **line_count(project, text_file, name="ran"))
    elsewhere = created(alice, **line_count(other, other_file, name="elsewhere"))
    wait_for_status(alice, ran["id"])

    def ids(**params: Any) -> list[str]:
        response = alice.get("/tasks", params={"fields": "_all", **params})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    in_project = ids(project=project["id"])
    assert in_project == [task["id"] for task in drafts] + [ran["id"]]
    assert set(ids()) >= set(in_project) | {elsewhere["id"]}
    assert ids(project=project["id"], status="COMPLETED") == [ran["id"]]
    assert ids(project=project["id"], status="draft") == [task["id"] for task in drafts]
    assert ids(project=project["id"], order_by="name", order="desc")[0] == ran["id"]
    assert ids(project=project["id"], order="desc") == list(reversed(in_project))
    # Tasks that never ended come first ascending, last descending (on every database).
    assert ids(project=project["id"], order_by="end_time")[-1] == ran["id"]
    assert ids(project=project["id"], order_by="end_time", order="desc")[0] == ran["id"]
    assert ids(project=project["id"], batch="False") == in_project
    assert ids(project=project["id"], batch="True") == []
    created_time = get_task(alice, ran["id"])["created_time"][:-1]  # without the Z
    assert ran["id"] in ids(project=project["id"], created_from=created_time)
    assert ids(project=project["id"], created_from="2999-01-01T00:00:00") == []
    assert ran["id"] not in ids(project=project["id"], created_to="2000-01-01T00:00:00")
    assert ids(project=project["id"], started_from="2000-01-01T00:00:00") == [ran["id"]]
    assert ids(project=project["id"], ended_to="2999-01-01T00:00:00") == [ran["id"]]

    page = alice.get("/tasks", params={"project": project["id"], "limit": 2, "offset": 1})
    assert page.headers["X-Total-Matching-Query"] == "4"
    assert [item["id"] for item in page.json()["items"]] == in_project[1:3]
    assert {link["rel"] for link in page.json()["links"]} == {"next", "prev"}

    assert_error(alice.get("/tasks", params={"status": "SLEEPING"}), 400, 7006)
    assert_error(alice.get("/tasks", params={"order_by": "color"}), 400, 90000)
    assert_error(alice.get("/tasks", params={"created_from": "yesterday"}), 400, 90000)
    # Offsets that push the UTC time out of the calendar (found while fuzzing: were 500s).
    for name, moment in (
        ("created_from", "0001-01-01T00:00:00+14:00"),
        ("ended_to", "9999-12-31T23:59:59-10:00"),
    ):
        assert_error(alice.get("/tasks", params={name: moment}), 400, 90000)
    assert ids(project=project["id"], created_from="2000-01-01T00:00:00+14:00") == in_project
    assert_error(alice.get("/tasks", params={"project": "nobody/none"}), 404, 3002)


def test_bulk_get(alice: Caller, bob: Caller, project: dict[str, Any], text_file: str) -> None:
    task = created(alice, **line_count(project, text_file))
    missing = str(uuid.uuid4())
    response = alice.post("/bulk/tasks/get", json={"task_ids": [task["id"], missing, "bad"]})
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["resource"]["id"] == task["id"]
    assert items[1]["error"]["code"] == 7002
    assert items[2]["error"]["code"] == 7005
    hidden = bob.post("/bulk/tasks/get", json={"task_ids": [task["id"]]}).json()["items"]
    assert hidden[0]["error"]["status"] == 404
    assert_error(alice.post("/bulk/tasks/get", json={"task_ids": "x"}), 400, 90000)
    too_many = [str(uuid.uuid4()) for _ in range(101)]
    assert_error(alice.post("/bulk/tasks/get", json={"task_ids": too_many}), 400, 90000)


def test_abort_of_a_queued_task_is_immediate(
    start_platform: Callable[..., EmbeddedServer], http: Any
) -> None:
    """With every worker busy, a queued task is aborted at once, without ever starting."""
    server = start_platform()
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("queue")
    app = install_app(owner, project["id"], "sleep", SLEEP_TOOL)
    body = {"project": project["id"], "app": app, "inputs": {"seconds": 60}}
    workers = os.cpu_count() or 1  # the default number of task workers
    busy = [created(owner, run=True, name=f"busy {i}", **body) for i in range(workers + 1)]
    for task in busy[:workers]:
        wait_for_status(owner, task["id"], ("RUNNING",))
    waiting = get_task(owner, busy[-1]["id"])
    assert waiting["status"] == "QUEUED"

    aborted = owner.post(f"/tasks/{waiting['id']}/actions/abort")
    assert aborted.status_code == 200
    assert aborted.json()["status"] == "ABORTED"
    assert transitions(server, waiting["id"]) == ["DRAFT", "QUEUED", "ABORTED"]
    assert "start_time" not in aborted.json() and aborted.json()["end_time"]
    for task in busy[:workers]:
        assert owner.post(f"/tasks/{task['id']}/actions/abort").json()["status"] in (
            "ABORTING",
            "ABORTED",
        )
    for task in busy[:workers]:
        assert wait_for_status(owner, task["id"], timeout=30)["status"] == "ABORTED"
        assert transitions(server, task["id"])[-3:] == ["RUNNING", "ABORTING", "ABORTED"]

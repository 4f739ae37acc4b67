"""``api.tasks`` against a live local platform: drafts, running to the end, outputs as files,
execution details and logs, saving, cloning, aborting, deleting, failures, validation errors,
listing filters, bulk get, and what goes on the wire.

Tasks really run (cwltool on the platform's workers); the apps are small tools installed into
each test's project, so the tests do not depend on the shipped public apps.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Forbidden, NotFound, SbgError, TaskValidationError
from sevenbridges.meta.collection import Collection
from sevenbridges.models.bulk import TaskBulkRecord
from sevenbridges.models.enums import TaskStatus
from sevenbridges.models.execution_details import ExecutionDetails
from sevenbridges.models.file import File
from sevenbridges.models.task import Task

from .test_files import new_project, put_file

POLL_SECONDS = 0.2
# Generous: cwltool starts in about a second, but the two CPUs are shared with other tests.
SETTLE_TIMEOUT_SECONDS = 120

# Codes of rest-api.md §1.9.
ONLY_DRAFT_CAN_RUN = 7007
DELETE_REFUSED = (7009, 7010)
ABORT_REFUSED = 7011
INVALID_DRAFT = 7024
EDIT_REFUSED = 7026

COUNT_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Count lines",
    "requirements": {"InlineJavascriptRequirement": {}},
    "baseCommand": ["wc", "-l"],
    "stdin": "$(inputs.input_file.path)",
    "stdout": "$(inputs.input_file.nameroot).lines.txt",
    "inputs": {"input_file": {"type": "File"}},
    "outputs": {
        "line_count": {"type": "stdout"},
        # A JavaScript expression (cwltool evaluates it with Node.js) turns the text into a number.
        "lines": {
            "type": "int",
            "outputBinding": {
                "glob": "*.lines.txt",
                "loadContents": True,
                "outputEval": "$(parseInt(self[0].contents.trim()))",
            },
        },
    },
}

SLEEP_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Sleep",
    "baseCommand": ["sleep"],
    "inputs": {"seconds": {"type": "int", "inputBinding": {"position": 1}}},
    "outputs": {},
}

FAILING_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Always fails",
    "baseCommand": ["sh", "-c", "echo 'the tool gave up' >&2; exit 3"],
    "inputs": {},
    "outputs": {},
}

LISTING_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "List a folder",
    "baseCommand": ["ls"],
    "inputs": {"folder": {"type": "Directory", "inputBinding": {"position": 1}}},
    "stdout": "listing.txt",
    "outputs": {"listing": {"type": "stdout"}},
}

TEXT = b"one\ntwo\nthree\n"


# --------------------------------------------------------------------------- helpers


def capture_requests(api: sbg.Api) -> list[Any]:
    """Every request this client sends from now on (prepared requests, as on the wire)."""
    sent: list[Any] = []
    api.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    return sent


def query_of(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def body_of(request: Any) -> Any:
    return json.loads(request.body)


def requests_to(sent: list[Any], method: str, path_end: str) -> list[Any]:
    return [
        request
        for request in sent
        if request.method == method and urlsplit(request.url).path.endswith(path_end)
    ]


def install(api: sbg.Api, project: Any, slug: str, document: dict[str, Any]) -> sbg.App:
    return api.apps.install_app(id=f"{project.id}/{slug}", raw=copy.deepcopy(document))


def wait_for(task: Task, statuses: tuple[str, ...]) -> Task:
    """Reload ``task`` until its status is one of ``statuses`` (fails after a long while)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while True:
        task.reload()
        if task.status in statuses:
            return task
        assert task.status not in TaskStatus.terminal_states, (
            f"{task} ended {task.status} while waiting for {statuses}"
        )
        assert time.monotonic() < deadline, f"{task} still {task.status}, wanted {statuses}"
        time.sleep(POLL_SECONDS)


def finish(task: Task) -> Task:
    task.wait(period=POLL_SECONDS)
    return task


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("taskowner"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "tasks")


@pytest.fixture
def counter(owner: sbg.Api, project: sbg.Project) -> sbg.App:
    return install(owner, project, "count-lines", COUNT_TOOL)


@pytest.fixture
def sleeper(owner: sbg.Api, project: sbg.Project) -> sbg.App:
    return install(owner, project, "sleep", SLEEP_TOOL)


@pytest.fixture
def text_file(owner: sbg.Api, project: sbg.Project) -> File:
    return put_file(owner, "poem.txt", TEXT, project=project)


@pytest.fixture
def completed(owner: sbg.Api, project, counter, text_file) -> Task:
    """A task that ran the line counter on the three-line file to the end."""
    task = owner.tasks.create(
        name="count the poem",
        project=project,
        app=counter,
        inputs={"input_file": text_file},
        run=True,
    )
    return finish(task)


# --------------------------------------------------------------------------- drafts


def test_create_draft_sends_the_documented_body(owner, project, counter, text_file, platform):
    sent = capture_requests(owner)

    task = owner.tasks.create(
        name="draft one",
        project=project.id,
        app=counter.id,
        revision=0,
        inputs={"input_file": text_file},
    )

    (request,) = requests_to(sent, "POST", "/tasks")
    assert query_of(request) == {}  # a draft: no action=run
    assert body_of(request) == {
        "name": "draft one",
        "project": project.id,
        "app": f"{counter.id}/0",
        "description": None,
        "inputs": {"input_file": {"class": "File", "path": text_file.id}},
    }
    assert isinstance(task, Task)
    assert task.status == TaskStatus.DRAFT
    assert uuid.UUID(task.id)
    assert task.href == f"{platform.url}/tasks/{task.id}"
    assert (task.name, task.project, task.app) == ("draft one", project.id, f"{counter.id}/0")
    assert task.type == "v2"
    assert task.created_by == task._api.users.me().username
    assert isinstance(task.created_time, datetime)
    assert task.start_time is None and task.end_time is None
    assert task.batch is False
    assert task.errors == [] and task.warnings == []
    reads = task.inputs["input_file"]
    assert isinstance(reads, File)
    assert (reads.id, reads.name) == (text_file.id, "poem.txt")


def test_an_app_object_brings_its_revision_and_options_reach_the_wire(
    owner, project, counter, text_file
):
    sent = capture_requests(owner)

    task = owner.tasks.create(
        name="options",
        project=project,
        app=counter,
        inputs={"input_file": text_file},
        description="with every option",
        interruptible=False,
        execution_settings={"max_parallel_instances": 1},
    )

    body = body_of(requests_to(sent, "POST", "/tasks")[0])
    assert body["app"] == f"{counter.id}/0"
    assert body["description"] == "with every option"
    assert body["use_interruptible_instances"] is False
    assert body["execution_settings"] == {"max_parallel_instances": 1}
    assert "batch_input" not in body and "batch_by" not in body
    assert task.description == "with every option"
    assert task.use_interruptible_instances is False


def test_get_returns_the_same_task(owner, project, counter, text_file):
    task = owner.tasks.create(
        name="fetch me", project=project, app=counter, inputs={"input_file": text_file}
    )

    fetched = owner.tasks.get(task.id)

    assert fetched == task
    assert (fetched.name, fetched.status, fetched.app) == ("fetch me", "DRAFT", task.app)
    assert fetched.inputs["input_file"].id == text_file.id
    with pytest.raises(NotFound) as missing:
        owner.tasks.get(str(uuid.uuid4()))
    assert missing.value.status == 404


def test_a_folder_input_is_sent_as_a_directory(owner, project, text_file):
    lister = install(owner, project, "list", LISTING_TOOL)
    folder = owner.files.create_folder(name="inbox", project=project)
    sent = capture_requests(owner)

    task = owner.tasks.create(name="list", project=project, app=lister, inputs={"folder": folder})

    body = body_of(requests_to(sent, "POST", "/tasks")[0])
    assert body["inputs"] == {"folder": {"class": "Directory", "path": folder.id}}
    stored = owner.tasks.get(task.id).inputs["folder"]
    assert isinstance(stored, File) and stored.id == folder.id and stored.is_folder()


def test_save_changes_a_draft(owner, project, counter, text_file):
    other = put_file(owner, "other.txt", b"a\nb\n", project=project)
    task = owner.tasks.create(
        name="before", project=project, app=counter, inputs={"input_file": text_file}
    )
    sent = capture_requests(owner)

    task.name = "after"
    task.inputs["input_file"] = other
    same = task.save()

    (patch,) = requests_to(sent, "PATCH", f"/tasks/{task.id}")
    assert body_of(patch) == {
        "name": "after",
        "inputs": {"input_file": {"class": "File", "path": other.id}},
    }
    assert same is task
    assert task.name == "after"
    stored = owner.tasks.get(task.id)
    assert stored.name == "after"
    assert stored.inputs["input_file"].id == other.id

    # Nothing changed: no request, and the task comes back as it is.
    sent.clear()
    assert task.save() is task
    assert sent == []


def test_delete_a_draft(owner, project, counter):
    task = owner.tasks.create(name="doomed", project=project, app=counter)

    task.delete()

    with pytest.raises(NotFound):
        owner.tasks.get(task.id)


# --------------------------------------------------------------------------- running


def test_a_task_runs_to_completion_with_outputs_as_files(owner, project, completed, text_file):
    task = completed

    assert task.status == TaskStatus.COMPLETED
    assert isinstance(task.start_time, datetime) and isinstance(task.end_time, datetime)
    assert task.start_time <= task.end_time
    assert task.executed_by == task.created_by

    # An int output computed by a JavaScript expression, and a file output.
    assert task.outputs["lines"] == 3
    counted = task.outputs["line_count"]
    assert isinstance(counted, File)
    assert counted.name == "poem.lines.txt"
    assert counted.project == project.id
    assert counted.origin.task == task.id
    assert counted.content().strip() == "3"
    listed = {f.id for f in owner.files.query(project=project, origin={"task": task.id})}
    assert counted.id in listed

    status = task.execution_status
    assert status.steps_total >= 1
    assert status.steps_completed == status.steps_total
    assert isinstance(status.duration, int)

    price = task.price
    assert price.currency == "USD"
    assert isinstance(price.amount, float)
    assert isinstance(price.breakdown.computation, str)


def test_execution_details_list_jobs_with_readable_logs(completed):
    details = completed.get_execution_details()

    assert isinstance(details, ExecutionDetails)
    assert details.status == TaskStatus.COMPLETED
    assert details.jobs, "a completed task ran at least one job"
    job = details.jobs[0]
    assert job.status == TaskStatus.COMPLETED
    assert isinstance(job.start_time, datetime) and isinstance(job.end_time, datetime)
    assert "wc" in (job.command_line or "")
    logs = dict(job.logs.items())
    assert logs, "the job kept its logs"
    for name, log in logs.items():
        assert isinstance(log, File), name
        assert isinstance(log.content(), str)


def test_run_a_draft_then_running_again_is_refused(owner, project, counter, text_file):
    task = owner.tasks.create(
        name="run later", project=project, app=counter, inputs={"input_file": text_file}
    )
    sent = capture_requests(owner)

    returned = task.run()

    (request,) = requests_to(sent, "POST", f"/tasks/{task.id}/actions/run")
    assert query_of(request) == {}
    assert returned is task
    assert task.status in (
        TaskStatus.CREATING, TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.COMPLETED
    )
    with pytest.raises(BadRequest) as refused:
        owner.tasks.get(task.id).run()
    assert refused.value.code == ONLY_DRAFT_CAN_RUN
    assert finish(task).status == TaskStatus.COMPLETED


def test_run_options_reach_the_wire(owner, project, counter, text_file):
    task = owner.tasks.create(
        name="not in place", project=project, app=counter, inputs={"input_file": text_file}
    )
    sent = capture_requests(owner)

    started = task.run(interruptible=True, inplace=False)

    (request,) = requests_to(sent, "POST", f"/tasks/{task.id}/actions/run")
    assert query_of(request) == {"use_interruptible_instances": ["True"]}
    assert started is not task and started == task
    assert task.status == TaskStatus.DRAFT  # the object run() was called on is left alone
    assert started.status != TaskStatus.DRAFT
    finish(started)


def test_wait_calls_back_with_its_arguments(owner, project, counter, text_file):
    task = owner.tasks.create(
        name="call me", project=project, app=counter, inputs={"input_file": text_file}, run=True
    )
    seen: list[Any] = []

    result = task.wait(POLL_SECONDS, lambda *args, **kwargs: seen.append((args, kwargs)) or 42,
                       "positional", key="word")

    assert result == 42
    assert seen == [(("positional",), {"key": "word"})]
    assert task.status in TaskStatus.terminal_states


def test_only_name_and_description_change_after_the_run(owner, completed, text_file):
    completed.name = "renamed afterwards"
    completed.description = "still allowed"
    completed.save()
    assert owner.tasks.get(completed.id).name == "renamed afterwards"

    completed.inputs["input_file"] = text_file
    completed.inputs["extra"] = 1
    with pytest.raises(BadRequest) as refused:
        completed.save()
    assert refused.value.code == EDIT_REFUSED


def test_a_finished_task_cannot_be_deleted_or_aborted(completed):
    with pytest.raises(BadRequest) as not_deleted:
        completed.delete()
    assert not_deleted.value.code in DELETE_REFUSED
    with pytest.raises(BadRequest) as not_aborted:
        completed.abort()
    assert not_aborted.value.code == ABORT_REFUSED


def test_a_draft_cannot_be_aborted(owner, project, counter):
    task = owner.tasks.create(name="idle", project=project, app=counter)
    with pytest.raises(BadRequest) as refused:
        task.abort()
    assert refused.value.code == ABORT_REFUSED


def test_abort_a_running_task(owner, project, sleeper):
    task = owner.tasks.create(
        name="long nap", project=project, app=sleeper, inputs={"seconds": 600}, run=True
    )
    wait_for(task, (TaskStatus.RUNNING,))
    sent = capture_requests(owner)

    returned = task.abort()

    assert returned is task
    assert len(requests_to(sent, "POST", f"/tasks/{task.id}/actions/abort")) == 1
    assert task.status in (TaskStatus.ABORTING, TaskStatus.ABORTED)
    assert finish(task).status == TaskStatus.ABORTED
    assert task.end_time is not None
    with pytest.raises(BadRequest) as again:
        task.abort()
    assert again.value.code == ABORT_REFUSED


def test_a_failing_tool_ends_failed_with_its_logs(owner, project):
    failing = install(owner, project, "fails", FAILING_TOOL)

    task = finish(owner.tasks.create(name="doomed run", project=project, app=failing, run=True))

    assert task.status == TaskStatus.FAILED
    assert task.execution_status.message, "a failed task says why"
    details = task.get_execution_details()
    assert details.status == TaskStatus.FAILED
    failed_jobs = [job for job in details.jobs if job.status == TaskStatus.FAILED]
    assert failed_jobs, [(job.name, job.status) for job in details.jobs]
    texts = [log.content() for _, log in failed_jobs[0].logs.items() if log is not None]
    assert any("the tool gave up" in text for text in texts), texts


# --------------------------------------------------------------------------- validation


def test_run_with_missing_inputs_raises_and_keeps_a_draft(owner, project, counter):
    with pytest.raises(TaskValidationError) as caught:
        owner.tasks.create(name="no inputs", project=project, app=counter, run=True)

    draft = caught.value.task
    assert isinstance(draft, Task)
    assert draft.status == TaskStatus.DRAFT
    assert draft.errors, "the platform listed what is wrong"
    assert "input_file" in caught.value.message
    assert owner.tasks.get(draft.id).status == TaskStatus.DRAFT

    with pytest.raises(BadRequest) as refused:
        draft.run()
    assert refused.value.code == INVALID_DRAFT


def test_a_draft_without_run_keeps_quiet_about_missing_inputs(owner, project, counter):
    task = owner.tasks.create(name="later", project=project, app=counter)
    assert task.status == TaskStatus.DRAFT


# --------------------------------------------------------------------------- clone


def test_clone_as_draft_and_clone_to_run(owner, completed, text_file):
    sent = capture_requests(owner)

    copy_draft = completed.clone(run=False)
    copy_run = completed.clone()

    first, second = requests_to(sent, "POST", f"/tasks/{completed.id}/actions/clone")
    assert query_of(first) == {}
    assert query_of(second) == {"action": ["run"]}
    assert copy_draft != completed and copy_run != completed
    assert copy_draft.status == TaskStatus.DRAFT
    assert copy_draft.app == completed.app
    assert copy_draft.inputs["input_file"].id == text_file.id
    assert finish(copy_run).status == TaskStatus.COMPLETED
    assert copy_run.outputs["lines"] == 3


# --------------------------------------------------------------------------- listing


def test_query_by_project_status_and_dates(owner, project, counter, completed, text_file):
    draft = owner.tasks.create(
        name="a draft", project=project, app=counter, inputs={"input_file": text_file}
    )
    sent = capture_requests(owner)

    everything = owner.tasks.query(project=project)

    assert isinstance(everything, Collection)
    assert {t.id for t in everything} == {completed.id, draft.id}
    assert everything.total == 2
    assert all(isinstance(t, Task) for t in everything)
    assert query_of(sent[-1])["fields"] == ["_all"]
    assert [t.id for t in owner.tasks.query(project=project, status="DRAFT")] == [draft.id]
    assert [t.id for t in owner.tasks.query(project=project.id, status="COMPLETED")] == [
        completed.id
    ]

    future = datetime.utcnow() + timedelta(days=1)
    sent.clear()
    assert list(owner.tasks.query(project=project, created_from=future)) == []
    assert query_of(sent[-1])["created_from"] == [future.strftime("%Y-%m-%dT%H:%M:%S")]
    past = "2000-01-01T00:00:00"
    assert len(owner.tasks.query(project=project, created_from=past, ended_from=past)) == 1

    oldest_first = owner.tasks.query(project=project, order_by="created_time", order="asc")
    assert [t.id for t in oldest_first] == [completed.id, draft.id]
    newest_first = owner.tasks.query(project=project, order_by="created_time", order="desc")
    assert [t.id for t in newest_first] == [draft.id, completed.id]

    one = owner.tasks.query(project=project, limit=1)
    assert len(one) == 1 and one.total == 2
    assert len(list(one.all())) == 2


def test_project_helpers_create_and_list_tasks(owner, project, counter, text_file):
    sent = capture_requests(owner)

    task = project.create_task(name="from the project", app=counter,
                               inputs={"input_file": text_file})

    body = body_of(requests_to(sent, "POST", "/tasks")[0])
    assert body["project"] == project.id
    assert body["use_interruptible_instances"] is True  # the project helper always says so
    assert task.status == TaskStatus.DRAFT
    assert [t.id for t in project.get_tasks()] == [task.id]
    assert [t.id for t in project.get_tasks(status="DRAFT", limit=5)] == [task.id]
    assert list(project.get_tasks(status="COMPLETED")) == []


def test_bulk_get_returns_one_record_per_id(owner, project, counter):
    first = owner.tasks.create(name="first", project=project, app=counter)
    second = owner.tasks.create(name="second", project=project, app=counter)
    unknown = str(uuid.uuid4())
    sent = capture_requests(owner)

    records = owner.tasks.bulk_get([first, second.id, unknown])

    assert body_of(sent[-1]) == {"task_ids": [first.id, second.id, unknown]}
    assert all(isinstance(record, TaskBulkRecord) for record in records)
    assert [record.valid for record in records] == [True, True, False]
    assert [record.resource.name for record in records[:2]] == ["first", "second"]
    assert records[2].error.status == 404


def test_other_users_cannot_see_or_touch_the_task(api_for, new_username, owner, project, counter):
    task = owner.tasks.create(name="private", project=project, app=counter)
    stranger = api_for(new_username("stranger"))

    with pytest.raises((Forbidden, NotFound)):
        stranger.tasks.get(task.id)
    assert task.id not in {t.id for t in stranger.tasks.query()}
    with pytest.raises((Forbidden, NotFound)):
        stranger.tasks.create(name="intruder", project=project, app=counter)


def test_reload_and_refresh_follow_the_platform(owner, project, counter, text_file):
    task = owner.tasks.create(
        name="watch", project=project, app=counter, inputs={"input_file": text_file}
    )
    other_view = owner.tasks.get(task.id)
    other_view.name = "renamed elsewhere"
    other_view.save()

    assert task.refresh() is task
    assert task.name == "renamed elsewhere"
    with pytest.raises(SbgError):
        Task(id=str(uuid.uuid4()), api=owner).reload()


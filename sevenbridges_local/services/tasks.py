"""Tasks: drafts, runs, aborts, clones, batch children, and the transitions the workers make.

Statuses: DRAFT -> QUEUED -> CREATING -> RUNNING -> COMPLETED | FAILED, with ABORTING/ABORTED
for aborts. ``CREATING`` is the short stretch in which a worker has claimed a task and stages
its inputs. Which action each status allows (400 with the platform's codes otherwise):

* run: DRAFT only (7007); a draft with validation errors is 7024.
* abort: CREATING, QUEUED, RUNNING only (7011). A queued task is ABORTED at once; a started one
  becomes ABORTING until its process is gone.
* delete: DRAFT only (7010).
* PATCH: anything in DRAFT; after that only ``name`` and ``description`` may change (7026).

Creating with ``action=run`` and invalid inputs leaves a DRAFT whose ``errors`` say why (2xx),
as the platform does. Other codes: 7002 (not found, also for tasks in projects the caller is not
a member of), 7001 (no ``execute`` permission), 7005 (id is not a UUID), 7006 (unknown status
filter), 7015/7016 (app missing or malformed); batch codes in ``services/batch.py``.

Permissions: reading a task needs membership of its project; creating, running, aborting,
editing, cloning and deleting need the ``execute`` permission.

Restarts: a task left CREATING or RUNNING by a stopped platform is queued again from scratch
(once; a second interruption fails it with :data:`INTERRUPTED_MESSAGE`); ABORTING ends ABORTED.
"""

from __future__ import annotations

import copy
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.db.apps import AppRevision
from sevenbridges_local.db.files import FILE_TYPE, FOLDER_TYPE, File
from sevenbridges_local.db.models import Project, ProjectMember, User
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.execution.base import (
    ExecutionError,
    JobRecord,
    Progress,
    RunResult,
    TaskSpec,
)
from sevenbridges_local.services import apps, batch, billing, folders, task_inputs
from sevenbridges_local.services.context import Actor, Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.storage import BlobStore, StorageError
from sevenbridges_local.validation import expect_bool, expect_object, expect_str

logger = logging.getLogger(__name__)

DRAFT = "DRAFT"
CREATING = "CREATING"
QUEUED = "QUEUED"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
ABORTING = "ABORTING"
ABORTED = "ABORTED"
FAILED = "FAILED"
STATUSES = (DRAFT, CREATING, QUEUED, RUNNING, COMPLETED, ABORTING, ABORTED, FAILED)
TERMINAL = frozenset({COMPLETED, ABORTED, FAILED})
STARTED = frozenset({CREATING, RUNNING, ABORTING})
ABORTABLE = frozenset({CREATING, QUEUED, RUNNING})

TASK_FORBIDDEN = 7001
TASK_NOT_FOUND = 7002
TASK_ID_EMPTY = 7004
TASK_ID_INVALID = 7005
STATUS_FILTER_INVALID = 7006
RUN_NOT_DRAFT = 7007
DELETE_NOT_DRAFT = 7010
ABORT_NOT_ACTIVE = 7011
APP_ID_EMPTY = 7015
APP_ID_INVALID = 7016
VALIDATION_FAILED = 7024
EDIT_NOT_DRAFT = 7026
PROJECT_ID_EMPTY = 3006
PROJECT_ID_MALFORMED = 3012

INTERRUPTED_MESSAGE = "The task was interrupted by a platform restart."
RESTARTED_WARNING = "The task was restarted from the beginning after a platform restart."
# A task interrupted by restarts this many times is failed instead of started again.
MAX_RUN_ATTEMPTS = 2
BULK_MAX_ITEMS = 100
NAME_MAX_LENGTH = 255
LOGS_FOLDER = ".task-logs"
# Outputs up to this size are stored in one write; larger ones are streamed in parts.
SMALL_OUTPUT_BYTES = 16 * 1024 * 1024
OUTPUT_PART_BYTES = 64 * 1024 * 1024

ORDER_COLUMNS = {
    "created_time": Task.created_on,
    "start_time": Task.started_on,
    "end_time": Task.ended_on,
    "name": Task.name,
    "status": Task.status,
}
# Writable keys of PATCH; only these two may change once a task has left DRAFT.
EDITABLE_KEYS = (
    "name",
    "description",
    "inputs",
    "batch",
    "batch_input",
    "batch_by",
    "project",
    "app",
    "use_interruptible_instances",
    "execution_settings",
    "output_location",
)
ALWAYS_EDITABLE = frozenset({"name", "description"})


def now() -> datetime:
    """Naive UTC with microseconds: task durations are reported in milliseconds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# Small helpers


def parse_task_id(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise errors.bad_request("Task id must not be empty.", TASK_ID_EMPTY)
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise errors.bad_request(f"Invalid task id {raw!r}: expected a UUID.", TASK_ID_INVALID)


def _not_found(task_id: str) -> errors.ApiError:
    return errors.not_found(f"Task '{task_id}' does not exist.", TASK_NOT_FOUND)


def project_id_of(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


def _transition(task: Task, status: str, moment: datetime) -> None:
    """Set ``status``, stamp its time column and keep the history (a new list: JSON columns
    only notice reassignment)."""
    task.status = status
    task.modified_on = moment
    if status == QUEUED:
        task.queued_on = moment
    elif status == CREATING:
        task.started_on = moment
    elif status == RUNNING:
        task.running_on = moment
    elif status in TERMINAL:
        task.ended_on = moment
    task.transitions = [
        *(task.transitions or []),
        {"status": status, "time": moment.isoformat(timespec="milliseconds")},
    ]


def _membership(session: Session, project_id: int, user_id: int) -> ProjectMember | None:
    return session.get(ProjectMember, (project_id, user_id))


def _load(ctx: ServiceContext, raw_id: Any, permission: str = "read", action: str = "") -> Task:
    task_id = parse_task_id(raw_id)
    task = ctx.session.get(Task, task_id)
    membership = _membership(ctx.session, task.project_id, ctx.actor.user_id) if task else None
    if task is None or membership is None or not membership.read:
        raise _not_found(task_id)
    if permission != "read" and not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on project "
            f"'{project_id_of(task.project)}' to {action or 'do this'}.",
            TASK_FORBIDDEN,
        )
    return task


def _project_for(ctx: ServiceContext, raw: Any) -> Project:
    """The project named ``owner/slug`` where the caller may run tasks."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise errors.bad_request("The task's 'project' must be given.", PROJECT_ID_EMPTY)
    if not isinstance(raw, str):
        raise errors.bad_request("Invalid value for 'project': expected 'owner/project'.")
    owner, _, slug = raw.strip().partition("/")
    if not owner or not slug or "/" in slug:
        raise errors.bad_request(
            f"Malformed project id {raw!r}: expected 'owner/project'.", PROJECT_ID_MALFORMED
        )
    project = ctx.session.scalar(
        select(Project)
        .join(User, User.id == Project.owner_id)
        .where(User.username == owner, Project.slug == slug)
    )
    membership = _membership(ctx.session, project.id, ctx.actor.user_id) if project else None
    if project is None or membership is None:
        raise errors.not_found(
            f"Project '{owner}/{slug}' does not exist.", errors.PROJECT_NOT_FOUND
        )
    if not membership.execute:
        raise errors.forbidden(
            f"You need the 'execute' permission on project '{owner}/{slug}' to run tasks in it.",
            TASK_FORBIDDEN,
        )
    return project


def _resolve_app(ctx: ServiceContext, raw: Any) -> apps.AppView:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise errors.bad_request("The task's 'app' must be given.", APP_ID_EMPTY)
    if not isinstance(raw, str):
        raise errors.bad_request("Invalid value for 'app': expected an app id.", APP_ID_INVALID)
    try:
        ref = apps.parse_app_id(raw)
    except errors.ApiError as exc:
        raise errors.bad_request(exc.message, APP_ID_INVALID)
    return apps.get_app(ctx, ref)


def _use_app(task: Task, view: apps.AppView) -> None:
    task.app_pk = view.app.id
    task.app_revision = view.revision.revision
    task.app_ref = view.revision_id


def app_document(session: Session, task: Task) -> dict[str, Any] | None:
    if task.app_pk is None:
        return None
    row = session.get(AppRevision, (task.app_pk, task.app_revision))
    return None if row is None else row.raw


def app_name(session: Session, task: Task) -> str:
    if task.app_pk is not None:
        row = session.get(AppRevision, (task.app_pk, task.app_revision))
        if row is not None:
            return row.name
    return task.app_ref


def _check_name(value: Any) -> str:
    name = expect_str(value, "name")
    assert name is not None
    name = name.strip()
    if not name:
        raise errors.bad_request("The task name must not be empty.")
    return name[:NAME_MAX_LENGTH]


def _check_output_location(value: Any) -> dict[str, Any] | None:
    location = expect_object(value, "output_location", nullable=True)
    if location is None:
        return None
    main = location.get("main_location")
    if main is not None and not isinstance(main, str):
        raise errors.bad_request("Invalid value for 'output_location.main_location'.")
    nodes = location.get("nodes_location")
    if nodes is not None:
        if not isinstance(nodes, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("output_location"), str)
            for entry in nodes.values()
        ):
            raise errors.bad_request(
                "Invalid value for 'output_location.nodes_location': expected "
                '{"<output id>": {"output_location": "/folder/"}}.'
            )
    return location


# ---------------------------------------------------------------------------------------------
# Validation


def _batch_problems(task: Task, specs: Mapping[str, task_inputs.InputSpec]) -> list[dict[str, Any]]:
    if not (task.batch and task.batch_input):
        return []
    spec = specs.get(task.batch_input)
    if spec is None:
        return [
            {
                "code": batch.BATCH_INPUT_EMPTY,
                "input": task.batch_input,
                "message": f"Batch input '{task.batch_input}' is not an input of the app.",
            }
        ]
    takes_files = task_inputs.file_kind_of(spec.type) is not None
    if not takes_files:
        return [
            {
                "code": VALIDATION_FAILED,
                "input": task.batch_input,
                "message": f"Batch input '{task.batch_input}' must be a file input.",
            }
        ]
    return []


def validate(session: Session, task: Task, raw_inputs: Mapping[str, Any] | None = None) -> None:
    """Recompute ``inputs`` (stored form), ``errors`` and ``warnings`` for the task's app."""
    document = app_document(session, task)
    raw = dict(task.inputs if raw_inputs is None else raw_inputs)
    if document is None:
        task.inputs = raw
        task.errors = [{"code": VALIDATION_FAILED, "message": "The task's app no longer exists."}]
        task.warnings = []
        return
    specs = task_inputs.app_inputs(document)
    user_id = task.executed_by_id or task.created_by_id
    batch_input = task.batch_input if task.batch and task.batch_by else None
    checked = task_inputs.check_inputs(session, user_id, specs, raw, batch_input=batch_input)
    task.inputs = checked.inputs
    task.errors = _batch_problems(task, specs) + checked.errors
    task.warnings = checked.warnings
    task.steps_total = max(len(task_inputs.step_names(document)), 1)


def _validation_error(task: Task) -> errors.ApiError:
    reasons = "; ".join(str(problem.get("message")) for problem in task.errors[:5])
    return errors.bad_request(f"The task cannot be run: {reasons}", VALIDATION_FAILED)


# ---------------------------------------------------------------------------------------------
# Creating, running, editing


@dataclass
class Outcome:
    """A task after an operation, and what the caller must tell the workers."""

    task: Task
    queued: int = 0
    to_abort: list[str] = field(default_factory=list)


def _new_task(**values: Any) -> Task:
    moment = values.get("created_on") or now()
    defaults: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "position": 0,
        "status": DRAFT,
        "created_on": moment,
        "modified_on": moment,
        "transitions": [{"status": DRAFT, "time": moment.isoformat(timespec="milliseconds")}],
        "batch": False,
        "outputs": {},
        "errors": [],
        "warnings": [],
        "steps_completed": 0,
        "steps_total": 1,
        "jobs": [],
        "computation_cost": 0.0,
        "storage_cost": 0.0,
        "abort_requested": False,
        "run_attempts": 0,
    }
    defaults.update(values)
    return Task(**defaults)


def create_task(
    ctx: ServiceContext, body: Mapping[str, Any], *, run: bool, disable_batch: bool
) -> Outcome:
    """``POST /tasks``: a draft, started at once when ``run`` and its inputs are valid."""
    project = _project_for(ctx, body.get("project"))
    view = _resolve_app(ctx, body.get("app"))
    raw_name = body.get("name")
    name = _check_name(raw_name) if raw_name is not None else view.name
    description = expect_str(body.get("description"), "description", nullable=True)
    inputs = expect_object(body.get("inputs"), "inputs", nullable=True) or {}
    batch_input, batch_by = batch.check_batch(body.get("batch_input"), body.get("batch_by"))
    interruptible = body.get("use_interruptible_instances")
    if interruptible is not None:
        expect_bool(interruptible, "use_interruptible_instances")
    task = _new_task(
        project_id=project.id,
        name=name,
        description=description,
        app_ref=view.revision_id,
        created_by_id=ctx.actor.user_id,
        batch=bool(batch_input) and not disable_batch,
        batch_input=batch_input,
        batch_by=batch_by,
        inputs={},
        execution_settings=expect_object(
            body.get("execution_settings"), "execution_settings", nullable=True
        ),
        output_location=_check_output_location(body.get("output_location")),
        use_interruptible_instances=interruptible,
    )
    _use_app(task, view)
    task.project = project
    validate(ctx.session, task, inputs)
    ctx.session.add(task)
    ctx.session.flush()
    queued = 0
    if run and not task.errors:
        queued = _start(ctx, task)
    ctx.session.commit()
    logger.info("task %s created by %s (%s)", task.id, ctx.actor.username, task.status)
    return Outcome(task=task, queued=queued)


def _child_value(spec: task_inputs.InputSpec | None, files: list[dict[str, Any]]) -> Any:
    kind = spec.type if spec is not None else None
    members = kind if isinstance(kind, list) else [kind]
    takes_list = any(
        isinstance(member, dict) and member.get("type") == "array" for member in members
    )
    return list(files) if takes_list or len(files) != 1 else files[0]


def _create_children(ctx: ServiceContext, parent: Task, moment: datetime) -> list[Task]:
    assert parent.batch_input and parent.batch_by
    value = parent.inputs.get(parent.batch_input)
    files = [item for item in (value if isinstance(value, list) else [value]) if item]
    groups = batch.split(ctx.session, parent.batch_by, files)
    document = app_document(ctx.session, parent) or {}
    spec = task_inputs.app_inputs(document).get(parent.batch_input)
    single = spec is not None and not any(
        isinstance(member, dict) and member.get("type") == "array"
        for member in (spec.type if isinstance(spec.type, list) else [spec.type])
    )
    children = []
    for position, group in enumerate(groups):
        if single and len(group.files) > 1:
            raise errors.bad_request(
                f"The task cannot be run: batch group '{group.value}' has {len(group.files)} "
                f"files but input '{parent.batch_input}' takes one file.",
                VALIDATION_FAILED,
            )
        inputs = copy.deepcopy(parent.inputs)
        inputs[parent.batch_input] = _child_value(spec, group.files)
        child = _new_task(
            project_id=parent.project_id,
            parent_id=parent.id,
            position=position,
            name=f"{parent.name} - {group.value}"[:NAME_MAX_LENGTH],
            description=parent.description,
            app_ref=parent.app_ref,
            app_pk=parent.app_pk,
            app_revision=parent.app_revision,
            created_by_id=parent.created_by_id,
            executed_by_id=ctx.actor.user_id,
            batch_group=group.as_dict(),
            inputs=inputs,
            warnings=list(parent.warnings),
            steps_total=parent.steps_total,
            execution_settings=copy.deepcopy(parent.execution_settings),
            output_location=copy.deepcopy(parent.output_location),
            use_interruptible_instances=parent.use_interruptible_instances,
            created_on=moment,
        )
        _transition(child, QUEUED, moment)
        children.append(child)
    return children


def _start(ctx: ServiceContext, task: Task) -> int:
    """DRAFT -> QUEUED (a batch parent queues its children); returns how many were queued."""
    if task.errors:
        raise _validation_error(task)
    moment = now()
    task.executed_by_id = ctx.actor.user_id
    if task.batch and task.batch_input and task.batch_by:
        children = _create_children(ctx, task, moment)
        if not children:
            raise errors.bad_request(
                "The task cannot be run: the batch input holds no files.", VALIDATION_FAILED
            )
        ctx.session.add_all(children)
        task.steps_total = len(children)
        task.steps_completed = 0
        _transition(task, QUEUED, moment)
        task.message = f"0 of {len(children)} batch tasks finished."
        return len(children)
    _transition(task, QUEUED, moment)
    task.message = "Queued."
    return 1


def run_task(
    ctx: ServiceContext,
    raw_id: Any,
    *,
    disable_batch: bool = False,
    interruptible: bool | None = None,
) -> Outcome:
    """``POST /tasks/{id}/actions/run``."""
    task = _load(ctx, raw_id, "execute", "run tasks in it")
    if task.status != DRAFT:
        raise errors.bad_request(
            f"Only DRAFT tasks can be run; this task is {task.status}.", RUN_NOT_DRAFT
        )
    if disable_batch and task.batch:
        task.batch = False
    if interruptible is not None:
        task.use_interruptible_instances = interruptible
    # Files may have gone since the draft was made: check again before starting.
    validate(ctx.session, task)
    queued = _start(ctx, task)
    ctx.session.commit()
    return Outcome(task=task, queued=queued)


def _merge_inputs(current: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    patch = expect_object(changes, "inputs", nullable=True) or {}
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)  # null removes an input
        else:
            merged[key] = value
    return merged


def _plain_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stored inputs without the details the platform adds (names, sizes), for comparison."""

    def plain(value: Any) -> Any:
        if task_inputs.is_file_object(value):
            return {"class": value.get("class"), "path": value.get("path")}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        return value

    return {key: plain(value) for key, value in inputs.items()}


def _current_value(ctx: ServiceContext, task: Task, key: str) -> Any:
    if key == "project":
        return project_id_of(task.project)
    if key == "app":
        return task.app_ref
    if key == "inputs":
        return _plain_inputs(task.inputs)
    return getattr(task, key)


def _unchanged(ctx: ServiceContext, task: Task, key: str, value: Any) -> bool:
    current = _current_value(ctx, task, key)
    if key == "inputs" and isinstance(value, Mapping):
        return _plain_inputs(_merge_inputs(task.inputs, value)) == current
    if key == "app" and isinstance(value, str):
        return value.strip("/") in (task.app_ref, task.app_ref.rsplit("/", 1)[0])
    return value == current


def update_task(ctx: ServiceContext, raw_id: Any, body: Mapping[str, Any]) -> Task:
    """``PATCH /tasks/{id}``: everything in DRAFT, afterwards only name and description."""
    task = _load(ctx, raw_id, "execute", "change its tasks")
    changes = {key: body[key] for key in EDITABLE_KEYS if key in body}
    if task.status != DRAFT:
        locked = [
            key
            for key, value in changes.items()
            if key not in ALWAYS_EDITABLE and not _unchanged(ctx, task, key, value)
        ]
        if locked:
            raise errors.bad_request(
                f"A {task.status} task can only be renamed or described; "
                f"{', '.join(sorted(locked))} can be changed in DRAFT only.",
                EDIT_NOT_DRAFT,
            )
        changes = {key: value for key, value in changes.items() if key in ALWAYS_EDITABLE}
    if "name" in changes:
        task.name = _check_name(changes["name"])
    if "description" in changes:
        task.description = expect_str(changes["description"], "description", nullable=True)
    revalidate = False
    raw_inputs: dict[str, Any] = dict(task.inputs)
    if "inputs" in changes:
        raw_inputs = _merge_inputs(task.inputs, changes["inputs"])
        revalidate = True
    if "project" in changes and not _unchanged(ctx, task, "project", changes["project"]):
        project = _project_for(ctx, changes["project"])
        task.project_id = project.id
        task.project = project
        revalidate = True
    if "app" in changes and not _unchanged(ctx, task, "app", changes["app"]):
        _use_app(task, _resolve_app(ctx, changes["app"]))
        revalidate = True
    if "batch_input" in changes or "batch_by" in changes:
        batch_input, batch_by = batch.check_batch(
            changes.get("batch_input", task.batch_input), changes.get("batch_by", task.batch_by)
        )
        task.batch_input, task.batch_by = batch_input, batch_by
        task.batch = bool(batch_input)
        revalidate = True
    if "batch" in changes:
        task.batch = expect_bool(changes["batch"], "batch") and bool(task.batch_input)
        revalidate = True
    if "use_interruptible_instances" in changes:
        value = changes["use_interruptible_instances"]
        task.use_interruptible_instances = (
            None if value is None else expect_bool(value, "use_interruptible_instances")
        )
    if "execution_settings" in changes:
        task.execution_settings = expect_object(
            changes["execution_settings"], "execution_settings", nullable=True
        )
    if "output_location" in changes:
        task.output_location = _check_output_location(changes["output_location"])
    if revalidate:
        validate(ctx.session, task, raw_inputs)
    task.modified_on = now()
    ctx.session.commit()
    return task


def delete_task(ctx: ServiceContext, raw_id: Any) -> None:
    task = _load(ctx, raw_id, "execute", "delete its tasks")
    if task.status != DRAFT:
        raise errors.bad_request(
            f"Only DRAFT tasks can be deleted; this task is {task.status}.", DELETE_NOT_DRAFT
        )
    ctx.session.delete(task)
    ctx.session.commit()


def abort_task(ctx: ServiceContext, raw_id: Any) -> Outcome:
    """``POST /tasks/{id}/actions/abort``; ``to_abort`` lists tasks whose processes must stop."""
    task = _load(ctx, raw_id, "execute", "abort its tasks")
    if task.status not in ABORTABLE:
        raise errors.bad_request(
            f"Only QUEUED, CREATING or RUNNING tasks can be aborted; this task is {task.status}.",
            ABORT_NOT_ACTIVE,
        )
    moment = now()
    to_abort: list[str] = []
    children = list(
        ctx.session.scalars(select(Task).where(Task.parent_id == task.id).order_by(Task.position))
    )
    targets = children or [task]
    for target in targets:
        if target.status == QUEUED:
            target.abort_requested = True
            _transition(target, ABORTED, moment)
            target.message = "Aborted before it started."
        elif target.status in (CREATING, RUNNING):
            target.abort_requested = True
            _transition(target, ABORTING, moment)
            target.message = "Aborting."
            to_abort.append(target.id)
    if children:
        task.abort_requested = True
        refresh_parent(ctx.session, task.id, moment)
    elif task.parent_id:
        refresh_parent(ctx.session, task.parent_id, moment)
    ctx.session.commit()
    logger.info("task %s aborted by %s", task.id, ctx.actor.username)
    return Outcome(task=task, to_abort=to_abort)


def clone_task(ctx: ServiceContext, raw_id: Any, *, run: bool) -> Outcome:
    """``POST /tasks/{id}/actions/clone``: a new draft with the same app, inputs and settings."""
    source = _load(ctx, raw_id, "execute", "clone its tasks")
    copy_of = _new_task(
        project_id=source.project_id,
        name=source.name,
        description=source.description,
        app_ref=source.app_ref,
        app_pk=source.app_pk,
        app_revision=source.app_revision,
        created_by_id=ctx.actor.user_id,
        batch=source.batch,
        batch_input=source.batch_input,
        batch_by=copy.deepcopy(source.batch_by),
        inputs={},
        execution_settings=copy.deepcopy(source.execution_settings),
        output_location=copy.deepcopy(source.output_location),
        use_interruptible_instances=source.use_interruptible_instances,
    )
    copy_of.project = source.project
    validate(ctx.session, copy_of, _plain_inputs(source.inputs))
    ctx.session.add(copy_of)
    ctx.session.flush()
    queued = 0
    if run and not copy_of.errors:
        queued = _start(ctx, copy_of)
    ctx.session.commit()
    return Outcome(task=copy_of, queued=queued)


# ---------------------------------------------------------------------------------------------
# Reading


def get_task(ctx: ServiceContext, raw_id: Any) -> Task:
    return _load(ctx, raw_id)


@dataclass
class TaskFilters:
    project: str | None = None
    status: str | None = None
    batch: bool | None = None
    parent: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    ended_from: datetime | None = None
    ended_to: datetime | None = None
    origin_id: str | None = None
    order_by: str | None = None
    order: str | None = None


def check_status_filter(raw: str) -> str:
    status = raw.strip().upper()
    if status not in STATUSES:
        raise errors.bad_request(
            f"Invalid status {raw!r}; use one of {', '.join(STATUSES)}.", STATUS_FILTER_INVALID
        )
    return status


def _member_projects(actor: Actor) -> Select[Any]:
    return select(ProjectMember.project_id).where(
        ProjectMember.user_id == actor.user_id, ProjectMember.read.is_(True)
    )


def list_tasks(ctx: ServiceContext, filters: TaskFilters, page: PageRequest) -> Page[Task]:
    statement = select(Task)
    if filters.parent is not None:
        parent = _load(ctx, filters.parent)
        statement = statement.where(Task.parent_id == parent.id)
    else:
        statement = statement.where(Task.project_id.in_(_member_projects(ctx.actor)))
    if filters.project is not None:
        owner, _, slug = filters.project.strip().partition("/")
        if not owner or not slug or "/" in slug:
            raise errors.bad_request(
                f"Malformed project id {filters.project!r}: expected 'owner/project'.",
                PROJECT_ID_MALFORMED,
            )
        project = ctx.session.scalar(
            select(Project)
            .join(User, User.id == Project.owner_id)
            .where(User.username == owner, Project.slug == slug)
        )
        if project is None or _membership(ctx.session, project.id, ctx.actor.user_id) is None:
            raise errors.not_found(
                f"Project '{owner}/{slug}' does not exist.", errors.PROJECT_NOT_FOUND
            )
        statement = statement.where(Task.project_id == project.id)
    if filters.status is not None:
        statement = statement.where(Task.status == check_status_filter(filters.status))
    if filters.batch is not None:
        statement = statement.where(Task.batch.is_(filters.batch))
    if filters.origin_id is not None:
        statement = statement.where(Task.origin_id == filters.origin_id)
    ranges = (
        (Task.created_on, filters.created_from, filters.created_to),
        (Task.started_on, filters.started_from, filters.started_to),
        (Task.ended_on, filters.ended_from, filters.ended_to),
    )
    for column, start, end in ranges:
        if start is not None:
            statement = statement.where(column >= start)
        if end is not None:
            statement = statement.where(column <= end)
    order_name = (filters.order_by or "created_time").strip().lower()
    column = ORDER_COLUMNS.get(order_name)
    if column is None:
        raise errors.bad_request(
            f"Invalid order_by {filters.order_by!r}; use one of {', '.join(ORDER_COLUMNS)}."
        )
    direction = (filters.order or "asc").strip().lower()
    if direction not in ("asc", "desc"):
        raise errors.bad_request(f"Invalid order {filters.order!r}; use 'asc' or 'desc'.")
    keys = [column, Task.position, Task.id]
    if direction == "desc":
        keys = [key.desc() for key in keys]
    return paginate(ctx.session, statement.order_by(*keys), page)


def bulk_get(ctx: ServiceContext, raw_ids: Sequence[Any]) -> list[Task | errors.ApiError]:
    if len(raw_ids) > BULK_MAX_ITEMS:
        raise errors.bad_request(
            f"At most {BULK_MAX_ITEMS} tasks per bulk request; got {len(raw_ids)}."
        )
    results: list[Task | errors.ApiError] = []
    for raw_id in raw_ids:
        try:
            results.append(_load(ctx, raw_id))
        except errors.ApiError as error:
            results.append(error)
    return results


def batch_counts(session: Session, parent_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Children per status of each batch parent, in one query."""
    wanted = sorted(set(parent_ids))
    counts: dict[str, dict[str, int]] = {parent_id: {} for parent_id in wanted}
    if not wanted:
        return counts
    rows = session.execute(
        select(Task.parent_id, Task.status, func.count())
        .where(Task.parent_id.in_(wanted))
        .group_by(Task.parent_id, Task.status)
    )
    for parent_id, status, count in rows:
        counts[str(parent_id)][status] = int(count)
    return counts


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


# ---------------------------------------------------------------------------------------------
# Batch parents


def refresh_parent(session: Session, parent_id: str, moment: datetime) -> None:
    """Derive a batch parent's status, progress, times and price from its children."""
    parent = session.get(Task, parent_id)
    if parent is None or parent.status == DRAFT:
        return
    session.flush()
    counts: dict[str, int] = {}
    for status, count in session.execute(
        select(Task.status, func.count()).where(Task.parent_id == parent_id).group_by(Task.status)
    ):
        counts[status] = int(count)
    total = sum(counts.values())
    finished = sum(counts.get(status, 0) for status in TERMINAL)
    started = sum(counts.get(status, 0) for status in STARTED)
    if finished < total:
        if parent.abort_requested:
            status = ABORTING
        elif started or finished:
            status = RUNNING
        else:
            status = QUEUED
    elif parent.abort_requested or (counts.get(ABORTED) and not counts.get(FAILED)):
        status = ABORTED
    elif counts.get(FAILED):
        status = FAILED
    else:
        status = COMPLETED
    first_start, cost = session.execute(
        select(
            func.min(Task.started_on), func.coalesce(func.sum(Task.computation_cost), 0.0)
        ).where(Task.parent_id == parent_id)
    ).one()
    if first_start is not None and parent.started_on is None:
        parent.started_on = first_start
    parent.computation_cost = float(cost or 0.0)
    parent.steps_total = total
    parent.steps_completed = finished
    parent.message = f"{finished} of {total} batch tasks finished."
    if status != parent.status:
        if status == RUNNING and parent.running_on is None:
            parent.running_on = moment
        _transition(parent, status, moment)


# ---------------------------------------------------------------------------------------------
# What the task workers call


def claim_next(database: Database, worker: str) -> str | None:
    """The oldest QUEUED task, now CREATING and claimed by ``worker``; None when idle."""
    moment = now()
    with database.write_session() as session:
        task_id = session.scalar(
            select(Task.id)
            # A batch parent is QUEUED while its children are; only the children run.
            .where(Task.status == QUEUED, Task.batch.is_(False))
            .order_by(Task.queued_on, Task.position, Task.id)
            .limit(1)
            # SQLite serialises writers (BEGIN IMMEDIATE); other databases need a row lock.
            .with_for_update(skip_locked=True)
        )
        if task_id is None:
            session.rollback()
            return None
        task = session.get(Task, task_id)
        assert task is not None
        _transition(task, CREATING, moment)
        task.claimed_by = worker
        task.run_attempts += 1
        task.message = "Preparing the inputs."
        task.jobs = []
        task.steps_completed = 0
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
        return task_id


def build_spec(database: Database, task_id: str, container_engine: str | None) -> TaskSpec:
    """What the executor needs for the task; :class:`ExecutionError` when it cannot run."""
    with database.read_session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ExecutionError("The task no longer exists.")
        document = app_document(session, task)
        if document is None:
            raise ExecutionError(f"The app '{task.app_ref}' no longer exists.")
        document = copy.deepcopy(document)
        # The stored id would become the document's base URI; the file name serves instead.
        document.pop("id", None)
        specs = task_inputs.app_inputs(document)
        try:
            files = task_inputs.resolve_files(session, specs, task.inputs)
        except LookupError as exc:
            raise ExecutionError(str(exc))
        slug = task.app_ref.split("/")[2] if task.app_ref.count("/") >= 2 else "app"
        return TaskSpec(
            task_id=task.id,
            document=document,
            document_name=slug,
            job_order=task_inputs.job_order(specs, task.inputs),
            files=files,
            step_names=task_inputs.step_names(document),
            container_engine=container_engine,
        )


def mark_running(database: Database, task_id: str) -> bool:
    """CREATING -> RUNNING as the process starts; False when an abort came first."""
    moment = now()
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status != CREATING or task.abort_requested:
            session.rollback()
            return False
        _transition(task, RUNNING, moment)
        task.message = "Running."
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
        return True


def record_progress(database: Database, task_id: str, progress: Progress) -> None:
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status not in (RUNNING, ABORTING):
            session.rollback()
            return
        task.steps_completed = progress.steps_completed
        task.jobs = [job.as_dict() for job in progress.jobs]
        session.commit()


def abort_requested(database: Database, task_id: str) -> bool:
    """True when the task should stop (aborted, or deleted with its project)."""
    with database.read_session() as session:
        flag = session.scalar(select(Task.abort_requested).where(Task.id == task_id))
        return flag is None or bool(flag)


def _finish_status(task: Task, succeeded: bool) -> str:
    if task.abort_requested:
        return ABORTED
    return COMPLETED if succeeded else FAILED


def fail_task(database: Database, task_id: str, message: str) -> None:
    """End a task that could not be run at all (nothing to collect)."""
    moment = now()
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status in TERMINAL:
            session.rollback()
            return
        _transition(task, _finish_status(task, False), moment)
        task.message = "Aborted." if task.status == ABORTED else message
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
    logger.info("task %s ended %s: %s", task_id, task.status, message)


def recover_interrupted(database: Database) -> tuple[int, int]:
    """After a restart: re-queue or fail tasks a stop cut off; (re-queued, failed) counts."""
    moment = now()
    requeued = failed = 0
    with database.write_session() as session:
        stuck = list(
            session.scalars(
                select(Task).where(
                    Task.status.in_((CREATING, RUNNING, ABORTING)), Task.batch.is_(False)
                )
            )
        )
        # Batch parents follow their children: bring every unfinished one up to date.
        parents = set(
            session.scalars(
                select(Task.id).where(
                    Task.batch.is_(True), Task.status.in_((QUEUED, RUNNING, ABORTING))
                )
            )
        )
        for task in stuck:
            if task.status == ABORTING or task.abort_requested:
                _transition(task, ABORTED, moment)
                task.message = "Aborted."
            elif task.run_attempts < MAX_RUN_ATTEMPTS:
                original_queue_time = task.queued_on
                _transition(task, QUEUED, moment)
                task.queued_on = original_queue_time or moment  # keep its place in the queue
                task.started_on = task.running_on = None
                task.claimed_by = None
                task.jobs = []
                task.steps_completed = 0
                task.message = "Queued again after a platform restart."
                task.warnings = [*(task.warnings or []), {"message": RESTARTED_WARNING}]
                requeued += 1
            else:
                _transition(task, FAILED, moment)
                task.message = INTERRUPTED_MESSAGE
                failed += 1
            if task.parent_id:
                parents.add(task.parent_id)
        for parent_id in parents:
            refresh_parent(session, parent_id, moment)
        session.commit()
    return requeued, failed


# ---------------------------------------------------------------------------------------------
# Results: outputs and logs become project files


@dataclass
class _StoredFile:
    name: str
    key: str
    size: int
    secondary: list[_StoredFile] = field(default_factory=list)


@dataclass
class _StoredFolder:
    name: str
    entries: list[_StoredFile | _StoredFolder] = field(default_factory=list)


def _store_blob(store: BlobStore, path: Path) -> tuple[str, int]:
    """Put a local file into the blob store under a fresh key; returns (key, size)."""
    key = uuid.uuid4().hex
    size = path.stat().st_size
    if size <= SMALL_OUTPUT_BYTES:
        store.put_bytes(key, path.read_bytes())
        return key, size
    staging = uuid.uuid4().hex
    store.begin_upload(staging)
    try:
        parts = []
        with open(path, "rb") as source:
            offset = number = 0
            while offset < size:
                number += 1
                length = min(OUTPUT_PART_BYTES, size - offset)
                store.write_part(staging, number, source, length)
                parts.append(number)
                offset += length
        store.assemble(staging, parts, key)
    finally:
        store.discard_upload(staging)
    return key, size


class _OutputImporter:
    """Phase one, outside any transaction: copy output files into the blob store."""

    def __init__(self, store: BlobStore, output_dir: Path | None) -> None:
        self.store = store
        self.keys: list[str] = []
        # Lexical containment (symlinks are not resolved): a pass-through output may be a link
        # to a staged input, but a path elsewhere on the machine is never imported.
        self.output_dir = os.path.abspath(output_dir) if output_dir is not None else None

    def _local_path(self, value: Mapping[str, Any]) -> Path | None:
        raw = value.get("path") or value.get("location")
        if not isinstance(raw, str):
            return None
        if raw.startswith("file://"):
            from urllib.parse import unquote, urlparse

            raw = unquote(urlparse(raw).path)
        return Path(raw)

    def store_file(self, path: Path, name: str) -> _StoredFile:
        key, size = _store_blob(self.store, path)
        self.keys.append(key)
        return _StoredFile(name=name, key=key, size=size)

    def _folder(self, path: Path, name: str) -> _StoredFolder:
        folder = _StoredFolder(name=name)
        for entry in sorted(os.scandir(path), key=lambda item: item.name):
            child = Path(entry.path)
            if entry.is_dir():
                folder.entries.append(self._folder(child, entry.name))
            elif entry.is_file():
                folder.entries.append(self.store_file(child, entry.name))
        return folder

    def convert(self, value: Any) -> Any:
        if task_inputs.is_file_object(value):
            path = self._local_path(value)
            if path is None or not path.exists():
                return None
            if self.output_dir is not None and not os.path.abspath(path).startswith(
                self.output_dir + os.sep
            ):
                logger.warning("output %s lies outside the task's output folder; skipped", path)
                return None
            name = str(value.get("basename") or path.name)
            if str(value.get("class")).lower() == "directory":
                return self._folder(path, name)
            stored = self.store_file(path, name)
            for extra in value.get("secondaryFiles") or []:
                converted = self.convert(extra)
                if isinstance(converted, _StoredFile):
                    stored.secondary.append(converted)
            return stored
        if isinstance(value, list):
            return [self.convert(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.convert(item) for key, item in value.items()}
        return value


def _child_named(session: Session, folder: File, name: str) -> File | None:
    return session.scalar(
        select(File).where(
            File.project_id == folder.project_id, File.parent_id == folder.id, File.name == name
        )
    )


def _free_name(session: Session, folder: File, name: str) -> str:
    """``name``, or ``_1_name``, ``_2_name``... as the platform names repeated outputs."""
    candidate, number = name, 0
    while _child_named(session, folder, candidate) is not None:
        number += 1
        candidate = f"_{number}_{name}"
    return candidate


def _new_entry(
    session: Session, folder: File, name: str, kind: str, origin: dict[str, Any], **values: Any
) -> File:
    moment = now().replace(microsecond=0)
    record = File(
        id=folders.new_file_id(),
        project_id=folder.project_id,
        parent_id=folder.id,
        name=name,
        type=kind,
        size=values.pop("size", 0),
        origin=dict(origin),
        origin_task=origin.get("task"),
        created_on=moment,
        modified_on=moment,
        **values,
    )
    session.add(record)
    session.flush()
    return record


def _folder_path(session: Session, project: Project, location: str | None) -> File:
    """The folder ``/a/b/`` of the project (created when missing); the root for None or "/"."""
    folder = folders.root_folder(session, project.id)
    if folder is None:
        folder = folders.create_root_folder(session, project)
        session.flush()
    for part in [piece for piece in (location or "").split("/") if piece.strip()]:
        existing = _child_named(session, folder, part[:NAME_MAX_LENGTH])
        if existing is not None and existing.is_folder:
            folder = existing
            continue
        name = part[:NAME_MAX_LENGTH] if existing is None else _free_name(session, folder, part)
        folder = _new_entry(session, folder, name, FOLDER_TYPE, {})
    return folder


class _OutputRecorder:
    """Phase two, inside the finishing transaction: file rows for the stored blobs."""

    def __init__(self, session: Session, task_id: str) -> None:
        self.session = session
        self.origin = {"task": task_id}

    def record(self, value: Any, folder: File) -> Any:
        if isinstance(value, _StoredFile):
            record = _new_entry(
                self.session,
                folder,
                _free_name(self.session, folder, value.name),
                FILE_TYPE,
                self.origin,
                size=value.size,
                blob_key=value.key,
            )
            result: dict[str, Any] = {
                "class": "File",
                "path": record.id,
                "name": record.name,
                "size": record.size,
            }
            if value.secondary:
                result["secondaryFiles"] = [self.record(extra, folder) for extra in value.secondary]
            return result
        if isinstance(value, _StoredFolder):
            record = _new_entry(
                self.session,
                folder,
                _free_name(self.session, folder, value.name),
                FOLDER_TYPE,
                self.origin,
            )
            for entry in value.entries:
                self.record(entry, record)
            return {"class": "Directory", "path": record.id, "name": record.name}
        if isinstance(value, list):
            return [self.record(item, folder) for item in value]
        if isinstance(value, dict):
            return {key: self.record(item, folder) for key, item in value.items()}
        return value


def _output_folder_for(
    session: Session, project: Project, location: Mapping[str, Any] | None, output_id: str
) -> File:
    location = location or {}
    nodes = location.get("nodes_location") or {}
    node = nodes.get(output_id) if isinstance(nodes, Mapping) else None
    if isinstance(node, Mapping) and isinstance(node.get("output_location"), str):
        return _folder_path(session, project, node["output_location"])
    main = location.get("main_location")
    return _folder_path(session, project, main if isinstance(main, str) else None)


def finish_task(database: Database, store: BlobStore, task_id: str, result: RunResult) -> str:
    """Import outputs and logs as project files and end the task; returns its final status."""
    with database.read_session() as session:
        task = session.get(Task, task_id)
        if task is None:
            return ABORTED  # deleted with its project while running
        keep_outputs = result.succeeded and not task.abort_requested
    importer = _OutputImporter(store, result.output_dir)
    try:
        planned_outputs = importer.convert(result.outputs) if keep_outputs else {}
        planned_logs = {name: importer.store_file(path, name) for name, path in result.logs.items()}
    except (OSError, StorageError) as exc:
        for key in importer.keys:
            store.delete(key)
        logger.exception("collecting the results of task %s failed", task_id)
        fail_task(database, task_id, f"The task's results could not be stored: {exc}")
        return FAILED
    moment = now()
    try:
        with database.write_session() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise LookupError(task_id)
            project = task.project
            recorder = _OutputRecorder(session, task.id)
            outputs: dict[str, Any] = {}
            if isinstance(planned_outputs, dict):
                for output_id, value in planned_outputs.items():
                    folder = _output_folder_for(session, project, task.output_location, output_id)
                    outputs[output_id] = recorder.record(value, folder)
            logs_folder = _folder_path(session, project, f"{LOGS_FOLDER}/{task.id}")
            log_ids = {
                name: _new_entry(
                    session,
                    logs_folder,
                    stored.name,
                    FILE_TYPE,
                    {},
                    size=stored.size,
                    blob_key=stored.key,
                ).id
                for name, stored in planned_logs.items()
            }
            status = _finish_status(task, result.succeeded)
            _transition(task, status, moment)
            task.outputs = outputs if status == COMPLETED else {}
            task.jobs = [_job_entry(job, log_ids) for job in result.jobs]
            task.steps_completed = result.steps_completed
            task.message = {
                COMPLETED: "Completed.",
                ABORTED: "Aborted.",
            }.get(status, result.message or "The task failed.")
            running_from = task.running_on or task.started_on or moment
            task.computation_cost = billing.computation_price(
                (moment - running_from).total_seconds()
            )
            billing.record_analysis(
                session,
                project=project,
                task_id=task.id,
                task_name=task.name,
                app_name=app_name(session, task),
                ran_by=task.executed_by.username if task.executed_by else task.created_by.username,
                status=status,
                computation_cost=task.computation_cost,
                time_started=task.started_on or moment,
                time_finished=moment,
            )
            if task.parent_id:
                refresh_parent(session, task.parent_id, moment)
            session.commit()
    except BaseException:
        for key in importer.keys:
            store.delete(key)
        raise
    logger.info("task %s ended %s", task_id, status)
    return status


def _job_entry(job: JobRecord, log_ids: Mapping[str, str]) -> dict[str, Any]:
    entry = job.as_dict()
    # One log set per task: every job points at the task's logs.
    entry["logs"] = dict(log_ids)
    return entry

"""Tasks as users handle them: drafts, runs, edits, aborts, clones, batch children, reading.

Statuses and transitions are in ``task_state.py``; what the workers do (claim, progress,
restart recovery) is in ``task_queue.py``; turning results into files is in ``task_outputs.py``.
Which action each status allows (400 with the platform's codes otherwise):

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
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.db.sql import order_key
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.services import access, apps, batch, task_inputs
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.bulk import each_item
from sevenbridges_local.services.context import Actor, Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.names import truncate_utf8
from sevenbridges_local.services.task_state import (
    ABORTABLE,
    ABORTED,
    ABORTING,
    CREATING,
    DRAFT,
    QUEUED,
    RUNNING,
    STATUSES,
    app_document,
    now,
    refresh_parent,
    transition,
)

logger = logging.getLogger(__name__)

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

NAME_MAX_BYTES = 255  # task names are cut to this many bytes of UTF-8 (whole characters)

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


class TaskValues(TypedDict, total=False):
    """Task keys as the client sent them (JSON types and sizes checked by the HTTP layer).

    Creating reads every key (absent = ``None``); PATCH changes only the keys present.
    """

    name: str | None
    description: str | None
    project: str | None
    app: str | None
    inputs: dict[str, Any] | None
    batch: bool
    batch_input: str | None
    batch_by: dict[str, Any] | None
    use_interruptible_instances: bool | None
    execution_settings: dict[str, Any] | None
    output_location: dict[str, Any] | None


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


def _membership(session: Session, project_id: int, user_id: int) -> Access | None:
    return access.project_access(session, project_id, user_id)


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


def _project_for(ctx: ServiceContext, raw: str | None) -> Project:
    """The project named ``owner/slug`` where the caller may run tasks."""
    if raw is None or not raw.strip():
        raise errors.bad_request("The task's 'project' must be given.", PROJECT_ID_EMPTY)
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


def _resolve_app(ctx: ServiceContext, raw: str | None) -> apps.AppView:
    if raw is None or not raw.strip():
        raise errors.bad_request("The task's 'app' must be given.", APP_ID_EMPTY)
    try:
        ref = apps.parse_app_id(raw)
    except errors.ApiError as exc:
        raise errors.bad_request(exc.message, APP_ID_INVALID)
    return apps.get_app(ctx, ref)


def _use_app(task: Task, view: apps.AppView) -> None:
    task.app_pk = view.app.id
    task.app_revision = view.revision.revision
    task.app_ref = view.revision_id


def _check_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise errors.bad_request("The task name must not be empty.")
    return truncate_utf8(name, NAME_MAX_BYTES)


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


def validate(
    session: Session,
    task: Task,
    raw_inputs: Mapping[str, Any] | None = None,
    *,
    user_id: int | None = None,
) -> None:
    """Recompute ``inputs`` (stored form), ``errors`` and ``warnings`` for the task's app, as
    ``user_id`` (by default whoever ran or created the task) sees its files."""
    document = app_document(session, task)
    raw = dict(task.inputs if raw_inputs is None else raw_inputs)
    if document is None:
        task.inputs = raw
        task.errors = [{"code": VALIDATION_FAILED, "message": "The task's app no longer exists."}]
        task.warnings = []
        return
    specs = task_inputs.app_inputs(apps.process_of(document))
    if user_id is None:
        user_id = task.executed_by_id or task.created_by_id
    batch_input = task.batch_input if task.batch and task.batch_by else None
    checked = task_inputs.check_inputs(
        session, user_id, specs, raw, project_id=task.project_id, batch_input=batch_input
    )
    task.inputs = checked.inputs
    task.errors = _batch_problems(task, specs) + checked.errors
    task.warnings = checked.warnings
    task.steps_total = max(len(task_inputs.step_names(apps.process_of(document))), 1)


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
    ctx: ServiceContext, values: TaskValues, *, run: bool, disable_batch: bool
) -> Outcome:
    """``POST /tasks``: a draft, started at once when ``run`` and its inputs are valid."""
    project = _project_for(ctx, values.get("project"))
    view = _resolve_app(ctx, values.get("app"))
    raw_name = values.get("name")
    name = _check_name(raw_name) if raw_name is not None else view.name
    inputs = values.get("inputs") or {}
    batch_input, batch_by = batch.check_batch(values.get("batch_input"), values.get("batch_by"))
    task = _new_task(
        project_id=project.id,
        name=name,
        description=values.get("description"),
        app_ref=view.revision_id,
        created_by_id=ctx.actor.user_id,
        batch=bool(batch_input) and not disable_batch,
        batch_input=batch_input,
        batch_by=batch_by,
        inputs={},
        execution_settings=values.get("execution_settings"),
        output_location=values.get("output_location"),
        use_interruptible_instances=values.get("use_interruptible_instances"),
    )
    _use_app(task, view)
    task.project = project
    validate(ctx.session, task, inputs, user_id=ctx.actor.user_id)
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
    spec = task_inputs.app_inputs(apps.process_of(document)).get(parent.batch_input)
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
            name=truncate_utf8(f"{parent.name} - {group.value}", NAME_MAX_BYTES),
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
        transition(child, QUEUED, moment)
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
        transition(task, QUEUED, moment)
        task.message = f"0 of {len(children)} batch tasks finished."
        return len(children)
    transition(task, QUEUED, moment)
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
    # Files and memberships may have changed since the draft was made: check again, for the
    # user who runs it, before starting.
    validate(ctx.session, task, user_id=ctx.actor.user_id)
    queued = _start(ctx, task)
    ctx.session.commit()
    return Outcome(task=task, queued=queued)


def _merge_inputs(current: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(current)
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)  # null removes an input
        else:
            merged[key] = value
    return merged


def _plain_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stored inputs without the details the platform adds (names, sizes), for comparison."""

    def plain(value: Any) -> Any:
        if task_inputs.is_file_object(value):
            return {key: plain(item) for key, item in value.items() if key not in ("name", "size")}
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


def update_task(ctx: ServiceContext, raw_id: Any, values: TaskValues) -> Task:
    """``PATCH /tasks/{id}``: everything in DRAFT, afterwards only name and description."""
    task = _load(ctx, raw_id, "execute", "change its tasks")
    changes: dict[str, Any] = {key: values[key] for key in EDITABLE_KEYS if key in values}
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
        task.description = changes["description"]
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
        task.batch = changes["batch"] and bool(task.batch_input)
        revalidate = True
    if "use_interruptible_instances" in changes:
        task.use_interruptible_instances = changes["use_interruptible_instances"]
    if "execution_settings" in changes:
        task.execution_settings = changes["execution_settings"]
    if "output_location" in changes:
        task.output_location = changes["output_location"]
    if revalidate:
        validate(ctx.session, task, raw_inputs, user_id=ctx.actor.user_id)
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
            transition(target, ABORTED, moment)
            target.message = "Aborted before it started."
        elif target.status in (CREATING, RUNNING):
            target.abort_requested = True
            transition(target, ABORTING, moment)
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
    validate(ctx.session, copy_of, _plain_inputs(source.inputs), user_id=ctx.actor.user_id)
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
    return access.project_ids(actor.user_id, "read")


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
    keys = [order_key(key, descending=direction == "desc") for key in keys]
    return paginate(ctx.session, statement.order_by(*keys), page)


def bulk_get(ctx: ServiceContext, raw_ids: Sequence[Any]) -> list[Task | errors.ApiError]:
    """One task or error per id, in request order (the HTTP layer bounds the count)."""
    return each_item(ctx, raw_ids, lambda raw_id: _load(ctx, raw_id), rollback=False)


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

"""Tasks: ``/tasks``, ``/tasks/{id}``, its actions and execution details, ``/bulk/tasks/get``.

Shapes follow rest-api.md §3.11. Notes on the local values:

* ``execution_status`` durations are milliseconds: ``queued_duration`` from queueing to a worker
  taking the task, ``running_duration`` while the tools ran, ``execution_duration`` from the
  worker taking it to the end, ``duration`` from queueing to the end (or to now).
* ``price``: run time at the rate of ``services.billing.COMPUTE_USD_PER_HOUR``; breakdown values
  are strings, as on the platform.
* execution details: one job per tool run (workflow step); ``logs`` point at the task's log
  files (``cwltool.log``, ``job.err.log``, ``job.out.log``), stored in the project under
  ``.task-logs/<task id>/``, as ``.../files/<id>/download_info`` URLs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, cast

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, StrictBool, StrictStr
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import Description, ItemId
from sevenbridges_local.api.boundary import (
    BoundaryRoute,
    PlatformCode,
    RequestBody,
    at_most,
    omittable,
    required_by_the_service,
)
from sevenbridges_local.api.deps import (
    Fields,
    Paging,
    QueryBool,
    ReadContext,
    WriteContext,
)
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.clock import format_timestamp, naive_utc
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.limits import (
    MAX_BATCH_CRITERIA,
    MAX_BULK_ITEMS,
    MAX_OUTPUT_LOCATIONS,
    MAX_SETTINGS_KEYS,
    MAX_TASK_INPUTS,
)
from sevenbridges_local.services import batch, task_state, tasks
from sevenbridges_local.services.tasks import Outcome

router = APIRouter(tags=["tasks"], route_class=BoundaryRoute)

ACTION_INVALID = 7013
ACTION_EMPTY = 7014
RUN_ACTION = "run"
MILLISECONDS = 1000
_BATCH_COUNTERS = (
    ("queued", (task_state.QUEUED,)),
    ("running", (task_state.CREATING, task_state.RUNNING, task_state.ABORTING)),
    ("completed", (task_state.COMPLETED,)),
    ("failed", (task_state.FAILED,)),
    ("aborted", (task_state.ABORTED,)),
)


# The service refuses any other id with 400/7005; documented, not validated here, to keep that code.
TaskId = Annotated[
    str, Path(description="The task's id (a UUID)", json_schema_extra={"format": "uuid"})
]


# ---------------------------------------------------------------------------------------------
# Request bodies

Settings = Annotated[dict[str, Any], at_most(MAX_SETTINGS_KEYS)]
Inputs = Annotated[dict[str, Any], at_most(MAX_TASK_INPUTS)]


class BatchBy(RequestBody):
    """``{"type": "item"}`` or ``{"type": "criteria", "criteria": ["metadata.<key>", ...]}``."""

    model_config = ConfigDict(extra="allow")
    platform_code: ClassVar[int | None] = batch.BATCH_TYPE_INVALID

    type: StrictStr | None = None
    criteria: Annotated[
        list[StrictStr] | None,
        PlatformCode(batch.BATCH_CRITERIA_MISSING),
        at_most(MAX_BATCH_CRITERIA),
    ] = None


class NodeLocation(RequestBody):
    model_config = ConfigDict(extra="allow")

    output_location: StrictStr


class OutputLocation(RequestBody):
    """Where outputs go: ``main_location`` and, per output, ``nodes_location``."""

    model_config = ConfigDict(extra="allow")

    main_location: StrictStr | None = None
    nodes_location: Annotated[
        dict[str, NodeLocation] | None,
        at_most(MAX_OUTPUT_LOCATIONS),
    ] = None


class TaskBody(RequestBody):
    """``POST /tasks``; the name defaults to the app's, inputs are checked against the app."""

    name: StrictStr | None = None
    description: Description | None = None
    project: StrictStr | None = None
    app: Annotated[StrictStr | None, PlatformCode(tasks.APP_ID_INVALID)] = None
    inputs: Inputs | None = None
    batch_input: Annotated[StrictStr | None, PlatformCode(batch.BATCH_INPUT_EMPTY)] = None
    batch_by: BatchBy | None = None
    use_interruptible_instances: StrictBool | None = None
    execution_settings: Settings | None = None
    output_location: OutputLocation | None = None

    def values(self) -> tasks.TaskValues:
        return cast(tasks.TaskValues, self.given(*tasks.EDITABLE_KEYS))


class NewTaskBody(TaskBody):
    """``POST /tasks``: ``project`` and ``app`` are required (400/7xxx codes of the service)."""

    model_config = required_by_the_service("project", "app")


class TaskChangesBody(TaskBody):
    """``PATCH /tasks/{id}``: only the keys present change; ``name`` and ``batch`` not null."""

    name: StrictStr = omittable()
    batch: StrictBool = omittable()


class TaskIdsBody(RequestBody):
    task_ids: Annotated[list[ItemId], at_most(MAX_BULK_ITEMS)]


# ---------------------------------------------------------------------------------------------
# Shapes


def _stamp(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def _milliseconds(start: datetime | None, end: datetime | None, current: datetime) -> int:
    if start is None:
        return 0
    return max(int(((end or current) - start).total_seconds() * MILLISECONDS), 0)


def _default_message(task: Task) -> str:
    return {
        task_state.DRAFT: "Draft: not started.",
        task_state.QUEUED: "Queued.",
        task_state.CREATING: "Preparing the inputs.",
        task_state.RUNNING: "Running.",
        task_state.COMPLETED: "Completed.",
        task_state.ABORTING: "Aborting.",
        task_state.ABORTED: "Aborted.",
        task_state.FAILED: "The task failed.",
    }[task.status]


def execution_status_json(task: Task, counts: dict[str, int] | None) -> dict[str, Any]:
    current = task_state.now()
    end = task.ended_on
    status: dict[str, Any] = {
        "steps_completed": task.steps_completed,
        "steps_total": task.steps_total,
        "message": task.message or _default_message(task),
        "system_limit": False,
        "account_limit": False,
        "instance_init": False,
        "queued_duration": _milliseconds(task.queued_on, task.started_on or end, current),
        "running_duration": _milliseconds(task.running_on, end, current),
        "execution_duration": _milliseconds(task.started_on, end, current),
        "duration": _milliseconds(task.queued_on, end, current),
    }
    if counts is not None:
        for key, statuses in _BATCH_COUNTERS:
            status[key] = sum(counts.get(name, 0) for name in statuses)
    return status


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def price_json(task: Task) -> dict[str, Any]:
    total = round(task.computation_cost + task.storage_cost, 2)
    return {
        "currency": "USD",
        "amount": total,
        "breakdown": {
            "storage": _money(task.storage_cost),
            "computation": _money(task.computation_cost),
        },
    }


class TaskRenderer:
    """Shapes tasks; looks up usernames and batch counters for a whole page at once."""

    def __init__(self, root: str, session: Session, items: list[Task]) -> None:
        self.root = root
        self.names = tasks.usernames(
            session,
            [task.created_by_id for task in items] + [task.executed_by_id for task in items],
        )
        parents = [task.id for task in items if task.batch and task.status != task_state.DRAFT]
        self.counts = tasks.batch_counts(session, parents)

    def task_json(self, task: Task) -> dict[str, Any]:
        body: dict[str, Any] = {
            "href": f"{self.root}/tasks/{task.id}",
            "id": task.id,
            "name": task.name,
            "description": task.description,
            "status": task.status,
            "project": tasks.project_id_of(task.project),
            "app": task.app_ref,
            "type": "v2",
            "created_by": self.names.get(task.created_by_id, ""),
            "created_time": _stamp(task.created_on),
            "batch": task.batch,
            "inputs": task.inputs or {},
            "outputs": task.outputs or {},
            "execution_status": execution_status_json(task, self.counts.get(task.id)),
            "errors": task.errors or [],
            "warnings": task.warnings or [],
            "price": price_json(task),
        }
        optional = {
            "executed_by": self.names.get(task.executed_by_id) if task.executed_by_id else None,
            "start_time": _stamp(task.started_on),
            "end_time": _stamp(task.ended_on),
            "batch_input": task.batch_input,
            "batch_by": task.batch_by,
            "batch_group": task.batch_group,
            "parent": task.parent_id,
            "execution_settings": task.execution_settings,
            "output_location": task.output_location,
            "use_interruptible_instances": task.use_interruptible_instances,
            "origin_id": task.origin_id,
        }
        # Absent rather than null: the client rejects null UUIDs and nested objects.
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def _job_json(self, job: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": job.get("name"),
            "status": job.get("status"),
            "retried": False,
            "instance": {"id": "local", "type": "local", "provider": "LOCAL"},
        }
        for key in ("start_time", "end_time"):
            if job.get(key):
                body[key] = format_timestamp(datetime.fromisoformat(job[key]))
        if job.get("command_line"):
            body["command_line"] = job["command_line"]
        logs = job.get("logs") or {}
        if logs:
            body["logs"] = {
                name: f"{self.root}/files/{file_id}/download_info" for name, file_id in logs.items()
            }
        return body

    def execution_details_json(self, task: Task) -> dict[str, Any]:
        body: dict[str, Any] = {
            "href": f"{self.root}/tasks/{task.id}/execution_details",
            "status": task.status,
            "message": task.message or _default_message(task),
            "jobs": [self._job_json(job) for job in task.jobs or []],
        }
        if task.started_on is not None:
            body["start_time"] = _stamp(task.started_on)
        if task.ended_on is not None:
            body["end_time"] = _stamp(task.ended_on)
        return body


def _one(request: Request, ctx: Any, task: Task) -> dict[str, Any]:
    return TaskRenderer(api_root(request), ctx.session, [task]).task_json(task)


# ---------------------------------------------------------------------------------------------
# Query parsing


def _parse_moment(name: str, raw: str | None) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SS`` (what the client sends), also with a fraction, ``Z`` or date only."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1]
    try:
        return naive_utc(datetime.fromisoformat(text))
    except ValueError:  # not a date, or one whose UTC time no datetime holds
        raise errors.bad_request(
            f"Invalid value for query parameter '{name}': expected YYYY-MM-DDTHH:MM:SS."
        )


def _action(raw: str | None) -> bool:
    """Whether ``action`` asks to run; any other action is 400/7013."""
    if raw is None:
        return False
    if not raw.strip():
        raise errors.bad_request("The action must not be empty.", ACTION_EMPTY)
    if raw.strip().lower() != RUN_ACTION:
        raise errors.bad_request(
            f"Invalid action {raw!r}: only 'run' is supported.", ACTION_INVALID
        )
    return True


def _notify(request: Request, outcome: Outcome) -> None:
    pool = getattr(request.app.state, "task_pool", None)
    if pool is None:
        return
    if outcome.queued:
        pool.notify(outcome.queued)
    if outcome.to_abort:
        pool.abort(outcome.to_abort)


OptionalBool = Annotated[QueryBool | None, Query()]


# ---------------------------------------------------------------------------------------------
# Routes


@router.get("/tasks", summary="Tasks of my projects, filtered")
def list_tasks(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    project: str | None = None,
    status: str | None = None,
    batch: OptionalBool = None,
    parent: str | None = None,
    created_from: str | None = None,
    created_to: str | None = None,
    started_from: str | None = None,
    started_to: str | None = None,
    ended_from: str | None = None,
    ended_to: str | None = None,
    order_by: str | None = None,
    order: str | None = None,
    origin_id: str | None = None,
) -> JSONResponse:
    filters = tasks.TaskFilters(
        project=project,
        status=status,
        batch=batch,
        parent=parent,
        created_from=_parse_moment("created_from", created_from),
        created_to=_parse_moment("created_to", created_to),
        started_from=_parse_moment("started_from", started_from),
        started_to=_parse_moment("started_to", started_to),
        ended_from=_parse_moment("ended_from", ended_from),
        ended_to=_parse_moment("ended_to", ended_to),
        origin_id=origin_id,
        order_by=order_by,
        order=order,
    )
    found = tasks.list_tasks(ctx, filters, page)
    renderer = TaskRenderer(api_root(request), ctx.session, list(found.items))
    return list_response(request, found, renderer.task_json, fields)


@router.post("/tasks", summary="Create a task (and run it with action=run)")
def create_task(
    request: Request,
    ctx: WriteContext,
    body: NewTaskBody | None = None,
    action: str | None = None,
    batch: OptionalBool = None,
) -> JSONResponse:
    values = body.values() if body is not None else {}
    outcome = tasks.create_task(ctx, values, run=_action(action), disable_batch=batch is False)
    _notify(request, outcome)
    return resource_response(_one(request, ctx, outcome.task), status_code=201)


@router.post("/bulk/tasks/get", summary="Several tasks by id")
def bulk_get(request: Request, ctx: ReadContext, body: TaskIdsBody) -> JSONResponse:
    results = tasks.bulk_get(ctx, body.task_ids)
    found = [item for item in results if isinstance(item, Task)]
    renderer = TaskRenderer(api_root(request), ctx.session, found)
    items = [
        {"error": item.body()}
        if isinstance(item, errors.ApiError)
        else {"resource": renderer.task_json(item)}
        for item in results
    ]
    return JSONResponse({"items": items})


@router.get("/tasks/{task_id}", summary="One task")
def get_task(request: Request, task_id: TaskId, ctx: ReadContext, fields: Fields) -> JSONResponse:
    task = tasks.get_task(ctx, task_id)
    return resource_response(_one(request, ctx, task), fields)


@router.patch("/tasks/{task_id}", summary="Change a task (a draft fully, later name/description)")
def update_task(
    request: Request, task_id: TaskId, ctx: WriteContext, body: TaskChangesBody | None = None
) -> JSONResponse:
    task = tasks.update_task(ctx, task_id, body.values() if body is not None else {})
    return resource_response(_one(request, ctx, task))


@router.delete("/tasks/{task_id}", summary="Delete a draft task", status_code=204)
def delete_task(task_id: TaskId, ctx: WriteContext) -> Response:
    tasks.delete_task(ctx, task_id)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/actions/run", summary="Run a draft task")
def run_task(
    request: Request,
    task_id: TaskId,
    ctx: WriteContext,
    batch: OptionalBool = None,
    use_interruptible_instances: OptionalBool = None,
) -> JSONResponse:
    outcome = tasks.run_task(
        ctx,
        task_id,
        disable_batch=batch is False,
        interruptible=use_interruptible_instances,
    )
    _notify(request, outcome)
    return resource_response(_one(request, ctx, outcome.task))


@router.post("/tasks/{task_id}/actions/abort", summary="Abort a queued or running task")
def abort_task(request: Request, task_id: TaskId, ctx: WriteContext) -> JSONResponse:
    outcome = tasks.abort_task(ctx, task_id)
    _notify(request, outcome)
    return resource_response(_one(request, ctx, outcome.task))


@router.post("/tasks/{task_id}/actions/clone", summary="Copy a task as a new draft (or run it)")
def clone_task(
    request: Request, task_id: TaskId, ctx: WriteContext, action: str | None = None
) -> JSONResponse:
    outcome = tasks.clone_task(ctx, task_id, run=_action(action))
    _notify(request, outcome)
    return resource_response(_one(request, ctx, outcome.task))


# Only there to answer 400/7013 (not 404) for an action that does not exist: not an operation.
@router.post(
    "/tasks/{task_id}/actions/{action}", summary="Unknown task actions", include_in_schema=False
)
def unknown_action(task_id: TaskId, action: str) -> JSONResponse:
    tasks.parse_task_id(task_id)
    raise errors.bad_request(f"Invalid action {action!r}: use run, abort or clone.", ACTION_INVALID)


@router.get("/tasks/{task_id}/execution_details", summary="Jobs, times and logs of a task")
def execution_details(request: Request, task_id: TaskId, ctx: ReadContext) -> JSONResponse:
    task = tasks.get_task(ctx, task_id)
    renderer = TaskRenderer(api_root(request), ctx.session, [task])
    return JSONResponse(renderer.execution_details_json(task))

"""Tasks: runs of an app on inputs, from draft to a final state, single or batched."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import SbgError, TaskValidationError
from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    DictField,
    HrefField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.bulk import TaskBulkRecord
from sevenbridges.models.compound.price import Price
from sevenbridges.models.compound.tasks.batch_by import BatchBy
from sevenbridges.models.compound.tasks.batch_group import BatchGroup
from sevenbridges.models.compound.tasks.execution_status import ExecutionStatus
from sevenbridges.models.compound.tasks.input import Input
from sevenbridges.models.compound.tasks.output import Output
from sevenbridges.models.enums import FileApiFormats, TaskStatus
from sevenbridges.models.execution_details import ExecutionDetails
from sevenbridges.models.file import File

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)

__all__ = ["Task", "TaskBulkRecord"]

# Keys whose whole value is sent by save() as soon as any part of it changed: the platform
# treats them as units (a partial batch_by or a half-serialized input map makes no sense).
_WHOLE_VALUE_KEYS = ("inputs", "batch_by")


def _app_with_revision(app: Any, revision: int | None) -> str:
    """The app id to send: an explicit ``revision`` wins, else an App object's own revision."""
    app_id = Transform.to_app(app)
    if revision is None and not isinstance(app, str):
        revision = getattr(app, "revision", None)
    if revision is not None:
        return f"{app_id}/{revision}"
    return app_id


def _plain(value: Any) -> Any:
    """A JSON-ready copy of dict-like compounds (BatchBy, Input ...) and plain containers."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in dict(value.items()).items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _validation_message(task: Task) -> str:
    errors = task.field("errors") or []
    texts = []
    for error in errors:
        if isinstance(error, Mapping):
            texts.append(str(error.get("message") or error))
        else:
            texts.append(str(error))
    detail = "; ".join(texts) or "no details given"
    return f"Task {task.field('id')} did not pass validation and stays a draft: {detail}"


class Task(Resource):
    """A task: an app run on inputs, in a project.

    ::

        task = api.tasks.create(name="count", project=project, app=app_id,
                                inputs={"input_file": file}, run=True)
        task.wait(period=2)
        print(task.status, task.outputs["line_count"])
    """

    _URL = {
        "query": "/tasks",
        "create": "/tasks",
        "get": "/tasks/{id}",
        "save": "/tasks/{id}",
        "delete": "/tasks/{id}",
        "run": "/tasks/{id}/actions/run",
        "abort": "/tasks/{id}/actions/abort",
        "clone": "/tasks/{id}/actions/clone",
        "execution_details": "/tasks/{id}/execution_details",
        "bulk_get": "/bulk/tasks/get",
    }

    href = HrefField(read_only=True)
    id = UuidField(read_only=True)
    name = StringField(read_only=False)
    status = StringField(read_only=True)
    description = StringField(read_only=False)
    project = StringField(read_only=False)
    app = StringField(read_only=False)
    type = StringField(read_only=True)
    created_by = StringField(read_only=True)
    executed_by = StringField(read_only=True)
    start_time = DateTimeField(read_only=True)
    created_time = DateTimeField(read_only=True)
    end_time = DateTimeField(read_only=True)
    batch = BooleanField(read_only=False)
    batch_by = CompoundField(BatchBy, read_only=False)
    batch_group = CompoundField(BatchGroup, read_only=True)
    batch_input = StringField(read_only=False)
    parent = StringField(read_only=True)
    execution_status = CompoundField(ExecutionStatus, read_only=True)
    errors = DictField(read_only=True)
    warnings = DictField(read_only=True)
    price = CompoundField(Price, read_only=True)
    inputs = CompoundField(Input, read_only=False)
    outputs = CompoundField(Output, read_only=True)
    execution_settings = DictField(read_only=True)
    output_location = DictField(read_only=True)
    use_interruptible_instances = BooleanField(read_only=False)
    origin = StringField(read_only=True, name="origin_id")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<Task: id={self.field('id')}>"

    __repr__ = __str__

    # ----------------------------------------------------------------- input encoding

    @staticmethod
    def _serialize_inputs(value: Any) -> Any:
        """Encode input values for the wire: File objects become CWL file objects
        (``{"class": "File"|"Directory", "path": id}``), through any nesting of lists and dicts."""
        if isinstance(value, File):
            kind = FileApiFormats.FOLDER if value.is_folder() else FileApiFormats.FILE
            return {"class": kind, "path": value.id}
        if isinstance(value, Mapping):
            return {key: Task._serialize_inputs(item) for key, item in dict(value.items()).items()}
        if isinstance(value, (list, tuple)):
            return [Task._serialize_inputs(item) for item in value]
        return value

    # ----------------------------------------------------------------- listing

    @classmethod
    def query(
        cls,
        project: Any = None,
        status: str | None = None,
        batch: bool | None = None,
        parent: Any = None,
        created_from: Any = None,
        created_to: Any = None,
        started_from: Any = None,
        started_to: Any = None,
        ended_from: Any = None,
        ended_to: Any = None,
        offset: int | None = None,
        limit: int | None = None,
        order_by: str | None = None,
        order: str | None = None,
        origin: Any = None,
        api: Api | None = None,
    ) -> Collection:
        """Tasks visible to the caller, filtered.

        Dates may be datetimes (sent as ``YYYY-MM-DDTHH:MM:SS``) or strings (sent as given);
        ``origin`` is an automation run (or its id) that started the tasks.
        """
        api = cls._resolve_api(api)
        params: dict[str, Any] = {
            "project": Transform.to_project(project) if project else None,
            "status": status,
            "batch": batch,
            "parent": Transform.to_task(parent) if parent else None,
            "created_from": Transform.to_datestring(created_from),
            "created_to": Transform.to_datestring(created_to),
            "started_from": Transform.to_datestring(started_from),
            "started_to": Transform.to_datestring(started_to),
            "ended_from": Transform.to_datestring(ended_from),
            "ended_to": Transform.to_datestring(ended_to),
            "order_by": order_by,
            "order": order,
            "origin_id": Transform.to_automation_run(origin) if origin else None,
            "offset": offset,
            "limit": limit,
            "fields": "_all",
        }
        logger.debug("Querying tasks (project=%r, status=%r)", params["project"], status)
        return cls._query(url=cls._URL["query"], api=api, **params)

    # ----------------------------------------------------------------- creation

    @classmethod
    def create(
        cls,
        name: str,
        project: Any,
        app: Any,
        revision: int | None = None,
        batch_input: str | None = None,
        batch_by: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        description: str | None = None,
        run: bool = False,
        disable_batch: bool = False,
        interruptible: bool | None = None,
        execution_settings: Mapping[str, Any] | None = None,
        output_location: Mapping[str, Any] | None = None,
        api: Api | None = None,
    ) -> Task:
        """Create a task, as a draft or (``run=True``) started right away.

        ``app`` is an app id or an App (whose revision is used unless ``revision`` is given).
        Input values may be File objects, ids wrapped as CWL file objects, lists, or plain
        values. A batch needs both ``batch_input`` (the input to split) and ``batch_by``
        (``{"type": "item"}`` or ``{"type": "criteria", "criteria": [...]}``).

        With ``run=True``, a task whose inputs do not validate is kept as a draft and
        :class:`TaskValidationError` is raised; its ``task`` attribute holds the draft.
        """
        api = cls._resolve_api(api)
        data: dict[str, Any] = {
            "name": name,
            "project": Transform.to_project(project),
            "app": _app_with_revision(app, revision),
            "description": description,
            "inputs": cls._serialize_inputs(dict(inputs or {})),
        }
        params: dict[str, Any] = {}
        if batch_input and batch_by:
            data["batch_input"] = batch_input
            data["batch_by"] = _plain(batch_by)
            if disable_batch:
                params["batch"] = False
        if interruptible is not None:
            data["use_interruptible_instances"] = interruptible
        if execution_settings:
            data["execution_settings"] = dict(execution_settings)
        if output_location:
            data["output_location"] = _plain(output_location)
        if run:
            params["action"] = "run"
        logger.debug("Creating task %r in %s with app %s", name, data["project"], data["app"])
        response = api.post(url=cls._URL["create"], params=params or None, data=data)
        task = cls(api=api, **response.json())
        task._data.fetched = True
        if run and task.field("errors"):
            raise TaskValidationError(_validation_message(task), task=task)
        return task

    # ----------------------------------------------------------------- actions

    def _fresh(self, response: Any) -> Task:
        task = Task(api=self._api, **response.json())
        task._data.fetched = True
        return task

    @inplace_reload
    def run(
        self, batch: bool = True, interruptible: bool | None = None, inplace: bool = True
    ) -> Task:
        """Start this draft. ``batch=False`` runs a batch task as a single task."""
        params: dict[str, Any] = {}
        if not batch:
            params["batch"] = False
        if interruptible is not None:
            params["use_interruptible_instances"] = interruptible
        logger.debug("Running task %s", self.id)
        response = self._api.post(url=self._URL["run"].format(id=self.id), params=params or None)
        return self._fresh(response)

    @inplace_reload
    def abort(self, inplace: bool = True) -> Task:
        """Stop this task (it must be queued or running)."""
        logger.debug("Aborting task %s", self.id)
        response = self._api.post(url=self._URL["abort"].format(id=self.id))
        return self._fresh(response)

    def clone(self, run: bool = True) -> Task:
        """A new task with this one's app and inputs; started unless ``run=False``."""
        params = {"action": "run"} if run else None
        logger.debug("Cloning task %s (run=%s)", self.id, run)
        response = self._api.post(url=self._URL["clone"].format(id=self.id), params=params)
        return self._fresh(response)

    @inplace_reload
    def save(self, inplace: bool = True) -> Task | None:
        """Send changed fields (PATCH). Inputs and ``batch_by`` go whole once any part changed.

        Returns quietly when nothing changed. The platform refuses most changes once the task
        has left the draft state (only the name and description may change then).
        """
        changes = self._modified_data()
        if not changes:
            logger.debug("Task %s has no changes to save", self.field("id"))
            return None
        for key in _WHOLE_VALUE_KEYS:
            if key in changes:
                changes[key] = self.field(key)
        if "inputs" in changes:
            changes["inputs"] = self._serialize_inputs(changes["inputs"] or {})
        if "batch_by" in changes:
            changes["batch_by"] = _plain(changes["batch_by"])
        logger.debug("Saving task %s: %s", self.id, sorted(changes))
        response = self._api.patch(url=self._URL["save"].format(id=self.id), data=changes)
        return self._fresh(response)

    def refresh(self) -> Task:
        """Alias of :meth:`reload` (the name older documentation uses)."""
        self.reload()
        return self

    def wait(
        self, period: float = 10, callback: Callable[..., Any] | None = None, *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Block until the task is COMPLETED, FAILED or ABORTED, checking every ``period`` s.

        Returns ``callback(*args, **kwargs)`` when a callback is given, else this task.
        """
        while True:
            self.reload()
            if self.field("status") in TaskStatus.terminal_states:
                break
            time.sleep(period)
        if callback is not None:
            return callback(*args, **kwargs)
        return self

    # ----------------------------------------------------------------- details and batches

    def get_execution_details(self) -> ExecutionDetails:
        """Jobs of this task with their status, times and logs."""
        response = self._api.get(url=self._URL["execution_details"].format(id=self.id))
        details = ExecutionDetails(api=self._api, **response.json())
        details._data.fetched = True
        return details

    def get_batch_children(
        self,
        status: str | None = None,
        created_from: Any = None,
        created_to: Any = None,
        started_from: Any = None,
        started_to: Any = None,
        ended_from: Any = None,
        ended_to: Any = None,
        order_by: str | None = None,
        order: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """The child tasks of this batch task (SbgError when it is not a batch task)."""
        if not self.batch:
            raise SbgError(f"Task {self.id} has no batch children: it is not a batch task.")
        return self.query(
            parent=self.id,
            status=status,
            created_from=created_from,
            created_to=created_to,
            started_from=started_from,
            started_to=started_to,
            ended_from=ended_from,
            ended_to=ended_to,
            order_by=order_by,
            order=order,
            offset=offset,
            limit=limit,
            api=api or self._api,
        )

    @classmethod
    def bulk_get(cls, tasks: Sequence[Any], api: Api | None = None) -> list[TaskBulkRecord]:
        """Fetch several tasks (objects or ids) in one call; one record per task, in order."""
        if not tasks:
            raise SbgError("Tasks are required.")
        api = cls._resolve_api(api)
        data = {"task_ids": [Transform.to_task(task) for task in tasks]}
        response = api.post(url=cls._URL["bulk_get"], data=data)
        return TaskBulkRecord.parse_records(response=response, api=api)  # type: ignore[return-value]

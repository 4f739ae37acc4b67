"""The worker side of tasks: claim the next queued task, describe it for the executor, follow
its progress, end it when it cannot run, and recover what a platform restart interrupted.

The queue is the ``tasks`` table itself (status QUEUED, oldest first). After a restart a task left
CREATING or RUNNING is queued again from scratch (once; a second interruption fails it with
:data:`INTERRUPTED_MESSAGE`); ABORTING ends ABORTED.
"""

from __future__ import annotations

import copy
import logging
import uuid

from sqlalchemy import or_, select

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.execution.base import ExecutionError, Progress, TaskSpec
from sevenbridges_local.services import (
    apps,
    cwl,
    cwl_schemas,
    draft2_tasks,
    task_inputs,
    volume_reads,
)
from sevenbridges_local.services.task_state import (
    ABORTED,
    ABORTING,
    COMPLETED,
    CREATING,
    FAILED,
    QUEUED,
    RUNNING,
    TERMINAL,
    app_document,
    now,
    refresh_parent,
    transition,
)
from sevenbridges_local.services.volumes import VolumeRuntime

logger = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "The task was interrupted by a platform restart."
RESTARTED_WARNING = "The task was restarted from the beginning after a platform restart."
# The same when the server process running it died while the others went on (--workers N).
PROCESS_LOST_MESSAGE = "The task was interrupted: the server process running it stopped."
PROCESS_LOST_WARNING = (
    "The task was restarted from the beginning: the server process running it stopped."
)
# A task interrupted by restarts this many times is failed instead of started again.
MAX_RUN_ATTEMPTS = 2


def new_reference() -> str:
    """A short id tying a user-visible failure to the server log entry that has its detail."""
    return uuid.uuid4().hex[:12]


def internal_failure(reference: str, what: str = "The task failed") -> str:
    """The message of a task that failed for a reason inside the platform (a database or storage
    error...): plain words and a reference; the exception itself only goes to the server log,
    since its text may hold SQL, paths or a database's own wording."""
    return (
        f"{what} because of an internal error of the platform "
        f"(reference {reference}; the server log has the details)."
    )


def claim_next(database: Database, worker: str) -> str | None:
    """The oldest QUEUED task, now CREATING and claimed by ``worker``; None when idle."""
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
        # Stamped once the write lock is held: a moment taken before waiting for it could be
        # older than the transitions of the writer it waited for.
        moment = now()
        transition(task, CREATING, moment)
        task.claimed_by = worker
        task.run_attempts += 1
        task.message = "Preparing the inputs."
        task.jobs = []
        task.steps_completed = 0
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
        return task_id


def build_spec(
    database: Database,
    task_id: str,
    container_engine: str | None,
    *,
    volumes: VolumeRuntime | None = None,
) -> TaskSpec:
    """What the executor needs for the task; :class:`ExecutionError` when it cannot run."""
    with database.read_session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ExecutionError("The task no longer exists.")
        document = app_document(session, task)
        if document is None:
            raise ExecutionError(f"The app '{task.app_ref}' no longer exists.")
        # Apps installed before references outside the document were refused are still stored;
        # they must not run (cwltool would read or fetch what they name).
        problem = apps.outside_reference_problem(document)
        if problem is not None:
            raise ExecutionError(f"The app '{task.app_ref}' cannot run. {problem}")
        try:
            schemas = cwl_schemas.resolve(document.get("$schemas"))
        except cwl_schemas.SchemasError as exc:  # the folder changed since the app was checked
            raise ExecutionError(f"The app '{task.app_ref}' cannot run. {exc.message}")
        document = copy.deepcopy(cwl.runnable(document))
        # The stored id would become the document's base URI; the file name serves instead.
        document.pop("id", None)
        process = apps.process_of(document)  # the '#main' entry of a packed $graph
        specs = task_inputs.app_inputs(process)
        try:
            # Checked again here, for the user who ran it: files and memberships may have
            # changed while the task waited in the queue.
            files = task_inputs.resolve_files(
                session,
                specs,
                task.inputs,
                project_id=task.project_id,
                user_id=task.executed_by_id,
            )
        except task_inputs.InputNotUsable as exc:
            raise ExecutionError(f"The task cannot start: {exc}")
        try:
            volume_reads.attach_fetchers(session, volumes, files.values())
        except errors.ApiError as exc:
            raise ExecutionError(f"The task cannot start: {exc.message}")
        slug = task.app_ref.split("/")[2] if task.app_ref.count("/") >= 2 else "app"
        return TaskSpec(
            task_id=task.id,
            document=document,
            document_name=slug,
            job_order=draft2_tasks.job_with_metadata(
                session, task, task_inputs.job_order(specs, task.inputs)
            ),
            files=files,
            step_names=task_inputs.step_names(process),
            container_engine=container_engine,
            schemas=schemas,
        )


class ClaimLost(Exception):
    """This process no longer holds the task's claim: it was presumed dead (a heartbeat older
    than the lease) and the task taken back; another process may be running it now."""


def _lost(task: Task, worker: str | None) -> bool:
    """Whether ``worker`` (None: not checked) no longer holds ``task``."""
    return worker is not None and task.claimed_by != worker


def run_check(database: Database, task_id: str, worker: str) -> tuple[bool, bool]:
    """For a running task's watcher: (stop wanted: aborted or deleted, claim lost)."""
    with database.read_session() as session:
        row = session.execute(
            select(Task.abort_requested, Task.claimed_by).where(Task.id == task_id)
        ).first()
    if row is None:
        return True, False
    return bool(row.abort_requested), row.claimed_by != worker


def mark_running(database: Database, task_id: str, *, worker: str | None = None) -> bool:
    """CREATING -> RUNNING as the process starts; False when an abort came first (or, with
    ``worker``, when the claim is no longer this worker's)."""
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status != CREATING or task.abort_requested or _lost(task, worker):
            session.rollback()
            return False
        moment = now()
        transition(task, RUNNING, moment)
        task.message = "Running."
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
        return True


def record_progress(
    database: Database, task_id: str, progress: Progress, *, worker: str | None = None
) -> None:
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status not in (RUNNING, ABORTING) or _lost(task, worker):
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


def finish_status(task: Task, succeeded: bool) -> str:
    if task.abort_requested:
        return ABORTED
    return COMPLETED if succeeded else FAILED


def fail_task(database: Database, task_id: str, message: str, *, worker: str | None = None) -> None:
    """End a task that could not be run at all (nothing to collect). With ``worker``: only
    while that worker still holds the task's claim."""
    with database.write_session() as session:
        task = session.get(Task, task_id)
        if task is None or task.status in TERMINAL:
            session.rollback()
            return
        if _lost(task, worker):
            session.rollback()
            logger.warning("task %s was taken back from this process; not ending it", task_id)
            return
        moment = now()
        transition(task, finish_status(task, False), moment)
        task.message = "Aborted." if task.status == ABORTED else message
        if task.parent_id:
            refresh_parent(session, task.parent_id, moment)
        session.commit()
    logger.info("task %s ended %s: %s", task_id, task.status, message)


def tasks_claimed_by(database: Database, owners: set[str]) -> set[str]:
    """Ids of the unfinished tasks that one of ``owners`` (server process ids) holds."""
    with database.read_session() as session:
        return set(
            session.scalars(
                select(Task.id).where(
                    Task.status.in_((CREATING, RUNNING, ABORTING)),
                    Task.claimed_by.in_(sorted(owners)),
                )
            )
        )


def recover_interrupted(
    database: Database,
    live_owners: set[str] | None = None,
    *,
    process_died: bool = False,
    ended: list[str] | None = None,
) -> tuple[int, int]:
    """After a restart: re-queue or fail tasks a stop cut off; (re-queued, failed) counts.

    ``live_owners``: the ids of the server processes still alive (see processes.py); only
    tasks claimed by none of them are taken back. None: every unfinished task (one process).
    ``process_died``: found by a live process's sweep (another process died), not at a start;
    only the messages differ. ``ended``: gets the ids of the tasks ended here (FAILED or
    ABORTED), whose executors' leftovers can go.
    """
    moment = now()
    requeued = failed = 0
    if not process_died:
        queued_text, warning, failure = (
            "Queued again after a platform restart.",
            RESTARTED_WARNING,
            INTERRUPTED_MESSAGE,
        )
    else:
        queued_text, warning, failure = (
            "Queued again: the server process running it stopped.",
            PROCESS_LOST_WARNING,
            PROCESS_LOST_MESSAGE,
        )
    with database.write_session() as session:
        query = select(Task).where(
            Task.status.in_((CREATING, RUNNING, ABORTING)), Task.batch.is_(False)
        )
        if live_owners is not None:
            query = query.where(
                or_(Task.claimed_by.is_(None), Task.claimed_by.not_in(sorted(live_owners)))
            )
        # Several processes may sweep the same dead one at once: on PostgreSQL each takes the
        # rows it re-queues locked, and skips those another is taking back (a stale copy would
        # otherwise queue again a task a live process has claimed since). SQLite serialises.
        stuck = list(session.scalars(query.with_for_update(skip_locked=True, of=Task)))
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
                transition(task, ABORTED, moment)
                task.message = "Aborted."
            elif task.run_attempts < MAX_RUN_ATTEMPTS:
                original_queue_time = task.queued_on
                transition(task, QUEUED, moment)
                task.queued_on = original_queue_time or moment  # keep its place in the queue
                task.started_on = task.running_on = None
                task.claimed_by = None
                task.jobs = []
                task.steps_completed = 0
                task.message = queued_text
                task.warnings = [*(task.warnings or []), {"message": warning}]
                requeued += 1
            else:
                transition(task, FAILED, moment)
                task.message = failure
                failed += 1
            if ended is not None and task.status in TERMINAL:
                ended.append(task.id)
            if task.parent_id:
                parents.add(task.parent_id)
        for parent_id in parents:
            refresh_parent(session, parent_id, moment)
        session.commit()
    return requeued, failed

"""What a task is, shared by the lifecycle (``tasks.py``) and the workers (``task_queue.py``).

Statuses: DRAFT -> QUEUED -> CREATING -> RUNNING -> COMPLETED | FAILED, with ABORTING/ABORTED
for aborts. ``CREATING`` is the short stretch in which a worker has claimed a task and stages
its inputs. Every transition is stamped and kept in the task's history; a batch parent's status
is derived from its children's (:func:`refresh_parent`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sevenbridges_local.db.apps import AppRevision
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.services import draft2_tasks

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


def now() -> datetime:
    """Naive UTC with microseconds: task durations are reported in milliseconds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def transition(task: Task, status: str, moment: datetime) -> None:
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


def app_document(session: Session, task: Task) -> dict[str, Any] | None:
    if task.app_pk is None:
        return None
    row = session.get(AppRevision, (task.app_pk, task.app_revision))
    # What cwltool runs: the document itself, or a draft-2 app's CWL v1.0 translation.
    return None if row is None else draft2_tasks.runnable_document(session, row.raw, task)


def app_name(session: Session, task: Task) -> str:
    if task.app_pk is not None:
        row = session.get(AppRevision, (task.app_pk, task.app_revision))
        if row is not None:
            return row.name
    return task.app_ref


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
        transition(parent, status, moment)

"""Durable background work kept in the database.

Work is a row in ``work_items`` (kind + JSON payload) added in the same transaction as the change
that needs it, so it can neither be lost nor run for a change that was rolled back. A small pool
of threads claims queued items one at a time and runs the handler registered for their kind.

Item states: ``queued`` -> ``running`` -> ``done`` | ``failed``. A handler that raises is retried
with a growing delay until ``max_attempts``; then the pool gives up on the item and calls the
kind's ``give_up`` hook (if registered), which ends the job the item stood for with an error, so no
job stays running forever. A handler that raises :class:`Paused` (the pool is stopping) is queued
again without counting an attempt. Items still ``running`` when the pool starts were cut
off by a stop or a crash of the previous server process and are queued again, so handlers must be
safe to run twice (the file jobs keep their progress in the database for that reason). One server
process per database is assumed unless the pool has an ``owner`` (processes.py): then claims carry
the server process's id and only items of dead processes are queued again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.files import WorkItem
from sevenbridges_local.processes import ProcessRegistry
from sevenbridges_local.storage import BlobStore
from sevenbridges_local.wakeup import Wakeups

logger = logging.getLogger(__name__)

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

DEFAULT_WORKER_COUNT = 2
DEFAULT_POLL_SECONDS = 1.0
DEFAULT_MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


@dataclass
class WorkerResources:
    """What handlers may use: the database, the blob store and anything a later part adds."""

    database: Database
    blob_store: BlobStore | None = None
    extras: dict[str, Any] = field(default_factory=dict)


FAULTS_KEY = "work_faults"


class WorkFaults:
    """Countdowns of injected failures by fault point, from the ``work_faults`` setting."""

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self._left = {point: count for point, count in (counts or {}).items() if count > 0}
        self._lock = threading.Lock()

    def consume(self, point: str) -> bool:
        with self._lock:
            left = self._left.get(point, 0)
            if left <= 0:
                return False
            self._left[point] = left - 1
            return True


Handler = Callable[[WorkerResources, dict[str, Any]], None]
# Called once when the pool gives up on an item: (resources, payload, the last error's text).
GiveUp = Callable[[WorkerResources, dict[str, Any], str], None]

_handlers: dict[str, Handler] = {}
_give_ups: dict[str, GiveUp] = {}


class Paused(Exception):  # noqa: N818 - a state, not an error
    """Raised by a handler that stops between steps because the pool is stopping; its progress
    is stored, so the item is queued again as it was, without counting an attempt."""


class InjectedFault(RuntimeError):
    """The failure the ``work_faults`` setting injects (tests of retries and giving up)."""


def register_handler(kind: str, handler: Handler, give_up: GiveUp | None = None) -> None:
    """Make ``handler`` run every work item of ``kind`` (done by the modules that enqueue);
    ``give_up`` ends the item's job when its last attempt has failed."""
    _handlers[kind] = handler
    if give_up is not None:
        _give_ups[kind] = give_up
    else:
        _give_ups.pop(kind, None)


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def fault_point(resources: WorkerResources, point: str) -> None:
    """Raise :class:`InjectedFault` if the ``work_faults`` setting still holds failures for
    ``point`` (a work kind, or ``kind:step`` for a step inside a handler); a no-op otherwise."""
    faults: WorkFaults | None = resources.extras.get(FAULTS_KEY)
    if faults is not None and faults.consume(point):
        raise InjectedFault(f"injected fault at {point}")


def enqueue(session: Session, kind: str, payload: dict[str, Any]) -> WorkItem:
    """Add a work item to ``session``; it becomes visible to workers when the caller commits."""
    now = utcnow()
    item = WorkItem(
        kind=kind,
        payload=payload,
        state=QUEUED,
        attempts=0,
        available_on=now,
        created_on=now,
    )
    session.add(item)
    return item


def _retry_delay(attempts: int, base: float | None = None) -> timedelta:
    base = RETRY_BASE_SECONDS if base is None else base  # read late: tests change it
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


class WorkerPool:
    """Threads that claim and run queued work items until :meth:`stop`."""

    def __init__(
        self,
        resources: WorkerResources,
        *,
        workers: int = DEFAULT_WORKER_COUNT,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_base_seconds: float | None = None,
        owner: ProcessRegistry | None = None,
    ) -> None:
        self.resources = resources
        # Several server processes (processes.py): only items of dead processes are re-queued.
        self.owner = owner
        self.worker_count = workers
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self._identity = owner.id if owner is not None else uuid.uuid4().hex[:16]
        self._stopping = threading.Event()
        self._wakeups = Wakeups()
        self._threads: list[threading.Thread] = []

    @property
    def database(self) -> Database:
        return self.resources.database

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        # Long handlers (prefix imports) look at this between steps and give way at a stop.
        self.resources.extras["stopping"] = self._stopping
        live = self.owner.live_ids()[0] if self.owner is not None else None
        requeued = self.requeue_interrupted(live)
        if requeued:
            logger.info("re-queued %d work item(s) interrupted by the last shutdown", requeued)
        if self.owner is not None:
            self.owner.add_sweeper(self._requeue_orphans)
        self._stopping.clear()
        for number in range(self.worker_count):
            thread = threading.Thread(target=self._run, name=f"sbg-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish their current item and wait for them, ``timeout`` at most.

        A thread still busy after that is abandoned (daemon); its item stays ``running`` and is
        queued again at the next start.
        """
        self._stopping.set()
        self._wakeups.wake_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        self._threads.clear()

    def notify(self) -> None:
        """Wake an idle worker now (call after committing new work) instead of at the next poll."""
        self._wakeups.send()

    def requeue_interrupted(self, live_owners: set[str] | None = None) -> int:
        """Queue again the running items of no live process (None: every running item)."""
        query = update(WorkItem).where(WorkItem.state == RUNNING)
        if live_owners is not None:
            query = query.where(
                or_(WorkItem.claimed_by.is_(None), WorkItem.claimed_by.not_in(sorted(live_owners)))
            )
        with self.database.write_session() as session:
            result = session.execute(
                query.values(state=QUEUED, claimed_by=None, available_on=utcnow())
            )
            session.commit()
            return result.rowcount or 0

    def _requeue_orphans(self, live_owners: set[str]) -> None:
        requeued = self.requeue_interrupted(live_owners)
        if requeued:
            logger.info("re-queued %d work item(s) of a server process that died", requeued)
            self.notify()

    # --- the worker loop ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the database itself failed; keep the thread alive and retry
                logger.exception("worker loop error")
                worked = False
            if not worked:
                self._idle()

    def _idle(self) -> None:
        self._wakeups.wait(self.poll_seconds)

    def run_one(self) -> bool:
        """Claim and run one due item; False when there was nothing to do."""
        claimed = self._claim()
        if claimed is None:
            return False
        item_id, kind, payload, attempts = claimed
        handler = handler_for(kind)
        if handler is None:
            self._finish(item_id, FAILED, f"no handler registered for work kind {kind!r}")
            logger.error("work item %s has unknown kind %r", item_id, kind)
            return True
        try:
            fault_point(self.resources, kind)
            handler(self.resources, payload)
        except Paused as paused:
            logger.info("work item %s (%s) paused: %s", item_id, kind, paused)
            self._requeue_paused(item_id)
            return True
        except Exception as exc:
            logger.exception("work item %s (%s) failed on attempt %d", item_id, kind, attempts)
            if attempts >= self.max_attempts:
                self._give_up(item_id, kind, payload, repr(exc))
            else:
                self._retry_later(item_id, repr(exc), attempts)
            return True
        self._finish(item_id, DONE, None)
        return True

    def _give_up(self, item_id: int, kind: str, payload: dict[str, Any], error: str) -> None:
        """The last attempt failed: the kind's hook ends the job, then the item is FAILED."""
        hook = _give_ups.get(kind)
        if hook is not None:
            try:
                hook(self.resources, payload, error)
            except Exception:  # the item is failed all the same; the job may need a look
                logger.exception("work item %s (%s): its give-up hook failed", item_id, kind)
        logger.error(
            "gave up on work item %s (%s) after %d attempts", item_id, kind, self.max_attempts
        )
        self._finish(item_id, FAILED, error)

    def _claim(self) -> tuple[int, str, dict[str, Any], int] | None:
        now = utcnow()
        # The write session starts with BEGIN IMMEDIATE on SQLite, so two workers never
        # claim the same row.
        with self.database.write_session() as session:
            item = session.scalar(
                select(WorkItem)
                .where(WorkItem.state == QUEUED, WorkItem.available_on <= now)
                .order_by(WorkItem.available_on, WorkItem.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if item is None:
                session.rollback()
                return None
            item.state = RUNNING
            item.claimed_by = self._identity
            item.attempts += 1
            item.started_on = now
            claimed = (item.id, item.kind, dict(item.payload or {}), item.attempts)
            session.commit()
            return claimed

    def _finish(self, item_id: int, state: str, error: str | None) -> None:
        self._update(item_id, state=state, last_error=error, finished_on=utcnow())

    def _retry_later(self, item_id: int, error: str, attempts: int) -> None:
        delay = _retry_delay(attempts, self.retry_base_seconds)
        self._update(item_id, state=QUEUED, last_error=error, available_on=utcnow() + delay)

    def _requeue_paused(self, item_id: int) -> None:
        # The claim counted an attempt; a pause is not one, so it is given back.
        self._update(item_id, state=QUEUED, attempts=WorkItem.attempts - 1, available_on=utcnow())

    def _update(self, item_id: int, **values: Any) -> None:
        if values.get("state") == QUEUED:
            values["claimed_by"] = None
        with self.database.write_session() as session:
            session.execute(update(WorkItem).where(WorkItem.id == item_id).values(**values))
            session.commit()

    def drain(self) -> int:
        """Run due items on the calling thread until none is left (tools and tests)."""
        count = 0
        while self.run_one():
            count += 1
        return count

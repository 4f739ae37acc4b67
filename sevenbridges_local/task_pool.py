"""The task workers: threads that take QUEUED tasks from the database and run them.

The queue is the ``tasks`` table itself (status QUEUED, oldest first), so it survives restarts.
Each worker thread claims one task at a time (a write transaction, so two workers never take the
same task), has the executor prepare and start it, watches it (progress, abort requests) and
records the result. Requests that queue work call :meth:`TaskPool.notify`, which wakes an idle
worker at once; the periodic poll only backs that up.

Stopping the platform stops the running tasks' processes but leaves their rows as they are: at
the next start :func:`services.task_queue.recover_interrupted` queues them again (or fails them).
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from sevenbridges_local.db import Database
from sevenbridges_local.execution.base import (
    ExecutionError,
    Executor,
    PreparedRun,
    Progress,
    RunningTask,
)
from sevenbridges_local.processes import ProcessRegistry
from sevenbridges_local.services import task_outputs, task_queue
from sevenbridges_local.storage import BlobStore
from sevenbridges_local.wakeup import Wakeups

logger = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 2.0
# How often a running task's log is read for progress, and its abort flag checked.
PROGRESS_SECONDS = 0.5
ABORT_CHECK_SECONDS = 2.0
STOP_TIMEOUT_SECONDS = 10.0
TASKS_DIR_NAME = "tasks"
# Ending a task as FAILED is tried this often (the database may be briefly unavailable) before
# the task is left to the recovery of a restart.
FAIL_ATTEMPTS = 5
# The ``work_faults`` point that makes recording a task's results meet a real database error
# (a statement on a table that does not exist), for tests of what users are told then.
RESULTS_DATABASE_FAULT = "task.results:database"


def _progress_key(progress: Progress) -> tuple[Any, ...]:
    return (
        progress.steps_completed,
        tuple((job.name, job.status, job.end_time) for job in progress.jobs),
    )


class TaskPool:
    """``workers`` threads running tasks with ``executor`` until :meth:`stop`."""

    def __init__(
        self,
        database: Database,
        store: BlobStore,
        executor: Executor,
        data_dir: Path,
        *,
        workers: int = 2,
        container_engine: str | None = None,
        keep_work_dirs: bool = False,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        volumes: Any = None,
        owner: ProcessRegistry | None = None,
        faults: Any = None,
    ) -> None:
        self.database = database
        # Injected failures (workers.WorkFaults, from the work_faults setting); None in real use.
        self.faults = faults
        # With several server processes on one database (processes.py): claims carry the
        # process's id and only tasks of dead processes are taken back.
        self.owner = owner
        # The volume runtime (services.volumes.VolumeRuntime): inputs that are volume aliases
        # are staged from their buckets with it.
        self.volumes = volumes
        self.store = store
        self.executor = executor
        self.work_root = Path(data_dir) / TASKS_DIR_NAME
        self.worker_count = max(int(workers), 1)
        self.container_engine = container_engine
        self.keep_work_dirs = keep_work_dirs
        self.poll_seconds = poll_seconds
        self._identity = owner.id if owner is not None else uuid.uuid4().hex[:16]
        self._stopping = threading.Event()
        self._wakeups = Wakeups()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, RunningTask] = {}
        # Tasks a worker of this pool holds (from claim to result), and those to stop.
        self._claimed: set[str] = set()
        self._abort_wanted: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TaskPool {self.worker_count} workers, {self.executor!r}>"

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        live = self.owner.live_ids()[0] if self.owner is not None else None
        self.recover(live)
        if self.work_root.exists() and not self.keep_work_dirs:
            if live is None or live == {self._identity}:
                shutil.rmtree(self.work_root, ignore_errors=True)  # nothing runs: all leftovers
            else:  # other processes run tasks in here: only what no live process holds
                held = task_queue.tasks_claimed_by(self.database, live)
                for entry in self.work_root.iterdir():
                    if entry.name not in held:
                        shutil.rmtree(entry, ignore_errors=True)
        self.work_root.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            self.owner.add_sweeper(self._recover_from_dead)
        self.executor.start()
        self._stopping.clear()
        for number in range(self.worker_count):
            thread = threading.Thread(target=self._loop, name=f"sbg-task-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("task pool started: %r", self)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the running tasks' processes and the threads; the tasks resume at next start."""
        self._stopping.set()
        self._wakeups.wake_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self.executor.stop()

    def recover(self, live_owners: set[str] | None, *, process_died: bool = False) -> None:
        """Queue again (or fail) the tasks a stop or a dead process cut off."""
        ended: list[str] = []
        requeued, failed = task_queue.recover_interrupted(
            self.database, live_owners, process_died=process_died, ended=ended
        )
        for task_id in ended:  # e.g. a job store kept for a restart that will not come
            self.executor.forget(task_id)
        if requeued or failed:
            logger.info(
                "interrupted task(s) taken back: %d queued again, %d failed", requeued, failed
            )
            self.notify(requeued)

    def _recover_from_dead(self, live_owners: set[str]) -> None:
        """The sweeper: another server process died while this one runs."""
        self.recover(live_owners, process_died=True)

    def notify(self, count: int = 1) -> None:
        """Wake up to ``count`` idle workers: new tasks were queued."""
        self._wakeups.send(count)

    def abort(self, task_ids: Iterable[str]) -> None:
        """Stop these tasks' processes (their rows already say ABORTING)."""
        with self._lock:
            self._abort_wanted.update(task_id for task_id in task_ids if task_id in self._claimed)

    # --- workers -------------------------------------------------------------------------------
    def _idle(self) -> None:
        self._wakeups.wait(self.poll_seconds)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                task_id = task_queue.claim_next(self.database, self._identity)
            except Exception:  # the database failed; keep the worker alive and retry
                logger.exception("claiming a task failed")
                task_id = None
            if task_id is None:
                self._idle()
                continue
            try:
                self._execute(task_id)
            except Exception:  # keep the worker: the task is failed or left for recovery
                logger.exception("task worker: running task %s failed", task_id)

    def _execute(self, task_id: str) -> None:
        work_dir = self.work_root / task_id
        running: RunningTask | None = None
        interrupted = False
        claim_lost = False
        worker = self._identity
        with self._lock:
            self._claimed.add(task_id)
        # A task taken back from a dead process may have left its directory behind.
        shutil.rmtree(work_dir, ignore_errors=True)
        try:
            spec = task_queue.build_spec(
                self.database, task_id, self.container_engine, volumes=self.volumes
            )
            prepared = self.executor.prepare(spec, work_dir)
            if self._stopping.is_set():
                interrupted = True  # resumed after the restart
                return
            running = self.executor.run(prepared)
            with self._lock:
                self._running[task_id] = running
            if not task_queue.mark_running(self.database, task_id, worker=worker):
                # Aborted (or deleted) while its inputs were being staged.
                self.executor.abort(running)
                task_queue.fail_task(self.database, task_id, "Aborted.", worker=worker)
                return
            exit_code = self._watch(task_id, prepared, running)
            if self._stopping.is_set() and not self._abort_requested(task_id):
                interrupted = True  # the platform is stopping: leave the task for recovery
                return
            result = self.executor.collect(prepared, exit_code)
            self._inject_results_fault()
            task_outputs.finish_task(self.database, self.store, task_id, result, worker=worker)
        except task_queue.ClaimLost:
            # Presumed dead (no heartbeat within the lease) and the task taken back: its new
            # holder runs it, in the same work directory if on this host, so leave that alone.
            claim_lost = True
            logger.warning("task %s was taken back from this process; its run was stopped", task_id)
        except ExecutionError as exc:  # written for the user (an input, the app, the tool)
            self._fail(task_id, str(exc), worker=worker)
        except Exception:
            # Anything else is the platform's own failure: its text (SQL, paths, a database's
            # wording) stays in the log; the user gets plain words and the log's reference.
            reference = task_queue.new_reference()
            logger.exception(
                "task %s failed inside the platform (reference %s)", task_id, reference
            )
            self._fail(task_id, task_queue.internal_failure(reference), worker=worker)
        finally:
            with self._lock:
                self._running.pop(task_id, None)
                self._claimed.discard(task_id)
                self._abort_wanted.discard(task_id)
            if running is not None:
                running.close()
            if (not self.keep_work_dirs or interrupted) and not claim_lost:
                shutil.rmtree(work_dir, ignore_errors=True)

    def _inject_results_fault(self) -> None:
        if self.faults is None or not self.faults.consume(RESULTS_DATABASE_FAULT):
            return
        with self.database.write_session() as session:
            session.execute(text("UPDATE injected_fault_missing_table SET detail = 'secret'"))

    def _fail(self, task_id: str, message: str, *, worker: str | None = None) -> None:
        """End the task FAILED with ``message``, retrying while the database is unavailable;
        when it stays so, the task is left to the recovery at the next start."""
        for attempt in range(1, FAIL_ATTEMPTS + 1):
            try:
                task_queue.fail_task(self.database, task_id, message, worker=worker)
                return
            except Exception:
                logger.exception("task %s: recording its failure failed (%d)", task_id, attempt)
                if self._stopping.wait(float(attempt)):
                    return

    def _abort_requested(self, task_id: str) -> bool:
        with self._lock:
            if task_id in self._abort_wanted:
                return True
        return task_queue.abort_requested(self.database, task_id)

    def _watch(self, task_id: str, prepared: PreparedRun, running: RunningTask) -> int:
        """Wait for the run to end, recording progress and honouring aborts and stops."""
        last_seen: tuple[Any, ...] | None = None
        since_abort_check = 0.0
        while True:
            exit_code = running.wait(PROGRESS_SECONDS)
            if exit_code is not None:
                return exit_code
            since_abort_check += PROGRESS_SECONDS
            with self._lock:
                wanted = task_id in self._abort_wanted
            if not wanted and since_abort_check >= ABORT_CHECK_SECONDS:
                since_abort_check = 0.0
                wanted, lost = task_queue.run_check(self.database, task_id, self._identity)
                if lost:  # another process holds the task now: stop, record nothing
                    self.executor.abort(running)
                    running.wait()
                    raise task_queue.ClaimLost(task_id)
            if wanted or self._stopping.is_set():
                self.executor.abort(running)
                code = running.wait()
                return -9 if code is None else code
            progress = self.executor.progress(prepared)
            key = _progress_key(progress)
            if key != last_seen:
                last_seen = key
                task_queue.record_progress(self.database, task_id, progress, worker=self._identity)

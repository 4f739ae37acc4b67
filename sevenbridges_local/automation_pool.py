"""Threads that run automation runs: claim a queued run, start its process, watch it (stop
requests, time limit), then store its log and state as files of the automation's storage
project and record the end. See services/automation_runs.py for the states and restarts.

Every server process runs one pool (``sbg local serve --workers N``, or several hosts on one
database): a claim is a write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single
writer on SQLite) that stamps the run with this process's id, so no two pools run one run. The
runs of a process that died are queued again by the sweep of processes.py (with the state file
they left, when it is on this host), or failed after ``MAX_ATTEMPTS`` starts."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.models import Project
from sevenbridges_local.execution import automation_runner
from sevenbridges_local.execution.sandbox import SandboxPolicy
from sevenbridges_local.processes import ProcessRegistry
from sevenbridges_local.services import automation_runs, files
from sevenbridges_local.services.context import Actor, ServiceContext
from sevenbridges_local.storage import BlobStore
from sevenbridges_local.wakeup import Wakeups

logger = logging.getLogger(__name__)

RUNS_DIR_NAME = "automation_runs"
WATCH_SECONDS = 0.2
STOP_CHECK_SECONDS = 0.5
# What of a log is kept as the run's log file; the rest is cut (and the cut said at its end).
LOG_MAX_BYTES = 10 * 1024 * 1024


class AutomationPool:
    def __init__(
        self,
        database: Database,
        store: BlobStore,
        sandbox: SandboxPolicy,
        data_dir: Path,
        api_root: str,
        *,
        workers: int = 2,
        poll_seconds: float = 2.0,
        owner: ProcessRegistry | None = None,
    ) -> None:
        self.database = database
        # Claims carry this process's id; only runs of dead processes are taken back.
        self.owner = owner
        self._identity = owner.id if owner is not None else uuid.uuid4().hex[:16]
        self.store = store
        self.sandbox = sandbox
        self.work_root = Path(data_dir) / RUNS_DIR_NAME
        self.api_root = api_root
        self.worker_count = max(int(workers), 1)
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._wakeups = Wakeups()
        self._threads: list[threading.Thread] = []
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stop_wanted: set[str] = set()
        self._lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        live = self.owner.live_ids()[0] if self.owner is not None else None
        self.recover(live)
        if self.work_root.exists():
            if live is None or live == {self._identity}:
                shutil.rmtree(self.work_root, ignore_errors=True)  # nothing runs yet: leftovers
            else:  # other processes run automations in here: keep the directories they hold
                held = automation_runs.runs_claimed_by(self.database, live)
                for entry in self.work_root.iterdir():
                    if entry.name not in held:
                        shutil.rmtree(entry, ignore_errors=True)
        self.work_root.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            self.owner.add_sweeper(self.recover)
        self._stopping.clear()
        for number in range(self.worker_count):
            thread = threading.Thread(
                target=self._loop, name=f"sbg-automation-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def recover(self, live_owners: set[str] | None) -> None:
        """Queue again (or end) the runs a stop or a dead process cut off. A run's state file,
        when its work directory is on this host, is kept for its next start."""
        states: dict[str, Any] = {}
        for run_id in automation_runs.orphaned_runs(self.database, live_owners):
            path = automation_runner.RunFiles(self.work_root / run_id).state
            states[run_id] = _read_json(path, automation_runs.STATE_MAX_BYTES)[0]
        queued, ended = automation_runs.recover_interrupted(self.database, live_owners, states)
        if queued or ended:
            logger.info(
                "interrupted automation run(s) taken back: %d queued again, %d ended",
                queued,
                ended,
            )
            self.notify()

    def stop(self, timeout: float = 10.0) -> None:
        # Each watcher kills its run's process within WATCH_SECONDS and queues the run again
        # (for another process, or this one's restart); whatever is still alive after
        # ``timeout`` is killed here.
        self._stopping.set()
        self._wakeups.wake_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        with self._lock:
            running = list(self._processes.values())
        for process in running:
            automation_runner.kill(process)

    def notify(self) -> None:
        self._wakeups.send()

    def request_stop(self, run_id: str) -> None:
        with self._lock:
            self._stop_wanted.add(run_id)

    def live_state(self, run_id: str) -> Any:
        """The state file of a run this pool is running now (None when there is none)."""
        path = automation_runner.RunFiles(self.work_root / run_id).state
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    # --- workers -------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                run_id = automation_runs.claim_next(self.database, self._identity)
            except Exception:
                logger.exception("claiming an automation run failed")
                run_id = None
            if run_id is None:
                self._wakeups.wait(self.poll_seconds)
                continue
            try:
                self._execute(run_id)
            except Exception:  # keep the thread; the run is taken back at the next start
                logger.exception("automation runner: run %s could not be ended", run_id)

    def _execute(self, run_id: str) -> None:
        work_dir = self.work_root / run_id
        process: subprocess.Popen[bytes] | None = None
        interrupted = False
        # A run taken back from a dead process may have left its directory behind.
        shutil.rmtree(work_dir, ignore_errors=True)
        try:
            values = automation_runs.package_for(self.database, run_id)
            if values is None:
                return
            with self.store.open(values["blob_key"]) as stream:
                archive = stream.read()
            state = automation_runs.resume_state(self.database, run_id)
            run_files = automation_runner.prepare(work_dir, archive, values, state)
            token, token_hash = automation_runs.new_run_token()
            if not automation_runs.mark_running(self.database, run_id, token_hash):
                automation_runs.finish(self.database, run_id, automation_runs.ABORTED, "Stopped.")
                return
            environment = {
                "SB_API_ENDPOINT": self.api_root,
                "SB_AUTH_TOKEN": token,
                "SB_AUTOMATION_RUN_ID": run_id,
                "SB_AUTOMATION_ID": values["automation_id"],
            }
            process = automation_runner.start(
                self.sandbox,
                run_files,
                values["entrypoint"],
                values["memory_limit_mb"],
                environment,
            )
            with self._lock:
                self._processes[run_id] = process
            outcome, message = self._watch(run_id, process, values["time_limit"])
            if outcome is None:
                # Restarted after the platform comes back, from the state it wrote so far.
                interrupted = True
                state, _ = _read_json(run_files.state, automation_runs.STATE_MAX_BYTES)
                automation_runs.requeue(self.database, run_id, state)
                return
            self._record(run_id, run_files, values, outcome, message)
        except automation_runner.PackageError as exc:
            automation_runs.finish(self.database, run_id, automation_runs.FAILED, str(exc))
        except Exception:
            # The exception's text (SQL, paths) stays in the log; the run says where to look.
            reference = uuid.uuid4().hex[:12]
            logger.exception(
                "automation run %s failed inside the platform (reference %s)", run_id, reference
            )
            automation_runs.finish(
                self.database,
                run_id,
                automation_runs.FAILED,
                "The run failed because of an internal error of the platform "
                f"(reference {reference}; the server log has the details).",
            )
        finally:
            if process is not None:
                automation_runner.kill(process)  # stragglers of the run's session too
            with self._lock:
                self._processes.pop(run_id, None)
                self._stop_wanted.discard(run_id)
            if not interrupted:
                shutil.rmtree(work_dir, ignore_errors=True)

    def _watch(
        self, run_id: str, process: subprocess.Popen[bytes], time_limit: int
    ) -> tuple[str | None, str]:
        """(final status, message); status None: the platform is stopping under the run."""
        deadline = time.monotonic() + time_limit
        next_check = 0.0
        while True:
            try:
                code = process.wait(WATCH_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None and code < 0 and self._stopping.is_set():
                return None, ""  # killed by the platform's stop, not by its own fault
            if code is not None:
                if code == 0:
                    return automation_runs.FINISHED, "Finished."
                if code < 0:
                    return automation_runs.FAILED, f"The run was killed by signal {-code}."
                return automation_runs.FAILED, f"The run exited with code {code}."
            if self._stopping.is_set():
                automation_runner.kill(process)
                return None, ""
            with self._lock:
                wanted = run_id in self._stop_wanted
            now = time.monotonic()
            if not wanted and now >= next_check:
                next_check = now + STOP_CHECK_SECONDS
                wanted = automation_runs.stop_requested(self.database, run_id)
            if wanted:
                automation_runner.kill(process)
                return automation_runs.ABORTED, "Stopped."
            if now >= deadline:
                automation_runner.kill(process)
                return (
                    automation_runs.FAILED,
                    f"The run exceeded its time limit of {time_limit} seconds and was stopped.",
                )

    def _record(
        self,
        run_id: str,
        run_files: automation_runner.RunFiles,
        values: dict[str, Any],
        status: str,
        message: str,
    ) -> None:
        state, state_problem = _read_json(run_files.state, automation_runs.STATE_MAX_BYTES)
        outputs, outputs_problem = _read_json(run_files.outputs, automation_runs.STATE_MAX_BYTES)
        problem = state_problem or outputs_problem
        if problem and status == automation_runs.FINISHED:
            status, message = automation_runs.FAILED, problem
        if not isinstance(outputs, dict):
            outputs = {}
        log = _read_log(run_files.log)
        log_id, state_id = self._store_files(run_id, values, log, state)
        automation_runs.finish(
            self.database,
            run_id,
            status,
            message,
            state=state,
            outputs=outputs,
            log_file_id=log_id,
            state_file_id=state_id,
            log_size=len(log),
        )

    def _store_files(
        self, run_id: str, values: dict[str, Any], log: bytes, state: Any
    ) -> tuple[str | None, str | None]:
        project_id = values.get("storage_project_id")
        if project_id is None:
            return None, None
        stored: list[str | None] = []
        with self.database.write_session() as session:
            project = session.get(Project, project_id)
            if project is None:
                return None, None
            ctx = ServiceContext(session, Actor(project.owner_id, project.owner.username, "USER"))
            contents = [(f"{run_id}.log", log)]
            if state is not None:
                contents.append((f"{run_id}.state.json", json.dumps(state).encode()))
            for name, data in contents:
                key = uuid.uuid4().hex
                self.store.put_bytes(key, data)
                record = files.create_file_record(
                    ctx,
                    project=project,
                    folder=None,
                    name=name,
                    size=len(data),
                    blob_key=key,
                    overwrite=True,
                    origin={"automation_run": run_id},
                )
                record.modified_on = utcnow()
                stored.append(record.id)
            session.commit()
        return stored[0], stored[1] if len(stored) > 1 else None


def _read_json(path: Path, limit: int) -> tuple[Any, str | None]:
    try:
        size = path.stat().st_size
    except OSError:
        return None, None
    if size > limit:
        return None, f"The run's {path.name} is larger than {limit} bytes."
    try:
        return json.loads(path.read_bytes()), None
    except (OSError, ValueError):
        return None, f"The run's {path.name} is not valid JSON."


def _read_log(path: Path) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = stream.read(LOG_MAX_BYTES + 1)
    except OSError:
        return b""
    if len(data) > LOG_MAX_BYTES:
        data = data[:LOG_MAX_BYTES] + f"\n[log cut at {LOG_MAX_BYTES} bytes]\n".encode()
    return data

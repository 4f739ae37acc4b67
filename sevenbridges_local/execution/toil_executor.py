"""Runs tasks with Toil (``toil-cwl-runner``): on this machine, or on a cluster's scheduler.

Toil runs a CWL document as a *leader* process that hands each tool invocation (a job) to a
*batch system*: ``single_machine`` (this machine, the default), ``slurm``, ``kubernetes``,
``htcondor``, ``lsf``, ``aws_batch`` and the others Toil knows. The leader keeps the state of the
run in a *job store*; after an interruption ``toil-cwl-runner --restart`` carries on from it.

Each task gets a work directory like cwltool's (inputs staged the same way) and a job store::

    <task work dir>/
      <app>.cwl, job.json, request.json
      inputs/<file id>/     each input file as a symlink to its blob, under its original name
      tmp/                  Toil's work and coordination directories (single machine)
      out/                  final outputs (--outdir)
      joblogs/              each job's log and its tools' stdout/stderr (--writeLogs)
      toil.log              the leader's log (its standard error)
      cwl.output.json       the CWL output object (its standard output)
    <toil_job_store>/<task id>/store    the job store (file: job store)

The leader runs in its own session (``toil_runner.py``) so one signal reaches it; with the
single-machine batch system and a sandbox it runs inside the task's sandbox, workers included.
On a cluster, the work directory and the job store must be on storage every node mounts at the
same path, and the isolation is the cluster's (the platform's sandbox cannot follow jobs there).

Finished, failed and aborted runs have their job store removed; a run cut off by a platform
stop keeps it, and the next attempt of that task restarts from it (``--restart``), so jobs that
had finished do not run again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sevenbridges_local.execution.base import (
    DEFAULT_TASK_NICE,
    JOB_ABORTED,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_RUNNING,
    ExecutionError,
    Executor,
    JobRecord,
    PreparedRun,
    Progress,
    RunningTask,
    RunResult,
    TaskLogReaders,
    TaskSpec,
)
from sevenbridges_local.execution.cwltool_executor import (
    _staged_job_order,
    _Stager,
    container_arguments,
    relative_to_task,
    task_process_environment,
)
from sevenbridges_local.execution.documents import write_document
from sevenbridges_local.execution.sandbox import SandboxPolicy
from sevenbridges_local.execution.toil_runner import kill_workers
from sevenbridges_local.storage import BlobStore

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SYSTEM = "single_machine"
# Job stores' default home under the data directory.
TOIL_DIR_NAME = "toil"
LOG_NAMES = ("toil.log", "job.err.log", "cwl.output.json")
JOB_STORE_NAME = "store"
# Seconds the leader gets after SIGTERM to stop its jobs (its runner waits a little less).
ABORT_GRACE_SECONDS = 10.0
MESSAGE_MAX_CHARS = 1500
MESSAGE_TAIL_LINES = 8
# Arguments for every run: no retries (a failed tool fails the task, as with cwltool; a cluster
# whose nodes come and go can ask for retries with extra arguments), every job's log kept, no
# progress bar, no SHA-1 of every output.
_BASE_ARGUMENTS = (
    "--retryCount",
    "0",
    "--disableProgress",
    "--no-compute-checksum",
    "--relax-path-checks",
    "--clean",
    "never",  # the executor removes the job store itself: a stopped run must keep it
)
# Variables besides the ones every task gets that Toil reads for itself.
_TOIL_VARIABLE_PREFIXES = ("TOIL_",)


def find_toil_runner(configured: str | None = None) -> str | None:
    """The ``toil-cwl-runner`` to use: the configured path or name, else the one installed next
    to this interpreter (``pip install 'sevenbridges-toolkit[toil]'``), else one on PATH."""
    if configured:
        return shutil.which(configured) or (configured if os.path.isfile(configured) else None)
    beside = Path(sys.executable).parent / "toil-cwl-runner"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("toil-cwl-runner")


# ---------------------------------------------------------------------------------------------
# Reading Toil's logs

# "[2026-11-30T19:29:18+0000] [MainThread] [I] [toil.leader] message"
_HEADER = re.compile(
    r"^\[(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d{4}|Z)?)\] \[[^\]]*\] "
    r"\[(?P<level>[A-Z])\] \[(?P<logger>[^\]]*)\] (?P<message>.*)$"
)
_ISSUED = re.compile(r"^Issued job 'CWLJob' (?P<name>\S+) (?P<id>kind-\S+) v\d+")
_STEP_DONE = re.compile(r"CWL step complete: (?P<name>\S+)")
_FAILED = re.compile(r"^Job 'CWLJob' (?P<name>\S+) (?P<id>kind-\S+) v\d+ is completely failed")
_JOB_COMMAND = re.compile(r"^\[job (?P<name>[^\]]+)\] (?P<workdir>\S.*?)\$ (?P<command>.*)$", re.S)
_CONTINUATION = re.compile(r"\s*\\\n\s*")
_ANONYMOUS_ID = re.compile(r"\.?_:[0-9a-f-]{36}")
_MAX_PROBLEMS = 20
_READ_CHUNK = 4 * 1024 * 1024


def _parse_time(text: str) -> datetime:
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(text.replace("Z", "+0000"), pattern)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def _records(text: str) -> list[tuple[datetime, str, str]]:
    """(time, level letter, message) of each record; header-less lines continue a record."""
    records: list[tuple[datetime, str, str]] = []
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            records.append((_parse_time(match["time"]), match["level"], match["message"].rstrip()))
        elif records:
            moment, level, message = records[-1]
            records[-1] = (moment, level, f"{message}\n{line}")
    return records


def job_display_name(raw: str, document_name: str) -> str:
    """Toil's dotted job names without the document's name and anonymous ids:
    ``app.cwl`` -> ``app``, ``wf.cwl.join._:<uuid>`` -> ``join``."""
    name = _ANONYMOUS_ID.sub("", raw)
    if name in (f"{document_name}.cwl", document_name, ""):
        return document_name
    name = name.removeprefix(f"{document_name}.cwl.")
    return name.removesuffix(".cwl") or document_name


@dataclass
class _ToilLog:
    """The leader's log read as it grows: jobs by Toil id, finished steps, problems."""

    path: Path
    document_name: str
    step_names: list[str]
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    raw_names: dict[str, str] = field(default_factory=dict)  # raw job name -> Toil id
    completed_steps: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    _offset: int = 0
    _partial: str = ""
    _pending: str = ""  # the last record: more lines may continue it
    _last_done: datetime | None = None  # when the latest step completed

    def poll(self, final: bool = False) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(_READ_CHUNK)
                self._offset = handle.tell()
        except OSError:
            chunk = b""
        text = self._partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished line waits for the next poll
        if final and self._partial:
            lines.append(self._partial)
            self._partial = ""
        for line in lines:
            if _HEADER.match(line):
                if self._pending:
                    self._record(self._pending)
                self._pending = line
            elif self._pending:
                self._pending += "\n" + line
        if final and self._pending:
            self._record(self._pending)
            self._pending = ""

    def _record(self, text: str) -> None:
        for moment, level, message in _records(text):
            self._note(moment, level, message)

    def _note(self, moment: datetime, level: str, message: str) -> None:
        issued = _ISSUED.match(message)
        if issued:
            job = self.jobs.get(issued["id"])
            if job is None:
                name = job_display_name(issued["name"], self.document_name)
                self.jobs[issued["id"]] = JobRecord(name, JOB_RUNNING, start_time=moment)
            else:  # issued again (a retry)
                job.status, job.end_time = JOB_RUNNING, None
            self.raw_names[issued["name"]] = issued["id"]
            return
        done = _STEP_DONE.search(message)
        if done:
            if done["name"] in self.raw_names:
                job = self.jobs[self.raw_names[done["name"]]]
            else:
                # Never issued: Toil chained it into the worker that ran the job before it, so
                # the leader only hears that it completed. It started when that one ended.
                name = job_display_name(done["name"], self.document_name)
                job = JobRecord(name, JOB_RUNNING, start_time=self._last_done or moment)
                self.jobs[f"chained:{done['name']}"] = job
                self.raw_names[done["name"]] = f"chained:{done['name']}"
            job.status, job.end_time = JOB_COMPLETED, moment
            self._last_done = moment
            name = job_display_name(done["name"], self.document_name)
            if name in self.step_names:
                self.completed_steps.add(name)
            return
        failed = _FAILED.match(message)
        if failed and failed["id"] in self.jobs:
            job = self.jobs[failed["id"]]
            job.status, job.end_time = JOB_FAILED, moment
        if level in ("W", "E", "C"):
            self.problems.append(message)
            del self.problems[:-_MAX_PROBLEMS]

    def job_list(self) -> list[JobRecord]:
        # The log's times have whole seconds: ties keep the log's order (stable sort), so a job
        # chained after another that started in the same second still comes after it.
        return sorted(self.jobs.values(), key=lambda job: job.start_time or _EPOCH)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _command_lines(log_dir: Path) -> dict[str, str]:
    """Raw job name -> the command line its worker log shows (cwltool's ``[job X] dir$ cmd``)."""
    found: dict[str, str] = {}
    try:
        paths = sorted(log_dir.glob("*CWLJob_*.log"))
    except OSError:
        return found
    for path in paths:
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        for _moment, _level, message in _records(text):
            match = _JOB_COMMAND.match(message)
            if match:
                command = _CONTINUATION.sub(" ", match["command"]).strip()
                found.setdefault(match["name"], command)
    return found


def _tool_output_files(log_dir: Path) -> list[Path]:
    """The tools' uncaptured stdout and stderr that ``--writeLogs`` kept, oldest first."""
    try:
        paths = [
            path
            for path in log_dir.iterdir()
            if re.search(r"\.std(out|err)_\d+\.log$", path.name) and path.is_file()
        ]
    except OSError:
        return []
    return sorted(paths, key=lambda path: (path.stat().st_mtime, path.name))


def _read_text(path: Path, limit: int = 1024 * 1024) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - limit, 0))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _tail(text: str, lines: int, limit: int) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)[-limit:]


# ---------------------------------------------------------------------------------------------
# Running handle


class _ToilTask(RunningTask):
    """The runner process (in its own session) of one Toil leader."""

    def __init__(self, process: subprocess.Popen[bytes], job_store: Path) -> None:
        self._process = process
        self.job_store = job_store

    @property
    def process_group(self) -> int | None:
        return self._process.pid

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # the lifeline: a runner still alive ends its task
        self._process.wait()


def _signal_group(group: int, signum: int) -> bool:
    try:
        os.killpg(group, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("not allowed to signal process group %s", group)
        return False


# ---------------------------------------------------------------------------------------------
# The executor


class ToilExecutor(Executor):
    """``toil-cwl-runner`` per task, jobs on ``batch_system`` (see the module docstring)."""

    name = "toil"

    def __init__(
        self,
        store: BlobStore,
        job_store_root: Path,
        *,
        batch_system: str = DEFAULT_BATCH_SYSTEM,
        extra_arguments: list[str] | None = None,
        toil_runner: str | None = None,
        container_engine: str | None = None,
        sandbox: SandboxPolicy | None = None,
        pass_environment: list[str] | None = None,
        nice: int = DEFAULT_TASK_NICE,
    ) -> None:
        self.store = store
        self.nice = nice
        self.job_store_root = Path(job_store_root)
        self.batch_system = batch_system or DEFAULT_BATCH_SYSTEM
        self.extra_arguments = list(extra_arguments or [])
        self.container_engine = container_engine or None
        container_arguments(self.container_engine)  # refuse an unknown engine early
        self.pass_environment = list(pass_environment or [])
        self.toil_runner = find_toil_runner(toil_runner)
        sandbox = sandbox or SandboxPolicy(problem="no sandbox configured")
        if sandbox.enabled and not self.local:
            sandbox = replace(sandbox, problem=f"jobs run on the {self.batch_system} batch system")
        if sandbox.enabled and self.toil_runner is not None:
            # Toil installed in a venv of its own: the sandbox must show that venv too.
            prefix = str(Path(self.toil_runner).resolve().parent.parent)
            if prefix not in sandbox.readonly_paths:
                sandbox = replace(sandbox, readonly_paths=(*sandbox.readonly_paths, prefix))
        self.sandbox = sandbox
        self._logs: TaskLogReaders[_ToilLog] = TaskLogReaders(
            lambda prepared: _ToilLog(
                prepared.log_paths["toil.log"],
                prepared.spec.document_name,
                list(prepared.spec.step_names),
            )
        )

    @property
    def local(self) -> bool:
        """Whether jobs run on this machine (the single-machine batch system)."""
        return self.batch_system == DEFAULT_BATCH_SYSTEM

    def __repr__(self) -> str:
        isolation = "sandboxed" if self.sandbox.enabled else "not isolated"
        return (
            f"<ToilExecutor {self.batch_system}, {isolation}, "
            f"containers: {self.container_engine or 'none'}>"
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.toil_runner is None:
            logger.error(
                "toil-cwl-runner is not installed: tasks will fail "
                "(pip install 'sevenbridges-toolkit[toil]')"
            )
        self.job_store_root.mkdir(parents=True, exist_ok=True)
        logger.info("Toil executor: %s, job stores in %s", self.toil_runner, self.job_store_root)

    def job_store_dir(self, task_id: str) -> Path:
        """The directory holding the task's job store (removed with it)."""
        return self.job_store_root / task_id

    def remove_job_store(self, task_id: str) -> None:
        shutil.rmtree(self.job_store_dir(task_id), ignore_errors=True)

    def forget(self, task_id: str) -> None:
        self.remove_job_store(task_id)

    # --- prepare -------------------------------------------------------------------------------
    def _environment(self, work_dir: Path) -> dict[str, str]:
        environment = task_process_environment()
        for name, value in os.environ.items():
            if name.startswith(_TOIL_VARIABLE_PREFIXES) or name in self.pass_environment:
                environment[name] = value
        assert self.toil_runner is not None
        # Workers start as "_toil_worker", found on PATH next to toil-cwl-runner.
        tools = str(Path(self.toil_runner).parent)
        environment["PATH"] = os.pathsep.join(
            [tools, *(environment.get("PATH") or "/usr/local/bin:/usr/bin:/bin").split(os.pathsep)]
        )
        # The platform keeps the history; Toil's own would go to ~/.toil.
        environment.setdefault("TOIL_HISTORY", "False")
        if self.sandbox.enabled:
            environment["HOME"] = environment["TMPDIR"] = str(work_dir / "tmp")
        return environment

    def prepare(self, spec: TaskSpec, work_dir: Path) -> PreparedRun:
        if self.toil_runner is None:
            raise ExecutionError(
                "The platform's Toil executor is not installed (toil-cwl-runner not found)."
            )
        if work_dir.exists():
            shutil.rmtree(work_dir)  # leftovers of an interrupted earlier attempt
        tmp_dir = work_dir / "tmp"
        tmp_dir.mkdir(parents=True)
        output_dir = work_dir / "out"
        output_dir.mkdir()
        job_log_dir = work_dir / "joblogs"
        job_log_dir.mkdir()
        stager = _Stager(self.store, work_dir / "inputs")
        try:
            job_order = _staged_job_order(spec.job_order, spec.files, stager)
        except OSError as exc:
            where = f" ('{Path(exc.filename).name}')" if exc.filename else ""
            raise ExecutionError(f"Could not stage the input files{where}: {exc.strerror or exc}.")
        try:
            # $schemas copies and literal defaults as the cwltool executor has them.
            document_path = write_document(spec, work_dir)
        except OSError as exc:
            raise ExecutionError(f"Could not write the app's document: {exc.strerror or exc}.")
        job_path = work_dir / "job.json"
        job_path.write_text(json.dumps(job_order), encoding="utf-8")
        log_paths = {name: work_dir / name for name in LOG_NAMES}

        store_home = self.job_store_dir(spec.task_id)
        job_store = store_home / JOB_STORE_NAME
        # A run a platform stop cut off left its job store: Toil carries on from it.
        restart = (job_store / "shared" / "rootJobStoreID").is_file()
        if not restart:
            shutil.rmtree(store_home, ignore_errors=True)
        store_home.mkdir(parents=True, exist_ok=True)

        engine = (
            spec.container_engine if spec.container_engine is not None else self.container_engine
        )
        argv = [
            str(self.toil_runner),
            *_BASE_ARGUMENTS,
            *container_arguments(engine),
            "--jobStore",
            f"file:{job_store}",
            "--batchSystem",
            self.batch_system,
            "--outdir",
            str(output_dir),
            "--writeLogs",
            str(job_log_dir),
            "--writeLogsFromAllJobs",
            "true",
        ]
        if self.local:
            # Scratch space inside the task: private, and removed with it.
            tmp_prefix = str(tmp_dir) + os.sep
            argv += [
                "--workDir",
                str(tmp_dir),
                "--coordinationDir",
                str(tmp_dir),
                "--tmpdir-prefix",
                tmp_prefix,
                "--tmp-outdir-prefix",
                tmp_prefix,
            ]
        if restart:
            argv.append("--restart")
            logger.info("task %s: restarting Toil from its job store", spec.task_id)
        argv += [*self.extra_arguments, str(document_path), str(job_path)]
        writable = [output_dir, tmp_dir, job_log_dir, store_home]
        for name in LOG_NAMES:
            log_paths[name].touch()
        request = {
            "work_dir": str(work_dir),
            "argv": argv,
            "env": self._environment(work_dir),
            "job_store": str(job_store),
            "logs": {name: str(path) for name, path in log_paths.items()},
            "nice": self.nice,
            "sandbox": self.sandbox.task_config(work_dir, writable, stager.linked),
        }
        if request["sandbox"]:
            request["sandbox"]["env"] = request["env"]
        (work_dir / "request.json").write_text(json.dumps(request), encoding="utf-8")
        try:
            self.sandbox.grant(work_dir, writable, stager.linked)
            if self.sandbox.enabled and self.sandbox.uid is not None:
                # The leader writes its log and output object as the task's user.
                for name in ("toil.log", "cwl.output.json"):
                    os.chown(log_paths[name], self.sandbox.uid, self.sandbox.gid or -1)
        except OSError as exc:
            raise ExecutionError(f"Could not prepare the task's sandbox: {exc.strerror or exc}.")
        prepared = PreparedRun(
            spec=spec,
            work_dir=work_dir,
            document_path=document_path,
            job_path=job_path,
            output_dir=output_dir,
            log_paths=log_paths,
            input_paths=dict(stager.linked),
        )
        self._logs.get(prepared)
        return prepared

    # --- run / abort ---------------------------------------------------------------------------
    def run(self, prepared: PreparedRun) -> RunningTask:
        request_path = prepared.work_dir / "request.json"
        with open(prepared.log_paths["toil.log"], "ab") as early_errors:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sevenbridges_local.execution.toil_runner",
                    str(request_path),
                ],
                stdin=subprocess.PIPE,  # the lifeline: kept open while we want the task alive
                stdout=subprocess.DEVNULL,
                stderr=early_errors,  # until the runner points fd 2 at the log itself
                start_new_session=True,
                cwd=prepared.work_dir,
                env=task_process_environment(),
            )
        job_store = self.job_store_dir(prepared.spec.task_id) / JOB_STORE_NAME
        return _ToilTask(process, job_store)

    def abort(self, running: RunningTask) -> None:
        group = running.process_group
        if group is not None and _signal_group(group, signal.SIGTERM):
            if running.wait(ABORT_GRACE_SECONDS) is None:
                _signal_group(group, signal.SIGKILL)
                running.wait(5.0)
        if isinstance(running, _ToilTask):
            # Workers run in sessions of their own; a leader killed hard leaves them behind.
            kill_workers(str(running.job_store))

    # --- progress / collect --------------------------------------------------------------------
    def progress(self, prepared: PreparedRun) -> Progress:
        log = self._logs.get(prepared)
        log.poll()
        return Progress(steps_completed=len(log.completed_steps), jobs=log.job_list())

    def collect(self, prepared: PreparedRun, exit_code: int) -> RunResult:
        log = self._logs.take(prepared)
        log.poll(final=True)
        job_log_dir = prepared.work_dir / "joblogs"
        commands = _command_lines(job_log_dir)
        jobs = log.job_list()
        by_name = {
            job_display_name(raw, prepared.spec.document_name): command
            for raw, command in commands.items()
        }
        for job in jobs:
            job.command_line = by_name.get(job.name)
            if job.status == JOB_RUNNING:  # the run stopped while this job was going
                job.status = JOB_ABORTED if exit_code < 0 else JOB_FAILED
                job.end_time = job.end_time or datetime.now(timezone.utc)
        # The tools' uncaptured output, as one log like cwltool's job.err.log.
        with open(prepared.log_paths["job.err.log"], "w", encoding="utf-8") as combined:
            for path in _tool_output_files(job_log_dir):
                combined.write(_read_text(path))
        outputs: dict[str, Any] = {}
        succeeded = exit_code == 0
        if succeeded:
            try:
                text = prepared.log_paths["cwl.output.json"].read_text("utf-8")
                loaded = json.loads(text)
                outputs = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError) as exc:
                succeeded = False
                log.problems.append(f"Toil's output object could not be read: {exc}")
        steps = len(log.completed_steps)
        if succeeded:
            steps = len(prepared.spec.step_names) or 1
        logs = {
            name: path
            for name, path in prepared.log_paths.items()
            if path.exists() and path.stat().st_size > 0
        }
        message = "" if succeeded else self._failure_message(prepared, log, exit_code)
        # Nothing more to read from the job store; a restart needs it only after a stop.
        self.remove_job_store(prepared.spec.task_id)
        return RunResult(
            succeeded=succeeded,
            exit_code=exit_code,
            outputs=outputs,
            logs=logs,
            jobs=jobs,
            steps_completed=steps,
            message=message,
            output_dir=prepared.output_dir,
            input_paths=frozenset(prepared.input_paths),
        )

    def _failure_message(self, prepared: PreparedRun, log: _ToilLog, exit_code: int) -> str:
        if exit_code < 0:
            return f"The task process was killed (signal {-exit_code})."
        failed = [job.name for job in log.job_list() if job.status == JOB_FAILED]
        parts = []
        if failed:
            parts.append(f"Job {', '.join(failed)} failed.")
        stderr_tail = _tail(
            _read_text(prepared.log_paths["job.err.log"]), MESSAGE_TAIL_LINES, MESSAGE_MAX_CHARS
        )
        if stderr_tail:
            parts.append(stderr_tail)
        elif log.problems:
            # No tool said anything: Toil's own account (an invalid document, a missing input).
            parts.append(log.problems[-1][:MESSAGE_MAX_CHARS])
        detail = "\n".join(parts) or f"toil-cwl-runner exited with code {exit_code}."
        return relative_to_task(
            detail[-MESSAGE_MAX_CHARS * 2 :], prepared, self.sandbox.hidden_paths
        )

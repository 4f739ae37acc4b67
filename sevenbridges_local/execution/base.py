"""The executor interface: how the platform runs one task, whatever the engine.

The task service decides *what* runs (a CWL document, a job order whose files are platform file
ids, where things go); an :class:`Executor` decides *how*. The task pool drives it in four steps:

``prepare(spec)``
    Make a private work area for the task: write the document and the job order, and make every
    input file reachable under its original name (stage it) without copying where possible.
``run(prepared)``
    Start the engine for the task and return at once with a :class:`RunningTask` handle that can
    be polled (``wait``) and read for progress (``progress``). The engine runs outside the
    server process, so the server stays responsive and a crash of a tool cannot take it down.
``abort(running)``
    Stop everything the task started (the whole process tree), gently first.
``collect(prepared, exit_code)``
    Read the results once the engine has stopped: the CWL output object (paths on this
    machine), the log files and one :class:`JobRecord` per tool or workflow step.

``CwltoolExecutor`` (``cwltool_executor.py``) is the one that ships: the CWL reference runner on
this machine, one process (group) per task. The same interface fits **Toil**
(``toil-cwl-runner``), the path to Slurm, LSF, Kubernetes, AWS Batch and other clusters when one
machine is not enough. A ``ToilExecutor`` would map the steps like this:

* ``prepare``: a job store (``file:`` directory on shared storage, or ``aws:``/``google:``) per
  task; inputs staged on the shared file system or given as ``s3://`` URLs from the blob store.
* ``run``: ``toil-cwl-runner --jobStore <store> --batchSystem slurm|kubernetes|aws_batch
  --outdir <out> --writeLogs <logs> document.cwl job.json`` as its own process group; the
  leader process is what ``wait`` watches.
* ``abort``: SIGTERM to the leader's group, then ``toil kill <store>`` for jobs already handed to
  the cluster's scheduler.
* ``collect``: the output object Toil prints (the same CWL output object cwltool prints), the
  per-job logs of ``--writeLogs``, and ``toil stats`` for job timings.
* ``progress``: Toil's leader log carries the same ``[step ...]`` / job completion lines.

Choosing the executor is a setting (``Settings.executor``): ``cwltool`` (the default) or ``toil``
(``toil_executor.py``, which follows the mapping above).
"""

from __future__ import annotations

import abc
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

logger = logging.getLogger(__name__)

# Job statuses as the platform reports them in execution details.
JOB_RUNNING = "RUNNING"
JOB_COMPLETED = "COMPLETED"
JOB_FAILED = "FAILED"
JOB_ABORTED = "ABORTED"
# What ``RunningTask.wait`` returns when the run ended but nobody could say how (its parent
# process, e.g. the fork server, died first); negative codes are the signals that ended it.
EXIT_UNKNOWN = -255


# Task processes run this much nicer than the server (see namespaces.lower_priority): on a
# machine shared with the API, requests stay quick while tasks use what CPU is left.
DEFAULT_TASK_NICE = 10


@dataclass
class InputFile:
    """A platform file (or folder) that a task reads, as the executor must stage it."""

    file_id: str
    name: str
    # Blob key of a file's content; None for folders.
    blob_key: str | None = None
    is_folder: bool = False
    # A folder's content, recursively.
    children: list[InputFile] = field(default_factory=list)
    # Files found next to it that match the input's secondaryFiles patterns.
    secondary: list[InputFile] = field(default_factory=list)
    # A volume alias (no blob): writes the content to the open file it is given, from the
    # volume's bucket. Its failures carry a message meant for the task's user.
    fetch: Callable[[BinaryIO], int] | None = field(default=None, repr=False)


@dataclass
class TaskSpec:
    """Everything an executor needs to run one task; no database access is required."""

    task_id: str
    # The CWL process (a self-contained document) and a short name for its file and its jobs.
    document: dict[str, Any]
    document_name: str
    # The job order: input id -> value, where files are ``{"class": "File", "path": file_id}``
    # (or ``Directory``) exactly as the task's inputs hold them.
    job_order: dict[str, Any]
    # Every file or folder named in the job order, by platform id.
    files: dict[str, InputFile]
    # Top-level workflow step ids (empty for a single tool): what "steps completed" counts.
    step_names: list[str] = field(default_factory=list)
    # None: no containers; otherwise "docker", "podman" or "singularity".
    container_engine: str | None = None
    # Local ontology files for the document's ``$schemas`` (from the operator's folder), in
    # order; the executor puts copies next to the document and points ``$schemas`` at them.
    schemas: list[Path] = field(default_factory=list)


@dataclass
class PreparedRun:
    """A task's private work area, ready to start."""

    spec: TaskSpec
    work_dir: Path
    document_path: Path
    job_path: Path
    output_dir: Path
    # Log name -> path, e.g. "cwltool.log", "job.err.log".
    log_paths: dict[str, Path]
    # Host paths of the input files' content (an output may pass one through), each with the
    # path relative to the work dir that the task knows it by.
    input_paths: dict[Path, str] = field(default_factory=dict)


@dataclass
class JobRecord:
    """One tool invocation (a job) of a task, for the execution details."""

    name: str
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    command_line: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "command_line": self.command_line,
        }


@dataclass
class Progress:
    """What a running task has done so far."""

    steps_completed: int
    jobs: list[JobRecord]


@dataclass
class RunResult:
    """The outcome of a finished run."""

    succeeded: bool
    exit_code: int
    # The CWL output object with paths on this machine (empty when the run failed).
    outputs: dict[str, Any]
    # Non-empty log files: name -> path.
    logs: dict[str, Path]
    jobs: list[JobRecord]
    steps_completed: int
    # Why the run failed (tail of the tools' stderr or cwltool's error); empty on success.
    message: str = ""
    # Where the outputs live; paths in ``outputs`` outside it are not imported, except the
    # task's own input files (``input_paths``) passed through as outputs.
    output_dir: Path | None = None
    input_paths: frozenset[Path] = frozenset()


class RunningTask(abc.ABC):
    """Handle on a started run."""

    @property
    @abc.abstractmethod
    def process_group(self) -> int | None:
        """The process group holding everything the run started (None when unknown)."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the run has stopped; None if still running after ``timeout``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the handle holds (sockets, pipes); the run must have stopped."""

    def send_signal(self, signum: int) -> bool:
        """Signal the run's whole process group; False when it has ended. Handles that can
        tell whether the group is still theirs override this (a pid that ended may be reused)."""
        group = self.process_group
        if group is None:
            return False
        try:
            os.killpg(group, signum)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            logger.warning("not allowed to signal process group %s", group)
            return False


class Executor(abc.ABC):
    """Runs tasks; one instance serves every worker thread of the task pool (thread-safe)."""

    name: str = "abstract"

    def start(self) -> None:
        """Get ready to run tasks (warm-up); called once when the platform starts."""
        logger.debug("%s executor started", self.name)

    def stop(self) -> None:
        """Release shared resources; running tasks must have been aborted before."""
        logger.debug("%s executor stopped", self.name)

    def forget(self, task_id: str) -> None:
        """The task ended without a run to collect (recovery failed or aborted it): drop what
        this executor keeps for it from one run to the next (Toil: its job store)."""
        logger.debug("%s executor: nothing kept for task %s", self.name, task_id)

    @abc.abstractmethod
    def prepare(self, spec: TaskSpec, work_dir: Path) -> PreparedRun: ...

    @abc.abstractmethod
    def run(self, prepared: PreparedRun) -> RunningTask: ...

    @abc.abstractmethod
    def abort(self, running: RunningTask) -> None: ...

    @abc.abstractmethod
    def progress(self, prepared: PreparedRun) -> Progress: ...

    @abc.abstractmethod
    def collect(self, prepared: PreparedRun, exit_code: int) -> RunResult: ...


LogReader = TypeVar("LogReader")


class TaskLogReaders(Generic[LogReader]):
    """One log reader per task an executor runs: made on first use (a run prepared before a
    restart has none yet), shared by ``progress`` and dropped by ``collect``; thread-safe."""

    def __init__(self, make: Callable[[PreparedRun], LogReader]) -> None:
        self._make = make
        self._readers: dict[str, LogReader] = {}
        self._lock = threading.Lock()

    def get(self, prepared: PreparedRun) -> LogReader:
        with self._lock:
            reader = self._readers.get(prepared.spec.task_id)
            if reader is None:
                reader = self._readers[prepared.spec.task_id] = self._make(prepared)
            return reader

    def take(self, prepared: PreparedRun) -> LogReader:
        """The task's reader, forgotten: its run is being collected."""
        reader = self.get(prepared)
        with self._lock:
            self._readers.pop(prepared.spec.task_id, None)
        return reader


class ExecutionError(Exception):
    """The executor could not prepare or start a task; the message is shown to the user."""

"""Runs tasks with cwltool, the CWL reference runner, on this machine.

Each task gets a work directory (under the platform's data directory)::

    <task work dir>/
      <app>.cwl            the app's document (JSON)
      job.json             the job order, with staged paths
      request.json         what the runner needs: cwltool's arguments and the log paths
      inputs/<file id>/    each input file as a symlink to its blob, under its original name
      tmp/                 cwltool's temporary and intermediate directories
      out/                 final outputs (cwltool moves them here)
      cwltool.log, job.err.log, job.out.log, outputs.json

and its own process in its own session, so one signal to the process group reaches cwltool and
every tool it started. Processes come from a warm fork server when the OS allows (see
``forkserver.py``; a few milliseconds per task instead of a second or more to start cwltool),
otherwise from a fresh interpreter (``python -m sevenbridges_local.execution.runner``).

No containers by default (``--no-container``): tools run directly on this machine. With
``container_engine`` set to ``docker``, ``podman`` or ``singularity`` (``sbg local serve
--container-engine``, setting ``SBG_LOCAL_CONTAINER_ENGINE``), apps with a DockerRequirement run
in containers of that engine. ``containers.py`` checks before a task starts that its app can
run with what is configured.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sevenbridges_local import json_numbers
from sevenbridges_local.execution.base import (
    DEFAULT_TASK_NICE,
    EXIT_UNKNOWN,
    JOB_ABORTED,
    JOB_FAILED,
    JOB_RUNNING,
    ExecutionError,
    Executor,
    InputFile,
    PreparedRun,
    Progress,
    RunningTask,
    RunResult,
    TaskLogReaders,
    TaskSpec,
)
from sevenbridges_local.execution.containers import (
    CONTAINER_ENGINES,
    container_problem,
    hinted_images,
)
from sevenbridges_local.execution.cwl_log import CwlLogReader
from sevenbridges_local.execution.documents import write_document
from sevenbridges_local.execution.failures import failure_message
from sevenbridges_local.execution.resources import resource_limits, task_limits_config
from sevenbridges_local.execution.sandbox import SandboxPolicy
from sevenbridges_local.storage import BlobStore

logger = logging.getLogger(__name__)

LOG_NAMES = ("cwltool.log", "job.err.log", "job.out.log")
# Seconds between SIGTERM and SIGKILL when a task is aborted.
ABORT_GRACE_SECONDS = 3.0
FORK_SERVER_START_TIMEOUT = 120.0
# How much of the tools' stderr explains a failure.
MESSAGE_TAIL_LINES = 8
MESSAGE_MAX_CHARS = 1500
COPY_CHUNK = 1024 * 1024

_INHERITED_VARIABLES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "HOME", "TMPDIR", "USER"})
# Arguments for every run: our own paths, no network fetches of schemas, no jshint (a Node
# start per expression), no SHA-1 of every output (we hash nothing we do not show).
_BASE_ARGUMENTS = (
    "--skip-schemas",
    "--disable-js-validation",
    "--no-compute-checksum",
    "--relax-path-checks",
    "--disable-color",
)


def task_process_environment() -> dict[str, str]:
    """The environment task processes start with: the server's may hold credentials (tokens,
    cloud keys) that no task should inherit, so only locale, time zone, PATH and Python's own
    variables are passed on."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in _INHERITED_VARIABLES or name.startswith(("LC_", "PYTHON"))
    }


def container_arguments(engine: str | None) -> list[str]:
    if engine is None or engine == "" or engine == "none":
        return ["--no-container"]
    if engine == "docker":
        return []  # cwltool's default engine
    if engine == "podman":
        return ["--podman"]
    if engine == "singularity":
        return ["--singularity"]
    raise ExecutionError(
        f"Unknown container engine {engine!r}; use one of {', '.join(CONTAINER_ENGINES)}."
    )


# ---------------------------------------------------------------------------------------------
# Staging inputs


class _Stager:
    """Makes input files reachable under their names, linking blobs rather than copying them."""

    def __init__(self, store: BlobStore, inputs_dir: Path) -> None:
        self.store = store
        self.inputs_dir = inputs_dir
        self.staged: dict[str, Path] = {}
        # Blob files the staged symlinks point at (the sandbox shows the task these, read-only),
        # with the staged path the task knows each by.
        self.linked: dict[Path, str] = {}

    def _place(self, item: InputFile, target: Path) -> None:
        if item.is_folder:
            target.mkdir(parents=True, exist_ok=True)
            for child in item.children:
                self._place(child, target / child.name)
            return
        if item.blob_key is None and item.fetch is not None:
            # A volume alias: staged from its bucket before the sandbox starts.
            try:
                with open(target, "wb") as out:
                    item.fetch(out)
            except Exception as exc:
                target.unlink(missing_ok=True)
                reason = getattr(exc, "message", None) or str(exc)
                raise ExecutionError(
                    f"File '{item.name}' ({item.file_id}) could not be read from its volume: "
                    f"{reason}"
                )
            return
        if item.blob_key is None:
            raise ExecutionError(f"File '{item.name}' ({item.file_id}) has no content.")
        source = self.store.local_path(item.blob_key)
        if source is not None and source.exists():
            target.symlink_to(source)
            self.linked.setdefault(source, os.path.relpath(target, self.inputs_dir.parent))
            return
        if source is not None:
            raise ExecutionError(f"The content of file '{item.name}' ({item.file_id}) is missing.")
        # A store without local paths (S3): the content has to be fetched.
        with self.store.open(item.blob_key) as data, open(target, "wb") as out:
            shutil.copyfileobj(data, out, COPY_CHUNK)

    def stage(self, item: InputFile) -> Path:
        known = self.staged.get(item.file_id)
        if known is not None:
            return known
        home = self.inputs_dir / item.file_id
        home.mkdir(parents=True, exist_ok=True)
        path = home / item.name
        self._place(item, path)
        # Secondary files sit next to their primary file, where tools look for them.
        for extra in item.secondary:
            extra_path = home / extra.name
            if not extra_path.exists() and not extra_path.is_symlink():
                self._place(extra, extra_path)
            self.staged.setdefault(extra.file_id, extra_path)
        self.staged[item.file_id] = path
        return path


def file_location(path: Path) -> str:
    """A percent-encoded ``file://`` URI of ``path``: cwltool reads a bare ``path`` as a URI
    reference, so a name holding ``#``, ``?`` or ``%`` would lose its end or change."""
    return path.absolute().as_uri()


def _is_file_object(value: Any) -> bool:
    return isinstance(value, dict) and str(value.get("class", "")).lower() in ("file", "directory")


# CWL fields of a job's file object that pass through staging unchanged.
_CARRIED_KEYS = ("format", "contents", "checksum")


def _staged_job_order(value: Any, files: dict[str, InputFile], stager: _Stager) -> Any:
    if _is_file_object(value) and not value.get("path"):
        # A literal: cwltool creates it; platform files it lists are staged.
        literal = {key: item for key, item in value.items() if key not in ("listing", "path")}
        if "listing" in value:
            literal["listing"] = _staged_job_order(value["listing"], files, stager)
        if "secondaryFiles" in value:
            literal["secondaryFiles"] = _staged_job_order(value["secondaryFiles"], files, stager)
        return literal
    if _is_file_object(value):
        file_id = str(value.get("path"))
        item = files.get(file_id)
        if item is None:
            raise ExecutionError(f"Input file {file_id} was not resolved.")
        staged: dict[str, Any] = {
            "class": "Directory" if item.is_folder else "File",
            "location": file_location(stager.stage(item)),
        }
        if isinstance(value.get("metadata"), dict):
            # Platform metadata a draft-2 app's expressions read (services/draft2_tasks.py).
            staged["metadata"] = value["metadata"]
        for key in _CARRIED_KEYS:  # not basename: the staged name is the platform file's
            if value.get(key) is not None:
                staged[key] = value[key]
        given = [extra for extra in value.get("secondaryFiles") or [] if _is_file_object(extra)]
        # An explicit secondary file may be renamed (``basename``): cwltool stages it so.
        renamed = {
            str(extra["path"]): extra["basename"]
            for extra in given
            if extra.get("path") and isinstance(extra.get("basename"), str)
        }
        extras = []
        for extra in item.secondary:
            entry = {
                "class": "Directory" if extra.is_folder else "File",
                "location": file_location(stager.staged[extra.file_id]),
            }
            if extra.file_id in renamed:
                entry["basename"] = renamed[extra.file_id]
            extras.append(entry)
        literals = [extra for extra in given if not extra.get("path")]
        extras += _staged_job_order(literals, files, stager)
        if extras:
            staged["secondaryFiles"] = extras
        return staged
    if isinstance(value, list):
        return [_staged_job_order(item, files, stager) for item in value]
    if isinstance(value, dict):
        return {key: _staged_job_order(item, files, stager) for key, item in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# Running handles


class _ForkedTask(RunningTask):
    """A task process forked by the fork server; its channel says when and how it ends.

    The child writes ``exit N`` (cwltool's exit code) before it ends; the fork server, its
    parent, writes ``status W`` (the wait status) once it has reaped it and only then closes
    its copy of the channel, so when the channel ends both lines that could come have come.
    """

    def __init__(
        self, pid: int, channel: socket.socket, buffered: bytes, server: _ForkServer | None = None
    ) -> None:
        self.pid = pid
        self._channel = channel
        self._buffer = buffered
        self._server = server
        self._generation = server.generation if server is not None else -1
        self._exit_code: int | None = None
        self._wait_status: int | None = None
        self._ended = False
        # A quick task may have reported its exit already, together with its pid.
        self._consume()

    @property
    def process_group(self) -> int | None:
        return self.pid

    def _consume(self) -> None:
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            word, _, value = line.partition(b" ")
            try:
                number = int(value)
            except ValueError:
                continue
            if word == b"exit":
                self._exit_code = number
            elif word == b"status":
                self._wait_status = number

    def _read(self, timeout: float | None) -> bool:
        """Read what is there; False when nothing came within ``timeout``."""
        # poll, not select: a busy server's descriptors may go beyond select's 1024.
        poller = select.poll()
        poller.register(self._channel, select.POLLIN)
        if not poller.poll(None if timeout is None else int(timeout * 1000)):
            return False
        try:
            chunk = self._channel.recv(4096)
        except (BlockingIOError, InterruptedError):
            return True  # nothing after all; look again
        except OSError:
            chunk = b""
        if chunk:
            self._buffer += chunk
            self._consume()
        else:
            self._ended = True
        return True

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ended:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self._read(remaining) and remaining is not None:
                return None
        if self._exit_code is not None:
            return self._exit_code  # the child's own report: cwltool finished
        if self._wait_status is not None:
            return os.waitstatus_to_exitcode(self._wait_status)
        return EXIT_UNKNOWN

    def send_signal(self, signum: int) -> bool:
        if self._ended:
            return False
        if self._server is not None and self._server.signal_child(
            self.pid, self._generation, signum
        ):
            return True
        # The fork server that started it is gone: signal directly while the channel is open
        # (the process has not ended, so its pid is still its own).
        return _signal_group(self.pid, signum)

    def close(self) -> None:
        self._channel.close()


class _SubprocessTask(RunningTask):
    """A task process started as a fresh interpreter (no fork server)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @property
    def process_group(self) -> int | None:
        return self._process.pid

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> bool:
        # Until Popen has reaped it, the pid (and so the group) cannot belong to anyone else.
        if self._process.poll() is not None:
            return False
        return _signal_group(self._process.pid, signum)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()


class _ForkServer:
    """The warm fork server subprocess and its control socket (restarted if it dies)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._ready = False
        # Which fork server a task came from: only that one can signal it.
        self.generation = 0

    def ensure_started(self) -> None:
        """Start the fork server (without waiting for it to be warm) unless it runs."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start_locked()

    def _start_locked(self) -> None:
        if self._control is not None:  # left over from a fork server that died
            self._control.close()
            self._control = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sevenbridges_local.execution.forkserver",
                    str(theirs.fileno()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                env=task_process_environment(),
            )
        finally:
            theirs.close()
        self._control = ours
        self._ready = False
        self.generation += 1

    def _await_ready(self) -> socket.socket:
        assert self._control is not None
        if not self._ready:
            self._control.settimeout(FORK_SERVER_START_TIMEOUT)
            try:
                greeting = self._control.recv(64)
            finally:
                self._control.settimeout(None)
            if greeting != b"ready":
                raise ExecutionError("The cwltool fork server did not start.")
            self._ready = True
            logger.info(
                "cwltool fork server ready (pid %s)", self._process.pid if self._process else "?"
            )
        return self._control

    def spawn(self, request_path: Path) -> _ForkedTask:
        message = json.dumps({"request": str(request_path)}).encode()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                for attempt in (1, 2):
                    if self._process is None or self._process.poll() is not None:
                        if self._process is not None:
                            logger.warning("cwltool fork server exited; starting a new one")
                        self._start_locked()
                    try:
                        control = self._await_ready()
                        socket.send_fds(control, [message], [theirs.fileno()])
                        break
                    except (OSError, ExecutionError):
                        if attempt == 2:
                            raise
                        self._stop_locked()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        try:
            pid, rest = self._introduction(ours)
        except BaseException:
            ours.close()
            raise
        return _ForkedTask(pid, ours, rest, self)

    def signal_child(self, pid: int, generation: int, signum: int) -> bool:
        """Ask the fork server to signal its child ``pid``'s group (it does only while it has
        not reaped it); False when that fork server is gone."""
        message = json.dumps({"signal": int(signum), "pid": int(pid)}).encode()
        with self._lock:
            if generation != self.generation or self._control is None or not self._ready:
                return False
            try:
                self._control.send(message)
            except OSError:
                return False
        return True

    @staticmethod
    def _introduction(channel: socket.socket) -> tuple[int, bytes]:
        """The child's first line, ``pid N``; returns N and whatever followed it."""
        buffered = b""
        channel.settimeout(FORK_SERVER_START_TIMEOUT)
        try:
            while b"\n" not in buffered:
                chunk = channel.recv(4096)
                if not chunk:
                    raise ExecutionError("The task process ended before it started.")
                buffered += chunk
        except TimeoutError:
            raise ExecutionError("The task process did not start in time.")
        finally:
            channel.settimeout(None)
        line, rest = buffered.split(b"\n", 1)
        if not line.startswith(b"pid ") or not line[4:].isdigit():
            raise ExecutionError("The task process did not start properly.")
        return int(line[4:]), rest

    def _stop_locked(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()


# ---------------------------------------------------------------------------------------------
# The executor


def _signal_group(group: int, signum: int) -> bool:
    """False when the group no longer exists."""
    try:
        os.killpg(group, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("not allowed to signal process group %s", group)
        return False


def _tail(path: Path, lines: int, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - 64 * 1024, 0))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    joined = "\n".join(kept)
    return joined[-limit:]


class CwltoolExecutor(Executor):
    """cwltool in one process group per task (see the module docstring)."""

    name = "cwltool"

    def __init__(
        self,
        store: BlobStore,
        *,
        container_engine: str | None = None,
        use_fork_server: bool | None = None,
        sandbox: SandboxPolicy | None = None,
        nice: int = DEFAULT_TASK_NICE,
    ) -> None:
        self.store = store
        self.nice = nice
        self.container_engine = container_engine or None
        self.sandbox = sandbox or SandboxPolicy(problem="no sandbox configured")
        container_arguments(self.container_engine)  # refuse an unknown engine early
        if use_fork_server is None:
            use_fork_server = os.name == "posix" and hasattr(socket, "SOCK_SEQPACKET")
        self.use_fork_server = use_fork_server
        self._fork_server = _ForkServer() if use_fork_server else None
        self._readers: TaskLogReaders[CwlLogReader] = TaskLogReaders(
            lambda prepared: CwlLogReader(
                prepared.log_paths["cwltool.log"], prepared.spec.step_names
            )
        )

    def __repr__(self) -> str:
        mode = "fork server" if self.use_fork_server else "subprocess"
        isolation = "sandboxed" if self.sandbox.enabled else "not isolated"
        return (
            f"<CwltoolExecutor {mode}, {isolation}, containers: {self.container_engine or 'none'}>"
        )

    # --- lifecycle -----------------------------------------------------------------------------
    # The fork server starts with the first task rather than with the platform: a platform that
    # never runs a task (most test platforms, quick CLI use) never pays for the warm-up.

    def stop(self) -> None:
        if self._fork_server is not None:
            self._fork_server.stop()

    # --- prepare -------------------------------------------------------------------------------
    def prepare(self, spec: TaskSpec, work_dir: Path) -> PreparedRun:
        engine = (
            spec.container_engine if spec.container_engine is not None else self.container_engine
        )
        problem = container_problem(spec.document, engine)
        if problem is not None:
            raise ExecutionError(problem)
        if self._fork_server is not None:
            self._fork_server.ensure_started()  # warms up while the inputs are staged
        if work_dir.exists():
            shutil.rmtree(work_dir)  # leftovers of an interrupted earlier attempt
        (work_dir / "tmp").mkdir(parents=True)
        output_dir = work_dir / "out"
        stager = _Stager(self.store, work_dir / "inputs")
        try:
            job_order = _staged_job_order(spec.job_order, spec.files, stager)
        except OSError as exc:
            where = f" ('{Path(exc.filename).name}')" if exc.filename else ""
            raise ExecutionError(f"Could not stage the input files{where}: {exc.strerror or exc}.")
        try:
            document_path = write_document(spec, work_dir)
        except OSError as exc:
            raise ExecutionError(f"Could not write the app's document: {exc.strerror or exc}.")
        job_path = work_dir / "job.json"
        job_path.write_text(json_numbers.dumps(job_order, ensure_ascii=False), encoding="utf-8")
        log_paths = {name: work_dir / name for name in LOG_NAMES}
        tmp_prefix = str(work_dir / "tmp") + os.sep
        argv = [
            # With ontologies, cwltool loads them (local copies) to check formats.
            *(arg for arg in _BASE_ARGUMENTS if not (spec.schemas and arg == "--skip-schemas")),
            *container_arguments(engine),
            "--outdir",
            str(output_dir),
            "--tmpdir-prefix",
            tmp_prefix,
            "--tmp-outdir-prefix",
            tmp_prefix,
            str(document_path),
            str(job_path),
        ]
        output_dir.mkdir()
        writable = [output_dir, work_dir / "tmp"]
        request = {
            "work_dir": str(work_dir),
            "argv": argv,
            "logs": {name: str(path) for name, path in log_paths.items()},
            "outputs_path": str(work_dir / "outputs.json"),
            "nice": self.nice,
            "sandbox": self.sandbox.task_config(work_dir, writable, stager.linked),
            "limits": task_limits_config(
                resource_limits(spec.document), containers=engine not in (None, "", "none")
            ),
        }
        (work_dir / "request.json").write_text(json.dumps(request), encoding="utf-8")
        try:
            self.sandbox.grant(work_dir, writable, stager.linked)
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
        self._readers.get(prepared)
        return prepared

    # --- run / abort ---------------------------------------------------------------------------
    def run(self, prepared: PreparedRun) -> RunningTask:
        request_path = prepared.work_dir / "request.json"
        if self._fork_server is not None:
            return self._fork_server.spawn(request_path)
        with open(prepared.log_paths["job.err.log"], "ab") as early_errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "sevenbridges_local.execution.runner", str(request_path)],
                stdin=subprocess.PIPE,  # kept open while we want the task alive
                stdout=subprocess.DEVNULL,
                stderr=early_errors,  # until the runner points fd 2 there itself
                start_new_session=True,
                cwd=prepared.work_dir,
                env=task_process_environment(),
            )
        return _SubprocessTask(process)

    def abort(self, running: RunningTask) -> None:
        if not running.send_signal(signal.SIGTERM):
            return
        if running.wait(ABORT_GRACE_SECONDS) is None:
            running.send_signal(signal.SIGKILL)

    # --- progress / collect --------------------------------------------------------------------
    def progress(self, prepared: PreparedRun) -> Progress:
        reader = self._readers.get(prepared)
        reader.poll()
        return Progress(steps_completed=len(reader.completed_steps), jobs=reader.job_list())

    def collect(self, prepared: PreparedRun, exit_code: int) -> RunResult:
        reader = self._readers.take(prepared)
        reader.poll(final=True)
        outputs: dict[str, Any] = {}
        succeeded = exit_code == 0
        if succeeded:
            try:
                loaded = json.loads((prepared.work_dir / "outputs.json").read_text("utf-8"))
                outputs = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError) as exc:
                succeeded = False
                reader.problems.append(f"cwltool's output object could not be read: {exc}")
        jobs = reader.job_list()
        for job in jobs:
            if job.status == JOB_RUNNING:  # the run stopped while this job was going
                job.status = JOB_ABORTED if exit_code < 0 else JOB_FAILED
        steps = len(reader.completed_steps)
        if succeeded and not prepared.spec.step_names:
            steps = 1
        logs = {
            name: path
            for name, path in prepared.log_paths.items()
            if path.exists() and path.stat().st_size > 0
        }
        message = (
            ""
            if succeeded
            else self._failure_message(prepared, reader, exit_code, self.sandbox.hidden_paths)
        )
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

    def _failure_message(
        self,
        prepared: PreparedRun,
        reader: CwlLogReader,
        exit_code: int,
        hidden_paths: Iterable[str],
    ) -> str:
        engine = prepared.spec.container_engine
        if engine is None:
            engine = self.container_engine
        stderr_tail = _tail(
            prepared.log_paths["job.err.log"], MESSAGE_TAIL_LINES, MESSAGE_MAX_CHARS
        )
        message = failure_message(
            exit_code,
            reader.problems,
            stderr_tail,
            limits=resource_limits(prepared.spec.document),
            hinted_images=hinted_images(prepared.spec.document),
            engine=engine,
        )
        return relative_to_task(message, prepared, hidden_paths)


def relative_to_task(text: str, prepared: PreparedRun, hidden_paths: Iterable[str] = ()) -> str:
    """``text`` with the platform's own paths replaced: users see paths inside their task
    (``out/x.txt``, ``inputs/<file id>/reads.fq``), never where the server keeps its data."""
    work_dir = str(prepared.work_dir)
    text = text.replace(work_dir + os.sep, "").replace(work_dir, ".")
    for source, staged in prepared.input_paths.items():  # a blob: name it as it was staged
        text = text.replace(str(source), staged)
    for hidden in hidden_paths:
        text = text.replace(hidden, "<platform data>")
    return text


def remove_work_dir(work_dir: Path) -> None:
    """Delete a task's work directory; symlinked inputs are removed, never their targets."""
    try:
        shutil.rmtree(work_dir)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            logger.warning("could not remove task work dir %s: %s", work_dir, exc)

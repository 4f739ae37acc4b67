"""``sbg tasks run|ls|show|watch|logs|outputs|abort``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from sevenbridges.cli.main import (
    EXIT_API_ERROR,
    EXIT_TASK_FAILED,
    EXIT_USAGE,
    CliError,
    state,
)
from sevenbridges.cli.output import (
    emit_list,
    emit_one,
    error_console,
    note,
    output_options,
    print_json,
)
from sevenbridges.cli.progress import Job, print_summary, run_transfers
from sevenbridges.errors import TaskValidationError

TERMINAL = ("COMPLETED", "FAILED", "ABORTED")


def _steps(task: dict[str, Any]) -> str:
    status = task.get("execution_status") or {}
    if status.get("steps_total") is None:
        return ""
    return f"{status.get('steps_completed') or 0}/{status['steps_total']}"


TASK_COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("steps", _steps),
    ("app", "app"),
    ("created", "created_time"),
]
TASK_DETAIL = [
    *TASK_COLUMNS,
    ("project", "project"),
    ("started", "start_time"),
    ("ended", "end_time"),
    ("message", "execution_status.message"),
    ("inputs", "inputs"),
    ("outputs", "outputs"),
    ("errors", "errors"),
]


@click.group()
def tasks() -> None:
    """Run apps and follow their tasks."""


# --------------------------------------------------------------------------- inputs


def _input_types(raw: dict[str, Any]) -> dict[str, Any]:
    inputs = raw.get("inputs") or []
    if isinstance(inputs, dict):
        return {
            key: (value.get("type") if isinstance(value, dict) else value)
            for key, value in inputs.items()
        }
    return {
        str(port.get("id", "")).lstrip("#").split("/")[-1]: port.get("type")
        for port in inputs
        if isinstance(port, dict)
    }


def _mentions(kind: Any, name: str) -> bool:
    """Whether a CWL type (string, list, or nested record) mentions ``name``."""
    return name in json.dumps(kind) if kind is not None else False


def _load_job_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise CliError(f"{path} is not JSON, and reading YAML needs PyYAML", EXIT_USAGE)
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CliError(f"{path} is neither JSON nor YAML: {exc}", EXIT_USAGE)
    if not isinstance(loaded, dict):
        raise CliError(f"{path} must hold an object of input values", EXIT_USAGE)
    return loaded


def _flag_inputs(assignments: tuple[str, ...], types: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        if not separator or not key:
            raise click.UsageError(f"expected --input NAME=VALUE, got {assignment!r}")
        kind = types.get(key)
        value: Any
        if _mentions(kind, "File"):
            value = {"class": "File", "path": text}
        elif _mentions(kind, "string") and not _mentions(kind, "int"):
            value = text
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        if key in values:  # repeated: an array input
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        elif _mentions(kind, "array") or (isinstance(kind, str) and kind.endswith("[]")):
            values[key] = [value]
        else:
            values[key] = value
    return values


def _file_objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [found for item in value for found in _file_objects(item)]
    if isinstance(value, dict):
        if value.get("class") == "File":
            return [value]
        return [found for item in value.values() for found in _file_objects(item)]
    return []


def _upload_local_files(api: Any, project: str, inputs: dict[str, Any], base: Path) -> None:
    """Upload the local files the inputs name (once each) and point the inputs at them."""
    local: dict[Path, list[dict[str, Any]]] = {}
    for entry in _file_objects(inputs):
        location = str(entry.get("path") or entry.get("location") or "")
        location = location.removeprefix("file://")
        candidate = Path(location) if Path(location).is_absolute() else base / location
        if location and candidate.is_file():
            local.setdefault(candidate.resolve(), []).append(entry)
    if not local:
        return
    jobs = []
    for path in local:
        existing = [
            item
            for item in api.files.query(project=project, names=[path.name]).all()
            if item.name == path.name and item.size == path.stat().st_size
        ]
        job = Job(label=str(path), size=path.stat().st_size, start=lambda: None)
        if existing:
            job.skipped, job.result = "already in the project", existing[0]
        else:
            job.start = lambda path=path: api.files.upload(str(path), project=project, wait=False)
        jobs.append(job)
    summary = run_transfers(jobs, parallel=4, quiet=state().quiet, action="uploading inputs")
    if summary.failed:
        print_summary(summary, "uploaded")
        raise CliError("the task was not created: some inputs could not be uploaded")
    for job in summary.done + summary.skipped:
        for entry in local[Path(job.label)]:
            entry.pop("location", None)
            entry["path"] = job.result.id
            entry["name"] = job.result.name


@tasks.command("run")
@click.option("--project", metavar="PROJECT", required=True, help="Project to run in.")
@click.option("--app", "app_id", metavar="APP", required=True, help="App id (owner/project/app).")
@click.option("--name", help="Task name (default: the app's name and the time).")
@click.option(
    "-i",
    "--input",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input value; a local path or file id for File inputs; repeat for arrays.",
)
@click.option(
    "--inputs",
    "job_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON or YAML file of input values (CWL job style).",
)
@click.option("--draft", is_flag=True, help="Create the task without running it.")
@click.option(
    "--wait", is_flag=True, help="Follow the task until it ends (exit 6 unless it completes)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between status checks with --wait.",
)
@output_options
def run_task(
    project: str,
    app_id: str,
    name: str | None,
    assignments: tuple[str, ...],
    job_file: Path | None,
    draft: bool,
    wait: bool,
    interval: float,
) -> int:
    """Create and run a task; local files among the inputs are uploaded first."""
    current = state()
    api = current.api()
    app = api.apps.get(app_id)
    types = _input_types(app.field("raw") or {})
    inputs = _load_job_file(job_file) if job_file else {}
    inputs.update(_flag_inputs(assignments, types))
    unknown = sorted(set(inputs) - set(types)) if types else []
    if unknown:
        raise CliError(
            f"app {app_id} has no input named {', '.join(unknown)} (inputs: "
            f"{', '.join(sorted(types))})",
            EXIT_USAGE,
        )
    _upload_local_files(api, project, inputs, job_file.parent if job_file else Path.cwd())
    task_name = name or f"{app.name or app_id.split('/')[-1]} {time.strftime('%Y-%m-%d %H:%M:%S')}"
    try:
        task = api.tasks.create(
            name=task_name, project=project, app=app_id, inputs=inputs, run=not draft
        )
    except TaskValidationError as exc:
        raise CliError(f"the task does not validate: {exc} (draft {exc.task.id} kept)")
    note(f"task {task.id} {task.status}")
    if wait and not draft:
        return _watch(api, task.id, interval, current.output)
    emit_one(current.output, task, TASK_DETAIL)
    return 0


# --------------------------------------------------------------------------- following


def _job_table(task: Any, details: Any) -> Table:
    raw = task._data.data
    header = f"{raw.get('name')}  {raw.get('status')}"
    steps = _steps(raw)
    table = Table(
        title=header + (f"  steps {steps}" if steps else ""), title_justify="left", show_edge=False
    )
    table.add_column("job")
    table.add_column("status")
    table.add_column("started")
    table.add_column("ended")
    for job in (details._data.data.get("jobs") or []) if details is not None else []:
        table.add_row(
            str(job.get("name")),
            str(job.get("status")),
            str(job.get("start_time") or ""),
            str(job.get("end_time") or ""),
        )
    return table


def _watch(api: Any, task_id: str, interval: float, output: str) -> int:
    """Follow a task until it ends: a live table on a terminal, one line per change otherwise."""
    task = api.tasks.get(task_id)
    console = error_console()
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    last_line = ""
    try:
        if live is not None:
            live.start()
        while True:
            raw = task._data.data
            if live is not None:
                live.update(_job_table(task, task.get_execution_details()), refresh=True)
            else:
                line = f"{raw.get('status')} steps {_steps(raw)}"
                if line != last_line:
                    console.print(line, highlight=False, markup=False)
                    last_line = line
            if task.status in TERMINAL:
                break
            time.sleep(interval)
            task.reload()
    except KeyboardInterrupt:
        if live is not None:
            live.stop()
        note(f"stopped watching; task {task_id} goes on (sbg tasks watch {task_id})")
        raise
    if live is not None:
        live.stop()
    if output == "json":
        print_json(task)
    else:
        note(f"task {task_id} {task.status}")
    return 0 if task.status == "COMPLETED" else EXIT_TASK_FAILED


@tasks.command("watch")
@click.argument("task_id", metavar="TASK_ID")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between status checks.",
)
@output_options
def watch_task(task_id: str, interval: float) -> int:
    """Follow a task's status and steps until it ends (exit 6 unless it completes)."""
    current = state()
    return _watch(current.api(), task_id, interval, current.output)


# --------------------------------------------------------------------------- ls, show, abort


@tasks.command("ls")
@click.option("--project", metavar="PROJECT", help="Only the tasks of this project.")
@click.option(
    "--status",
    type=click.Choice(
        ["QUEUED", "DRAFT", "RUNNING", "COMPLETED", "ABORTED", "FAILED"], case_sensitive=False
    ),
)
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@output_options
def list_tasks(project: str | None, status: str | None, limit: int | None) -> None:
    """List tasks."""
    current = state()
    found = current.api().tasks.query(
        project=project, status=status.upper() if status else None, limit=min(limit or 100, 100)
    )
    items = []
    for task in found.all():
        items.append(task)
        if limit and len(items) >= limit:
            break
    emit_list(current.output, items, TASK_COLUMNS)


@tasks.command("show")
@click.argument("task_id", metavar="TASK_ID")
@output_options
def show_task(task_id: str) -> None:
    """Show one task."""
    current = state()
    emit_one(current.output, current.api().tasks.get(task_id), TASK_DETAIL)


@tasks.command("abort")
@click.argument("task_id", metavar="TASK_ID")
@output_options
def abort_task(task_id: str) -> None:
    """Abort a queued or running task."""
    current = state()
    task = current.api().tasks.get(task_id)
    task.abort()
    note(f"task {task_id} {task.status}")
    emit_one(current.output, task, TASK_DETAIL)


# --------------------------------------------------------------------------- logs, outputs


@tasks.command("logs")
@click.argument("task_id", metavar="TASK_ID")
@click.option("--job", "job_name", help="Only this job's logs.")
@click.option("--log", "log_name", help="Only this log (e.g. stderr, cwltool.log).")
def task_logs(task_id: str, job_name: str | None, log_name: str | None) -> None:
    """Print the logs of a task's jobs."""
    api = state().api()
    details = api.tasks.get(task_id).get_execution_details()
    printed: set[str] = set()
    shown = 0
    for job in details._data.data.get("jobs") or []:
        if job_name and job.get("name") != job_name:
            continue
        for name, url in sorted((job.get("logs") or {}).items()):
            if (log_name and name != log_name) or url in printed:
                continue
            printed.add(url)
            response = _log_text(api, url)
            error_console().print(f"== {job.get('name')}: {name}", markup=False, highlight=False)
            click.echo(response, nl=not response.endswith("\n"))
            shown += 1
    if not shown:
        note(
            f"task {task_id} has no logs"
            + (" matching the filters" if job_name or log_name else " yet")
        )


def _log_text(api: Any, url: str) -> str:
    """A log's text; execution details name each log by its file's ``download_info`` URL."""
    parts = url.rstrip("/").split("/")
    file_id = parts[-2] if parts[-1] == "download_info" else parts[-1]
    content = api.files.get(file_id).content()
    return content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")


def _output_files(outputs: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, value in (outputs or {}).items():
        found.extend((name, entry) for entry in _file_objects(value) if entry.get("path"))
    return found


@tasks.command("outputs")
@click.argument("task_id", metavar="TASK_ID")
@click.option(
    "--download",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Download the output files into this directory.",
)
@click.option("--overwrite", is_flag=True, help="Replace local files that differ.")
@output_options
def task_outputs(task_id: str, directory: Path | None, overwrite: bool) -> int:
    """Show a task's outputs, or download its output files (--download DIR)."""
    current = state()
    api = current.api()
    task = api.tasks.get(task_id)
    outputs = task._data.data.get("outputs") or {}
    if directory is None:
        if current.output == "json":
            print_json(outputs)
        else:
            rows = []
            for name, value in outputs.items():
                files = _file_objects(value)
                shown = ", ".join(f"{f.get('name') or ''} ({f.get('path')})" for f in files)
                rows.append({"output": name, "value": shown if files else value})
            emit_list(current.output, rows, [("output", "output"), ("value", "value")])
        return 0
    from sevenbridges.cli.files import _download_job

    directory.mkdir(parents=True, exist_ok=True)
    jobs = []
    for _, entry in _output_files(outputs):
        remote = api.files.get(entry["path"])
        jobs.append(_download_job(remote, directory / remote.name, overwrite))
    if not jobs:
        note(f"task {task_id} has no output files")
        return 0
    summary = run_transfers(jobs, parallel=4, quiet=current.quiet, action="downloading")
    if current.output == "json":
        print_json([job.result for job in summary.done + summary.skipped])
    elif not current.quiet:
        print_summary(summary, "downloaded")
    return EXIT_API_ERROR if summary.failed else 0

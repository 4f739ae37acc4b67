"""``sbg imports start|ls|show`` and ``sbg exports start|ls|show``: copies between volumes and
projects, run by the platform in the background; ``--wait`` follows one until it ends."""

from __future__ import annotations

import time
from typing import Any

import click

from sevenbridges.cli.main import EXIT_API_ERROR, EXIT_USAGE, CliError, state
from sevenbridges.cli.output import emit_list, emit_one, error_console, note, output_options

STATES = ("PENDING", "RUNNING", "COMPLETED", "FAILED")
TERMINAL = ("COMPLETED", "FAILED")

IMPORT_COLUMNS = [
    ("id", "id"),
    ("state", "state"),
    ("volume", "source.volume"),
    ("location", "source.location"),
    (
        "destination",
        lambda job: (
            (job.get("destination") or {}).get("project")
            or (job.get("destination") or {}).get("parent")
        ),
    ),
    ("result", "result.id"),
    ("started", "started_on"),
]
IMPORT_DETAIL = [
    *IMPORT_COLUMNS,
    ("name", "destination.name"),
    ("overwrite", "overwrite"),
    ("autorename", "autorename"),
    ("preserve folders", "preserve_folder_structure"),
    ("finished", "finished_on"),
    ("error", "error.message"),
]
EXPORT_COLUMNS = [
    ("id", "id"),
    ("state", "state"),
    ("file", "source.file"),
    ("volume", "destination.volume"),
    ("location", "destination.location"),
    ("started", "started_on"),
]
EXPORT_DETAIL = [
    *EXPORT_COLUMNS,
    ("overwrite", "overwrite"),
    ("properties", "properties"),
    ("result", "result.id"),
    ("finished", "finished_on"),
    ("error", "error.message"),
]
STATE_CHOICE = click.Choice(STATES, case_sensitive=False)


def _wait_options(command: Any) -> Any:
    command = click.option(
        "--interval",
        type=click.FloatRange(min=0.2),
        default=1.0,
        show_default=True,
        help="Seconds between state checks with --wait.",
    )(command)
    return click.option(
        "--wait", is_flag=True, help="Follow the job until it ends (exit 1 if it fails)."
    )(command)


def _error_line(job: Any) -> str:
    error = job.field("error") or {}
    message = " ".join(str(error.get("message") or "no reason given").split())
    details = [f"code {error['code']}"] if error.get("code") not in (None, -1) else []
    if error.get("status") not in (None, -1):
        details.append(f"HTTP {error['status']}")
    return message + (f" ({', '.join(details)})" if details else "")


def _finish(kind: str, job: Any, wait: bool, interval: float, columns: Any) -> int:
    """Print the job; with ``wait``, first follow it until COMPLETED (0) or FAILED (1)."""
    current = state()
    note(f"{kind} {job.id} {job.state}")
    if wait:
        last = job.state
        try:
            while job.state not in TERMINAL:
                time.sleep(interval)
                job.reload()
                if job.state != last and not current.quiet:
                    error_console().print(f"{kind} {job.id} {job.state}", highlight=False)
                    last = job.state
        except KeyboardInterrupt:
            note(f"stopped waiting; {kind} {job.id} goes on (sbg {kind}s show {job.id})")
            raise
    emit_one(current.output, job, columns)
    if wait and job.state == "FAILED":
        # The job's own JSON is on stdout already; the reason is the one error line.
        raise CliError(f"{kind} {job.id} failed: {_error_line(job)}", EXIT_API_ERROR)
    return 0


# --------------------------------------------------------------------------- imports


@click.group()
def imports() -> None:
    """Copy objects of a volume into a project (a prefix ending in / imports a folder)."""


@imports.command("start")
@click.argument("volume_id", metavar="VOLUME")
@click.argument("location")
@click.option("--project", metavar="PROJECT", help="Import into this project's root.")
@click.option("--parent", metavar="FOLDER", help="Import into this folder (its id).")
@click.option("--name", help="Name of the new file or folder (default: the location's last part).")
@click.option("--overwrite", is_flag=True, help="Replace a file of that name (or fill the folder).")
@click.option("--autorename", is_flag=True, help="Take a free name (_1_name...) if it is taken.")
@click.option(
    "--no-preserve-folders",
    is_flag=True,
    help="Prefix imports: put every object directly in the new folder.",
)
@_wait_options
@output_options
def start_import(
    volume_id: str,
    location: str,
    project: str | None,
    parent: str | None,
    name: str | None,
    overwrite: bool,
    autorename: bool,
    no_preserve_folders: bool,
    wait: bool,
    interval: float,
) -> int:
    """Start importing LOCATION of VOLUME (owner/name) into --project or --parent."""
    if bool(project) == bool(parent):
        raise CliError("give exactly one of --project and --parent", EXIT_USAGE)
    job = (
        state()
        .api()
        .imports.submit_import(
            volume=volume_id,
            location=location,
            project=project,
            parent=parent,
            name=name,
            overwrite=overwrite,
            autorename=autorename,
            preserve_folder_structure=not no_preserve_folders,
        )
    )
    return _finish("import", job, wait, interval, IMPORT_DETAIL)


@imports.command("ls")
@click.option("--volume", "volume_id", metavar="VOLUME", help="Only imports from this volume.")
@click.option("--project", metavar="PROJECT", help="Only imports into this project.")
@click.option("--state", "job_state", type=STATE_CHOICE, help="Only imports in this state.")
@output_options
def list_imports(volume_id: str | None, project: str | None, job_state: str | None) -> None:
    """List your imports, newest first."""
    current = state()
    found = current.api().imports.query(
        volume=volume_id,
        project=project,
        state=job_state.upper() if job_state else None,
        limit=100,
    )
    emit_list(current.output, list(found.all()), IMPORT_COLUMNS)


@imports.command("show")
@click.argument("import_id", metavar="ID")
@output_options
def show_import(import_id: str) -> None:
    """Show one import (its error, if it failed)."""
    current = state()
    emit_one(current.output, current.api().imports.get(import_id), IMPORT_DETAIL)


# --------------------------------------------------------------------------- exports


@click.group()
def exports() -> None:
    """Copy project files into a volume (an RW one)."""


@exports.command("start")
@click.argument("file_id", metavar="FILE_ID")
@click.argument("volume_id", metavar="VOLUME")
@click.argument("location")
@click.option("--overwrite", is_flag=True, help="Replace an object already at LOCATION.")
@click.option(
    "--copy-only",
    is_flag=True,
    help="Keep the file on the platform (default: it becomes a reference to the object).",
)
@click.option(
    "--sse",
    type=click.Choice(["AES256", "aws:kms"]),
    help="S3 server-side encryption of the new object.",
)
@click.option("--sse-kms-key-id", metavar="KEY", help="KMS key for --sse aws:kms.")
@_wait_options
@output_options
def start_export(
    file_id: str,
    volume_id: str,
    location: str,
    overwrite: bool,
    copy_only: bool,
    sse: str | None,
    sse_kms_key_id: str | None,
    wait: bool,
    interval: float,
) -> int:
    """Start exporting FILE_ID to LOCATION of VOLUME (a location ending in / keeps its name)."""
    if sse_kms_key_id and sse != "aws:kms":
        raise CliError("--sse-kms-key-id needs --sse aws:kms", EXIT_USAGE)
    properties: dict[str, Any] = {}
    if sse:
        properties["sse_algorithm"] = sse
    if sse_kms_key_id:
        properties["sse_aws_kms_key_id"] = sse_kms_key_id
    job = (
        state()
        .api()
        .exports.submit_export(
            file=file_id,
            volume=volume_id,
            location=location,
            properties=properties or None,
            overwrite=overwrite,
            copy_only=copy_only,
        )
    )
    return _finish("export", job, wait, interval, EXPORT_DETAIL)


@exports.command("ls")
@click.option("--volume", "volume_id", metavar="VOLUME", help="Only exports to this volume.")
@click.option("--state", "job_state", type=STATE_CHOICE, help="Only exports in this state.")
@output_options
def list_exports(volume_id: str | None, job_state: str | None) -> None:
    """List your exports, newest first."""
    current = state()
    found = current.api().exports.query(
        volume=volume_id, state=job_state.upper() if job_state else None, limit=100
    )
    emit_list(current.output, list(found.all()), EXPORT_COLUMNS)


@exports.command("show")
@click.argument("export_id", metavar="ID")
@output_options
def show_export(export_id: str) -> None:
    """Show one export (its error, if it failed)."""
    current = state()
    emit_one(current.output, current.api().exports.get(export_id), EXPORT_DETAIL)

"""Running many uploads or downloads at once with one rich progress bar per file plus a total.

Each job builds an unstarted library transfer (``Upload``/``Download``); a few run at a time and
the bars follow their byte counters. Ctrl-C cuts the parts in flight but keeps the resume records
(the transfers are aborted, not stopped: stopping would discard them), so running the same command
again continues where this one ended.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from sevenbridges.cli.output import error_console, human_size
from sevenbridges.errors import SbgError
from sevenbridges.models.enums import TransferState
from sevenbridges.transfer.utils import total_parts

POLL_SECONDS = 0.1
# How long Ctrl-C waits for parts in flight to notice the abort before exiting anyway.
ABORT_WAIT_SECONDS = 5.0


@dataclass
class Job:
    """One file to transfer: ``start()`` returns the unstarted library transfer."""

    label: str
    size: int
    start: Callable[[], Any]
    verb: str = "stored"  # "resuming: 28/60 parts already <verb>"
    #: Set when the job ended: the transfer's result (a File for uploads) or the error text.
    result: Any = None
    error: str | None = None
    skipped: str | None = None


@dataclass
class Summary:
    done: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


def _error_text(transfer: Any) -> str:
    error = getattr(transfer, "error", None)
    if error is None:
        return f"ended {transfer.status}"
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())


def _announce_resume(progress: Progress, job: Job, transfer: Any) -> bool:
    """Print "resuming: k/n parts already ..." once the transfer found an earlier run's parts."""
    resumed = getattr(transfer, "resumed_parts", 0)
    if not resumed:
        return False
    part_size = getattr(transfer, "part_size", None) or getattr(transfer, "_part_size", 0)
    count = max(1, total_parts(transfer.total_bytes, part_size)) if part_size else resumed
    progress.console.print(
        f"{job.label}: resuming: {resumed}/{count} parts already {job.verb}",
        markup=False,
        highlight=False,
    )
    return True


def _columns() -> list[Any]:
    return [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ]


def run_transfers(jobs: list[Job], *, parallel: int, quiet: bool, action: str) -> Summary:
    """Run ``jobs`` (``parallel`` at a time) and return what became of each."""
    summary = Summary()
    pending = deque(jobs)
    active: list[tuple[Job, Any, Any, list[bool]]] = []
    started = time.monotonic()
    progress = Progress(*_columns(), console=error_console(), disable=quiet, transient=False)
    with progress:
        overall = progress.add_task(
            f"{action} {len(jobs)} file(s)", total=sum(j.size for j in jobs)
        )
        finished_bytes = 0
        try:
            while pending or active:
                while pending and len(active) < parallel:
                    job = pending.popleft()
                    if job.skipped:
                        summary.skipped.append(job)
                        finished_bytes += job.size
                        continue
                    try:
                        transfer = job.start()
                        transfer.start()
                    except SbgError as exc:
                        job.error = " ".join(str(exc.message or exc).split())
                        summary.failed.append(job)
                        continue
                    bar = progress.add_task(job.label, total=transfer.total_bytes or job.size)
                    active.append((job, transfer, bar, [False]))
                for entry in list(active):
                    job, transfer, bar, announced = entry
                    if not announced[0]:
                        announced[0] = _announce_resume(progress, job, transfer)
                    progress.update(bar, completed=transfer.bytes_done)
                    if transfer.is_alive():
                        continue
                    active.remove(entry)
                    if transfer.status == TransferState.COMPLETED:
                        progress.update(bar, completed=transfer.total_bytes)
                        if hasattr(transfer, "result"):  # uploads: the new File
                            job.result = transfer.result()
                        summary.done.append(job)
                        summary.bytes += transfer.total_bytes
                    else:
                        job.error = _error_text(transfer)
                        summary.failed.append(job)
                    finished_bytes += job.size
                in_flight = sum(transfer.bytes_done for _, transfer, _, _ in active)
                progress.update(overall, completed=finished_bytes + in_flight)
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            _abort(active)
            left = len(active) + len(pending)
            progress.stop()
            error_console().print(
                f"interrupted: {left} file(s) not finished; run the same command again to "
                "resume (finished parts are kept).",
                markup=False,
                highlight=False,
            )
            raise
    summary.seconds = time.monotonic() - started
    return summary


def _abort(active: list[tuple[Job, Any, Any, list[bool]]]) -> None:
    """Cut the parts in flight, keeping each transfer's resume record and partial data."""
    for _, transfer, _, _ in active:
        transfer.interrupt(timeout=0)  # all at once; then wait for them together
    deadline = time.monotonic() + ABORT_WAIT_SECONDS
    for _, transfer, _, _ in active:
        transfer.join(max(0.0, deadline - time.monotonic()))


def print_summary(summary: Summary, action: str) -> None:
    """One line per failure, then the totals, on stderr."""
    console = error_console()
    for job in summary.failed:
        console.print(f"failed: {job.label}: {job.error}", markup=False, highlight=False)
    parts = [f"{action} {len(summary.done)} file(s), {human_size(summary.bytes)}"]
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped")
    if summary.failed:
        parts.append(f"{len(summary.failed)} failed")
    parts.append(f"in {summary.seconds:.1f} s")
    console.print(", ".join(parts), markup=False, highlight=False)

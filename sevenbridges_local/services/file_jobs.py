"""Async file jobs (``/async/files/copy|move|delete``) run as durable background work.

Submitting stores the job and a work item in one transaction. The worker then handles the items
one at a time; each item's effect and its entry in ``result`` are committed together, so a job
interrupted by a restart resumes at the first item without a result and never does one twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any, TypedDict

from sqlalchemy import select

from sevenbridges_local import errors, workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import File, FileJob
from sevenbridges_local.db.models import User
from sevenbridges_local.services import files
from sevenbridges_local.services.context import (
    Actor,
    Page,
    PageRequest,
    ServiceContext,
    paginate,
)

logger = logging.getLogger(__name__)

COPY = "COPY"
MOVE = "MOVE"
DELETE = "DELETE"
JOB_TYPES = {"copy": COPY, "move": MOVE, "delete": DELETE}

SUBMITTED = "SUBMITTED"
RUNNING = "RUNNING"
FINISHED = "FINISHED"

RUN_FILE_JOB = "file_job.run"
JOB_NOT_FOUND = 10210
EMPTY_SOURCES = 10226
DUPLICATE_SOURCES = 10227
DISABLED_MESSAGE = "The account that submitted this job is disabled; the item was not done."


def job_type_for(path_name: str) -> str:
    """``copy`` / ``move`` / ``delete`` in a path -> the job type."""
    job_type = JOB_TYPES.get(path_name.lower())
    if job_type is None:
        raise errors.not_found(f"There are no '{path_name}' file jobs.", errors.NOT_FOUND)
    return job_type


class JobItem(TypedDict, total=False):
    """One item as the client sent it (types and sizes checked by the HTTP layer): ``file``
    always; ``parent``, ``project``, ``name`` when given (ignored for deletes)."""

    file: str
    parent: str
    project: str
    name: str


def _check_items(job_type: str, items: Sequence[JobItem]) -> list[dict[str, Any]]:
    """Whole-job checks only (the item count is bounded by the HTTP layer); existence and
    permissions are checked per item when it runs."""
    if not items:
        raise errors.bad_request("'items' must not be empty.", EMPTY_SOURCES)
    sources: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    for position, item in enumerate(items, start=1):
        source = item.get("file", "")
        if not source.strip():
            raise errors.bad_request(
                f"Item {position} needs 'file': the id of a file or folder.", files.FILE_ID_EMPTY
            )
        # Copying one file to several places is fine; moving or deleting it twice is not.
        if source in sources and job_type != COPY:
            raise errors.bad_request(
                f"File '{source}' is listed more than once.", DUPLICATE_SOURCES
            )
        sources.add(source)
        kept: dict[str, Any] = {"file": source}
        if job_type != DELETE:
            kept.update({key: item[key] for key in ("parent", "project", "name") if key in item})
        cleaned.append(kept)
    return cleaned


def submit_job(ctx: ServiceContext, job_type: str, items: Sequence[JobItem]) -> FileJob:
    cleaned = _check_items(job_type, items)
    job = FileJob(
        id=secrets.token_hex(16),
        type=job_type,
        state=SUBMITTED,
        user_id=ctx.actor.user_id,
        items=cleaned,
        result=[],
        total_files=len(cleaned),
        completed_files=0,
        failed_files=0,
        created_on=utcnow(),
    )
    ctx.session.add(job)
    workers.enqueue(ctx.session, RUN_FILE_JOB, {"job_id": job.id})
    ctx.session.commit()
    return job


def get_job(ctx: ServiceContext, job_type: str, job_id: str) -> FileJob:
    job = ctx.session.get(FileJob, job_id)
    if job is None or job.user_id != ctx.actor.user_id or job.type != job_type:
        raise errors.not_found(f"Async job '{job_id}' does not exist.", JOB_NOT_FOUND)
    return job


def list_jobs(ctx: ServiceContext, page: PageRequest) -> Page[FileJob]:
    statement = (
        select(FileJob)
        .where(FileJob.user_id == ctx.actor.user_id)
        .order_by(FileJob.created_on.desc(), FileJob.id)
    )
    return paginate(ctx.session, statement, page)


def result_files(ctx: ServiceContext, job: FileJob) -> dict[str, File]:
    """The files named in a job's results that still exist, for full JSON in the response."""
    ids = [
        entry["resource"]["id"]
        for entry in job.result or []
        if isinstance(entry.get("resource"), dict) and entry["resource"].get("id")
    ]
    if not ids:
        return {}
    readable = files.readable_project_ids(ctx)
    found = ctx.session.scalars(
        select(File).where(File.id.in_(ids[:1000]), File.project_id.in_(readable))
    )
    return {record.id: record for record in found}


# ---------------------------------------------------------------------------------------------
# Running


def _perform(ctx: ServiceContext, job_type: str, item: dict[str, Any]) -> dict[str, Any]:
    """One item's effect (not committed) and the resource it reports."""
    if job_type == COPY:
        copied = files.copy_file(
            ctx,
            item["file"],
            project=item.get("project"),
            parent=item.get("parent"),
            name=item.get("name"),
            allow_folders=True,
        )
        return {"id": copied.id, "name": copied.name}
    if job_type == MOVE:
        moved = files.relocate(
            ctx,
            item["file"],
            project=item.get("project"),
            parent=item.get("parent"),
            name=item.get("name"),
            allow_cross_project=True,
        )
        return {"id": moved.id, "name": moved.name}
    record, _ = files.load_file(ctx, item["file"], "write", action="delete its files")
    reported = {"id": record.id, "name": record.name}
    files.remove(ctx, record, recursive=True)
    return reported


def _actor_for(resources: workers.WorkerResources, user_id: int) -> tuple[Actor | None, bool]:
    """The job's user as a caller, and whether their account is disabled."""
    with resources.database.read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            return None, False
        return Actor(user_id=user.id, username=user.username, role=user.role), user.disabled


def run_file_job(resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
    job_id = payload.get("job_id")
    database = resources.database
    with database.write_session() as session:
        job = session.get(FileJob, job_id)
        if job is None or job.state == FINISHED:
            return
        job.state = RUNNING
        job.started_on = job.started_on or utcnow()
        user_id, job_type, item_count = job.user_id, job.type, len(job.items or [])
        session.commit()
    actor, disabled = _actor_for(resources, user_id)
    if actor is None:  # the user is gone, and the job with them
        return
    for index in range(item_count):
        with database.write_session() as session:
            job = session.get(FileJob, job_id)
            if job is None:
                return
            if index < len(job.result or []):
                continue  # done before an interruption
            item = job.items[index]
            ctx = ServiceContext(session=session, actor=actor)
            try:
                if disabled:  # disabled after submitting: nothing more is done in their name
                    raise errors.forbidden(DISABLED_MESSAGE)
                outcome: dict[str, Any] = {"resource": _perform(ctx, job_type, item)}
            except errors.ApiError as error:
                session.rollback()
                job = session.get(FileJob, job_id)
                if job is None:
                    return
                outcome = {"error": error.body()}
            # A new list object: the JSON column only notices reassignment.
            job.result = [*(job.result or []), outcome]
            if "resource" in outcome:
                job.completed_files += 1
            else:
                job.failed_files += 1
            session.commit()
    with database.write_session() as session:
        job = session.get(FileJob, job_id)
        if job is not None:
            job.state = FINISHED
            job.finished_on = utcnow()
            session.commit()
    logger.info("file job %s (%s) finished", job_id, job_type)


workers.register_handler(RUN_FILE_JOB, run_file_job)

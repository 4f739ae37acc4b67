"""Imports (rest-api.md §3.9): objects of a volume become files of a project, as aliases.

An imported file is an alias: its content stays in the bucket (see ``volume_reads``). A location
ending in ``/`` is a prefix: everything below it is imported into a new folder (named after the
prefix's last part, or ``name``), keeping the sub-folders when ``preserve_folder_structure``.

Submitting checks everything that can be checked at once, so that a bad request is a 4xx and
stores nothing: the volume and the ``copy`` permission on it (404/9007, 403/9019), the
destination and the ``write`` permission on its project (403/9102), that the location exists
(404/9105) and that the name is free (409/9108; or ``overwrite`` / ``autorename``). The work is
then a durable work item. A prefix import lists the objects once, stores the list in the job's
row and counts the files done in the same transaction as each file, so a run cut off by a
restart resumes after the last file made and never makes one twice.
"""

from __future__ import annotations

import logging
import posixpath
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors, workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import FOLDER_TYPE, File
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.db.volume_jobs import VolumeImport
from sevenbridges_local.db.volumes import Volume
from sevenbridges_local.services import files, folders, volume_jobs
from sevenbridges_local.services.context import Actor, Page, PageRequest, ServiceContext
from sevenbridges_local.services.volume_jobs import (
    COMPLETED,
    FAILED,
    JOB_NOT_FOUND,
    PENDING,
    RUNNING,
    TERMINAL,
)
from sevenbridges_local.services.volume_reads import alias_storage
from sevenbridges_local.services.volumes import (
    VolumeRuntime,
    bucket_spec,
    listing_failure,
    resolve_volume,
    split_volume_id,
    volume_id,
)
from sevenbridges_local.storage.buckets import BucketError, BucketSpec, CloudSettings, open_bucket

logger = logging.getLogger(__name__)

RUN_IMPORT = "volume_import.run"

VOLUME_INACTIVE_CODE = 9103
NO_PROJECT_PRIVILEGE = 9102
LOCATION_NOT_FOUND = 9105
FILE_EXISTS = 9108
CANNOT_INFER_NAME = 9018
LISTING_PAGE = 1000


@dataclass(frozen=True)
class ImportRequest:
    """One submit body as sent (types and sizes checked by the HTTP layer)."""

    volume: str
    location: str
    project: str | None = None
    parent: str | None = None
    name: str | None = None
    overwrite: bool = False
    autorename: bool = False
    preserve_folder_structure: bool = True
    properties: dict[str, Any] | None = None


def job_not_found(job_id: str) -> errors.ApiError:
    return errors.not_found(f"Import '{job_id}' does not exist.", JOB_NOT_FOUND)


# ---------------------------------------------------------------------------------------------
# Names


def autorenamed(session: Session, project_id: int, parent_id: str, name: str) -> str:
    """The first of ``_1_name``, ``_2_name``, ... free in the folder (the platform's style)."""
    for number in range(1, 10_000):
        candidate = files.safe_name(f"_{number}_{name}")
        taken = files.same_name_in_folder(project_id, parent_id, candidate)
        if session.scalars(taken).first() is None:
            return candidate
    raise errors.conflict(f"No free name like '{name}' is left there.", FILE_EXISTS)


def _default_name(location: str) -> str:
    base = posixpath.basename(location.rstrip("/"))
    if not base:
        raise errors.bad_request(
            "The file name cannot be inferred from the location; give 'name'.", CANNOT_INFER_NAME
        )
    return files.safe_name(base)


def _taken(name: str, existing: File) -> errors.ApiError:
    what = "folder" if existing.is_folder else "file"
    return errors.conflict(
        f"A {what} named '{name}' already exists in the destination; use overwrite or autorename.",
        FILE_EXISTS,
    )


# ---------------------------------------------------------------------------------------------
# Submitting


def _destination(ctx: ServiceContext, request: ImportRequest) -> tuple[Project, File]:
    project, folder = files.resolve_destination(
        ctx,
        request.project,
        request.parent,
        permission="write",
        code=NO_PROJECT_PRIVILEGE,
        action="import files into it",
    )
    assert folder is not None
    return project, folder


def _check_location(spec: BucketSpec, clouds: CloudSettings, location: str) -> None:
    bucket = open_bucket(spec, clouds)
    try:
        if location.endswith("/"):
            listing = bucket.list(location, limit=1)
            if not listing.objects and not listing.prefixes:
                raise errors.not_found(
                    f"There is nothing under '{location}' on the volume.", LOCATION_NOT_FOUND
                )
        else:
            bucket.head(location)
    except BucketError as exc:
        raise listing_failure(exc)


def _check_name_free(
    ctx: ServiceContext, project: Project, folder: File, name: str, request: ImportRequest
) -> None:
    existing = ctx.session.scalars(files.same_name_in_folder(project.id, folder.id, name)).first()
    if existing is None or request.autorename:
        return
    prefix = request.location.endswith("/")
    if request.overwrite and existing.is_folder == prefix:
        return  # a file replaced, or a folder imported into
    raise _taken(name, existing)


def submit_import(
    ctx: ServiceContext, runtime: VolumeRuntime, request: ImportRequest, *, commit: bool = True
) -> VolumeImport:
    owner, volume_name = split_volume_id(request.volume)
    location = (request.location or "").lstrip("/")
    if not location:
        raise errors.bad_request(
            "'source.location' is required: an object's location or a prefix ending in '/'.",
            LOCATION_NOT_FOUND,
        )
    ref = resolve_volume(ctx, runtime, owner, volume_name, "copy", "import from it")
    if not ref.active:
        raise errors.bad_request(
            f"Volume '{ref.id}' is deactivated; activate it to import from it.",
            VOLUME_INACTIVE_CODE,
        )
    name = files.check_name(request.name) if request.name else _default_name(location)
    project, folder = _destination(ctx, request)
    _check_name_free(ctx, project, folder, name, request)
    ctx.session.rollback()  # no transaction while the cloud answers
    _check_location(ref.spec, runtime.clouds, location)
    project, folder = _destination(ctx, request)  # again: it may have changed meanwhile
    _check_name_free(ctx, project, folder, name, request)
    destination: dict[str, Any] = {"name": name}
    if request.parent is not None:
        destination["parent"] = folder.id
    destination["project"] = files.project_label(project)
    job = VolumeImport(
        id=secrets.token_urlsafe(12),
        user_id=ctx.actor.user_id,
        volume_id=ref.pk,
        volume_label=ref.id,
        location=location,
        project_id=project.id,
        destination={**destination, "folder": folder.id},
        overwrite=request.overwrite,
        autorename=request.autorename,
        preserve_folder_structure=request.preserve_folder_structure,
        properties=dict(request.properties or {}),
        state=PENDING,
        done=0,
        created_on=utcnow(),
    )
    ctx.session.add(job)
    workers.enqueue(ctx.session, RUN_IMPORT, {"import_id": job.id})
    if commit:
        ctx.session.commit()
    return job


def bulk_submit(
    ctx: ServiceContext, runtime: VolumeRuntime, requests: Sequence[ImportRequest]
) -> list[VolumeImport | errors.ApiError]:
    """Each item on its own: a bad one is its ``error``, the others go ahead."""
    return volume_jobs.bulk_submit(
        ctx, requests, lambda request: submit_import(ctx, runtime, request)
    )


# ---------------------------------------------------------------------------------------------
# Reading


def get_import(ctx: ServiceContext, job_id: str) -> VolumeImport:
    return volume_jobs.own_job(ctx, VolumeImport, job_id, job_not_found)


def bulk_get(ctx: ServiceContext, job_ids: Sequence[str]) -> list[VolumeImport | errors.ApiError]:
    return volume_jobs.bulk_get(ctx, job_ids, lambda job_id: get_import(ctx, job_id))


def list_imports(
    ctx: ServiceContext,
    page: PageRequest,
    *,
    volume: str | None = None,
    project: str | None = None,
    state: str | None = None,
) -> Page[VolumeImport]:
    """The caller's imports, newest first, filtered by volume (``owner/name``), destination
    project (``owner/slug``) and state."""

    def by_project(statement: Select[Any]) -> Select[Any]:
        if project is None:
            return statement
        owner, slug = files.split_project_id(project)
        found = ctx.session.scalar(
            select(Project.id)
            .join(User, User.id == Project.owner_id)
            .where(User.username == owner, Project.slug == slug)
        )
        return statement.where(VolumeImport.project_id == (found if found else -1))

    return volume_jobs.list_own_jobs(
        ctx, VolumeImport, page, volume=volume, state=state, narrow=by_project
    )


def result_file(ctx: ServiceContext, job: VolumeImport) -> File | None:
    return ctx.session.get(File, job.result_id) if job.result_id else None


# ---------------------------------------------------------------------------------------------
# Running


class Interrupted(workers.Paused):
    """The server is stopping: the work item is left to be resumed (its progress is stored)."""


class _Failed(Exception):
    def __init__(self, error: errors.ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _finish(
    session: Session, job: VolumeImport, state: str, *, error: dict[str, Any] | None = None
) -> None:
    job.state = state
    job.error = error
    job.finished_on = utcnow()


def _fail(resources: workers.WorkerResources, job_id: str, error: errors.ApiError) -> None:
    with resources.database.write_session() as session:
        job = session.get(VolumeImport, job_id)
        if job is not None and job.state not in TERMINAL:
            _finish(session, job, FAILED, error=error.body())
            session.commit()
    logger.info("import %s failed: %s", job_id, error.message)


def give_up_import(resources: workers.WorkerResources, payload: dict[str, Any], _: str) -> None:
    """The worker gave up: the job ends FAILED (files a prefix import made so far stay)."""
    _fail(resources, str(payload.get("import_id")), errors.gave_up("import"))


def _actor(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise _Failed(errors.forbidden("The account that submitted this import is disabled."))
    return Actor(user_id=user.id, username=user.username, role=user.role)


def _bucket_of(
    session: Session, runtime: VolumeRuntime, job: VolumeImport
) -> tuple[BucketSpec, str]:
    volume = session.get(Volume, job.volume_id) if job.volume_id is not None else None
    if volume is None:
        raise _Failed(errors.not_found(f"Volume '{job.volume_label}' does not exist.", 9104))
    if not volume.active:
        raise _Failed(
            errors.bad_request(
                f"Volume '{job.volume_label}' was deactivated.", VOLUME_INACTIVE_CODE
            )
        )
    return bucket_spec(runtime, volume), volume_id(volume)


def _start(resources: workers.WorkerResources, job_id: str) -> VolumeImport | None:
    """Mark the job running; a detached copy of it, or None when there is nothing to do."""
    with resources.database.write_session() as session:
        job = session.get(VolumeImport, job_id)
        if job is None or job.state in TERMINAL:
            return None
        job.state = RUNNING
        job.started_on = job.started_on or utcnow()
        session.commit()
        session.refresh(job)
        session.expunge(job)
        return job


def _place(
    ctx: ServiceContext,
    job: VolumeImport,
    project: Project,
    folder: File,
    name: str,
    size: int,
    location: str,
    label: str,
) -> File:
    existing = ctx.session.scalars(files.same_name_in_folder(project.id, folder.id, name)).first()
    overwrite = False
    if existing is not None:
        if job.autorename:
            name = autorenamed(ctx.session, project.id, folder.id, name)
        elif job.overwrite and not existing.is_folder:
            overwrite = True
        else:
            raise _Failed(_taken(name, existing))
    return files.create_file_record(
        ctx,
        project=project,
        folder=folder,
        name=name,
        size=size,
        blob_key=None,
        overwrite=overwrite,
        origin={},
        conflict_code=FILE_EXISTS,
        storage=alias_storage(label, location),
        volume_id=job.volume_id,
    )


def _destination_of(ctx: ServiceContext, job: VolumeImport) -> tuple[Project, File]:
    folder_id = (job.destination or {}).get("folder")
    return _destination(
        ctx, ImportRequest(volume=job.volume_label, location=job.location, parent=folder_id)
    )


def _import_object(
    resources: workers.WorkerResources, runtime: VolumeRuntime, job: VolumeImport
) -> None:
    with resources.database.read_session() as session:
        spec, label = _bucket_of(session, runtime, job)
    try:
        info = open_bucket(spec, runtime.clouds, background=True).head(job.location)
    except BucketError as exc:
        raise _Failed(listing_failure(exc))
    with resources.database.write_session() as session:
        ctx = ServiceContext(session=session, actor=_actor(session, job.user_id))
        project, folder = _destination_of(ctx, job)
        name = (job.destination or {}).get("name") or _default_name(job.location)
        record = _place(ctx, job, project, folder, name, info.size, job.location, label)
        current = session.get(VolumeImport, job.id)
        if current is None:
            session.rollback()
            return
        current.result_id = record.id
        _finish(session, current, COMPLETED)
        session.commit()


def _walk(spec: BucketSpec, clouds: CloudSettings, prefix: str) -> list[list[Any]]:
    """Every object below ``prefix`` (all levels) as ``[location, size]``, in key order."""
    bucket = open_bucket(spec, clouds, background=True)
    found: list[list[Any]] = []
    pending = [prefix]
    while pending:
        current = pending.pop(0)
        token: str | None = None
        while True:
            listing = bucket.list(current, limit=LISTING_PAGE, token=token)
            found.extend([item.location, item.size] for item in listing.objects)
            pending.extend(listing.prefixes)
            token = listing.next_token
            if not token:
                break
    found.sort(key=lambda item: item[0])
    return found


def _child_folder(session: Session, project_id: int, parent: File, name: str) -> File:
    existing = session.scalars(files.same_name_in_folder(project_id, parent.id, name)).first()
    if existing is not None:
        if not existing.is_folder:
            raise _Failed(_taken(name, existing))
        return existing
    now = utcnow()
    folder = File(
        id=folders.new_file_id(),
        project_id=project_id,
        parent_id=parent.id,
        name=name,
        type=FOLDER_TYPE,
        size=0,
        origin={},
        created_on=now,
        modified_on=now,
    )
    session.add(folder)
    files.flush_new_name(session, name, FILE_EXISTS)
    return folder


def _top_folder(ctx: ServiceContext, job: VolumeImport) -> File:
    project, parent = _destination_of(ctx, job)
    name = (job.destination or {}).get("name") or _default_name(job.location)
    existing = ctx.session.scalars(files.same_name_in_folder(project.id, parent.id, name)).first()
    if existing is not None:
        if job.autorename:
            name = autorenamed(ctx.session, project.id, parent.id, name)
        elif not (job.overwrite and existing.is_folder):
            raise _Failed(_taken(name, existing))
    return _child_folder(ctx.session, project.id, parent, name)


def _import_prefix(
    resources: workers.WorkerResources, runtime: VolumeRuntime, job: VolumeImport
) -> None:
    with resources.database.read_session() as session:
        spec, label = _bucket_of(session, runtime, job)
    if job.items is None:
        try:
            listed = _walk(spec, runtime.clouds, job.location)
        except BucketError as exc:
            raise _Failed(listing_failure(exc))
        if not listed:
            raise _Failed(
                errors.not_found(
                    f"There is nothing under '{job.location}' on the volume.", LOCATION_NOT_FOUND
                )
            )
        with resources.database.write_session() as session:
            ctx = ServiceContext(session=session, actor=_actor(session, job.user_id))
            top = _top_folder(ctx, job)
            current = session.get(VolumeImport, job.id)
            if current is None:
                session.rollback()
                return
            # The folder and the list are one step: a restart finds both or neither.
            current.items = listed
            current.result_id = top.id
            current.done = 0
            session.commit()
            items, top_id = listed, top.id
        done = 0
    else:
        items, top_id, done = job.items, job.result_id, job.done
    stopping = resources.extras.get("stopping")
    for index in range(done, len(items)):
        if stopping is not None and stopping.is_set():
            raise Interrupted(f"import {job.id} paused at {index} of {len(items)} by a stop")
        location, size = items[index]
        relative = location[len(job.location) :] if location.startswith(job.location) else location
        parts = [part for part in relative.split("/") if part]
        if not parts:
            continue
        with resources.database.write_session() as session:
            ctx = ServiceContext(session=session, actor=_actor(session, job.user_id))
            top = session.get(File, top_id) if top_id else None
            if top is None or not top.is_folder:
                raise _Failed(
                    errors.not_found(
                        "The folder the import was writing to was deleted.",
                        files.DESTINATION_NOT_FOUND,
                    )
                )
            files.resolve_destination(
                ctx,
                None,
                top.id,
                permission="write",
                code=NO_PROJECT_PRIVILEGE,
                action="import files into it",
            )
            folder = top
            if job.preserve_folder_structure:
                for part in parts[:-1]:
                    folder = _child_folder(session, top.project_id, folder, files.safe_name(part))
            name = files.safe_name(parts[-1])
            _place(ctx, job, top.project, folder, name, int(size), location, label)
            current = session.get(VolumeImport, job.id)
            if current is None:
                session.rollback()
                return
            current.done = index + 1  # with the file, in one commit
            session.commit()
        if runtime.import_item_delay:
            time.sleep(runtime.import_item_delay)
    with resources.database.write_session() as session:
        current = session.get(VolumeImport, job.id)
        if current is not None and current.state not in TERMINAL:
            _finish(session, current, COMPLETED)
            session.commit()


def run_import(resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
    job_id = str(payload.get("import_id"))
    runtime: VolumeRuntime | None = resources.extras.get("volumes")
    if runtime is None:
        raise RuntimeError("volume runtime missing from the workers' resources")
    job = _start(resources, job_id)
    if job is None:
        return
    try:
        if job.location.endswith("/"):
            _import_prefix(resources, runtime, job)
        else:
            _import_object(resources, runtime, job)
    except _Failed as failure:
        _fail(resources, job_id, failure.error)
    except errors.ApiError as error:
        _fail(resources, job_id, error)
    logger.info("import %s finished", job_id)


workers.register_handler(RUN_IMPORT, run_import, give_up_import)

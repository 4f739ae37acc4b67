"""DRS bulk imports (``/bulk/drs/imports``): ``drs://`` objects of any DRS server become files.

Submitting stores the job and a durable work item in one transaction (the request is checked as a
whole: at most 100 items, a known ``conflict_resolution``). The worker then imports the items one
by one; each item ends as ``{"resource": file}`` or ``{"error": Error}`` in ``result``. Problems
of one item (bad URI, server down, object missing, checksum mismatch, destination not writable,
name taken) fail that item only.

No half-written file, whatever happens: the bytes go to a staging area of the blob store, are
verified, then become a blob under a key fixed by (job, item); the file row and the item's
result are committed together at the end. An item interrupted by a restart is simply done again:
its staging and its not-yet-referenced blob are discarded first.

Conflict resolution when the name is taken in the destination folder: ``SKIP`` (default) and
``ERROR`` leave the existing file and fail the item with 409/5003; ``OVERWRITE`` replaces it;
``AUTORENAME`` imports as ``_1_name``, ``_2_name``...
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import select

from sevenbridges_local import errors, workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.drs import BlobChecksum, DrsImportJob
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import User
from sevenbridges_local.services import drs, files
from sevenbridges_local.services.context import Actor, ServiceContext
from sevenbridges_local.services.drs import Digests
from sevenbridges_local.services.drs_remote import (
    DrsClient,
    DrsClientSettings,
    DrsLocation,
    RemoteObject,
    parse_drs_uri,
    verify_checksums,
)
from sevenbridges_local.storage import BlobStore, ObjectNotFound, StorageFull

logger = logging.getLogger(__name__)

SUBMITTED = "SUBMITTED"
RUNNING = "RUNNING"
FINISHED = "FINISHED"

SKIP = "SKIP"
OVERWRITE = "OVERWRITE"
AUTORENAME = "AUTORENAME"
ERROR = "ERROR"
CONFLICT_RESOLUTIONS = (SKIP, OVERWRITE, AUTORENAME, ERROR)
MAX_AUTORENAME_ATTEMPTS = 1_000

RUN_DRS_IMPORT = "drs_import.run"
RESOURCES_KEY = "drs"  # WorkerResources.extras key of the DrsClientSettings
# No platform code is known for a missing DRS import job; the async jobs' "job not found" is the
# nearest (90003 would read as "no such route").
JOB_NOT_FOUND = 10210
DISABLED_MESSAGE = "The account that submitted this import is disabled; the item was not done."


class ImportItem(TypedDict, total=False):
    """One item as the client sent it (JSON types and sizes checked by the HTTP layer)."""

    drs_uri: str
    project: str
    parent: str
    name: str
    metadata: dict[str, Any]


def _job_not_found(job_id: str) -> errors.ApiError:
    return errors.not_found(f"DRS import job '{job_id}' does not exist.", JOB_NOT_FOUND)


def submit(
    ctx: ServiceContext,
    items: Sequence[ImportItem],
    tags: list[str] | None,
    conflict_resolution: str | None,
) -> DrsImportJob:
    """Store the job and its work item (committed). Per-item problems show in ``result``."""
    if not items:
        raise errors.bad_request("'items' must list at least one DRS object to import.")
    resolution = (conflict_resolution or SKIP).upper()
    if resolution not in CONFLICT_RESOLUTIONS:
        raise errors.bad_request(
            f"Invalid conflict_resolution {conflict_resolution!r}: use one of "
            f"{', '.join(CONFLICT_RESOLUTIONS)}."
        )
    checked_tags = files.check_tags(tags) if tags else []
    job = DrsImportJob(
        id=secrets.token_hex(16),
        user_id=ctx.actor.user_id,
        state=SUBMITTED,
        conflict_resolution=resolution,
        tags=checked_tags,
        items=[dict(item) for item in items],
        result=[],
        total_files=len(items),
        completed_files=0,
        failed_files=0,
        created_on=utcnow(),
    )
    ctx.session.add(job)
    workers.enqueue(ctx.session, RUN_DRS_IMPORT, {"job_id": job.id})
    ctx.session.commit()
    logger.info("DRS import %s submitted with %d item(s)", job.id, len(items))
    return job


def get_job(ctx: ServiceContext, job_id: str) -> DrsImportJob:
    """Only the user who submitted a job sees it (404 for everyone else)."""
    job = ctx.session.get(DrsImportJob, job_id)
    if job is None or job.user_id != ctx.actor.user_id:
        raise _job_not_found(job_id)
    return job


def result_files(ctx: ServiceContext, job: DrsImportJob) -> dict[str, File]:
    """The imported files that still exist and the caller can read, for full JSON."""
    ids = [
        entry["resource"]["id"]
        for entry in job.result or []
        if isinstance(entry.get("resource"), dict) and entry["resource"].get("id")
    ]
    if not ids:
        return {}
    readable = files.readable_project_ids(ctx)
    found = ctx.session.scalars(select(File).where(File.id.in_(ids), File.project_id.in_(readable)))
    return {record.id: record for record in found}


# ---------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class _Job:
    id: str
    user_id: int
    conflict_resolution: str
    tags: list[str]
    items: list[dict[str, Any]]


def staging_id(job_id: str, index: int) -> str:
    """Where an item's bytes are staged; fixed, so a retry finds and discards a leftover."""
    return f"drs-{job_id}-{index}"


def blob_key_for(job_id: str, index: int) -> str:
    """The item's blob; fixed for the same reason (it is unreferenced until the row commits)."""
    return f"drs{job_id}{index:04d}"


def _autorenamed(session: Any, project_id: int, parent_id: str, name: str) -> str:
    for number in range(1, MAX_AUTORENAME_ATTEMPTS + 1):
        candidate = files.check_name(f"_{number}_{name}")
        taken = files.same_name_in_folder(project_id, parent_id, candidate)
        if session.scalars(taken).first() is None:
            return candidate
    raise errors.conflict(
        f"No free name was found for '{name}' after {MAX_AUTORENAME_ATTEMPTS} attempts.",
        files.FILE_EXISTS,
    )


def _taken(name: str, existing: File, resolution: str) -> errors.ApiError:
    if existing.is_folder:
        return errors.conflict(
            f"A folder named '{name}' already exists there.", files.FOLDER_EXISTS
        )
    if resolution == SKIP:
        return errors.conflict(
            f"A file named '{name}' already exists there; skipped (conflict_resolution SKIP).",
            files.FILE_EXISTS,
        )
    return errors.conflict(f"A file named '{name}' already exists there.", files.FILE_EXISTS)


def _final_name(
    ctx: ServiceContext, project_id: int, parent_id: str, name: str, resolution: str
) -> tuple[str, bool]:
    """The name to create and whether to overwrite; the conflict error when neither is right."""
    existing = ctx.session.scalars(files.same_name_in_folder(project_id, parent_id, name)).first()
    if existing is None:
        return name, False
    if existing.is_folder and resolution != AUTORENAME:
        raise _taken(name, existing, resolution)
    if resolution == OVERWRITE:
        return name, True
    if resolution == AUTORENAME:
        return _autorenamed(ctx.session, project_id, parent_id, name), False
    raise _taken(name, existing, resolution)


def _check_destination(ctx: ServiceContext, item: dict[str, Any]) -> tuple[int, str]:
    project, folder = files.resolve_destination(
        ctx,
        item.get("project"),
        item.get("parent"),
        action="import files into it",
    )
    assert folder is not None  # resolve_destination always gives a folder (root for a project)
    return project.id, folder.id


class _ItemRun:
    """One item of a job, from URI to file row."""

    def __init__(
        self,
        database: Database,
        store: BlobStore,
        settings: DrsClientSettings,
        job: _Job,
        actor: Actor,
        index: int,
    ) -> None:
        self.database = database
        self.store = store
        self.settings = settings
        self.job = job
        self.actor = actor
        self.index = index
        self.item = job.items[index]
        self.staging = staging_id(job.id, index)
        self.blob_key = blob_key_for(job.id, index)

    def discard_leftovers(self) -> None:
        self.store.discard_upload(self.staging)
        self.store.delete(self.blob_key)

    def _preflight(self) -> None:
        """Destination checks before any byte moves (they are done again at the end)."""
        with self.database.read_session() as session:
            ctx = ServiceContext(session=session, actor=self.actor)
            project_id, parent_id = _check_destination(ctx, self.item)
            given = self.item.get("name")
            if isinstance(given, str) and given:
                _final_name(
                    ctx,
                    project_id,
                    parent_id,
                    files.check_name(given),
                    self.job.conflict_resolution,
                )

    def _check_name_free(self, name: str) -> None:
        """SKIP / ERROR on a taken name fail the item before any byte is fetched."""
        with self.database.read_session() as session:
            ctx = ServiceContext(session=session, actor=self.actor)
            project_id, parent_id = _check_destination(ctx, self.item)
            _final_name(ctx, project_id, parent_id, name, self.job.conflict_resolution)

    def fetch(self) -> tuple[DrsLocation, RemoteObject, Digests]:
        """Resolve the URI and put the verified bytes under the item's blob key; raises
        ApiError for the item's result."""
        location = parse_drs_uri(self.item.get("drs_uri"))
        self._preflight()
        if self.settings.is_own(location):
            remote, digests = self._fetch_own(location)
            return location, remote, digests
        client = DrsClient(self.settings, location)
        try:
            remote = client.get_object()
            self._check_name_free(self._name_for(remote))
            access = client.access_url(remote)
            self.store.begin_upload(self.staging)
            digests = client.stream_into(self.store, self.staging, access, remote)
        finally:
            client.close()
        verify_checksums(location, remote, digests)
        parts = self.store.stored_parts(self.staging)
        self.store.assemble(self.staging, [1], self.blob_key, {1: parts[1].etag})
        self.store.discard_upload(self.staging)
        return location, remote, digests

    def _fetch_own(self, location: DrsLocation) -> tuple[RemoteObject, Digests]:
        """A file of this very platform: the importing user needs ``copy`` on it, as for a
        download; the blob is shared (blobs are immutable), nothing goes over HTTP."""
        with self.database.read_session() as session:
            ctx = ServiceContext(session=session, actor=self.actor)
            source = files.file_for_download(ctx, location.object_id)
            if not source.blob_key:
                raise errors.not_found(
                    f"File '{location.object_id}' has no content stored on this platform.",
                    files.FILE_NOT_FOUND,
                )
            source_key, size, name = source.blob_key, source.size, source.name
        digests = drs.blob_digests(self.database, self.store, source_key, size)
        remote = RemoteObject(
            id=location.object_id,
            name=name,
            size=size,
            checksums={drs.SHA256_TYPE: digests.sha256},
            access_methods=[],
        )
        self._check_name_free(self._name_for(remote))
        try:
            self.store.copy(source_key, self.blob_key)
        except ObjectNotFound:
            raise errors.not_found(
                "The object's content is missing from this platform's storage.",
                files.FILE_NOT_FOUND,
            ) from None
        return remote, digests

    def _name_for(self, remote: RemoteObject) -> str:
        given = self.item.get("name")
        if isinstance(given, str) and given:
            return files.check_name(given)
        return files.safe_name(remote.name or remote.id)

    def create_file(
        self, ctx: ServiceContext, remote: RemoteObject, digests: Digests
    ) -> dict[str, Any]:
        """The file row (not committed) and the resource reported for it."""
        project_id, parent_id = _check_destination(ctx, self.item)
        name = self._name_for(remote)
        name, overwrite = _final_name(
            ctx, project_id, parent_id, name, self.job.conflict_resolution
        )
        folder = ctx.session.get(File, parent_id)
        assert folder is not None
        record = files.create_file_record(
            ctx,
            project=folder.project,
            folder=folder,
            name=name,
            size=remote.size,
            blob_key=self.blob_key,
            overwrite=overwrite,
            conflict_code=files.FILE_EXISTS,
        )
        values = files.FileValues(tags=list(self.job.tags))
        metadata = self.item.get("metadata")
        if metadata:
            values["metadata"] = metadata
        files.apply_changes(ctx, record, values, replace=False)
        if ctx.session.get(BlobChecksum, self.blob_key) is None:
            ctx.session.add(
                BlobChecksum(
                    blob_key=self.blob_key,
                    sha256=digests.sha256,
                    md5=digests.md5,
                    size=remote.size,
                    computed_on=utcnow(),
                )
            )
        return {"id": record.id, "name": record.name}


def _load_job(database: Database, job_id: str) -> _Job | None:
    with database.write_session() as session:
        job = session.get(DrsImportJob, job_id)
        if job is None or job.state == FINISHED:
            return None
        job.state = RUNNING
        job.started_on = job.started_on or utcnow()
        snapshot = _Job(
            id=job.id,
            user_id=job.user_id,
            conflict_resolution=job.conflict_resolution,
            tags=list(job.tags or []),
            items=[dict(item) for item in job.items or []],
        )
        session.commit()
        return snapshot


def _actor_for(database: Database, user_id: int) -> tuple[Actor | None, bool]:
    with database.read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            return None, False
        return Actor(user_id=user.id, username=user.username, role=user.role), user.disabled


def _done_count(database: Database, job_id: str) -> int | None:
    with database.read_session() as session:
        job = session.get(DrsImportJob, job_id)
        return None if job is None else len(job.result or [])


def _record(session: Any, job_id: str, outcome: dict[str, Any]) -> None:
    job = session.get(DrsImportJob, job_id)
    if job is None:
        return
    # A new list object: the JSON column only notices reassignment.
    job.result = [*(job.result or []), outcome]
    if "resource" in outcome:
        job.completed_files += 1
    else:
        job.failed_files += 1


def _record_error(database: Database, job_id: str, error: errors.ApiError) -> None:
    with database.write_session() as session:
        _record(session, job_id, {"error": error.body()})
        session.commit()


def _run_item(run: _ItemRun, disabled: bool) -> None:
    database, job_id = run.database, run.job.id
    run.discard_leftovers()
    try:
        if disabled:  # disabled after submitting: nothing more is done in their name
            raise errors.forbidden(DISABLED_MESSAGE)
        location, remote, digests = run.fetch()
    except StorageFull as exc:  # not the item's fault, but nothing was stored: say so
        run.discard_leftovers()
        _record_error(database, job_id, errors.insufficient_storage(str(exc)))
        return
    except errors.ApiError as error:
        run.discard_leftovers()
        logger.info("DRS import %s item %d failed: %s", job_id, run.index, error.message)
        _record_error(database, job_id, error)
        return
    except Exception:
        run.discard_leftovers()
        logger.exception("DRS import %s item %d failed unexpectedly", job_id, run.index)
        _record_error(
            database,
            job_id,
            errors.ApiError(500, errors.UNEXPECTED, "Unexpected error; see the server log."),
        )
        return
    with database.write_session() as session:
        ctx = ServiceContext(session=session, actor=run.actor)
        try:
            resource = run.create_file(ctx, remote, digests)
        except errors.ApiError as error:
            session.rollback()
            run.discard_leftovers()
            _record(session, job_id, {"error": error.body()})
            session.commit()
            return
        _record(session, job_id, {"resource": resource})
        session.commit()
    logger.info(
        "DRS import %s item %d: %s -> file %s", job_id, run.index, location.uri, resource["id"]
    )


def run_drs_import(resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
    """The work item's handler: import the items without a result yet, then finish the job."""
    database = resources.database
    store = resources.blob_store
    settings = resources.extras.get(RESOURCES_KEY) or DrsClientSettings()
    if store is None:
        raise RuntimeError("DRS imports need the blob store")
    job = _load_job(database, str(payload.get("job_id")))
    if job is None:
        return
    actor, disabled = _actor_for(database, job.user_id)
    if actor is None:  # the user is gone, and the job with them
        return
    for index in range(len(job.items)):
        done = _done_count(database, job.id)
        if done is None:
            return
        if index < done:
            continue  # finished before an interruption
        _run_item(_ItemRun(database, store, settings, job, actor, index), disabled)
    with database.write_session() as session:
        stored = session.get(DrsImportJob, job.id)
        if stored is not None:
            stored.state = FINISHED
            stored.finished_on = utcnow()
            session.commit()
    logger.info("DRS import %s finished", job.id)


def give_up_drs_import(resources: workers.WorkerResources, payload: dict[str, Any], _: str) -> None:
    """The worker gave up on the job: the items without a result fail (500/90004) and the job
    is FINISHED, so it never stays RUNNING; the items already done keep their results."""
    with resources.database.write_session() as session:
        job = session.get(DrsImportJob, str(payload.get("job_id")))
        if job is None or job.state == FINISHED:
            return
        error = errors.gave_up("DRS import").body()
        for _index in range(len(job.result or []), len(job.items or [])):
            _record(session, job.id, {"error": error})
        job.state = FINISHED
        job.finished_on = utcnow()
        session.commit()
        logger.error("DRS import %s: gave up; its unfinished items failed", job.id)


workers.register_handler(RUN_DRS_IMPORT, run_drs_import, give_up_drs_import)

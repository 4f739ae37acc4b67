"""Exports (rest-api.md §3.10): a platform file written to a read-write volume.

Submitting checks at once what can be checked, so that a bad request is a 4xx and stores
nothing: the file and the ``copy`` permission on its project (404/5002, 403/9004), that it is a
file kept on the platform (folders, aliases and public files: 400/9006), the volume, the
``write`` permission on it (404/9007, 403/9019) and that it is RW (400/9026), and that the
location is free unless ``overwrite`` (409/9107).

The copy is durable background work and never leaves a half-written object: files below the
multipart threshold go in one PUT (all or nothing), larger ones as a multipart upload whose
parts are read from the blob store one at a time; only completing it makes the object appear.
The upload id is kept in the job's row, so a run cut off by a restart aborts it and starts
again. Without ``copy_only``, the file then becomes an alias of the object (its blob is
released); with it, the platform keeps its copy.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from sevenbridges_local import errors, workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import User
from sevenbridges_local.db.volume_jobs import VolumeExport
from sevenbridges_local.db.volumes import Volume
from sevenbridges_local.services import files, folders, volume_jobs
from sevenbridges_local.services.apps import is_public_project
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext
from sevenbridges_local.services.volume_jobs import (
    COMPLETED,
    FAILED,
    JOB_NOT_FOUND,
    PENDING,
    RUNNING,
    TERMINAL,
)
from sevenbridges_local.services.volume_reads import alias_storage, is_alias
from sevenbridges_local.services.volumes import (
    VolumeRuntime,
    bucket_spec,
    listing_failure,
    resolve_volume,
    split_volume_id,
    volume_id,
)
from sevenbridges_local.storage import BlobStore
from sevenbridges_local.storage.buckets import (
    Bucket,
    BucketError,
    BucketSpec,
    ObjectMissing,
    UploadedPart,
    open_bucket,
)

logger = logging.getLogger(__name__)

RUN_EXPORT = "volume_export.run"
FILE_FORBIDDEN = 9004
NOT_EXPORTABLE = 9006
LOCATION_TAKEN = 9107
CANNOT_INFER_NAME = 9018
# User metadata of every exported object: the id of the export that wrote it.
EXPORT_ID_METADATA = "sbg-export-id"


@dataclass(frozen=True)
class ExportRequest:
    file: str
    volume: str
    location: str
    overwrite: bool = False
    properties: dict[str, Any] | None = None
    copy_only: bool = False


def job_not_found(job_id: str) -> errors.ApiError:
    return errors.not_found(f"Export '{job_id}' does not exist.", JOB_NOT_FOUND)


def _exportable(ctx: ServiceContext, file_id: str) -> File:
    record, _ = files.load_file(
        ctx, file_id, "copy", code=FILE_FORBIDDEN, action="export its files"
    )
    if record.is_folder:
        raise errors.bad_request("Folders cannot be exported; export its files.", NOT_EXPORTABLE)
    if is_alias(record):
        raise errors.bad_request(
            f"File '{record.id}' is already on a volume ({(record.storage or {}).get('volume')}); "
            "only files stored on the platform can be exported.",
            NOT_EXPORTABLE,
        )
    if is_public_project(record.project):
        raise errors.bad_request("Public files cannot be exported.", NOT_EXPORTABLE)
    if not record.blob_key:
        raise errors.bad_request(f"File '{record.id}' has no content to export.", NOT_EXPORTABLE)
    return record


def _location_for(location: str, file_name: str) -> str:
    cleaned = (location or "").lstrip("/")
    if not cleaned or cleaned.endswith("/"):
        cleaned += file_name  # a folder of the volume: the file keeps its name
    if not cleaned or "//" in cleaned:
        raise errors.bad_request(f"Invalid destination location {location!r}.", CANNOT_INFER_NAME)
    return cleaned


def _check_free(spec: BucketSpec, runtime: VolumeRuntime, location: str, volume: str) -> None:
    try:
        open_bucket(spec, runtime.clouds).head(location)
    except ObjectMissing:
        return
    except BucketError as exc:
        raise listing_failure(exc)
    raise errors.conflict(
        f"Volume '{volume}' already has an object at '{location}'; use overwrite to replace it.",
        LOCATION_TAKEN,
    )


def submit_export(
    ctx: ServiceContext, runtime: VolumeRuntime, request: ExportRequest
) -> VolumeExport:
    owner, volume_name = split_volume_id(request.volume)
    record = _exportable(ctx, request.file)
    location = _location_for(request.location, record.name)
    file_id = record.id
    ref = resolve_volume(ctx, runtime, owner, volume_name, "write", "export to it")
    if ref.access_mode != "RW":
        raise errors.bad_request(
            f"Volume '{ref.id}' is read-only (RO); files can only be exported to RW volumes.",
            errors.VOLUME_NOT_READ_WRITE,
        )
    if not ref.active:
        raise errors.bad_request(f"Volume '{ref.id}' is deactivated.", 9103)
    if not request.overwrite:
        _check_free(ref.spec, runtime, location, ref.id)  # no transaction is open here
    record = _exportable(ctx, file_id)  # again: it may have changed meanwhile
    job = VolumeExport(
        id=secrets.token_urlsafe(12),
        user_id=ctx.actor.user_id,
        volume_id=ref.pk,
        volume_label=ref.id,
        location=location,
        file_id=record.id,
        overwrite=request.overwrite,
        copy_only=request.copy_only,
        properties=dict(request.properties or {}),
        state=PENDING,
        created_on=utcnow(),
    )
    ctx.session.add(job)
    workers.enqueue(ctx.session, RUN_EXPORT, {"export_id": job.id})
    ctx.session.commit()
    return job


def bulk_submit(
    ctx: ServiceContext, runtime: VolumeRuntime, requests: Sequence[ExportRequest]
) -> list[VolumeExport | errors.ApiError]:
    return volume_jobs.bulk_submit(
        ctx, requests, lambda request: submit_export(ctx, runtime, request)
    )


def get_export(ctx: ServiceContext, job_id: str) -> VolumeExport:
    return volume_jobs.own_job(ctx, VolumeExport, job_id, job_not_found)


def bulk_get(ctx: ServiceContext, job_ids: Sequence[str]) -> list[VolumeExport | errors.ApiError]:
    return volume_jobs.bulk_get(ctx, job_ids, lambda job_id: get_export(ctx, job_id))


def list_exports(
    ctx: ServiceContext, page: PageRequest, *, volume: str | None = None, state: str | None = None
) -> Page[VolumeExport]:
    return volume_jobs.list_own_jobs(ctx, VolumeExport, page, volume=volume, state=state)


def result_file(ctx: ServiceContext, job: VolumeExport) -> File | None:
    if job.state != COMPLETED or not job.result_id:
        return None
    return ctx.session.get(File, job.result_id)


# ---------------------------------------------------------------------------------------------
# Running


class _Failed(Exception):
    def __init__(self, error: errors.ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _fail(resources: workers.WorkerResources, job_id: str, error: errors.ApiError) -> None:
    with resources.database.write_session() as session:
        job = session.get(VolumeExport, job_id)
        if job is not None and job.state not in TERMINAL:
            job.state = FAILED
            job.error = error.body()
            job.finished_on = utcnow()
            session.commit()
    logger.info("export %s failed: %s", job_id, error.message)


def _prepare(
    session: Session, runtime: VolumeRuntime, job: VolumeExport
) -> tuple[BucketSpec, str, str, int]:
    """(bucket, volume label, blob key, size) for a job about to run."""
    user = session.get(User, job.user_id)
    if user is None or user.disabled:
        raise _Failed(errors.forbidden("The account that submitted this export is disabled."))
    volume = session.get(Volume, job.volume_id) if job.volume_id is not None else None
    if volume is None:
        raise _Failed(errors.not_found(f"Volume '{job.volume_label}' does not exist.", 9104))
    if volume.access_mode != "RW" or not volume.active:
        raise _Failed(
            errors.bad_request(
                f"Volume '{job.volume_label}' is no longer an active RW volume.",
                errors.VOLUME_NOT_READ_WRITE,
            )
        )
    record = session.get(File, job.file_id)
    if record is None or not record.blob_key:
        raise _Failed(
            errors.not_found(f"File '{job.file_id}' no longer exists on the platform.", 9009)
        )
    spec = bucket_spec(runtime, volume)
    # The export's own S3 properties (e.g. sse_algorithm) win over the volume's.
    if job.properties:
        spec = BucketSpec(
            type=spec.type,
            bucket=spec.bucket,
            prefix=spec.prefix,
            endpoint=spec.endpoint,
            credentials=spec.credentials,
            properties={**(spec.properties or {}), **job.properties},
        )
    return spec, volume_id(volume), record.blob_key, record.size


def _remember_upload(resources: workers.WorkerResources, job_id: str, upload: str | None) -> None:
    with resources.database.write_session() as session:
        job = session.get(VolumeExport, job_id)
        if job is not None:
            job.upload_id = upload
            session.commit()


def _write(
    resources: workers.WorkerResources,
    runtime: VolumeRuntime,
    job: VolumeExport,
    bucket: Bucket,
    blob_key: str,
    size: int,
) -> None:
    store: BlobStore | None = resources.blob_store
    if store is None:
        raise RuntimeError("blob store missing from the workers' resources")
    # The object says which export wrote it, so a rerun of this job knows it as its own.
    mark = {EXPORT_ID_METADATA: job.id}
    if size < runtime.multipart_threshold:
        with store.open(blob_key) as source:
            bucket.put_bytes(job.location, source.read(), metadata=mark)
        return
    upload = bucket.begin_upload(job.location, metadata=mark)
    _remember_upload(resources, job.id, upload)
    parts: list[UploadedPart] = []
    try:
        with store.open(blob_key) as source:
            number = 1
            while True:
                chunk = source.read(runtime.part_size)
                if not chunk and parts:
                    break
                parts.append(bucket.upload_part(job.location, upload, number, chunk))
                number += 1
                if len(chunk) < runtime.part_size:
                    break
        bucket.complete_upload(job.location, upload, parts, metadata=mark)
    except BaseException:
        try:
            bucket.abort_upload(job.location, upload)
        except BucketError:
            logger.warning("export %s: the aborted multipart write could not be removed", job.id)
        raise
    _remember_upload(resources, job.id, None)


def _written_before(bucket: Bucket, job: VolumeExport, label: str, size: int) -> bool:
    """True when an earlier run of this job already wrote the object (cut off before its
    commit); an object someone else put there is a 409 unless the job may overwrite it."""
    if job.upload_id:  # left by a run cut off by a restart: forget its parts
        bucket.abort_upload(job.location, job.upload_id)
    try:
        found = bucket.head(job.location)
    except ObjectMissing:
        return False
    if found.metadata.get(EXPORT_ID_METADATA) == job.id and found.size == size:
        return True
    if job.overwrite:
        return False
    raise _Failed(
        errors.conflict(
            f"Volume '{label}' already has an object at '{job.location}'.", LOCATION_TAKEN
        )
    )


def _complete(resources: workers.WorkerResources, job_id: str, label: str, blob_key: str) -> None:
    with resources.database.write_session() as session:
        current = session.get(VolumeExport, job_id)
        if current is None:
            return
        record = session.get(File, current.file_id)
        if record is not None and not current.copy_only and record.blob_key == blob_key:
            # The file now lives on the volume: an alias, its platform copy released.
            record.storage = alias_storage(label, current.location)
            record.volume_id = current.volume_id
            record.blob_key = None
            record.modified_on = utcnow()
            folders.release_blobs(session, [blob_key])
        current.result_id = current.file_id
        current.upload_id = None
        current.state = COMPLETED
        current.finished_on = utcnow()
        session.commit()


def run_export(resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
    job_id = str(payload.get("export_id"))
    runtime: VolumeRuntime | None = resources.extras.get("volumes")
    if runtime is None:
        raise RuntimeError("volume runtime missing from the workers' resources")
    with resources.database.write_session() as session:
        job = session.get(VolumeExport, job_id)
        if job is None or job.state in TERMINAL:
            return
        job.state = RUNNING
        job.started_on = job.started_on or utcnow()
        session.commit()
        session.refresh(job)
        session.expunge(job)
    try:
        with resources.database.read_session() as session:
            spec, label, blob_key, size = _prepare(session, runtime, job)
        # One provider client for the whole run (making one costs more than a small PUT).
        bucket = open_bucket(spec, runtime.clouds, background=True)
        if not _written_before(bucket, job, label, size):
            _write(resources, runtime, job, bucket, blob_key, size)
            # Tests fail here to play a crash between the write and the commit.
            workers.fault_point(resources, f"{RUN_EXPORT}:written")
    except _Failed as failure:
        _fail(resources, job_id, failure.error)
        return
    except BucketError as exc:
        _fail(resources, job_id, listing_failure(exc))
        return
    _complete(resources, job_id, label, blob_key)
    logger.info("export %s completed", job_id)


def give_up_export(resources: workers.WorkerResources, payload: dict[str, Any], _: str) -> None:
    """The worker gave up: the job ends FAILED; a multipart write it left is aborted."""
    job_id = str(payload.get("export_id"))
    runtime: VolumeRuntime | None = resources.extras.get("volumes")
    with resources.database.read_session() as session:
        job = session.get(VolumeExport, job_id)
        upload, location = (job.upload_id, job.location) if job is not None else (None, "")
        volume = session.get(Volume, job.volume_id) if job and job.volume_id else None
        spec = bucket_spec(runtime, volume) if runtime and volume else None
    if upload and spec is not None and runtime is not None:
        try:
            open_bucket(spec, runtime.clouds, background=True).abort_upload(location, upload)
            _remember_upload(resources, job_id, None)
        except BucketError:
            logger.warning("export %s: its multipart write could not be aborted", job_id)
    _fail(resources, job_id, errors.gave_up("export"))


workers.register_handler(RUN_EXPORT, run_export, give_up_export)

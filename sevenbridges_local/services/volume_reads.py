"""Reading the content of volume aliases: files whose bytes stay in a volume's bucket.

An alias (made by an import, or by an export without ``copy_only``) has no blob; its row keeps
the volume's id (``File.volume_id``) and the object's location (``File.storage``). Everything
that reads a file's bytes asks here when the file is an alias: downloads (a presigned URL of
the provider), task inputs (the object is fetched into the task's work directory) and exports.
The volume's credentials are used on behalf of whoever may read the file: reading an alias needs
the permissions on the file's project, not a membership of the volume.

Failures are the caller's errors, never 500s: a volume unlinked meanwhile or an object that
vanished from the bucket is 404/9109, a deactivated volume 400/5034, a provider that refuses or
does not answer 400/9109 with the provider's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db.files import File
from sevenbridges_local.db.volumes import Volume
from sevenbridges_local.execution.base import InputFile
from sevenbridges_local.services.volumes import VolumeRuntime, bucket_spec, volume_id
from sevenbridges_local.storage.buckets import (
    BucketError,
    BucketSpec,
    CloudSettings,
    ObjectMissing,
    open_bucket,
)

logger = logging.getLogger(__name__)

VOLUME_STORAGE = "VOLUME"
VOLUME_INACTIVE = 5034
FILE_MISSING_ON_VOLUME = 9109
COPY_CHUNK = 8 * 1024 * 1024


def is_alias(record: File) -> bool:
    return bool(record.storage) and (record.storage or {}).get("type") == VOLUME_STORAGE


def alias_storage(volume_label: str, location: str) -> dict[str, Any]:
    """The ``storage`` JSON of an alias, as files render it."""
    return {"type": VOLUME_STORAGE, "volume": volume_label, "location": location}


@dataclass(frozen=True)
class AliasSource:
    """Where an alias's bytes are: a bucket (credentials included) and a location in it."""

    file_id: str
    name: str
    volume: str
    location: str
    spec: BucketSpec = field(repr=False)


def _missing(record: File, location: str, volume: str) -> errors.ApiError:
    return errors.not_found(
        f"The content of file '{record.name}' ({record.id}) is gone: there is no object "
        f"'{location}' on volume '{volume}' any more.",
        FILE_MISSING_ON_VOLUME,
    )


def alias_source(session: Session, runtime: VolumeRuntime, record: File) -> AliasSource:
    """The bucket and location of an alias (the caller has checked access to the file)."""
    storage = record.storage or {}
    location = str(storage.get("location") or "")
    label = str(storage.get("volume") or "")
    volume = session.get(Volume, record.volume_id) if record.volume_id is not None else None
    if volume is None:
        raise errors.not_found(
            f"The content of file '{record.name}' ({record.id}) was on volume '{label}', which "
            "is no longer connected.",
            FILE_MISSING_ON_VOLUME,
        )
    if not volume.active:
        raise errors.bad_request(
            f"File '{record.name}' is on volume '{volume_id(volume)}', which is deactivated; "
            "its content cannot be read until the volume is active again.",
            VOLUME_INACTIVE,
        )
    return AliasSource(
        file_id=record.id,
        name=record.name,
        volume=volume_id(volume),
        location=location,
        spec=bucket_spec(runtime, volume),
    )


def read_failure(source: AliasSource, exc: BucketError) -> errors.ApiError:
    """A bucket failure while reading an alias, as the caller's error."""
    if isinstance(exc, ObjectMissing):
        return errors.not_found(
            f"The content of file '{source.name}' ({source.file_id}) is gone: there is no "
            f"object '{source.location}' on volume '{source.volume}' any more.",
            FILE_MISSING_ON_VOLUME,
        )
    return errors.bad_request(
        f"The content of file '{source.name}' cannot be read from volume '{source.volume}': {exc}",
        FILE_MISSING_ON_VOLUME,
    )


def presigned_download(
    source: AliasSource, clouds: CloudSettings, ttl_seconds: int, *, presign: bool = True
) -> str | None:
    """A provider URL reading the object (None where the provider has none, or when
    ``presign`` is off); the object is looked up first so that a vanished one is reported now,
    not by the provider later."""
    bucket = open_bucket(source.spec, clouds)
    try:
        bucket.head(source.location)
        if not presign:
            return None
        return bucket.presigned_url(source.location, max(ttl_seconds, 1))
    except BucketError as exc:
        raise read_failure(source, exc)


def copy_to(source: AliasSource, clouds: CloudSettings, out: BinaryIO) -> int:
    """Write the object's bytes to ``out``; returns the count (:class:`errors.ApiError`)."""
    bucket = open_bucket(source.spec, clouds, background=True)
    written = 0
    try:
        for chunk in bucket.stream(source.location, chunk_bytes=COPY_CHUNK):
            out.write(chunk)
            written += len(chunk)
    except BucketError as exc:
        raise read_failure(source, exc)
    return written


def fetcher(source: AliasSource, clouds: CloudSettings) -> Callable[[BinaryIO], int]:
    """What a task runner calls to stage the alias: writes the bytes to the file it opened."""

    def fetch(out: BinaryIO) -> int:
        return copy_to(source, clouds, out)

    return fetch


# ---------------------------------------------------------------------------------------------
# Downloads of aliases whose provider has no presigned URLs (GCS here): the API streams them
# at a URL it signed itself when it handed it out (after checking the caller's access).

CONTENT_PREFIX = "/volume-content/"


def content_path(file_id: str) -> str:
    return f"{CONTENT_PREFIX}{file_id}"


def signed_source(session: Session, runtime: VolumeRuntime, file_id: str) -> AliasSource:
    """The source behind a signed content URL (the signature was checked by the caller)."""
    record = session.get(File, file_id)
    if record is None or not is_alias(record):
        raise errors.not_found(f"File '{file_id}' does not exist.", 5002)
    return alias_source(session, runtime, record)


def open_stream(source: AliasSource, clouds: CloudSettings) -> tuple[int, Any]:
    """(size, iterator of chunks) of the object; failures before the first byte are errors."""
    bucket = open_bucket(source.spec, clouds, background=True)
    try:
        size = bucket.head(source.location).size
        return size, bucket.stream(source.location, chunk_bytes=1024 * 1024)
    except BucketError as exc:
        raise read_failure(source, exc)


# ---------------------------------------------------------------------------------------------
# Task inputs


def attach_fetchers(
    session: Session, runtime: VolumeRuntime | None, items: Iterable[InputFile]
) -> None:
    """Give every alias among the inputs (folders' content and secondary files included) the
    means to stage itself from its bucket; a volume gone or deactivated fails now."""
    pending = list(items)
    while pending:
        item = pending.pop()
        pending.extend(item.children)
        pending.extend(item.secondary)
        if item.is_folder or item.blob_key is not None:
            continue
        record = session.get(File, item.file_id)
        if record is None or not is_alias(record):
            continue
        if runtime is None:
            raise errors.unavailable("Volumes are not ready yet; the task cannot read its inputs.")
        item.fetch = fetcher(alias_source(session, runtime, record), runtime.clouds)

"""Multipart uploads (rest-api.md §4): init, part URLs, part reports, complete, abort, info.

The bytes never pass through the API: clients PUT each part to a signed data-plane URL, the blob
store keeps it under the upload id with its MD5, and the client reports the ETag it got back.
Complete checks the reports against what was stored, turns the upload's data into an object
(the local store wrote the parts in place, so this is a link, not a copy) and creates the file.
Upload rows and staged parts survive a restart, so an upload can be continued with fresh part URLs
by a new process; uploads nobody touched for ``STALE_AFTER`` are removed.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import Project
from sevenbridges_local.db.uploads import Upload, UploadPart
from sevenbridges_local.services import access, files
from sevenbridges_local.services.context import Actor, ServiceContext
from sevenbridges_local.signing import SignedUrl, TransferLinks
from sevenbridges_local.storage import (
    BlobStore,
    StorageError,
    StorageFull,
    StoredPart,
    UploadNotFound,
)

logger = logging.getLogger(__name__)

MIB = 1024**2
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10_000
MAX_FILE_SIZE = 5 * 1024**4
DEFAULT_PART_SIZE = 32 * MIB
# Unfinished uploads untouched (no init, no part report) for a week are removed with their parts;
# staged data without an upload row (an abort racing a part PUT) goes after a day.
STALE_AFTER = timedelta(days=7)
ORPHAN_AFTER = timedelta(days=1)
CLEANUP_INTERVAL_SECONDS = 6 * 3600
# When the disk is too full for a write, unfinished uploads idle this long are removed at once.
PRESSURE_IDLE_SECONDS = 3600

# Platform codes of the upload service (numbers from the REST reference).
UPLOAD_FORBIDDEN = 8001
UPLOAD_NOT_FOUND = 8003
UPLOAD_FILE_EXISTS = 8005
COMPLETE_FAILED = 8007
PROJECT_MALFORMED = 8010
PART_NUMBER_INVALID = 8012
INIT_INVALID = 8013
PART_REPORT_INVALID = 8014
PARTS_LIST_INVALID = 8015

_ETAG = re.compile(r"^[0-9a-f]{32}$")


# ---------------------------------------------------------------------------------------------
# Sizes


def part_count(size: int, part_size: int) -> int:
    """Parts needed for ``size`` bytes; an empty file is one empty part."""
    return max(1, math.ceil(size / part_size))


def choose_part_size(size: int, requested: int | None) -> int:
    """The client's part size when it is within limits, otherwise ours (32 MiB or larger)."""
    if requested is not None and MIN_PART_SIZE <= requested <= MAX_PART_SIZE:
        if part_count(size, requested) <= MAX_PARTS:
            return requested
    # Smallest whole number of MiB that keeps the count within the limit, at least the default.
    needed = math.ceil(size / MAX_PARTS / MIB) * MIB
    return min(max(DEFAULT_PART_SIZE, needed), MAX_PART_SIZE)


# ---------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class InitRequest:
    name: str
    size: int
    part_size: int | None
    project: str | None
    parent: str | None
    overwrite: bool


@dataclass(frozen=True)
class PartReport:
    part_number: int
    etag: str


@dataclass(frozen=True)
class ReportedPart:
    """A part report as the client sent it: a number (int or digits) and an ETag, unchecked."""

    part_number: int | str | None
    etag: str | None


def normalize_etag(raw: Any, code: int) -> str:
    """``"abc.."`` or ``abc..`` -> ``abc..``; only the MD5 hex that storage hands out is valid."""
    if not isinstance(raw, str):
        raise errors.bad_request("The part's ETag must be a string.", code)
    etag = raw.strip().strip('"').strip().lower()
    if not _ETAG.match(etag):
        raise errors.bad_request(
            f"Invalid ETag {raw!r}: expected the MD5 hex digest the storage returned.", code
        )
    return etag


def _upload_forbidden(message: str) -> errors.ApiError:
    return errors.forbidden(message, UPLOAD_FORBIDDEN)


def _destination(
    ctx: ServiceContext, project: str | None, parent: str | None
) -> tuple[Project, File]:
    """The destination with write permission, answering with the upload service's codes."""
    if project is not None:
        owner, _, slug = project.partition("/")
        if not owner or not slug or "/" in slug:
            raise errors.bad_request(
                f"Malformed project id '{project}': expected 'owner/project'.", PROJECT_MALFORMED
            )
    try:
        target, folder = files.resolve_destination(
            ctx, project, parent, code=UPLOAD_FORBIDDEN, action="upload files to it"
        )
    except errors.ApiError as exc:
        if exc.status == 403:  # whatever the files service calls it, for uploads it is 8001
            raise _upload_forbidden(exc.message) from None
        raise
    if folder is None:  # the files service always names a folder; be explicit if it ever stops
        raise errors.not_found("The destination folder does not exist.", files.FILE_NOT_FOUND)
    return target, folder


def _existing_entry(ctx: ServiceContext, project: Project, folder: File, name: str) -> File | None:
    return ctx.session.scalars(files.same_name_in_folder(project.id, folder.id, name)).first()


# ---------------------------------------------------------------------------------------------
# Operations


def init_upload(ctx: ServiceContext, store: BlobStore, request: InitRequest) -> Upload:
    """Check the destination and the name, choose the part size and open the upload."""
    name = files.check_name(request.name)
    if request.size < 0 or request.size > MAX_FILE_SIZE:
        raise errors.bad_request(
            f"Invalid file size {request.size}: expected 0 to {MAX_FILE_SIZE} bytes (5 TiB).",
            INIT_INVALID,
        )
    project, folder = _destination(ctx, request.project, request.parent)
    existing = _existing_entry(ctx, project, folder, name)
    if existing is not None and (existing.is_folder or not request.overwrite):
        kind = "folder" if existing.is_folder else "file"
        raise errors.conflict(
            f"A {kind} named '{name}' already exists there"
            + ("." if existing.is_folder else "; use overwrite to replace it."),
            UPLOAD_FILE_EXISTS,
        )
    now = utcnow()
    upload = Upload(
        id=uuid.uuid4().hex,
        user_id=ctx.actor.user_id,
        project_id=project.id,
        folder_id=folder.id,
        project_ref=files.project_label(project) if request.parent is None else None,
        parent_ref=request.parent,
        name=name,
        size=request.size,
        part_size=choose_part_size(request.size, request.part_size),
        overwrite=request.overwrite,
        initiated=now,
        touched_on=now,
    )
    # Staging first: a row without staging would accept no parts; staging without a row is
    # swept as an orphan.
    try:
        # The geometry lets storage write each part straight into its place in the file.
        store.begin_sized_upload(upload.id, upload.size, upload.part_size)
    except StorageFull as exc:
        logger.warning("could not prepare staging for an upload: %s", exc)
        raise errors.insufficient_storage(str(exc)) from None
    except StorageError as exc:
        logger.error("could not prepare staging for an upload: %s", exc)
        raise errors.ApiError(500, errors.UNEXPECTED, "Storage could not prepare the upload.")
    ctx.session.add(upload)
    try:
        ctx.session.commit()
    except Exception:
        store.discard_upload(upload.id)
        raise
    logger.info("upload %s started: %s (%d bytes)", upload.id, name, upload.size)
    return upload


def get_upload(ctx: ServiceContext, upload_id: str) -> Upload:
    """The caller's own upload; others' uploads are refused (403/8001)."""
    upload = ctx.session.get(Upload, upload_id) if upload_id else None
    if upload is None:
        raise errors.not_found(f"Upload '{upload_id}' does not exist.", UPLOAD_NOT_FOUND)
    if upload.user_id != ctx.actor.user_id:
        raise _upload_forbidden("This upload was started by another user.")
    return upload


def _require_write(ctx: ServiceContext, upload: Upload) -> None:
    membership = access.project_access(ctx.session, upload.project_id, ctx.actor.user_id)
    if membership is None or not membership.write:
        raise _upload_forbidden("You no longer have the 'write' permission on the project.")


def parse_part_number(raw: Any, upload: Upload, code: int = PART_NUMBER_INVALID) -> int:
    """A part number of this upload: 1 up to the number of parts its size needs."""
    last = part_count(upload.size, upload.part_size)
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 10:
        number = int(raw)
    if number is None or not 1 <= number <= last:
        raise errors.bad_request(
            f"Invalid part number {raw!r}: this upload has parts 1 to {last}.", code
        )
    return number


def part_url(
    ctx: ServiceContext, upload_id: str, raw_part_number: str, links: TransferLinks
) -> SignedUrl:
    """A fresh signed URL for one part (ask again when one expires)."""
    upload = get_upload(ctx, upload_id)
    number = parse_part_number(raw_part_number, upload)
    _require_write(ctx, upload)
    try:
        return links.part_upload(upload.id, number)
    except UploadNotFound:  # the store lost the upload's staging (e.g. aborted in S3)
        raise errors.not_found(
            f"Upload '{upload_id}' has no staging area any more; start a new upload.",
            UPLOAD_NOT_FOUND,
        ) from None
    except StorageError as exc:
        logger.error("could not sign a part URL for upload %s: %s", upload_id, exc)
        raise errors.unavailable("Storage could not sign the part URL; try again.") from None


def _record_reports(ctx: ServiceContext, upload: Upload, reports: Iterable[PartReport]) -> None:
    by_number = {row.part_number: row for row in upload.part_rows}
    now = utcnow()
    for report in reports:
        row = by_number.get(report.part_number)
        if row is None:  # a new report; a repeated one replaces the earlier ETag
            row = UploadPart(upload_id=upload.id, part_number=report.part_number)
            upload.part_rows.append(row)
            by_number[report.part_number] = row
        row.etag = report.etag
        row.reported_on = now
    upload.touched_on = now


def report_part(ctx: ServiceContext, upload_id: str, reported: ReportedPart) -> PartReport:
    """Record one part's ETag (a repeated report replaces the earlier one)."""
    upload = get_upload(ctx, upload_id)
    report = parse_report(reported, upload, PART_REPORT_INVALID)
    _record_reports(ctx, upload, [report])
    ctx.session.commit()
    return report


def parse_report(reported: ReportedPart, upload: Upload, code: int) -> PartReport:
    number = parse_part_number(reported.part_number, upload, code)
    if reported.etag is None:
        raise errors.bad_request(
            'A part report needs the ETag: {"response": {"headers": {"ETag": ...}}}.', code
        )
    return PartReport(number, normalize_etag(reported.etag, code))


@dataclass(frozen=True)
class UploadInfo:
    upload: Upload
    reported: int
    stored_parts: list[StoredPart] | None  # when asked for with list_parts


def upload_info(
    ctx: ServiceContext, store: BlobStore, upload_id: str, *, list_parts: bool
) -> UploadInfo:
    """The upload and, with ``list_parts``, every part storage holds (reported or not)."""
    upload = get_upload(ctx, upload_id)
    stored = None
    if list_parts:
        stored = sorted(store.stored_parts(upload.id).values(), key=lambda part: part.number)
    return UploadInfo(upload=upload, reported=len(upload.part_rows), stored_parts=stored)


def abort_upload(ctx: ServiceContext, store: BlobStore, upload_id: str) -> None:
    upload = get_upload(ctx, upload_id)
    ctx.session.delete(upload)
    ctx.session.commit()
    store.discard_upload(upload_id)
    logger.info("upload %s aborted", upload_id)


def _complete_failed(message: str) -> errors.ApiError:
    return errors.bad_request(message, COMPLETE_FAILED)


def _verified_parts(upload: Upload, stored: Mapping[int, StoredPart]) -> dict[int, str]:
    """Part number -> ETag for parts 1..N, after checking reports, checksums and sizes."""
    count = part_count(upload.size, upload.part_size)
    reported = {row.part_number: row.etag for row in upload.part_rows}
    missing = [number for number in range(1, count + 1) if number not in reported]
    if missing:
        shown = ", ".join(str(number) for number in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise _complete_failed(f"Part(s) {shown}{more} not reported; expected parts 1 to {count}.")
    total = 0
    for number in range(1, count + 1):
        part = stored.get(number)
        if part is None:
            raise _complete_failed(f"Part {number} was reported but never stored.")
        if part.etag != reported[number]:
            raise _complete_failed(
                f"Part {number}: the reported ETag {reported[number]} does not match the stored "
                f"part's MD5 {part.etag}; upload the part again."
            )
        if number < count and part.size != upload.part_size:
            raise _complete_failed(
                f"Part {number} has {part.size} bytes; every part but the last holds exactly "
                f"the upload's part size, {upload.part_size}."
            )
        total += part.size
    if total != upload.size:
        raise _complete_failed(
            f"The parts hold {total} bytes but the upload announced {upload.size}."
        )
    return {number: reported[number] for number in range(1, count + 1)}


def complete_upload(
    ctx: ServiceContext,
    database: Database,
    store: BlobStore,
    upload_id: str,
    reports: list[ReportedPart] | None,
) -> File:
    """Verify, assemble and create the file (``ctx``'s transaction is committed here).

    The write lock is taken only for the short final step: checks run in a read session and the
    (possibly large) assembly runs outside any transaction.
    """
    actor = ctx.actor
    if reports:  # parts listed in the complete body count as reports
        _report_many(database, actor, upload_id, reports)
    with database.read_session() as session:
        reader = ServiceContext(session=session, actor=actor)
        upload = get_upload(reader, upload_id)
        _destination(reader, upload.project_ref, upload.parent_ref)
        expected = _verified_parts(upload, store.stored_parts(upload.id))
    # A store that binds an upload to its object's key (S3) names the key; a parallel complete
    # of the same upload then assembles the same object, so a failed attempt must not delete
    # it unless the upload is still pending (nobody completed it).
    bound_key = store.upload_object_key(upload_id)
    blob_key = bound_key or uuid.uuid4().hex
    try:
        size = store.assemble(upload_id, sorted(expected), blob_key, expected)
    except StorageFull as exc:
        # Not the upload's fault: its parts stay, and completing again later can succeed.
        if bound_key is None:
            store.delete(blob_key)
        logger.warning("assembling upload %s failed: %s", upload_id, exc)
        raise errors.insufficient_storage(str(exc)) from None
    except StorageError as exc:
        if bound_key is None:
            store.delete(blob_key)
        logger.warning("assembling upload %s failed: %s", upload_id, exc)
        raise _complete_failed(f"The upload could not be assembled: {exc}.")
    try:
        upload = get_upload(ctx, upload_id)  # still there: a parallel complete may have won
        project, folder = _destination(ctx, upload.project_ref, upload.parent_ref)
        record = files.create_file_record(
            ctx,
            project=project,
            folder=folder,
            name=upload.name,
            size=size,
            blob_key=blob_key,
            overwrite=upload.overwrite,
            conflict_code=UPLOAD_FILE_EXISTS,
        )
        ctx.session.delete(upload)
        ctx.session.commit()
    except BaseException:
        ctx.session.rollback()
        if bound_key is None or ctx.session.get(Upload, upload_id) is not None:
            store.delete(blob_key)
        raise
    store.discard_upload(upload_id)
    logger.info("upload %s completed as file %s (%d bytes)", upload_id, record.id, size)
    return record


def _report_many(database: Database, actor: Actor, upload_id: str, raw: list[ReportedPart]) -> None:
    with database.write_session() as session:
        writer = ServiceContext(session=session, actor=actor)
        upload = get_upload(writer, upload_id)
        reports = [parse_report(item, upload, PARTS_LIST_INVALID) for item in raw]
        _record_reports(writer, upload, reports)
        session.commit()


# ---------------------------------------------------------------------------------------------
# Housekeeping


def cleanup_stale_uploads(database: Database, store: BlobStore) -> int:
    """Remove uploads untouched for ``STALE_AFTER`` and orphaned staging; returns how many."""
    cutoff = utcnow() - STALE_AFTER
    staged = store.staged_uploads()
    recently_written = time.time() - STALE_AFTER.total_seconds()
    with database.write_session() as session:
        stale = [
            upload
            for upload in session.scalars(select(Upload).where(Upload.touched_on < cutoff))
            # A part PUT also counts as activity (it shows in the staging's modification time).
            if staged.get(upload.id, 0.0) < recently_written
        ]
        for upload in stale:
            session.delete(upload)
        session.commit()
        known = set(session.scalars(select(Upload.id)))
    for upload in stale:
        store.discard_upload(upload.id)
    orphan_cutoff = time.time() - ORPHAN_AFTER.total_seconds()
    orphans = [
        upload_id
        for upload_id, changed in staged.items()
        if upload_id not in known and changed < orphan_cutoff
    ]
    for upload_id in orphans:
        store.discard_upload(upload_id)
    store.discard_stale_temporaries(ORPHAN_AFTER.total_seconds())
    removed = len(stale) + len(orphans)
    if removed:
        logger.info("cleaned up %d stale upload(s) and orphaned staging area(s)", removed)
    return removed


def relieve_space_pressure(database: Database, store: BlobStore, idle_after: float) -> int:
    """Space is short: remove unfinished uploads idle for ``idle_after`` seconds; how many.

    An upload is idle when no part was stored (staging's modification time) and none was
    reported (its row's ``touched_on``) for that long: a client that gave up after a failed part
    would otherwise hold its parts for ``STALE_AFTER`` and block every other upload. The staged
    parts go first, which frees the space; removing the rows may itself fail on a full disk and
    is retried by the regular sweep (a part or complete for such an upload answers 404/400).
    """
    cutoff = time.time() - idle_after
    idle = [upload_id for upload_id, changed in store.staged_uploads().items() if changed < cutoff]
    removed: list[str] = []
    if idle:
        with database.read_session() as session:
            recent = set(
                session.scalars(
                    select(Upload.id).where(
                        Upload.id.in_(idle),
                        Upload.touched_on >= utcnow() - timedelta(seconds=idle_after),
                    )
                )
            )
        removed = [upload_id for upload_id in idle if upload_id not in recent]
    for upload_id in removed:
        store.discard_upload(upload_id)
    temporaries = store.discard_stale_temporaries(idle_after)
    if removed:
        try:
            with database.write_session() as session:
                for upload in session.scalars(select(Upload).where(Upload.id.in_(removed))):
                    session.delete(upload)
                session.commit()
        except Exception as exc:  # e.g. the database cannot write either: parts are gone anyway
            logger.warning("removing %d idle upload row(s) failed: %s", len(removed), exc)
    if removed or temporaries:
        logger.warning(
            "disk space is short: removed %d unfinished upload(s) idle for more than %d s and "
            "%d leftover temporary file(s)",
            len(removed),
            idle_after,
            temporaries,
        )
    return len(removed)


class UploadJanitor:
    """Runs :func:`cleanup_stale_uploads` at start and then every few hours in a thread, and
    :func:`relieve_space_pressure` whenever the blob store finds too little free space."""

    def __init__(
        self,
        database: Database,
        store: BlobStore,
        interval_seconds: float = CLEANUP_INTERVAL_SECONDS,
        pressure_idle_seconds: float = PRESSURE_IDLE_SECONDS,
    ) -> None:
        self.database = database
        self.store = store
        self.interval_seconds = interval_seconds
        self.pressure_idle_seconds = pressure_idle_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pressure_lock = threading.Lock()

    def relieve_pressure(self) -> int:
        """Make room now; concurrent callers share one sweep instead of each running their own."""
        if not self._pressure_lock.acquire(blocking=False):
            with self._pressure_lock:  # the sweep running now is the one they asked for
                return 0
        try:
            return relieve_space_pressure(self.database, self.store, self.pressure_idle_seconds)
        except Exception:
            logger.exception("making room for uploads failed")
            return 0
        finally:
            self._pressure_lock.release()

    def start(self) -> None:
        """Sweep once now (the server answers only afterwards), then periodically."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._sweep()
        self._thread = threading.Thread(target=self._run, name="upload-janitor", daemon=True)
        self._thread.start()

    def _sweep(self) -> None:
        try:
            cleanup_stale_uploads(self.database, self.store)
        except Exception:  # keep cleaning next time; a failed sweep loses nothing
            logger.exception("cleaning up stale uploads failed")

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_seconds):
            self._sweep()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

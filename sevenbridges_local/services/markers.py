"""Genome browser markers on BAM files.

A marker names a region (``chromosome``, ``position`` {start, end}, 1-based, inclusive) of a BAM
file: a file whose name ends in ``.bam`` and whose content starts with a BAM header (read by
``services.bam``); the chromosome must be one of the header's references and the end within its
length. Whoever can read the file sees its public markers and
their own private ones and may add markers; the creator, or an admin of the file's project,
changes and deletes a marker.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.datasets import Marker
from sevenbridges_local.db.files import File
from sevenbridges_local.services import bam, files
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.storage import BlobStore, ObjectNotFound

# BAM stores positions as signed 32-bit integers: nothing on a reference lies beyond this.
MAX_POSITION = 2**31 - 1
NAME_MAX_LENGTH = 255
CHROMOSOME_MAX_LENGTH = 255
BAM_SUFFIX = ".bam"


@dataclass(frozen=True)
class MarkerValues:
    """Writable keys as the client sent them; ``None``: not given."""

    name: Any = None
    chromosome: Any = None
    start: Any = None
    end: Any = None
    private: Any = None


def _not_bam(name: str, why: str = "") -> errors.ApiError:
    reason = f" ({why})" if why else ""
    return errors.bad_request(
        f"Markers can only be placed on BAM files; '{name}' is not one{reason}.",
        errors.MARKER_FILE_NOT_BAM,
    )


def _bam_file(
    ctx: ServiceContext, store: BlobStore, file_id: Any
) -> tuple[File, bam.BamHeader | None]:
    """The readable BAM file and its header (None for a volume alias, whose bytes stay in the
    bucket: only its name is checked)."""
    record, _ = files.load_file(ctx, file_id, "read")
    if record.is_folder or not record.name.lower().endswith(BAM_SUFFIX):
        raise _not_bam(record.name)
    if record.blob_key is None:
        return record, None
    key = record.blob_key
    try:
        return record, bam.cached_header(key, lambda: store.open(key))
    except bam.NotBam as exc:
        raise _not_bam(record.name, str(exc))
    except ObjectNotFound:
        raise _not_bam(record.name, "its content is missing")


def _check_against(header: bam.BamHeader | None, chromosome: str, end: int) -> None:
    if header is None:
        return
    length = header.references.get(chromosome)
    if length is None:
        known = ", ".join(list(header.references)[:10]) or "none"
        raise errors.bad_request(
            f"Chromosome '{chromosome}' is not a reference of this BAM file (its references: "
            f"{known}{', ...' if len(header.references) > 10 else ''}).",
            errors.MARKER_CHROMOSOME_INVALID,
        )
    if end > length:
        raise errors.bad_request(
            f"Marker position out of range: end={end} is beyond the length of '{chromosome}' "
            f"({length}).",
            errors.MARKER_POSITION_INVALID,
        )


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Marker name must not be empty.", errors.MARKER_NAME_EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Marker name must be at most {NAME_MAX_LENGTH} characters.", errors.MARKER_NAME_EMPTY
        )
    return name


def _check_chromosome(chromosome: Any) -> str:
    if (
        not isinstance(chromosome, str)
        or not chromosome.strip()
        or len(chromosome) > CHROMOSOME_MAX_LENGTH
        or any(char.isspace() for char in chromosome)
    ):
        raise errors.bad_request(
            "Chromosome must be a reference name such as 'chr1' (no spaces, at most "
            f"{CHROMOSOME_MAX_LENGTH} characters).",
            errors.MARKER_CHROMOSOME_INVALID,
        )
    return chromosome


def _check_position(start: Any, end: Any) -> tuple[int, int]:
    for key, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise errors.bad_request(
                f"Marker position '{key}' must be an integer.", errors.MARKER_POSITION_INVALID
            )
    if not 1 <= start <= end <= MAX_POSITION:
        raise errors.bad_request(
            f"Marker position out of range: need 1 <= start <= end <= {MAX_POSITION}, got "
            f"start={start}, end={end}.",
            errors.MARKER_POSITION_INVALID,
        )
    return start, end


def _find(ctx: ServiceContext, marker_id: str) -> Marker:
    marker = ctx.session.get(Marker, marker_id)
    if marker is not None and (not marker.private or marker.created_by_id == ctx.actor.user_id):
        try:
            files.load_file(ctx, marker.file_id, "read")
        except errors.ApiError:
            marker = None
    else:
        marker = None
    if marker is None:
        raise errors.not_found(f"Marker '{marker_id}' does not exist.", errors.MARKER_NOT_FOUND)
    return marker


def _require_change(ctx: ServiceContext, marker: Marker, action: str) -> None:
    if marker.created_by_id == ctx.actor.user_id:
        return
    _, membership = files.load_file(ctx, marker.file_id, "read")
    if not membership.admin:
        raise errors.forbidden(
            f"Only the marker's creator or a project admin can {action} it.",
            errors.MARKER_FORBIDDEN,
        )


def list_markers(
    ctx: ServiceContext, store: BlobStore, file_id: Any, page: PageRequest
) -> Page[Marker]:
    if not file_id:
        raise errors.bad_request("Query parameter 'file' is required.", files.FILE_ID_EMPTY)
    record, _ = _bam_file(ctx, store, file_id)
    statement = (
        select(Marker)
        .where(
            Marker.file_id == record.id,
            or_(Marker.private.is_(False), Marker.created_by_id == ctx.actor.user_id),
        )
        .order_by(Marker.created_on, Marker.id)
    )
    return paginate(ctx.session, statement, page)


def get_marker(ctx: ServiceContext, marker_id: str) -> Marker:
    return _find(ctx, marker_id)


def create_marker(
    ctx: ServiceContext, store: BlobStore, file_id: Any, values: MarkerValues
) -> Marker:
    record, header = _bam_file(ctx, store, file_id)
    name = _check_name(values.name)
    chromosome = _check_chromosome(values.chromosome)
    start, end = _check_position(values.start, values.end)
    _check_against(header, chromosome, end)
    private = True if values.private is None else values.private
    if not isinstance(private, bool):
        raise errors.bad_request("'private' must be true or false.")
    marker = Marker(
        id=secrets.token_hex(12),
        file_id=record.id,
        name=name,
        chromosome=chromosome,
        start=start,
        end=end,
        private=private,
        created_by_id=ctx.actor.user_id,
        created_on=utcnow(),
    )
    ctx.session.add(marker)
    ctx.session.commit()
    return marker


def update_marker(
    ctx: ServiceContext, store: BlobStore, marker_id: str, values: MarkerValues
) -> Marker:
    """PATCH: only the given keys (position sub-keys one by one); all checked before any is set."""
    marker = _find(ctx, marker_id)
    _require_change(ctx, marker, "change")
    name = marker.name if values.name is None else _check_name(values.name)
    chromosome = (
        marker.chromosome if values.chromosome is None else _check_chromosome(values.chromosome)
    )
    start = marker.start if values.start is None else values.start
    end = marker.end if values.end is None else values.end
    start, end = _check_position(start, end)
    if values.chromosome is not None or values.start is not None or values.end is not None:
        _, header = _bam_file(ctx, store, marker.file_id)
        _check_against(header, chromosome, end)
    if values.private is not None and not isinstance(values.private, bool):
        raise errors.bad_request("'private' must be true or false.")
    marker.name, marker.chromosome, marker.start, marker.end = name, chromosome, start, end
    if values.private is not None:
        marker.private = values.private
    ctx.session.commit()
    return marker


def delete_marker(ctx: ServiceContext, marker_id: str) -> None:
    marker = _find(ctx, marker_id)
    _require_change(ctx, marker, "delete")
    ctx.session.delete(marker)
    ctx.session.commit()

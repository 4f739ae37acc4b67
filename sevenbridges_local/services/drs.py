"""GA4GH DRS v1 serving: the platform's files as DRS objects, with signed access URLs.

A DRS object id is the file's platform id. Describing an object needs the ``read`` permission on
its project (like ``GET /files/{id}``); an access URL needs ``copy``, exactly as a download does
(it *is* a download: the same signed data-plane URL, and a row in the egress ledger).

Checksums: SHA-256 and MD5 of a blob are computed once, on the first request that needs them
(or when a DRS import writes the blob), and stored per blob key; blobs are immutable, so they
stay true and a large file is never re-read to describe it.

Volume aliases (content in a bucket) are served too: their access URL is the one a download
gets (``volume_reads``: the provider's presigned URL, or this API's signed stream). They carry
no checksums: the object can change in its bucket at any time, so a stored digest could lie,
and computing one would read the whole object on every describe.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.drs import BlobChecksum
from sevenbridges_local.services import downloads, files, volume_reads
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.volumes import VolumeRuntime
from sevenbridges_local.signing import SignedUrl, TransferLinks
from sevenbridges_local.storage import BlobStore, ObjectNotFound

logger = logging.getLogger(__name__)

# The one access method every object has: an HTTP(S) URL handed out by the access endpoint.
ACCESS_TYPE = "https"
ACCESS_ID = "https"
# Checksum type names as DRS spells them (the IANA hash names; "md5" is DRS's own).
SHA256_TYPE = "sha-256"
MD5_TYPE = "md5"
_DIGEST_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Digests:
    sha256: str
    md5: str


@dataclass(frozen=True)
class DrsObject:
    """What a DRS object shows about a file (the HTTP layer adds ``self_uri``)."""

    id: str
    name: str
    size: int
    created: datetime
    updated: datetime
    mime_type: str
    digests: Digests | None  # None for a volume alias (no checksums are listed)


def _digest_blob(store: BlobStore, blob_key: str) -> Digests:
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    with store.open(blob_key) as reader:
        while chunk := reader.read(_DIGEST_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return Digests(sha256=sha256.hexdigest(), md5=md5.hexdigest())


def remember_digests(database: Database, blob_key: str, size: int, digests: Digests) -> None:
    """Store a blob's checksums; a row another request stored first is kept (same bytes)."""
    with database.write_session() as session:
        if session.get(BlobChecksum, blob_key) is not None:
            return
        session.add(
            BlobChecksum(
                blob_key=blob_key,
                sha256=digests.sha256,
                md5=digests.md5,
                size=size,
                computed_on=utcnow(),
            )
        )
        try:
            session.commit()
        except IntegrityError:  # a concurrent request computed the same digests
            session.rollback()


def blob_digests(database: Database, store: BlobStore, blob_key: str, size: int) -> Digests:
    """The blob's stored checksums, computed from its bytes (once) when there are none yet."""
    with database.read_session() as session:
        stored = session.get(BlobChecksum, blob_key)
        if stored is not None:
            return Digests(sha256=stored.sha256, md5=stored.md5)
    try:
        digests = _digest_blob(store, blob_key)
    except ObjectNotFound:
        raise errors.not_found(
            "The object's content is missing from this platform's storage.", files.FILE_NOT_FOUND
        ) from None
    remember_digests(database, blob_key, size, digests)
    logger.info("computed the checksums of blob %s (%d bytes)", blob_key, size)
    return digests


def _guess_mime_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def describe_object(
    ctx: ServiceContext, database: Database, store: BlobStore, object_id: str
) -> DrsObject:
    """A file as a DRS object: 404 when the caller cannot see it (or it has no content here),
    400 for a folder (DRS bundles are not served)."""
    record, _ = files.load_file(ctx, object_id, "read")
    if record.is_folder:
        raise errors.bad_request(
            f"'{object_id}' is a folder; this DRS server serves files only (no bundles).",
            files.FOLDER_DOWNLOAD,
        )
    alias = volume_reads.is_alias(record)
    if not record.blob_key and not alias:
        raise errors.not_found(
            f"File '{object_id}' has no content stored on this platform.", files.FILE_NOT_FOUND
        )
    found = DrsObject(
        id=record.id,
        name=record.name,
        size=record.size,
        created=record.created_on,
        updated=record.modified_on,
        mime_type=_guess_mime_type(record.name),
        digests=None,
    )
    if alias or not record.blob_key:
        return found
    blob_key, size = record.blob_key, record.size
    # Release the read transaction before a possibly long read of the blob.
    ctx.session.rollback()
    digests = blob_digests(database, store, blob_key, size)
    return replace(found, digests=digests)


def access_url(
    ctx: ServiceContext,
    object_id: str,
    access_id: str,
    links: TransferLinks,
    runtime: VolumeRuntime | None = None,
    api_base: str = "",
) -> SignedUrl:
    """A signed URL for the object's bytes (the ``copy`` permission, as for downloads); a
    volume alias's URL reads its bucket (``runtime``; ``api_base`` for a streamed one)."""
    if access_id != ACCESS_ID:
        # Checked after the object, so an id nobody may see never reveals more than a 404.
        files.load_file(ctx, object_id, "read")
        raise errors.not_found(
            f"Object '{object_id}' has no access method '{access_id}'; use '{ACCESS_ID}'.",
            errors.NOT_FOUND,
        )
    return downloads.download_url(ctx, object_id, links, runtime, api_base)

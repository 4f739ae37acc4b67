"""Blob storage backends behind one interface (``BlobStore``)."""

from __future__ import annotations

from pathlib import Path

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    PartDoesNotFit,
    StorageError,
    StorageFull,
    StoredPart,
    UploadNotFound,
)
from sevenbridges_local.storage.local import LocalBlobStore

__all__ = [
    "BlobStore",
    "IncompleteBody",
    "LocalBlobStore",
    "ObjectNotFound",
    "PartDoesNotFit",
    "StorageError",
    "StorageFull",
    "StoredPart",
    "UploadNotFound",
    "open_blob_store",
]


def open_blob_store(
    data_dir: Path,
    *,
    min_free_bytes: int = 0,
    storage: str | None = None,
    s3_endpoint_url: str | None = None,
) -> BlobStore:
    """The store for a platform whose data lives in ``data_dir``.

    ``storage`` None: a local directory under ``data_dir``, where writes that would leave less
    than ``min_free_bytes`` free on its file system are refused. ``s3://bucket/prefix``: that
    bucket (``s3_endpoint_url`` for an S3-compatible server instead of AWS).
    """
    if storage:
        from sevenbridges_local.storage.s3 import open_s3_store  # boto3 only when asked for

        return open_s3_store(storage, s3_endpoint_url)
    return LocalBlobStore(Path(data_dir) / "storage", min_free_bytes=min_free_bytes)

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


def open_blob_store(data_dir: Path, *, min_free_bytes: int = 0) -> BlobStore:
    """The store for a platform whose data lives in ``data_dir`` (local directory backend).

    Writes that would leave less than ``min_free_bytes`` free on its file system are refused.
    """
    return LocalBlobStore(Path(data_dir) / "storage", min_free_bytes=min_free_bytes)

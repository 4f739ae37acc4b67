"""Blob storage backends behind one interface (``BlobStore``)."""

from __future__ import annotations

from pathlib import Path

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    StorageError,
    StoredPart,
    UploadNotFound,
)
from sevenbridges_local.storage.local import LocalBlobStore

__all__ = [
    "BlobStore",
    "IncompleteBody",
    "LocalBlobStore",
    "ObjectNotFound",
    "StorageError",
    "StoredPart",
    "UploadNotFound",
    "open_blob_store",
]


def open_blob_store(data_dir: Path) -> BlobStore:
    """The store for a platform whose data lives in ``data_dir`` (local directory backend)."""
    return LocalBlobStore(Path(data_dir) / "storage")

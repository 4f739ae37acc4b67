"""Cloud buckets behind volumes: :func:`open_bucket` gives the :class:`Bucket` of a volume.

Used by the volume service (checks, listings, object info) and, next, by imports, exports and
DRS imports (ranged and streamed reads, multipart writes). Providers' libraries are imported
only when a bucket of their kind is opened.
"""

from __future__ import annotations

from sevenbridges_local.storage.buckets.base import (
    GCS,
    OSS,
    S3,
    STAGING_FOLDER,
    TYPES,
    AccessRefused,
    Bucket,
    BucketError,
    BucketMissing,
    BucketSpec,
    CloudSettings,
    CredentialsInvalid,
    InvalidToken,
    Listing,
    ObjectInfo,
    ObjectMissing,
    ProviderError,
    Unreachable,
    UploadedPart,
    root_prefix,
)

__all__ = [
    "GCS",
    "OSS",
    "S3",
    "STAGING_FOLDER",
    "TYPES",
    "AccessRefused",
    "Bucket",
    "BucketError",
    "BucketMissing",
    "BucketSpec",
    "CloudSettings",
    "CredentialsInvalid",
    "InvalidToken",
    "Listing",
    "ObjectInfo",
    "ObjectMissing",
    "ProviderError",
    "Unreachable",
    "UploadedPart",
    "check_credentials",
    "open_bucket",
    "root_prefix",
]


def check_credentials(spec: BucketSpec) -> None:
    """Shape checks that need no network (:class:`CredentialsInvalid`)."""
    if spec.type == GCS:
        from sevenbridges_local.storage.buckets.gcs import check_credentials as check_gcs

        check_gcs(spec.credentials)


def open_bucket(spec: BucketSpec, settings: CloudSettings, *, background: bool = False) -> Bucket:
    """The bucket of a volume. ``background``: for imports and exports (longer read waits)."""
    if spec.type == GCS:
        from sevenbridges_local.storage.buckets.gcs import GcsBucket

        return GcsBucket(spec, settings, background=background)
    if spec.type in (S3, OSS):
        from sevenbridges_local.storage.buckets.s3 import S3Bucket

        return S3Bucket(spec, settings, background=background)
    raise ValueError(f"unknown volume type {spec.type!r}")

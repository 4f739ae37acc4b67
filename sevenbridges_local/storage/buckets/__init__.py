"""Cloud buckets behind volumes: :func:`open_bucket` gives the :class:`Bucket` of a volume.

Used by the volume service (checks, listings, object info), imports, exports and alias reads.
Providers' libraries are imported only when a bucket of their kind is opened.

Opened buckets are kept (a small LRU keyed by a digest of the spec, credentials included, and
the settings): making a provider client costs about 100 ms of CPU, twenty times a small PUT,
and every export or alias download would otherwise pay it once or twice. Buckets are
thread-safe; new credentials give a new key, so a PATCH never reuses the old client.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict

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
    "forget_open_buckets",
    "open_bucket",
    "root_prefix",
]


def check_credentials(spec: BucketSpec) -> None:
    """Shape checks that need no network (:class:`CredentialsInvalid`)."""
    if spec.type == GCS:
        from sevenbridges_local.storage.buckets.gcs import check_credentials as check_gcs

        check_gcs(spec.credentials)


OPEN_BUCKETS_KEPT = 64
_open: OrderedDict[str, Bucket] = OrderedDict()
_open_lock = threading.Lock()


def _cache_key(spec: BucketSpec, settings: CloudSettings, background: bool) -> str:
    described = [
        spec.type,
        spec.bucket,
        spec.prefix,
        spec.endpoint,
        dict(spec.credentials),
        dict(spec.properties),
        dataclasses.asdict(settings),
        background,
    ]
    canonical = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def open_bucket(
    spec: BucketSpec, settings: CloudSettings, *, background: bool = False, fresh: bool = False
) -> Bucket:
    """The bucket of a volume (a kept one when the same spec was opened lately).
    ``background``: for imports and exports (longer read waits). ``fresh``: a new client that
    replaces the kept one, for checks that must see the credentials' (or role's) state now."""
    key = _cache_key(spec, settings, background)
    with _open_lock:
        kept = _open.get(key)
        if kept is not None and not fresh:
            _open.move_to_end(key)
            return kept
    bucket = _new_bucket(spec, settings, background)
    with _open_lock:
        if fresh:
            _open[key] = bucket
        else:
            bucket = _open.setdefault(key, bucket)
        _open.move_to_end(key)
        while len(_open) > OPEN_BUCKETS_KEPT:
            _open.popitem(last=False)
    return bucket


def forget_open_buckets() -> None:
    """Drop every kept bucket (tests; or after the clouds' settings change)."""
    with _open_lock:
        _open.clear()


def _new_bucket(spec: BucketSpec, settings: CloudSettings, background: bool) -> Bucket:
    if spec.type == GCS:
        from sevenbridges_local.storage.buckets.gcs import GcsBucket

        return GcsBucket(spec, settings, background=background)
    if spec.type in (S3, OSS):
        from sevenbridges_local.storage.buckets.s3 import S3Bucket

        return S3Bucket(spec, settings, background=background)
    raise ValueError(f"unknown volume type {spec.type!r}")

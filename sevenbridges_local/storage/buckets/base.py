"""The bucket interface of volumes: what imports, exports and listings ask of a cloud bucket.

A :class:`Bucket` is one volume's view of its bucket: every location is relative to the volume's
root (its ``prefix``), so callers never build provider keys. Implementations (``s3.py`` for S3
and OSS, ``gcs.py`` for Google Cloud Storage) let the providers' own libraries speak the
protocols and turn their failures into the few :class:`BucketError` kinds below, whose messages
are meant for the client and never carry a secret.

Writes are never half-visible: a multipart write stages its parts (S3: a multipart upload, GCS:
temporary objects under ``.sbg-uploads/``) and the object appears only when it is completed;
an aborted or abandoned write leaves nothing under the destination location.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Volume service types (the wire's ``service.type``, upper case).
S3 = "S3"
GCS = "GCS"
OSS = "OSS"
TYPES = (S3, GCS, OSS)

# Hidden folder (under the volume's root) for the staged parts of GCS multipart writes.
STAGING_FOLDER = ".sbg-uploads/"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024


class BucketError(Exception):
    """A bucket operation failed; ``str()`` says what, in words meant for the client."""


class Unreachable(BucketError):
    """The provider's endpoint did not answer (refused, timed out, name not resolved)."""


class AccessRefused(BucketError):
    """The provider refused the credentials or the role, or denied the operation."""


class BucketMissing(BucketError):
    """The bucket does not exist."""


class ObjectMissing(BucketError):
    """No object at the location."""


class CredentialsInvalid(BucketError):
    """Credentials malformed before anything was sent (e.g. a private key that is no key)."""


class InvalidToken(BucketError):
    """A continuation token the provider (or this layer) does not accept."""


class ProviderError(BucketError):
    """Any other refusal by the provider."""


def encode_token(fields: Mapping[str, str]) -> str:
    """This layer's continuation tokens: base64url JSON, opaque to clients."""
    return base64.urlsafe_b64encode(json.dumps(dict(fields)).encode()).decode("ascii")


def decode_token(token: str, key: str) -> str:
    """The ``key`` field of a token from :func:`encode_token` (:class:`InvalidToken` else)."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        value = None
    if not isinstance(value, dict) or not isinstance(value.get(key), str):
        raise InvalidToken("The continuation token is not one this platform issued.")
    return value[key]


@dataclass(frozen=True)
class CloudSettings:
    """Where the clouds are and how patient to be with them.

    ``timeout`` bounds each connection and each wait for an answer in calls made while a client
    waits (checks, listings, object info); ``transfer_timeout`` the waits of background reads and
    writes. ``attempts`` counts the first try (retries are bounded, never endless).
    """

    s3_endpoint_url: str | None = None
    gcs_endpoint_url: str | None = None
    timeout: float = 3.0
    transfer_timeout: float = 60.0
    attempts: int = 2


@dataclass(frozen=True)
class BucketSpec:
    """A volume's bucket: type, name, root and credentials (secrets included, never shown)."""

    type: str
    bucket: str
    prefix: str = ""  # the volume's root: "" or "a/b/" (see root_prefix)
    endpoint: str | None = None  # OSS: the volume's own endpoint
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    properties: Mapping[str, Any] = field(default_factory=dict)


def root_prefix(prefix: str | None) -> str:
    """A volume's ``prefix`` as a folder of keys: no leading ``/``, one trailing ``/``."""
    cleaned = (prefix or "").lstrip("/")
    if cleaned and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


@dataclass(frozen=True)
class ObjectInfo:
    location: str  # relative to the volume's root
    size: int
    etag: str | None = None
    last_modified: datetime | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)  # the object's user metadata


@dataclass(frozen=True)
class Listing:
    """One level of a "folder": objects directly in it, sub-folders (``a/b/``), the next page."""

    objects: list[ObjectInfo]
    prefixes: list[str]
    next_token: str | None


@dataclass(frozen=True)
class UploadedPart:
    number: int
    etag: str


class Bucket(ABC):
    """One volume's bucket. Instances hold a provider client: reuse one for many calls."""

    def __init__(self, spec: BucketSpec, settings: CloudSettings, *, background: bool) -> None:
        self.spec = spec
        self.settings = settings
        self.root = root_prefix(spec.prefix)
        # Background work (imports, exports) waits longer for answers than API calls do.
        self.read_timeout = settings.transfer_timeout if background else settings.timeout

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.type} {self.spec.bucket!r} root={self.root!r}>"

    def key(self, location: str) -> str:
        """The provider's key for a location of the volume."""
        return self.root + location

    def location(self, key: str) -> str:
        return key[len(self.root) :] if key.startswith(self.root) else key

    # --- reading ---------------------------------------------------------------------------
    @abstractmethod
    def check_access(self) -> None:
        """Reach the bucket with the credentials (list at most one key under the root).

        Raises :class:`Unreachable`, :class:`AccessRefused`, :class:`BucketMissing`,
        :class:`CredentialsInvalid` or :class:`ProviderError`.
        """

    @abstractmethod
    def list(self, prefix: str = "", *, limit: int = 50, token: str | None = None) -> Listing:
        """One level under ``prefix`` (delimiter ``/``): at most ``limit`` objects and
        prefixes together, in key order; ``next_token`` continues after them (None at the end).
        """

    @abstractmethod
    def head(self, location: str) -> ObjectInfo:
        """The object's size, ETag, date, type and metadata (:class:`ObjectMissing`)."""

    @abstractmethod
    def read_range(self, location: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end of the object)."""

    @abstractmethod
    def stream(
        self, location: str, *, start: int = 0, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> Iterator[bytes]:
        """The object's bytes from ``start`` on, in chunks; closing the iterator stops it."""

    def presigned_url(self, location: str, expires_seconds: int) -> str | None:
        """A URL that reads the object without credentials, or None where there is none
        (then the platform streams the object itself)."""
        return None

    # --- writing ---------------------------------------------------------------------------
    @abstractmethod
    def put_bytes(
        self,
        location: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Write a small object in one request (it appears whole or not at all), with the user
        ``metadata`` given (short lower-case keys; :meth:`head` shows them)."""

    @abstractmethod
    def begin_upload(self, location: str, *, metadata: Mapping[str, str] | None = None) -> str:
        """Start a multipart write to ``location``; returns its upload id (keep it durably to
        complete or abort after a restart). Parts but the last must be at least 5 MiB. Give
        the same ``metadata`` to :meth:`complete_upload` (providers set it at one or the other)."""

    @abstractmethod
    def upload_part(self, location: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        """Stage part ``number`` (1-based); uploading a number again replaces it."""

    @abstractmethod
    def complete_upload(
        self,
        location: str,
        upload_id: str,
        parts: list[UploadedPart],
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Join the parts, in number order, into the object at ``location``."""

    @abstractmethod
    def abort_upload(self, location: str, upload_id: str) -> None:
        """Forget the staged parts; an unknown or finished upload is not an error."""

    @abstractmethod
    def delete(self, location: str) -> None:
        """Remove the object; a missing one is not an error."""

"""HMAC-signed, expiring URLs for the data plane (upload part PUTs and object downloads).

A signed URL carries only the object it names (in its path), its expiry (Unix seconds) and the
signature, so the data plane can check it without a database or a token::

    http://127.0.0.1:PORT/parts/<upload id>/<part number>?expires=1717171717&signature=<hex>
    http://127.0.0.1:PORT/objects/<blob key>?expires=1717171717&signature=<hex>

The signature is HMAC-SHA256 over the method, the path and the expiry, with a key derived from the
platform's secret key (never the secret key itself, so a signature cannot double as a token).
A URL is valid strictly before its expiry second; a time-to-live of 0 hands out URLs that are
already expired, which is how tests provoke expiry without waiting.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from sevenbridges_local.storage import BlobStore

EXPIRES_PARAM = "expires"
SIGNATURE_PARAM = "signature"
PARTS_PREFIX = "/parts/"
OBJECTS_PREFIX = "/objects/"
# Longest time-to-live accepted, as for S3 presigned URLs.
MAX_TTL_SECONDS = 7 * 24 * 3600

_KEY_PURPOSE = b"sevenbridges-local signed transfer urls v1"


class SignatureError(Exception):
    """The URL is not signed by this platform, was altered, or has expired."""


class ExpiredSignature(SignatureError):
    """A genuine signature whose time is up."""


def part_path(upload_id: str, part_number: int) -> str:
    return f"{PARTS_PREFIX}{quote(upload_id, safe='')}/{part_number}"


def object_path(blob_key: str) -> str:
    return f"{OBJECTS_PREFIX}{quote(blob_key, safe='')}"


class UrlSigner:
    """Signs and verifies (method, path, expiry) triples."""

    def __init__(self, secret_key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret_key, _KEY_PURPOSE, hashlib.sha256).digest()
        self._clock = clock

    def __repr__(self) -> str:  # the key must never end up in logs
        return "<UrlSigner>"

    def _signature(self, method: str, path: str, expires: int) -> str:
        message = f"{method.upper()}\n{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def expiry_for(self, ttl_seconds: int) -> int:
        """Unix second at which a URL signed now with this time-to-live stops working."""
        return math.floor(self._clock()) + max(0, ttl_seconds)

    def query(self, method: str, path: str, expires: int) -> str:
        signature = self._signature(method, path, expires)
        return urlencode({EXPIRES_PARAM: expires, SIGNATURE_PARAM: signature})

    def verify(self, method: str, path: str, query: Mapping[str, str]) -> None:
        """Raise :class:`SignatureError` unless ``query`` signs ``method path`` and is current."""
        raw_expires = query.get(EXPIRES_PARAM, "")
        given = query.get(SIGNATURE_PARAM, "")
        if not (raw_expires.isascii() and raw_expires.isdigit()) or len(raw_expires) > 12:
            raise SignatureError("the URL is not signed")
        expires = int(raw_expires)
        expected = self._signature(method, path, expires)
        if not hmac.compare_digest(expected.encode(), given.lower().encode()):
            raise SignatureError("the URL signature does not match")
        if self._clock() >= expires:
            raise ExpiredSignature("the signed URL has expired")


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires: int  # Unix seconds

    @property
    def expires_at(self) -> datetime:
        """Naive UTC, the platform's timestamp convention."""
        return datetime.fromtimestamp(self.expires, timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class TransferLinks:
    """Makes signed data-plane URLs for one client-facing base address.

    With ``store`` set, a store that hands out its own presigned URLs (S3) is asked first, and
    the client then moves the bytes straight to and from it.
    """

    signer: UrlSigner = field(repr=False)
    base_url: str  # e.g. http://127.0.0.1:50124 (no trailing slash)
    ttl_seconds: int
    store: BlobStore | None = field(default=None, repr=False)

    def _sign(self, method: str, path: str) -> SignedUrl:
        expires = self.signer.expiry_for(self.ttl_seconds)
        query = self.signer.query(method, path, expires)
        return SignedUrl(f"{self.base_url}{path}?{query}", expires)

    def part_upload(self, upload_id: str, part_number: int) -> SignedUrl:
        if self.store is not None:
            direct = self.store.presigned_part_url(upload_id, part_number, self.ttl_seconds)
            if direct is not None:
                return SignedUrl(direct, self.signer.expiry_for(self.ttl_seconds))
        return self._sign("PUT", part_path(upload_id, part_number))

    def object_download(self, blob_key: str, size: int | None = None) -> SignedUrl:
        # An empty object comes from the data plane: S3 answers a client's first ranged GET
        # of zero bytes with a 416 that names no size, which clients cannot continue from.
        if self.store is not None and size != 0:
            direct = self.store.presigned_download_url(blob_key, self.ttl_seconds)
            if direct is not None:
                return SignedUrl(direct, self.signer.expiry_for(self.ttl_seconds))
        return self._sign("GET", object_path(blob_key))

"""Google Cloud Storage buckets through google-cloud-storage.

Credentials: a service account key (``client_email`` + ``private_key``) or an IAM (workload
identity federation) ``configuration``. Both are checked for shape before anything is sent
(:func:`check_credentials`). With ``CloudSettings.gcs_endpoint_url`` set (a local emulator) no
Google token server exists, so the checked credentials are not exchanged for a token: the
emulator is reached with anonymous credentials. A wrong but well-formed key is therefore only
noticed by the real Google Cloud Storage.

Listings use this module's own continuation token (the last name returned, base64 JSON) with
``start_offset``: it works with the real service and with emulators that ignore page tokens.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import google.auth
import google.auth.exceptions
import requests
from google.api_core import exceptions as google_errors
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account

from sevenbridges_local.storage.buckets.base import (
    DEFAULT_CHUNK_BYTES,
    STAGING_FOLDER,
    AccessRefused,
    Bucket,
    BucketMissing,
    BucketSpec,
    CloudSettings,
    CredentialsInvalid,
    Listing,
    ObjectInfo,
    ObjectMissing,
    ProviderError,
    Unreachable,
    UploadedPart,
    decode_token,
    encode_token,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCOPES = ["https://www.googleapis.com/auth/devstorage.read_write"]
TOKEN_URI = "https://oauth2.googleapis.com/token"
LOCAL_PROJECT = "sevenbridges-local"
COMPOSE_LIMIT = 32  # sources per compose request (the service's limit)
# Workload identity federation: where tokens may be exchanged, and the only credential source
# accepted (the platform's own AWS identity, as Seven Bridges uses it). Sources that read a
# file, call a URL of the user's choice or run a program would let a volume's author make the
# server read its own files or reach its network on their behalf.
_GOOGLE_HOST_SUFFIX = ".googleapis.com"
_AWS_ENVIRONMENT = "aws1"


def _is_google_https(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    return parsed.scheme == "https" and host.endswith(_GOOGLE_HOST_SUFFIX)


def check_private_key(pem: Any) -> None:
    """A service account's ``private_key`` must be a PEM private key without a password."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
        raise CredentialsInvalid(
            "'private_key' must be a PEM private key (-----BEGIN PRIVATE KEY)."
        )
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialsInvalid("'private_key' is not a readable, unencrypted PEM private key.")


def check_configuration(configuration: Any) -> None:
    """An IAM configuration: a workload identity federation document (``external_account``)
    that exchanges the platform's AWS identity for Google credentials at a Google endpoint."""
    if not isinstance(configuration, Mapping):
        raise CredentialsInvalid("'configuration' must be a JSON object.")
    if configuration.get("type") != "external_account":
        raise CredentialsInvalid("'configuration.type' must be 'external_account'.")
    for key in ("audience", "subject_token_type"):
        if not isinstance(configuration.get(key), str) or not configuration[key]:
            raise CredentialsInvalid(f"'configuration.{key}' must be a non-empty string.")
    if not _is_google_https(configuration.get("token_url")):
        raise CredentialsInvalid("'configuration.token_url' must be an https Google endpoint.")
    impersonation = configuration.get("service_account_impersonation_url")
    if impersonation is not None and not _is_google_https(impersonation):
        raise CredentialsInvalid(
            "'configuration.service_account_impersonation_url' must be an https Google endpoint."
        )
    source = configuration.get("credential_source")
    if not isinstance(source, Mapping) or source.get("environment_id") != _AWS_ENVIRONMENT:
        raise CredentialsInvalid(
            "'configuration.credential_source' must be the platform's AWS environment "
            f"(environment_id '{_AWS_ENVIRONMENT}'); file, URL and executable sources are refused."
        )


def check_credentials(credentials: Mapping[str, Any]) -> None:
    """Shape of GCS credentials: a service account key or an IAM configuration."""
    if "configuration" in credentials:
        check_configuration(credentials["configuration"])
        return
    email = credentials.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise CredentialsInvalid("'client_email' must be a service account's e-mail address.")
    check_private_key(credentials.get("private_key"))


class GcsBucket(Bucket):
    """A bucket on Google Cloud Storage (or a local emulator)."""

    def __init__(self, spec: BucketSpec, settings: CloudSettings, *, background: bool) -> None:
        super().__init__(spec, settings, background=background)
        self.endpoint = settings.gcs_endpoint_url
        self._lock = threading.Lock()
        self._client: storage.Client | None = None
        # Per-request (connect, read) timeouts and a bounded retry deadline.
        self._timeout = (settings.timeout, self.read_timeout)
        self._retry = DEFAULT_RETRY.with_timeout(
            self.read_timeout if background else settings.timeout * settings.attempts
        ).with_delay(initial=0.2, maximum=2.0)

    def _where(self) -> str:
        return self.endpoint or "Google Cloud Storage"

    def client(self) -> storage.Client:
        with self._lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> storage.Client:
        credentials = self.spec.credentials
        check_credentials(credentials)
        if self.endpoint:
            # Local convention: no token server exists, the emulator takes anonymous calls.
            return storage.Client(
                project=LOCAL_PROJECT,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint},
            )
        if "configuration" in credentials:
            google_credentials, project = google.auth.load_credentials_from_dict(
                dict(credentials["configuration"]), scopes=SCOPES
            )
        else:
            info = {
                "type": "service_account",
                "client_email": credentials["client_email"],
                "private_key": credentials["private_key"],
                "token_uri": TOKEN_URI,
            }
            google_credentials = service_account.Credentials.from_service_account_info(
                info, scopes=SCOPES
            )
            project = None
        return storage.Client(project=project or LOCAL_PROJECT, credentials=google_credentials)

    # --- failures --------------------------------------------------------------------------
    @contextmanager
    def _translate(self, doing: str, location: str | None = None) -> Iterator[None]:
        bucket = self.spec.bucket
        try:
            yield
        except google_errors.NotFound:
            if location is not None:
                raise ObjectMissing(f"No object at '{location}' in the volume.")
            raise BucketMissing(f"The bucket '{bucket}' does not exist at {self._where()}.")
        except (google_errors.Forbidden, google_errors.Unauthorized) as exc:
            raise AccessRefused(
                f"{self._where()} refused to {doing} for bucket '{bucket}' with the volume's "
                f"credentials ({exc.code}: {exc.message})"
            )
        except google.auth.exceptions.RefreshError as exc:
            raise AccessRefused(f"Google refused the volume's credentials ({exc}).")
        except (
            google.auth.exceptions.TransportError,
            google_errors.RetryError,
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
        ) as exc:
            raise Unreachable(
                f"Could not reach {self._where()} to {doing} for bucket '{bucket}' "
                f"({type(exc).__name__}; waited up to {self.settings.timeout:g} s to connect)."
            )
        except google_errors.GoogleAPICallError as exc:
            raise ProviderError(f"{self._where()} could not {doing} ({exc.code}: {exc.message})")

    def _call(
        self, doing: str, action: Callable[[storage.Client], T], location: str | None = None
    ) -> T:
        with self._translate(doing, location):
            return action(self.client())

    def _bucket(self, client: storage.Client) -> storage.Bucket:
        return client.bucket(self.spec.bucket)

    # --- reading ---------------------------------------------------------------------------
    def check_access(self) -> None:
        def probe(client: storage.Client) -> None:
            blobs = client.list_blobs(
                self.spec.bucket,
                prefix=self.root,
                max_results=1,
                timeout=self._timeout,
                retry=self._retry,
            )
            for _ in blobs:
                break

        self._call("list the bucket", probe)

    def list(self, prefix: str = "", *, limit: int = 50, token: str | None = None) -> Listing:
        listed = self.key(prefix)
        after = decode_token(token, "after") if token else None
        start_offset = None
        if after:
            # Past the whole "folder" when the last entry was one ("d/" -> "d0").
            start_offset = after[:-1] + "0" if after.endswith("/") else after
        hidden = self.root + STAGING_FOLDER

        def collect(client: storage.Client) -> tuple[list[tuple[str, Any]], bool]:
            iterator = client.list_blobs(
                self.spec.bucket,
                prefix=listed,
                delimiter="/",
                start_offset=start_offset,
                page_size=limit + 1,
                timeout=self._timeout,
                retry=self._retry,
            )
            found: dict[str, Any] = {}
            for page in iterator.pages:
                for blob in page:
                    found[blob.name] = blob
                for name in page.prefixes:
                    found.setdefault(name, None)
                kept = [name for name in found if after is None or name > after]
                if len(kept) > limit:
                    break
            entries = sorted(
                (name, blob)
                for name, blob in found.items()
                if (after is None or name > after)
                and name != hidden
                and not (blob is not None and name == listed and listed.endswith("/"))
            )
            return entries[: limit + 1], len(entries) > limit

        entries, more = self._call("list", collect)
        page = entries[:limit]
        objects = [self._info(blob) for _, blob in page if blob is not None]
        prefixes = [self.location(name) for name, blob in page if blob is None]
        next_token = encode_token({"after": page[-1][0]}) if more and page else None
        return Listing(objects=objects, prefixes=prefixes, next_token=next_token)

    def _info(self, blob: storage.Blob, location: str | None = None) -> ObjectInfo:
        return ObjectInfo(
            location=location if location is not None else self.location(blob.name),
            size=int(blob.size or 0),
            etag=blob.etag,
            last_modified=blob.updated,
            content_type=blob.content_type,
            metadata=dict(blob.metadata or {}),
        )

    def head(self, location: str) -> ObjectInfo:
        blob = self._call(
            "read the object's details",
            lambda client: self._bucket(client).get_blob(
                self.key(location), timeout=self._timeout, retry=self._retry
            ),
            location,
        )
        if blob is None:
            raise ObjectMissing(f"No object at '{location}' in the volume.")
        return self._info(blob, location)

    def read_range(self, location: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            return self._call(
                "read the object",
                lambda client: (
                    self._bucket(client)
                    .blob(self.key(location))
                    .download_as_bytes(
                        start=start,
                        end=start + length - 1,
                        timeout=self._timeout,
                        retry=self._retry,
                    )
                ),
                location,
            )
        except ProviderError as exc:
            if "416" in str(exc):  # starts at or after the end
                return b""
            raise

    def stream(
        self, location: str, *, start: int = 0, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> Iterator[bytes]:
        size = self.head(location).size
        return self._chunks(location, start, size, chunk_bytes)

    def _chunks(self, location: str, start: int, size: int, chunk_bytes: int) -> Iterator[bytes]:
        offset = start
        while offset < size:
            chunk = self.read_range(location, offset, min(chunk_bytes, size - offset))
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    # --- writing ---------------------------------------------------------------------------
    def put_bytes(
        self,
        location: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        def write(client: storage.Client) -> None:
            blob = self._bucket(client).blob(self.key(location))
            if metadata:
                blob.metadata = dict(metadata)
            blob.upload_from_string(data, content_type=content_type, timeout=self._timeout)

        self._call("write the object", write, location)

    def _staging(self, upload_id: str) -> str:
        return f"{self.root}{STAGING_FOLDER}{upload_id}/"

    def begin_upload(self, location: str, *, metadata: Mapping[str, str] | None = None) -> str:
        # Parts are staged as temporary objects; nothing exists at the location before complete.
        return uuid.uuid4().hex

    def upload_part(self, location: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        name = f"{self._staging(upload_id)}{number:05d}"

        def write(client: storage.Client) -> str:
            blob = self._bucket(client).blob(name)
            blob.upload_from_string(data, timeout=self._timeout)
            return str(blob.etag or blob.md5_hash or "")

        etag = self._call("write a part", write)
        return UploadedPart(number=number, etag=etag)

    def complete_upload(
        self,
        location: str,
        upload_id: str,
        parts: list[UploadedPart],
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        staging = self._staging(upload_id)
        names = [f"{staging}{part.number:05d}" for part in sorted(parts, key=lambda p: p.number)]

        def compose(client: storage.Client) -> None:
            bucket = self._bucket(client)
            sources = [bucket.blob(name) for name in names]
            level = 0
            # More than 32 parts: compose groups into intermediates, then those (a tree).
            while len(sources) > COMPOSE_LIMIT:
                grouped = []
                for index in range(0, len(sources), COMPOSE_LIMIT):
                    target = bucket.blob(f"{staging}c{level}-{index // COMPOSE_LIMIT:05d}")
                    target.compose(sources[index : index + COMPOSE_LIMIT], timeout=self._timeout)
                    grouped.append(target)
                sources = grouped
                level += 1
            target = bucket.blob(self.key(location))
            if metadata:
                target.metadata = dict(metadata)  # sent as the composed object's resource
            target.compose(sources, timeout=self._timeout)

        self._call("complete a multipart write", compose)
        self.abort_upload(location, upload_id)  # remove the staged parts
        return self.head(location)

    def abort_upload(self, location: str, upload_id: str) -> None:
        staging = self._staging(upload_id)

        def remove(client: storage.Client) -> None:
            for blob in client.list_blobs(
                self.spec.bucket, prefix=staging, timeout=self._timeout, retry=self._retry
            ):
                try:
                    blob.delete(timeout=self._timeout)
                except google_errors.NotFound:
                    pass

        self._call("abort a multipart write", remove)

    def delete(self, location: str) -> None:
        try:
            self._call(
                "delete the object",
                lambda client: (
                    self._bucket(client)
                    .blob(self.key(location))
                    .delete(timeout=self._timeout, retry=self._retry)
                ),
                location,
            )
        except ObjectMissing:
            pass

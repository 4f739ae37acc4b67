"""S3 buckets (access keys, or a role assumed through STS with an external id) and OSS buckets
through Alibaba's S3-compatible API. boto3 speaks the protocol; this module picks endpoints,
timeouts and credentials and translates failures.

Endpoints: an S3 volume uses ``CloudSettings.s3_endpoint_url`` when set (a local S3-compatible
server such as moto), else AWS. STS (role volumes) uses the same endpoint. An OSS volume uses its
own ``endpoint`` (``oss-cn-hangzhou.aliyuncs.com``, or a URL with a scheme), else the S3 setting.
Role volumes are assumed with the platform's own AWS identity (boto3's usual chain: the
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` variables, ``AWS_PROFILE``, an instance role).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from sevenbridges_local.storage.buckets.base import (
    DEFAULT_CHUNK_BYTES,
    OSS,
    AccessRefused,
    Bucket,
    BucketMissing,
    BucketSpec,
    CloudSettings,
    InvalidToken,
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

DEFAULT_REGION = "us-east-1"
ROLE_SESSION_NAME = "sevenbridges-local"
ROLE_SESSION_SECONDS = 3600
# Assumed-role credentials are renewed when they have less than this left.
ROLE_RENEW_MARGIN = timedelta(minutes=5)

_REFUSALS = {
    "AccessDenied",
    "AllAccessDisabled",
    "AuthFailure",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "403",
}
_MISSING_OBJECT = {"NoSuchKey", "404", "NotFound"}
# Volume properties that become arguments of S3 writes (exports).
_WRITE_ARGUMENTS = {
    "sse_algorithm": "ServerSideEncryption",
    "sse_aws_kms_key_id": "SSEKMSKeyId",
    "aws_canned_acl": "ACL",
    "aws_storage_class": "StorageClass",
}


def endpoint_url(spec: BucketSpec, settings: CloudSettings) -> str | None:
    """The URL boto3 talks to for this volume (None: AWS itself)."""
    if spec.type == OSS and spec.endpoint:
        endpoint = spec.endpoint.strip()
        return endpoint if "://" in endpoint else f"https://{endpoint}"
    return settings.s3_endpoint_url


def _is_local_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class S3Bucket(Bucket):
    """A bucket on S3 (or OSS). Thread-safe: boto3 clients may be shared between threads."""

    def __init__(self, spec: BucketSpec, settings: CloudSettings, *, background: bool) -> None:
        super().__init__(spec, settings, background=background)
        self.endpoint = endpoint_url(spec, settings)
        self._lock = threading.Lock()
        self._client: Any = None
        self._expires: datetime | None = None  # assumed-role credentials only

    # --- clients ---------------------------------------------------------------------------
    def _where(self) -> str:
        if self.endpoint:
            return self.endpoint
        return "AWS S3"

    def _config(self) -> Config:
        addressing: dict[str, str] = {}
        if self.endpoint and _is_local_host(self.endpoint):
            addressing = {"addressing_style": "path"}  # no bucket sub-domains on an address
        elif self.spec.type == OSS:
            addressing = {"addressing_style": "virtual"}  # OSS answers only on bucket hosts
        return Config(
            connect_timeout=self.settings.timeout,
            read_timeout=self.read_timeout,
            retries={"total_max_attempts": self.settings.attempts, "mode": "standard"},
            signature_version="s3v4",
            s3=addressing,
        )

    def _region(self) -> str:
        if self.spec.type == OSS and self.endpoint:
            # oss-cn-hangzhou.aliyuncs.com signs as cn-hangzhou
            host = urlsplit(self.endpoint).hostname or ""
            first = host.split(".", 1)[0]
            if first.startswith("oss-"):
                return first[len("oss-") :]
        return DEFAULT_REGION

    def _assume_role(self) -> tuple[dict[str, str], datetime]:
        credentials = self.spec.credentials
        # The platform's own AWS identity (boto3's default chain) asks STS for the role.
        sts = boto3.session.Session().client(
            "sts",
            endpoint_url=self.settings.s3_endpoint_url,
            region_name=DEFAULT_REGION,
            config=self._config(),
        )
        with self._translate("assume the role"):
            answer = sts.assume_role(
                RoleArn=credentials["role_arn"],
                ExternalId=credentials["external_id"],
                RoleSessionName=ROLE_SESSION_NAME,
                DurationSeconds=ROLE_SESSION_SECONDS,
            )
        issued = answer["Credentials"]
        expires = issued["Expiration"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        keys = {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }
        return keys, expires

    def client(self) -> Any:
        """The boto3 S3 client (a role is assumed on first use and again before it expires)."""
        with self._lock:
            now = datetime.now(timezone.utc)
            if self._client is not None and (
                self._expires is None or self._expires - now > ROLE_RENEW_MARGIN
            ):
                return self._client
            credentials = self.spec.credentials
            if credentials.get("role_arn"):
                keys, self._expires = self._assume_role()
            else:
                keys = {
                    "aws_access_key_id": credentials.get("access_key_id"),
                    "aws_secret_access_key": credentials.get("secret_access_key"),
                }
            session = boto3.session.Session(**keys, region_name=self._region())
            self._client = session.client("s3", endpoint_url=self.endpoint, config=self._config())
            return self._client

    # --- failures --------------------------------------------------------------------------
    @contextmanager
    def _translate(self, doing: str, location: str | None = None) -> Iterator[None]:
        bucket = self.spec.bucket
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            detail = str(error.get("Message") or code or "no details")
            if code == "NoSuchBucket":
                raise BucketMissing(f"The bucket '{bucket}' does not exist at {self._where()}.")
            if code in _REFUSALS:
                raise AccessRefused(
                    f"{self._where()} refused to {doing} for bucket '{bucket}' with the "
                    f"volume's credentials ({code}: {detail})"
                )
            if location is not None and code in _MISSING_OBJECT:
                raise ObjectMissing(f"No object at '{location}' in the volume.")
            if code in ("InvalidArgument", "InvalidContinuationToken") and doing == "list":
                raise InvalidToken(f"The continuation token was refused ({detail}).")
            raise ProviderError(f"{self._where()} could not {doing} ({code}: {detail})")
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
        ):
            raise AccessRefused(
                "The platform has no AWS credentials of its own to assume the role with "
                "(give the server AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)."
            )
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
            raise Unreachable(
                f"Could not reach {self._where()} to {doing} for bucket '{bucket}' "
                f"({type(exc).__name__}; waited up to {self.settings.timeout:g} s to connect)."
            )
        except botocore.exceptions.ParamValidationError as exc:
            raise ProviderError(f"Invalid request to {self._where()}: {exc}")

    def _call(self, doing: str, action: Callable[[Any], T], location: str | None = None) -> T:
        with self._translate(doing, location):
            return action(self.client())

    # --- reading ---------------------------------------------------------------------------
    def check_access(self) -> None:
        self._call(
            "list the bucket",
            lambda s3: s3.list_objects_v2(Bucket=self.spec.bucket, Prefix=self.root, MaxKeys=1),
        )

    def list(self, prefix: str = "", *, limit: int = 50, token: str | None = None) -> Listing:
        arguments: dict[str, Any] = {
            "Bucket": self.spec.bucket,
            "Prefix": self.key(prefix),
            "Delimiter": "/",
            "MaxKeys": limit,
        }
        if token:
            # S3's own token travels inside this layer's envelope, so garbage is refused here.
            arguments["ContinuationToken"] = decode_token(token, "s3")
        answer = self._call("list", lambda s3: s3.list_objects_v2(**arguments))
        listed_prefix = self.key(prefix)
        objects = [
            ObjectInfo(
                location=self.location(item["Key"]),
                size=int(item.get("Size") or 0),
                etag=str(item.get("ETag") or "").strip('"') or None,
                last_modified=item.get("LastModified"),
            )
            for item in answer.get("Contents") or []
            # A zero-byte "folder" marker named like the listed prefix is not content.
            if not (item["Key"] == listed_prefix and listed_prefix.endswith("/"))
        ]
        prefixes = [self.location(item["Prefix"]) for item in answer.get("CommonPrefixes") or []]
        native = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        next_token = encode_token({"s3": native}) if native else None
        return Listing(objects=objects, prefixes=prefixes, next_token=next_token)

    def head(self, location: str) -> ObjectInfo:
        answer = self._call(
            "read the object's details",
            lambda s3: s3.head_object(Bucket=self.spec.bucket, Key=self.key(location)),
            location,
        )
        return ObjectInfo(
            location=location,
            size=int(answer.get("ContentLength") or 0),
            etag=str(answer.get("ETag") or "").strip('"') or None,
            last_modified=answer.get("LastModified"),
            content_type=answer.get("ContentType"),
            metadata=dict(answer.get("Metadata") or {}),
        )

    def read_range(self, location: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        byte_range = f"bytes={start}-{start + length - 1}"
        try:
            answer = self._call(
                "read the object",
                lambda s3: s3.get_object(
                    Bucket=self.spec.bucket, Key=self.key(location), Range=byte_range
                ),
                location,
            )
        except ProviderError as exc:
            if "InvalidRange" in str(exc):  # starts at or after the end
                return b""
            raise
        with self._translate("read the object", location):
            body = answer["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def stream(
        self, location: str, *, start: int = 0, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> Iterator[bytes]:
        arguments: dict[str, Any] = {"Bucket": self.spec.bucket, "Key": self.key(location)}
        if start:
            arguments["Range"] = f"bytes={start}-"
        # Opened now, so a missing object fails here rather than at the first chunk.
        answer = self._call("read the object", lambda s3: s3.get_object(**arguments), location)
        return self._chunks(answer["Body"], location, chunk_bytes)

    def _chunks(self, body: Any, location: str, chunk_bytes: int) -> Iterator[bytes]:
        try:
            with self._translate("read the object", location):
                yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def presigned_url(self, location: str, expires_seconds: int) -> str | None:
        return self._call(
            "sign a URL",
            lambda s3: s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.spec.bucket, "Key": self.key(location)},
                ExpiresIn=expires_seconds,
            ),
        )

    # --- writing ---------------------------------------------------------------------------
    def _write_arguments(self) -> dict[str, str]:
        if self.spec.type == OSS:
            return {}
        properties = self.spec.properties or {}
        return {
            argument: str(properties[name])
            for name, argument in _WRITE_ARGUMENTS.items()
            if properties.get(name)
        }

    def put_bytes(
        self,
        location: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        arguments: dict[str, Any] = {"Bucket": self.spec.bucket, "Key": self.key(location)}
        arguments["Body"] = data
        arguments.update(self._write_arguments())
        if content_type:
            arguments["ContentType"] = content_type
        if metadata:
            arguments["Metadata"] = dict(metadata)
        self._call("write the object", lambda s3: s3.put_object(**arguments), location)

    def begin_upload(self, location: str, *, metadata: Mapping[str, str] | None = None) -> str:
        arguments: dict[str, Any] = {"Bucket": self.spec.bucket, "Key": self.key(location)}
        arguments.update(self._write_arguments())
        if metadata:
            arguments["Metadata"] = dict(metadata)
        answer = self._call(
            "start a multipart write", lambda s3: s3.create_multipart_upload(**arguments)
        )
        return str(answer["UploadId"])

    def upload_part(self, location: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        answer = self._call(
            "write a part",
            lambda s3: s3.upload_part(
                Bucket=self.spec.bucket,
                Key=self.key(location),
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
            ),
        )
        return UploadedPart(number=number, etag=str(answer["ETag"]))

    def complete_upload(
        self,
        location: str,
        upload_id: str,
        parts: list[UploadedPart],
        *,
        metadata: Mapping[str, str] | None = None,  # S3 took it at begin_upload
    ) -> ObjectInfo:
        ordered = sorted(parts, key=lambda part: part.number)
        self._call(
            "complete a multipart write",
            lambda s3: s3.complete_multipart_upload(
                Bucket=self.spec.bucket,
                Key=self.key(location),
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"ETag": part.etag, "PartNumber": part.number} for part in ordered]
                },
            ),
        )
        return self.head(location)

    def abort_upload(self, location: str, upload_id: str) -> None:
        try:
            self._call(
                "abort a multipart write",
                lambda s3: s3.abort_multipart_upload(
                    Bucket=self.spec.bucket, Key=self.key(location), UploadId=upload_id
                ),
            )
        except ProviderError as exc:
            if "NoSuchUpload" not in str(exc):
                raise

    def delete(self, location: str) -> None:
        self._call(
            "delete the object",
            lambda s3: s3.delete_object(Bucket=self.spec.bucket, Key=self.key(location)),
        )

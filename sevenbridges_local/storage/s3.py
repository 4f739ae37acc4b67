"""Blob storage in an S3 bucket (``--storage s3://bucket/prefix``), through boto3.

Layout under the prefix::

    objects/<key>     finished objects, immutable

Multipart uploads are S3 multipart uploads of the object they will become: ``begin_upload(id)``
starts one for ``objects/<id>``, so completing it (CompleteMultipartUpload) produces the file's
object without a copy, and :meth:`S3BlobStore.upload_object_key` tells the upload service to use
that key. The S3 UploadId is found again by listing the bucket's multipart uploads, so any
process (or a restarted one) can continue an upload. Clients PUT parts straight to S3 through
presigned UploadPart URLs and read objects through presigned GET URLs: the platform's data
plane is not in the byte path.

Checksums: S3 computes each part's ETag as the MD5 of the bytes it received (buckets with
SSE-KMS excepted, which this store does not support). The upload service compares the ETag the
client reports with the one ListParts returns, and CompleteMultipartUpload names every part's
ETag, so S3 refuses a part that was replaced after the check. A client that sends
``Content-MD5`` with a part also has S3 check the bytes against it on arrival.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, an instance role); the endpoint from ``SBG_LOCAL_S3_ENDPOINT_URL`` (moto,
MinIO), else AWS.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import threading
from base64 import b64encode
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timezone
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from sevenbridges_local.storage.base import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    Readable,
    StorageError,
    StoredPart,
    UploadNotFound,
)
from sevenbridges_local.storage.buckets.s3 import _is_local_host

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
CHUNK = 1024 * 1024
# A part received through the data plane is spooled to disk above this size (then sent to S3).
SPOOL_IN_MEMORY = 8 * 1024 * 1024
# CopyObject copies up to 5 GiB; larger objects are copied part by part (UploadPartCopy).
COPY_OBJECT_LIMIT = 5 * 1024**3
COPY_PART_BYTES = 512 * 1024**2
MAX_PARTS = 10_000
_MISSING_OBJECT = {"NoSuchKey", "404", "NotFound"}
_MISSING_UPLOAD = {"NoSuchUpload"}


def parse_storage_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")`` (prefix without slashes)."""
    parsed = urlsplit(url.strip())
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"expected s3://bucket or s3://bucket/prefix, got {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError("a storage URL has no query or fragment")
    return parsed.netloc, parsed.path.strip("/")


class _RangeReader(io.RawIOBase):
    """A seekable reader of one S3 object: one streaming GET from the current offset, reopened
    with a ``Range`` after a seek."""

    def __init__(self, store: S3BlobStore, key: str, size: int) -> None:
        self._store = store
        self._key = key
        self._size = size
        self._offset = 0
        self._stream: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._offset

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._offset, io.SEEK_END: self._size}[whence]
        target = max(0, base + offset)
        if target != self._offset:
            self._drop_stream()
            self._offset = target
        return self._offset

    def _drop_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def readinto(self, buffer: Any) -> int:
        if self._offset >= self._size or len(buffer) == 0:
            return 0
        if self._stream is None:
            with self._store._translate("read the file", self._key):
                answer = self._store.client.get_object(
                    Bucket=self._store.bucket,
                    Key=self._store._object_key(self._key),
                    Range=f"bytes={self._offset}-",
                )
            self._stream = answer["Body"]
        data = self._stream.read(len(buffer))
        if not data:
            raise StorageError(f"object {self._key} ended early at byte {self._offset}")
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)

    def close(self) -> None:
        self._drop_stream()
        super().close()


class S3BlobStore(BlobStore):
    """Objects in ``s3://bucket/prefix``. Thread-safe (boto3 clients may be shared)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        copy_object_limit: int = COPY_OBJECT_LIMIT,
        copy_part_bytes: int = COPY_PART_BYTES,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.copy_object_limit = copy_object_limit
        self.copy_part_bytes = copy_part_bytes
        self._upload_ids: dict[str, str] = {}
        self._lock = threading.Lock()
        if client is None:
            client = self._new_client(region)
        self.client = client

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"<S3BlobStore s3://{self.bucket}/{self.prefix}{where}>"

    def _new_client(self, region: str | None) -> Any:
        addressing = {}
        if self.endpoint_url and _is_local_host(self.endpoint_url):
            addressing = {"addressing_style": "path"}  # no bucket sub-domains on an address
        config = Config(
            signature_version="s3v4",
            s3=addressing,
            retries={"total_max_attempts": 3, "mode": "standard"},
            # Checksums only where S3 requires them: S3-compatible servers (MinIO, moto) and
            # presigned URLs then see the plain requests every S3 implementation accepts.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session()
        region = region or session.region_name or DEFAULT_REGION
        return session.client(
            "s3", endpoint_url=self.endpoint_url, region_name=region, config=config
        )

    def check_bucket(self) -> None:
        """Raise :class:`StorageError` unless the bucket answers (checked once at start)."""
        with self._translate(f"reach the bucket '{self.bucket}'"):
            self.client.head_bucket(Bucket=self.bucket)

    # --- keys and errors ---------------------------------------------------------------------
    def _object_key(self, key: str) -> str:
        if not key or "/" in key or key in (".", ".."):
            raise StorageError(f"invalid object key: {key!r}")
        return f"{self.prefix}/objects/{key}" if self.prefix else f"objects/{key}"

    @contextmanager
    def _translate(self, doing: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            if key is not None and code in _MISSING_OBJECT:
                raise ObjectNotFound(key) from None
            if code in _MISSING_UPLOAD:
                raise UploadNotFound(key or "") from None
            detail = str(error.get("Message") or code or "no details")
            logger.warning("S3 could not %s (%s: %s)", doing, code, detail)
            raise StorageError(f"S3 could not {doing} ({code}: {detail})") from None
        except botocore.exceptions.BotoCoreError as exc:
            logger.warning("S3 could not %s: %s", doing, exc)
            raise StorageError(f"S3 could not {doing}: {exc}") from None

    # --- multipart uploads -------------------------------------------------------------------
    def _multipart_ids(self, upload_id: str) -> list[tuple[str, float]]:
        """S3 multipart uploads of the upload's object: (UploadId, initiated Unix time)."""
        key = self._object_key(upload_id)
        found: list[tuple[str, float]] = []
        with self._translate("list multipart uploads"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=key
            )
            for page in pages:
                for item in page.get("Uploads", []):
                    if item["Key"] == key:
                        found.append((item["UploadId"], _timestamp(item["Initiated"])))
        return sorted(found, key=lambda pair: pair[1])

    def _s3_upload_id(self, upload_id: str) -> str:
        with self._lock:
            known = self._upload_ids.get(upload_id)
        if known is not None:
            return known
        found = self._multipart_ids(upload_id)
        if not found:
            raise UploadNotFound(upload_id)
        s3_id = found[0][0]  # begin_upload starts one; the oldest is the one parts went to
        with self._lock:
            self._upload_ids[upload_id] = s3_id
        return s3_id

    def upload_object_key(self, upload_id: str) -> str | None:
        return upload_id

    def begin_upload(self, upload_id: str) -> None:
        with self._translate("start the upload"):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self._object_key(upload_id)
            )
        with self._lock:
            self._upload_ids[upload_id] = answer["UploadId"]

    def upload_exists(self, upload_id: str) -> bool:
        try:
            self._s3_upload_id(upload_id)
        except (UploadNotFound, StorageError):
            return False
        return True

    def write_part(
        self, upload_id: str, part_number: int, body: Readable, length: int
    ) -> StoredPart:
        if length < 0:
            raise StorageError("negative part length")
        s3_id = self._s3_upload_id(upload_id)
        # boto3 needs a seekable body of known length: spool it (memory, then disk), hashing
        # on the way so that S3 checks the bytes against our MD5 (Content-MD5).
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            while received < length:
                try:
                    chunk = body.read(min(CHUNK, length - received))
                except OSError as exc:
                    raise IncompleteBody(
                        f"part {part_number}: got {received} of {length} bytes ({exc})"
                    ) from exc
                if not chunk:
                    raise IncompleteBody(f"part {part_number}: got {received} of {length} bytes")
                digest.update(chunk)
                spool.write(chunk)
                received += len(chunk)
            spool.seek(0)
            with self._translate(f"store part {part_number}", upload_id):
                self.client.upload_part(
                    Bucket=self.bucket,
                    Key=self._object_key(upload_id),
                    UploadId=s3_id,
                    PartNumber=part_number,
                    Body=spool,
                    ContentLength=length,
                    ContentMD5=b64encode(digest.digest()).decode("ascii"),
                )
        return StoredPart(number=part_number, size=length, etag=digest.hexdigest())

    def stored_parts(self, upload_id: str) -> dict[int, StoredPart]:
        try:
            s3_id = self._s3_upload_id(upload_id)
        except UploadNotFound:
            return {}
        parts: dict[int, StoredPart] = {}
        try:
            with self._translate("list the upload's parts", upload_id):
                pages = self.client.get_paginator("list_parts").paginate(
                    Bucket=self.bucket, Key=self._object_key(upload_id), UploadId=s3_id
                )
                for page in pages:
                    for item in page.get("Parts", []):
                        number = int(item["PartNumber"])
                        etag = str(item["ETag"]).strip('"').lower()
                        parts[number] = StoredPart(number, int(item["Size"]), etag)
        except UploadNotFound:
            self._forget(upload_id)
            return {}
        return parts

    def _forget(self, upload_id: str) -> None:
        with self._lock:
            self._upload_ids.pop(upload_id, None)

    def assemble(
        self,
        upload_id: str,
        part_numbers: Iterable[int],
        key: str,
        expected_etags: Mapping[int, str] | None = None,
    ) -> int:
        part_numbers = list(part_numbers)
        stored = self.stored_parts(upload_id)
        listed = []
        total = 0
        for number in part_numbers:
            part = stored.get(number)
            if part is None:
                raise StorageError(f"part {number} was never stored")
            etag = part.etag if expected_etags is None else expected_etags[number]
            if etag != part.etag:
                raise StorageError(f"part {number} changed while assembling")
            # S3 refuses the completion if a part's ETag is no longer this one.
            listed.append({"PartNumber": number, "ETag": f'"{etag}"'})
            total += part.size
        s3_id = self._s3_upload_id(upload_id)
        with self._translate("assemble the upload", upload_id):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self._object_key(upload_id),
                UploadId=s3_id,
                MultipartUpload={"Parts": listed},
            )
        self._forget(upload_id)
        if key != upload_id:  # not the key the upload was bound to: move it there
            try:
                self.copy(upload_id, key)
            finally:
                self.delete(upload_id)
        return total

    def discard_upload(self, upload_id: str) -> None:
        self._forget(upload_id)
        try:
            found = self._multipart_ids(upload_id)
        except StorageError:
            logger.warning("could not look up upload %s to discard it", upload_id)
            return
        for s3_id, _ in found:
            try:
                with self._translate("abort the upload", upload_id):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=self._object_key(upload_id), UploadId=s3_id
                    )
            except UploadNotFound:
                continue
            except StorageError:
                logger.warning("could not abort upload %s", upload_id)

    def staged_uploads(self) -> dict[str, float]:
        base = self._object_key("x")[:-1]
        staged: dict[str, float] = {}
        with self._translate("list multipart uploads"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=base
            )
            for page in pages:
                for item in page.get("Uploads", []):
                    name = item["Key"][len(base) :]
                    when = _timestamp(item["Initiated"])
                    staged[name] = max(when, staged.get(name, 0.0))
        return staged

    # --- objects -----------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> int:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        with self._translate("store the file", key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._object_key(key),
                Body=data,
                ContentMD5=b64encode(digest).decode("ascii"),
            )
        return len(data)

    def put_file(self, key: str, source: BinaryIO, size: int) -> int:
        # boto3's managed transfer: one PUT for small files, a multipart upload for large ones.
        config = TransferConfig(multipart_chunksize=64 * 1024 * 1024, use_threads=False)
        limited = io.BufferedReader(_Limited(source, size), CHUNK)  # type: ignore[arg-type]
        with self._translate("store the file", key):
            self.client.upload_fileobj(limited, self.bucket, self._object_key(key), Config=config)
        return size

    def size(self, key: str) -> int:
        with self._translate("read the file's size", key):
            answer = self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return int(answer["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def open(self, key: str) -> BinaryIO:
        reader = _RangeReader(self, key, self.size(key))
        return io.BufferedReader(reader, CHUNK)  # type: ignore[return-value]

    def copy(self, source_key: str, target_key: str) -> None:
        size = self.size(source_key)
        source = {"Bucket": self.bucket, "Key": self._object_key(source_key)}
        target = self._object_key(target_key)
        if size <= self.copy_object_limit:
            with self._translate("copy the file", source_key):
                self.client.copy_object(Bucket=self.bucket, Key=target, CopySource=source)
            return
        self._copy_in_parts(source, target, size)

    def _copy_in_parts(self, source: dict[str, str], target: str, size: int) -> None:
        part_bytes = max(self.copy_part_bytes, math.ceil(size / MAX_PARTS))
        with self._translate("copy the file"):
            s3_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target)["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, size, part_bytes), start=1):
                end = min(start + part_bytes, size) - 1
                with self._translate("copy the file"):
                    answer = self.client.upload_part_copy(
                        Bucket=self.bucket,
                        Key=target,
                        UploadId=s3_id,
                        PartNumber=number,
                        CopySource=source,
                        CopySourceRange=f"bytes={start}-{end}",
                    )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            with self._translate("copy the file"):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=target,
                    UploadId=s3_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=s3_id)
            except botocore.exceptions.ClientError:
                logger.warning("could not abort a failed copy to %s", target)
            raise

    def delete(self, key: str) -> None:
        with self._translate("delete the file"):
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    # --- direct transfers --------------------------------------------------------------------
    def presigned_part_url(self, upload_id: str, part_number: int, ttl_seconds: int) -> str | None:
        s3_id = self._s3_upload_id(upload_id)
        with self._translate("sign a part URL"):
            return str(
                self.client.generate_presigned_url(
                    "upload_part",
                    Params={
                        "Bucket": self.bucket,
                        "Key": self._object_key(upload_id),
                        "UploadId": s3_id,
                        "PartNumber": part_number,
                    },
                    ExpiresIn=max(1, ttl_seconds),
                    HttpMethod="PUT",
                )
            )

    def presigned_download_url(self, key: str, ttl_seconds: int) -> str | None:
        with self._translate("sign a download URL"):
            return str(
                self.client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": self._object_key(key)},
                    ExpiresIn=max(1, ttl_seconds),
                )
            )


class _Limited(io.RawIOBase):
    """Exactly ``size`` bytes of ``source`` (a task's output file), then end of file."""

    def __init__(self, source: BinaryIO, size: int) -> None:
        self._source = source
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._source.read(min(len(buffer), self._left))
        if not data:
            raise StorageError(f"the file ended {self._left} bytes early")
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _timestamp(value: Any) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return float(value.timestamp())


def open_s3_store(url: str, endpoint_url: str | None = None) -> S3BlobStore:
    """The store for ``s3://bucket/prefix``; the endpoint defaults to AWS."""
    bucket, prefix = parse_storage_url(url)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    store = S3BlobStore(bucket, prefix, endpoint_url=endpoint_url, region=region)
    store.check_bucket()
    return store

"""Multipart uploads of local files to the platform (rest-api.md §4).

An :class:`Upload` is a thread. It initiates (or resumes) a multipart upload, then keeps up to
``max_workers`` parts in flight; each part is streamed straight from the file with ``os.pread``
to a signed URL, its MD5 is computed on the way and compared with the ETag the storage returns,
and only then is the part reported to the platform. Failed attempts are retried with backoff and
a fresh signed URL. Progress is journaled under ``~/.sevenbridges/transfers/`` so that the same
upload started again, even from another process, continues with the parts the storage holds.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.enums import PartSize
from sevenbridges.transfer._engine import (
    BaseTransfer,
    LocalFileError,
    PartReader,
    PartScheduler,
    TransferError,
    TransientError,
    adaptive_part_size,
    describe_os_error,
    is_transient_api_error,
    json_or_empty,
    md5_of_range,
    storage_error,
    storage_session,
    url_for_logs,
    with_retries,
)
from sevenbridges.transfer._state import TransferJournal
from sevenbridges.transfer.utils import Part, total_parts

if TYPE_CHECKING:
    import requests

    from sevenbridges.api import Api
    from sevenbridges.models.file import File

__all__ = ["Upload", "UPartedFile", "CodePackageUpload", "CodePackageUPartedFile"]

logger = logging.getLogger(__name__)

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


def _plain_etag(value: str | None) -> str:
    """An ETag header value without quotes or a weak marker, lower-cased."""
    if not value:
        return ""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower()


def choose_part_size(requested: int | None, file_size: int) -> int:
    """The part size to ask for: the request (default: one adapted to the file, see
    :func:`adaptive_part_size`) raised to the platform's minimum and to what keeps the part
    count within the limit."""
    if requested is not None and requested > PartSize.MAXIMUM_UPLOAD_SIZE:
        raise SbgError(
            f"part_size {requested} is larger than the maximum part size "
            f"{PartSize.MAXIMUM_UPLOAD_SIZE} bytes (5 GiB)."
        )
    wanted = requested or adaptive_part_size(file_size)
    fewest_needed = -(-file_size // PartSize.MAXIMUM_TOTAL_PARTS)  # ceiling division
    return max(wanted, PartSize.UPLOAD_MINIMUM_PART_SIZE, fewest_needed)


def part_table(file_size: int, part_size: int) -> list[dict[str, int]]:
    """``{"part": number, "offset": first byte, "limit": length}`` for each part, numbered from 1;
    a 0-byte file is still one (empty) part."""
    count = max(1, total_parts(file_size, part_size))
    return [
        {
            "part": number,
            "offset": (number - 1) * part_size,
            "limit": min(part_size, file_size - (number - 1) * part_size),
        }
        for number in range(1, count + 1)
    ]


class UPartedFile:
    """The parts of one upload and the workers that send them.

    ``parts`` lists ``{"part": number, "offset": first byte, "limit": length}``; iterating
    uploads the parts not done yet (up to the upload's worker count at once) and yields a
    :class:`Part` for each as it finishes.
    """

    _URL = {
        "upload_part": "/upload/multipart/{upload_id}/part/{part_number}",
        "upload_part_report": "/upload/multipart/{upload_id}/part/",
    }

    def __init__(
        self,
        fp: IO[bytes],
        file_size: int,
        part_size: int,
        upload: Upload,
        timeout: float,
        storage_session: requests.Session,
        api: Api,
    ) -> None:
        self.fp = fp
        self.file_size = file_size
        self.part_size = part_size
        self.upload = upload
        self.timeout = timeout
        self.session = storage_session
        self._api = api
        self.parts = part_table(file_size, part_size)
        self.total = len(self.parts)
        self._scheduler: PartScheduler[str] | None = None

    def get_parts(self) -> list[dict[str, int]]:
        return self.parts

    def _get_scheduler(self) -> PartScheduler[str]:
        if self._scheduler is None:
            upload = self.upload
            pending = [
                index
                for index, part in enumerate(self.parts)
                if part["part"] not in upload._completed_parts
            ]
            self._scheduler = PartScheduler(
                upload._api.upload_pool,
                self._upload_part,
                pending,
                upload._window(upload._api.upload_max_workers),
                upload._control,
                on_tick=upload._progress_tick,
            )
        return self._scheduler

    def submit(self) -> None:
        """Start as many parts as the worker limit allows."""
        self._get_scheduler().submit()

    def done(self) -> bool:
        return self._get_scheduler().done()

    def __iter__(self) -> Iterator[Part]:
        for index, _etag in self._get_scheduler():
            part = self.parts[index]
            yield Part(start=part["offset"], size=part["limit"])

    # ----------------------------------------------------------------- one part

    def _upload_part(self, index: int) -> str:
        """Send part ``index`` until the storage holds it intact, then report it; returns the
        part's MD5 (runs on the upload pool)."""
        upload = self.upload
        number = self.parts[index]["part"]
        etag, report_headers = with_retries(
            lambda _attempt: self._send_part(index),
            retry_count=upload._retry_count,
            control=upload._control,
            what=f"Upload of part {number} of {upload._file_path!r}",
            on_retry=upload._count_retry,
        )
        upload._report_part(number, report_headers, self._URL["upload_part_report"])
        upload._record_part(number, etag)
        return etag

    def _send_part(self, index: int) -> tuple[str, dict[str, str]]:
        upload = self.upload
        part = self.parts[index]
        number, offset, length = part["part"], part["offset"], part["limit"]
        what = f"Part {number} of {upload._file_path!r}"
        instruction = self._api.get(
            url=self._URL["upload_part"].format(upload_id=upload.upload_id, part_number=number)
        ).json()
        url = instruction.get("url")
        if not url:
            raise TransferError(f"{what}: the platform returned no upload URL.")
        method = (instruction.get("method") or "PUT").upper()
        headers = {str(k): str(v) for k, v in (instruction.get("headers") or {}).items()}
        report = instruction.get("report") or {}
        success_codes = set(report.get("success_codes") or [200])
        wanted_headers = report.get("headers") or ["ETag"]

        body: PartReader | bytes
        if length:
            body = PartReader(
                upload._fd,
                offset,
                length,
                path=upload._file_path,
                control=upload._control,
                counter=upload._bytes,
            )
        else:
            body = b""  # requests would send an empty stream chunked; bytes get Content-Length: 0
        try:
            response = self.session.request(
                method, url, data=body, headers=headers, timeout=self.timeout
            )
            with response:
                if response.status_code not in success_codes:
                    raise storage_error(response, what)
                if isinstance(body, PartReader) and not body.complete:
                    raise TransientError(
                        f"{what}: storage answered after {body.bytes_read} of {length} bytes."
                    )
                sent_md5 = body.hexdigest() if isinstance(body, PartReader) else EMPTY_MD5
                stored = _plain_etag(response.headers.get("ETag"))
                if _MD5_HEX.match(stored) and stored != sent_md5:
                    raise TransientError(
                        f"{what}: checksum mismatch, sent bytes with MD5 {sent_md5} but the "
                        f"storage holds MD5 {stored}."
                    )
                if not _MD5_HEX.match(stored):
                    logger.debug("%s: ETag %r is not an MD5; part not verified", what, stored)
                reported = {
                    name: (stored if name.lower() == "etag" else response.headers.get(name, ""))
                    for name in wanted_headers
                }
        except BaseException:
            if isinstance(body, PartReader):
                upload._bytes.add(-body.bytes_read)  # this attempt's bytes do not count
            raise
        logger.debug("%s sent to %s", what, url_for_logs(url))
        return sent_md5, reported


class Upload(BaseTransfer):
    """Upload a local file into a project or a folder, in a background thread.

    ``start()`` begins, ``wait()`` joins; ``status``, ``progress`` (percent), ``fraction``,
    ``bytes_done``, ``bandwidth`` (MB/s) and ``duration`` (ms) report on it; ``result()`` is the
    new ``File`` once COMPLETED, ``error`` the exception once FAILED. ``max_workers`` (default:
    the Api's ``upload_max_workers``) parts are in flight at once.
    """

    _URL = {
        "upload_init": "/upload/multipart",
        "upload_info": "/upload/multipart/{upload_id}",
        "upload_complete": "/upload/multipart/{upload_id}/complete",
        "upload_delete": "/upload/multipart/{upload_id}",
    }
    _parted_file_class: type[UPartedFile] = UPartedFile

    def __init__(
        self,
        file_path: str | os.PathLike[str],
        project: Any = None,
        parent: Any = None,
        file_name: str | None = None,
        overwrite: bool = False,
        part_size: int | None = None,
        retry_count: int | None = None,
        timeout: float | None = None,
        api: Api | None = None,
        *,
        max_workers: int | None = None,
    ) -> None:
        if (project is None) == (parent is None):
            raise SbgError(
                "Upload needs exactly one destination: a project or a parent folder, not both."
            )
        self._prepare(file_path, file_name, part_size, retry_count, timeout, api, max_workers)
        self._project = Transform.to_project(project) if project is not None else None
        self._parent = Transform.to_file(parent) if parent is not None else None
        self._overwrite = bool(overwrite)

    def _prepare(
        self,
        file_path: str | os.PathLike[str],
        file_name: str | None,
        part_size: int | None,
        retry_count: int | None,
        timeout: float | None,
        api: Api | None,
        max_workers: int | None,
    ) -> None:
        """Checks and settings shared with code package uploads."""
        if not file_path:
            raise SbgError("Upload needs the path of a local file.")
        path = os.fspath(file_path)
        # os.path.isfile / os.path.getsize, as the reference client: users' tests patch them.
        if os.path.exists(path) and not os.path.isfile(path):
            raise SbgError(f"Cannot upload {path!r}: it is not a regular file.")
        try:
            file_size = os.path.getsize(path)
        except OSError as exc:
            raise SbgError(message=describe_os_error(exc, path, "upload"))
        if api is None:
            raise SbgError("Upload needs an Api (api=...).")
        if file_size > PartSize.MAXIMUM_OBJECT_SIZE:
            raise SbgError(
                f"{path!r} is {file_size} bytes; the platform stores files of at most "
                f"{PartSize.MAXIMUM_OBJECT_SIZE} bytes (5 TiB)."
            )
        super().__init__(
            name=f"upload {os.path.basename(path)}",
            retry_count=retry_count,
            timeout=timeout,
            max_workers=max_workers,
        )
        self._file_path = path
        self._file_name = file_name or os.path.basename(path)
        self._file_size = file_size
        self._total_bytes = file_size
        self._part_size = choose_part_size(part_size, file_size)
        self._api = api
        self.session = storage_session(api, self._window(api.upload_max_workers))
        self._upload_id: str | None = None
        self._result: File | None = None
        self._fd = -1
        self._journal: TransferJournal | None = None
        self._completed_parts: dict[int, str] = {}
        #: Parts found already uploaded when this upload continued an interrupted one.
        self.resumed_parts = 0

    # ----------------------------------------------------------------- public attributes

    @property
    def file_name(self) -> str:
        return self._file_name

    @property
    def upload_id(self) -> str | None:
        """The platform's id of the multipart upload (None before it is initiated)."""
        return self._upload_id

    @property
    def part_size(self) -> int:
        return self._part_size

    def result(self) -> File | None:
        """The uploaded ``File`` once the upload COMPLETED, else None."""
        return self._result

    def partition_file(self, fp: IO[bytes]) -> UPartedFile:
        return self._parted_file_class(
            fp, self._file_size, self._part_size, self, self._timeout, self.session, self._api
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._file_name!r} status={self.status}>"

    # ----------------------------------------------------------------- the transfer

    def _transfer(self) -> None:
        path = self._file_path
        try:
            fp = open(path, "rb", buffering=0)
        except OSError as exc:
            raise LocalFileError(describe_os_error(exc, path, "open"))
        with fp:
            self._fd = fp.fileno()
            opened = os.fstat(self._fd)
            self._file_size = self._total_bytes = opened.st_size
            self._journal = TransferJournal("upload", self._identity(opened))
            if not self._resume():
                self._initiate()
            parted = self.partition_file(fp)
            self._parts_total = parted.total
            self._parts_done = len(self._completed_parts)
            for _part in parted:
                self._part_finished()
            self._control.check()
            self._check_unchanged(opened)
            self._complete()
        self._journal.remove()

    def _identity(self, opened: os.stat_result) -> dict[str, Any]:
        return {
            "endpoint": self._api.url + self._URL["upload_init"],
            "path": os.path.realpath(self._file_path),
            "size": opened.st_size,
            "mtime_ns": opened.st_mtime_ns,
            "destination": self._destination(),
            "name": self._file_name,
        }

    def _destination(self) -> dict[str, Any]:
        return {"project": self._project} if self._project else {"parent": self._parent}

    def _init_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self._file_name,
            "size": self._file_size,
            "part_size": self._part_size,
        }
        body.update(self._destination())
        return body

    def _init_params(self) -> dict[str, Any] | None:
        return {"overwrite": True} if self._overwrite else None

    def _retrying(self, call: Any, what: str) -> Any:
        return with_retries(
            lambda _attempt: call(),
            retry_count=self._retry_count,
            control=self._control,
            what=what,
            on_retry=self._count_retry,
        )

    def _initiate(self) -> None:
        response = self._retrying(
            lambda: self._api.post(
                url=self._URL["upload_init"], params=self._init_params(), data=self._init_body()
            ),
            f"Starting the upload of {self._file_path!r}",
        )
        data = json_or_empty(response)
        upload_id = data.get("upload_id")
        if not upload_id:
            raise TransferError("The platform did not return an upload id.")
        self._upload_id = str(upload_id)
        self._part_size = int(data.get("part_size") or self._part_size)
        self._completed_parts = {}
        assert self._journal is not None
        self._journal.start({"upload_id": self._upload_id, "part_size": self._part_size})
        logger.info(
            "upload %s of %r started (part size %d)",
            self._upload_id,
            self._file_path,
            self._part_size,
        )

    def _resume(self) -> bool:
        """Continue an upload an earlier run left unfinished; False when there is none usable."""
        assert self._journal is not None
        previous = self._journal.load()
        if previous is None:
            return False
        header, records = previous
        upload_id = header.get("upload_id")
        if not upload_id:
            return False
        try:
            response = self._retrying(
                lambda: self._api.get(
                    url=self._URL["upload_info"].format(upload_id=upload_id),
                    params={"list_parts": "true"},
                ),
                f"Looking up the interrupted upload of {self._file_path!r}",
            )
        except SbgError as exc:
            if is_transient_api_error(exc):
                raise
            logger.info("cannot continue upload %s (%s); starting a new one", upload_id, exc)
            self._journal.remove()
            return False
        info = json_or_empty(response)
        self._upload_id = str(upload_id)
        self._part_size = int(info.get("part_size") or header.get("part_size") or self._part_size)
        self._completed_parts = self._verified_parts(info.get("parts") or [], records)
        self.resumed_parts = len(self._completed_parts)
        self._bytes.add(
            sum(
                part["limit"]
                for part in part_table(self._file_size, self._part_size)
                if part["part"] in self._completed_parts
            )
        )
        logger.info(
            "continuing upload %s of %r: %d part(s) already stored",
            upload_id,
            self._file_path,
            self.resumed_parts,
        )
        return True

    def _verified_parts(
        self, stored_parts: list[Mapping[str, Any]], records: list[dict[str, Any]]
    ) -> dict[int, str]:
        """Parts the storage holds whose bytes match the local file, reported to the platform."""
        recorded = {record.get("part"): record.get("md5") for record in records if "part" in record}
        stored = {
            int(part["part_number"]): part
            for part in stored_parts
            if part.get("part_number") is not None
        }
        verified: dict[int, str] = {}
        for part in part_table(self._file_size, self._part_size):
            number = part["part"]
            held = stored.get(number)
            if held is None:
                continue
            etag = _plain_etag(held.get("etag"))
            if held.get("size") is not None and int(held["size"]) != part["limit"]:
                continue
            if etag and recorded.get(number) == etag:
                verified[number] = etag  # uploaded, verified and reported by the earlier run
                continue
            # Stored but never recorded as reported (the earlier run died in between): it is
            # good only if it holds exactly the local bytes.
            local_md5 = md5_of_range(self._fd, part["offset"], part["limit"])
            if etag != local_md5:
                continue
            self._report_part(
                number, {"ETag": etag}, self._parted_file_class._URL["upload_part_report"]
            )
            self._record_part(number, etag)
            verified[number] = etag
        return verified

    def _report_part(self, number: int, headers: Mapping[str, str], url_template: str) -> None:
        self._retrying(
            lambda: self._api.post(
                url=url_template.format(upload_id=self._upload_id),
                data={"part_number": number, "response": {"headers": dict(headers)}},
            ),
            f"Reporting part {number} of {self._file_path!r}",
        )

    def _record_part(self, number: int, md5: str) -> None:
        self._completed_parts[number] = md5
        if self._journal is not None:
            self._journal.append({"part": number, "md5": md5})

    def _check_unchanged(self, opened: os.stat_result) -> None:
        now = os.fstat(self._fd)
        if (now.st_size, now.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns):
            raise LocalFileError(
                f"{self._file_path!r} was modified while it was being uploaded; the upload was "
                "not completed. Upload it again once it no longer changes."
            )

    def _complete(self) -> None:
        response = self._retrying(
            lambda: self._api.post(
                url=self._URL["upload_complete"].format(upload_id=self._upload_id), data=None
            ),
            f"Completing the upload of {self._file_path!r}",
        )
        from sevenbridges.models.file import File

        self._result = File(api=self._api, **json_or_empty(response))
        logger.info("upload %s of %r completed", self._upload_id, self._file_path)

    # ----------------------------------------------------------------- stop

    def _after_stop(self) -> None:
        if self._journal is not None:
            self._journal.remove()
        if self._upload_id is None:
            return
        try:
            self._api.delete(url=self._URL["upload_delete"].format(upload_id=self._upload_id))
        except SbgError as exc:
            raise SbgError(
                message=f"The upload was stopped but the platform did not abort it: {exc}",
                status=exc.status,
                code=exc.code,
            )


class CodePackageUPartedFile(UPartedFile):
    """Parts of a code package upload (automation endpoints)."""

    _URL = {
        "upload_part": "/automation/upload/{upload_id}/part/{part_number}",
        "upload_part_report": "/automation/upload/{upload_id}/part/",
    }


class CodePackageUpload(Upload):
    """Upload a code package for an automation; ``result()`` is a File-like record whose id
    becomes the package location. Empty packages are refused."""

    _URL = {
        "upload_init": "/automation/upload",
        "upload_info": "/automation/upload/{upload_id}",
        "upload_complete": "/automation/upload/{upload_id}/complete",
        "upload_delete": "/automation/upload/{upload_id}",
    }
    _parted_file_class = CodePackageUPartedFile

    def __init__(
        self,
        file_path: str | os.PathLike[str],
        automation_id: Any,
        file_name: str | None = None,
        part_size: int | None = None,
        retry_count: int | None = 6,
        timeout: float | None = 300,
        parent: Any = None,
        api: Api | None = None,
        *,
        max_workers: int | None = None,
    ) -> None:
        self._prepare(file_path, file_name, part_size, retry_count, timeout, api, max_workers)
        if self._file_size == 0:
            raise SbgError(f"Cannot upload {self._file_path!r} as a code package: it is empty.")
        if not automation_id:
            raise SbgError("CodePackageUpload needs an automation id.")
        self._automation_id = Transform.to_automation(automation_id)
        self._project = None
        self._parent = parent
        self._overwrite = False

    def _destination(self) -> dict[str, Any]:
        return {"automation_id": self._automation_id}

    def _init_params(self) -> dict[str, Any] | None:
        return None

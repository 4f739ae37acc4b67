"""A finished run's results become project files: its outputs (in the task's output location)
and its logs (under ``.task-logs/<task id>/``), in two phases: blobs are stored outside any
transaction, then file rows, the final status and the price are written in one.
"""

from __future__ import annotations

import logging
import os
import stat
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sevenbridges_local.db import Database
from sevenbridges_local.db.files import FILE_TYPE, FOLDER_TYPE, File
from sevenbridges_local.db.models import Project
from sevenbridges_local.db.tasks import Task
from sevenbridges_local.execution.base import JobRecord, RunResult
from sevenbridges_local.services import (
    billing,
    file_details,
    file_rules,
    files,
    folders,
    task_inputs,
)
from sevenbridges_local.services.names import truncate_utf8
from sevenbridges_local.services.task_queue import (
    ClaimLost,
    fail_task,
    finish_status,
    internal_failure,
    new_reference,
)
from sevenbridges_local.services.task_state import (
    ABORTED,
    COMPLETED,
    FAILED,
    app_name,
    now,
    refresh_parent,
    transition,
)
from sevenbridges_local.storage import BlobStore, StorageError

logger = logging.getLogger(__name__)

LOGS_FOLDER = ".task-logs"
# Outputs up to this size are stored in one write; larger ones are streamed in parts.
SMALL_OUTPUT_BYTES = 16 * 1024 * 1024
# Output folders deeper than this are not imported further (a task could nest without end).
MAX_OUTPUT_DEPTH = 64


@dataclass
class _StoredFile:
    name: str
    key: str
    size: int
    # Files and folders (a secondaryFiles pattern may match a folder).
    secondary: list[_StoredFile | _StoredFolder] = field(default_factory=list)
    # The CWL format the tool's output declares (an IRI), kept in the task's outputs.
    format: str | None = None
    # Set by the tool on the output's File object (draft-2 sbg:metadata and
    # sbg:inheritMetadataFrom, or a CWL outputEval), already checked.
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class _StoredFolder:
    name: str
    entries: list[_StoredFile | _StoredFolder] = field(default_factory=list)


def _open_regular(path: str) -> BinaryIO | None:
    """``path`` opened for reading if it is a regular file (never through a final symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)  # a FIFO, socket or device would hang or leak: never read one
        return None
    return os.fdopen(fd, "rb")


def _store_blob(store: BlobStore, source: BinaryIO) -> tuple[str, int]:
    """Put an open file into the blob store under a fresh key; returns (key, size)."""
    key = uuid.uuid4().hex
    size = os.fstat(source.fileno()).st_size
    if size <= SMALL_OUTPUT_BYTES:
        store.put_bytes(key, source.read(size))
        return key, size
    # The store streams it in parts (S3: a multipart upload straight to the bucket).
    store.put_file(key, source, size)
    return key, size


class _OutputImporter:
    """Phase one, outside any transaction: copy output files into the blob store.

    What a task hands back is not trusted: an output is imported only when its real path (all
    symlinks resolved) lies inside the task's output folder, or is one of the task's own input
    files passed through. A link to anything else on the machine, and anything that is not a
    regular file or folder, is skipped with a warning.
    """

    def __init__(
        self, store: BlobStore, output_dir: Path | None, input_paths: Iterable[Path] = ()
    ) -> None:
        self.store = store
        self.keys: list[str] = []
        self.output_dir = os.path.realpath(output_dir) if output_dir is not None else None
        self.input_paths = {os.path.realpath(path) for path in input_paths}
        # A file two outputs name (a glob both match, a file passed on twice) is stored once.
        self.by_path: dict[tuple[str, str], _StoredFile] = {}

    def _local_path(self, value: Mapping[str, Any]) -> Path | None:
        raw = value.get("path") or value.get("location")
        if not isinstance(raw, str):
            return None
        if raw.startswith("file://"):
            raw = unquote(urlparse(raw).path)
        return Path(raw)

    def _admitted(self, path: Path | str) -> str | None:
        """The real path of ``path`` when the task may hand it back, else None."""
        real = os.path.realpath(path)
        inside = self.output_dir is not None and real.startswith(self.output_dir + os.sep)
        if inside or real in self.input_paths:
            return real
        logger.warning("output %s lies outside the task's output folder; skipped", path)
        return None

    def store_file(self, path: Path | str, name: str) -> _StoredFile | None:
        source = _open_regular(str(path))
        if source is None:
            logger.warning("output %s is not a regular file; skipped", path)
            return None
        with source:
            key, size = _store_blob(self.store, source)
        self.keys.append(key)
        return _StoredFile(name=name, key=key, size=size)

    def _folder(self, real: str, name: str, depth: int = 0) -> _StoredFolder:
        folder = _StoredFolder(name=name)
        if depth > MAX_OUTPUT_DEPTH:
            logger.warning("output folder %s nests too deep; its content is skipped", real)
            return folder
        for entry in sorted(os.scandir(real), key=lambda item: item.name):
            target = self._admitted(entry.path) if entry.is_symlink() else entry.path
            if target is None:
                continue
            if os.path.isdir(target) and not os.path.islink(target):
                if target == real or real.startswith(target + os.sep):
                    continue  # a link back up the tree
                folder.entries.append(self._folder(target, entry.name, depth + 1))
            else:
                stored = self.store_file(target, entry.name)
                if stored is not None:
                    folder.entries.append(stored)
        return folder

    def convert(self, value: Any) -> Any:
        if task_inputs.is_file_object(value):
            path = self._local_path(value)
            real = self._admitted(path) if path is not None else None
            if path is None or real is None or not os.path.exists(real):
                return None
            name = str(value.get("basename") or path.name)
            if str(value.get("class")).lower() == "directory":
                return self._folder(real, name) if os.path.isdir(real) else None
            known = self.by_path.get((real, name))
            if known is not None:
                return known
            stored = self.store_file(real, name)
            if stored is None:
                return None
            self.by_path[(real, name)] = stored
            if isinstance(value.get("format"), str):
                stored.format = value["format"]
            stored.metadata, dropped = file_rules.output_metadata(value.get("metadata"))
            if dropped:
                logger.warning("output %s: metadata left out: %s", name, "; ".join(dropped))
            for extra in value.get("secondaryFiles") or []:
                converted = self.convert(extra)
                if isinstance(converted, _StoredFile | _StoredFolder):
                    stored.secondary.append(converted)
            return stored
        if isinstance(value, list):
            return [self.convert(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.convert(item) for key, item in value.items()}
        return value


def _child_named(session: Session, folder: File, name: str) -> File | None:
    return session.scalars(files.same_name_in_folder(folder.project_id, folder.id, name)).first()


def _lock_folder(session: Session, folder: File) -> None:
    """Hold the folder's row until commit, so tasks ending together pick their free names one
    after the other. SQLite serialises writers anyway (the clause is dropped there); on
    PostgreSQL two transactions would otherwise both find a name free and one would fail."""
    session.execute(select(File.id).where(File.id == folder.id).with_for_update())


def _free_name(session: Session, folder: File, raw_name: str) -> str:
    """``name``, or ``_1_name``, ``_2_name``... as the platform names repeated outputs.

    Output names come from tools, so they are repaired rather than refused (``safe_name``), and
    the prefix is made room for by cutting the name (whole characters) to stay within 255 bytes.
    The folder's names that could collide are read in one query: a batch whose children all
    write ``count.txt`` would otherwise cost a query per name tried, for every output.
    """
    name = files.safe_name(raw_name)
    _lock_folder(session, folder)
    stored = session.scalars(
        select(File.name).where(
            File.project_id == folder.project_id,
            File.parent_id == folder.id,
            or_(File.name.in_(files.name_variants(name)), File.name.like("\\_%", escape="\\")),
        )
    )
    taken = {unicodedata.normalize("NFC", existing) for existing in stored}
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        prefix = f"_{number}_"
        candidate = prefix + truncate_utf8(name, files.NAME_MAX_BYTES - len(prefix))
    return candidate


def _new_entry(
    session: Session, folder: File, name: str, kind: str, origin: dict[str, Any], **values: Any
) -> File:
    moment = now().replace(microsecond=0)
    record = File(
        id=folders.new_file_id(),
        project_id=folder.project_id,
        parent_id=folder.id,
        name=name,
        type=kind,
        size=values.pop("size", 0),
        origin=dict(origin),
        origin_task=origin.get("task"),
        created_on=moment,
        modified_on=moment,
        **values,
    )
    session.add(record)
    session.flush()
    return record


def _folder_path(session: Session, project: Project, location: str | None) -> File:
    """The folder ``/a/b/`` of the project (created when missing); the root for None or "/"."""
    folder = folders.root_folder(session, project.id)
    if folder is None:
        folder = folders.create_root_folder(session, project)
        session.flush()
    for part in [piece for piece in (location or "").split("/") if piece.strip()]:
        name = files.safe_name(part)
        _lock_folder(session, folder)
        existing = _child_named(session, folder, name)
        if existing is not None and existing.is_folder:
            folder = existing
            continue
        if existing is not None:  # a file has the name: the folder gets the next free one
            name = _free_name(session, folder, name)
        folder = _new_entry(session, folder, name, FOLDER_TYPE, {})
    return folder


class _OutputRecorder:
    """Phase two, inside the finishing transaction: file rows for the stored blobs."""

    def __init__(self, session: Session, task_id: str) -> None:
        self.session = session
        self.origin = {"task": task_id}
        self.recorded: dict[int, dict[str, Any]] = {}

    def record(self, value: Any, folder: File) -> Any:
        if isinstance(value, _StoredFile) and id(value) in self.recorded:
            return dict(self.recorded[id(value)])  # the same file, named by another output
        if isinstance(value, _StoredFile):
            record = _new_entry(
                self.session,
                folder,
                _free_name(self.session, folder, value.name),
                FILE_TYPE,
                self.origin,
                size=value.size,
                blob_key=value.key,
            )
            if value.metadata:
                record.metadata_rows.extend(file_details.build_metadata_rows(value.metadata))
            result: dict[str, Any] = {
                "class": "File",
                "path": record.id,
                "name": record.name,
                "size": record.size,
            }
            if value.format is not None:
                result["format"] = value.format
            if value.secondary:
                result["secondaryFiles"] = [self.record(extra, folder) for extra in value.secondary]
            self.recorded[id(value)] = result
            return result
        if isinstance(value, _StoredFolder):
            record = _new_entry(
                self.session,
                folder,
                _free_name(self.session, folder, value.name),
                FOLDER_TYPE,
                self.origin,
            )
            for entry in value.entries:
                self.record(entry, record)
            return {"class": "Directory", "path": record.id, "name": record.name}
        if isinstance(value, list):
            return [self.record(item, folder) for item in value]
        if isinstance(value, dict):
            return {key: self.record(item, folder) for key, item in value.items()}
        return value


def _output_folder_for(
    session: Session, project: Project, location: Mapping[str, Any] | None, output_id: str
) -> File:
    location = location or {}
    nodes = location.get("nodes_location") or {}
    node = nodes.get(output_id) if isinstance(nodes, Mapping) else None
    if isinstance(node, Mapping) and isinstance(node.get("output_location"), str):
        return _folder_path(session, project, node["output_location"])
    main = location.get("main_location")
    return _folder_path(session, project, main if isinstance(main, str) else None)


def finish_task(
    database: Database,
    store: BlobStore,
    task_id: str,
    result: RunResult,
    *,
    worker: str | None = None,
) -> str:
    """Import outputs and logs as project files and end the task; returns its final status.

    ``worker``: the claim the run was made under. When the task has been taken back from this
    process since (presumed dead), nothing is recorded (:class:`task_queue.ClaimLost`): the
    process that holds it now records its own run's results.
    """
    with database.read_session() as session:
        task = session.get(Task, task_id)
        if task is None:
            return ABORTED  # deleted with its project while running
        keep_outputs = result.succeeded and not task.abort_requested
    importer = _OutputImporter(store, result.output_dir, result.input_paths)
    try:
        planned_outputs = importer.convert(result.outputs) if keep_outputs else {}
        planned_logs = {
            name: stored
            for name, path in result.logs.items()
            if (stored := importer.store_file(path, name)) is not None
        }
    except (OSError, StorageError):
        for key in importer.keys:
            store.delete(key)
        reference = new_reference()
        logger.exception(
            "collecting the results of task %s failed (reference %s)", task_id, reference
        )
        fail_task(
            database,
            task_id,
            internal_failure(reference, "The task's results could not be stored"),
            worker=worker,
        )
        return FAILED
    try:
        with database.write_session() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise LookupError(task_id)
            if worker is not None and task.claimed_by != worker:
                raise ClaimLost(task_id)
            moment = now()  # with the write lock held (see task_queue.claim_next)
            project = task.project
            recorder = _OutputRecorder(session, task.id)
            outputs: dict[str, Any] = {}
            if isinstance(planned_outputs, dict):
                for output_id, value in planned_outputs.items():
                    folder = _output_folder_for(session, project, task.output_location, output_id)
                    outputs[output_id] = recorder.record(value, folder)
            logs_folder = _folder_path(session, project, f"{LOGS_FOLDER}/{task.id}")
            log_ids = {
                name: _new_entry(
                    session,
                    logs_folder,
                    files.safe_name(stored.name),
                    FILE_TYPE,
                    {},
                    size=stored.size,
                    blob_key=stored.key,
                ).id
                for name, stored in planned_logs.items()
            }
            status = finish_status(task, result.succeeded)
            transition(task, status, moment)
            task.outputs = outputs if status == COMPLETED else {}
            task.jobs = [_job_entry(job, log_ids) for job in result.jobs]
            task.steps_completed = result.steps_completed
            task.message = {
                COMPLETED: "Completed.",
                ABORTED: "Aborted.",
            }.get(status, result.message or "The task failed.")
            running_from = task.running_on or task.started_on or moment
            task.computation_cost = billing.computation_price(
                (moment - running_from).total_seconds()
            )
            billing.record_analysis(
                session,
                project=project,
                task_id=task.id,
                task_name=task.name,
                app_name=app_name(session, task),
                ran_by=task.executed_by.username if task.executed_by else task.created_by.username,
                status=status,
                computation_cost=task.computation_cost,
                time_started=task.started_on or moment,
                time_finished=moment,
            )
            if task.parent_id:
                refresh_parent(session, task.parent_id, moment)
            session.commit()
    except BaseException:
        for key in importer.keys:
            store.delete(key)
        raise
    logger.info("task %s ended %s", task_id, status)
    return status


def _job_entry(job: JobRecord, log_ids: Mapping[str, str]) -> dict[str, Any]:
    entry = job.as_dict()
    # One log set per task: every job points at the task's logs.
    entry["logs"] = dict(log_ids)
    return entry

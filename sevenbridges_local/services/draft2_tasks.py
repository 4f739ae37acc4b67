"""What a task runs for an ``sbg:draft-2`` app: its CWL v1.0 translation, with the metadata of
the task's input files so that expressions can read ``$job.inputs.<file>.metadata`` as they do
on the platform. Called by :func:`task_state.app_document` for every app.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sevenbridges_local import cwl_draft2
from sevenbridges_local.cwl_draft2.expressions import metadata_key
from sevenbridges_local.db.files import File
from sevenbridges_local.db.tasks import Task

logger = logging.getLogger(__name__)

# Enough for any batch of a real task; beyond it the query is split.
_SQL_CHUNK = 500


def _staged_pairs(value: Any) -> Iterator[tuple[str, str]]:
    """``(file id, id of the folder it is staged in)`` for every file object in ``value``: a
    file is staged in a folder named by its own id, its explicit secondary files next to it."""
    pending: list[tuple[Any, str | None]] = [(value, None)]
    while pending:
        item, primary = pending.pop()
        if isinstance(item, Mapping):
            is_file = str(item.get("class", "")).lower() == "file"
            if is_file and isinstance(item.get("path"), str):
                yield item["path"], primary or item["path"]
                for extra in item.get("secondaryFiles") or []:
                    pending.append((extra, primary or item["path"]))
                continue
            pending.extend((entry, None) for entry in item.values())
        elif isinstance(item, list):
            pending.extend((entry, None) for entry in item)


def input_metadata(session: Session, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata of the files a task's inputs name, keyed as the translation's expressions
    find them (:func:`cwl_draft2.expressions.metadata_key`: staged folder and name), so two
    inputs with the same name each keep their own."""
    pairs = set(_staged_pairs(inputs or {}))
    wanted = sorted({file_id for file_id, _ in pairs})
    records: dict[str, File] = {}
    for start in range(0, len(wanted), _SQL_CHUNK):
        chunk = wanted[start : start + _SQL_CHUNK]
        # metadata_rows load in one extra query per chunk (selectin relationship)
        for record in session.scalars(select(File).where(File.id.in_(chunk))):
            records[record.id] = record
    found: dict[str, Any] = {}
    for file_id, folder in sorted(pairs):
        record = records.get(file_id)
        if record is not None:
            found[metadata_key(folder, record.name)] = record.metadata_dict
    return found


def runnable_document(session: Session, raw: dict[str, Any], task: Task) -> dict[str, Any]:
    """What ``task`` runs: ``raw`` itself, or for a draft-2 app its CWL v1.0 translation."""
    if not cwl_draft2.is_draft2(raw):
        return raw
    try:
        return cwl_draft2.translate(raw, input_metadata(session, task.inputs))
    except cwl_draft2.Draft2Error as exc:
        # Only for a revision stored under an older translator: cwltool then refuses the
        # draft-2 document itself, and the task fails with that reason.
        logger.warning("stored draft-2 app %s no longer translates: %s", task.app_ref, exc)
        return raw

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
from sevenbridges_local.db.files import File
from sevenbridges_local.db.tasks import Task

logger = logging.getLogger(__name__)

# Enough for any batch of a real task; beyond it the query is split.
_SQL_CHUNK = 500


def _file_ids(value: Any) -> Iterator[str]:
    """The ids of the file objects (``{"class": "File", "path": id}``) anywhere in ``value``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            if str(item.get("class", "")).lower() == "file" and isinstance(item.get("path"), str):
                yield item["path"]
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def input_metadata(session: Session, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{file name: metadata}`` of the files a task's inputs name (the first file wins when
    two share a name: expressions see files by their staged name)."""
    wanted = sorted(set(_file_ids(inputs or {})))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), _SQL_CHUNK):
        chunk = wanted[start : start + _SQL_CHUNK]
        # metadata_rows load in one extra query per chunk (selectin relationship)
        for record in session.scalars(select(File).where(File.id.in_(chunk))):
            found.setdefault(record.name, record.metadata_dict)
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

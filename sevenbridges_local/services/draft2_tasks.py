"""What a task runs for an ``sbg:draft-2`` app: its CWL v1.0 translation (made for a run), and
a job order whose input File objects carry their platform metadata, so that expressions read
``$job.inputs.<file>.metadata`` as they do on the platform. The metadata travels on each File
object (cwltool and Toil keep it, also from step to step), so two input files with the same
name each keep their own. Called by :func:`task_state.app_document` for every app and by
:func:`task_queue.task_spec` for every job order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sevenbridges_local import cwl_draft2
from sevenbridges_local.db.apps import AppRevision
from sevenbridges_local.db.files import File
from sevenbridges_local.db.tasks import Task

logger = logging.getLogger(__name__)

# Enough for any batch of a real task; beyond it the query is split.
_SQL_CHUNK = 500


def _file_objects(value: Any) -> Iterator[dict[str, Any]]:
    """The file objects (``{"class": "File", "path": id}``) anywhere in a job order."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if str(item.get("class", "")).lower() == "file" and isinstance(item.get("path"), str):
                yield item
                continue
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def is_draft2_task(session: Session, task: Task) -> bool:
    """Whether ``task`` runs an ``sbg:draft-2`` app."""
    if task.app_pk is None:
        return False
    row = session.get(AppRevision, (task.app_pk, task.app_revision))
    return row is not None and cwl_draft2.is_draft2(row.raw)


def job_with_metadata(session: Session, task: Task, job_order: dict[str, Any]) -> dict[str, Any]:
    """``job_order`` with each input File's platform metadata as its ``metadata`` field, for a
    draft-2 app (``{}`` for a file without metadata, as on the platform); any other app's job
    order unchanged (a CWL v1 tool may echo its File objects, which must stay as they were)."""
    if not is_draft2_task(session, task):
        return job_order
    objects = list(_file_objects(job_order))
    wanted = sorted({item["path"] for item in objects})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _SQL_CHUNK):
        chunk = wanted[start : start + _SQL_CHUNK]
        # metadata_rows load in one extra query per chunk (selectin relationship)
        for record in session.scalars(select(File).where(File.id.in_(chunk))):
            found[record.id] = record.metadata_dict
    for item in objects:
        item["metadata"] = dict(found.get(item["path"], {}))
    return job_order


def runnable_document(session: Session, raw: dict[str, Any], task: Task) -> dict[str, Any]:
    """What ``task`` runs: ``raw`` itself, or for a draft-2 app its CWL v1.0 translation."""
    if not cwl_draft2.is_draft2(raw):
        return raw
    try:
        return cwl_draft2.translate(raw, for_run=True)
    except cwl_draft2.Draft2Error as exc:
        # Only for a revision stored under an older translator: cwltool then refuses the
        # draft-2 document itself, and the task fails with that reason.
        logger.warning("stored draft-2 app %s no longer translates: %s", task.app_ref, exc)
        return raw

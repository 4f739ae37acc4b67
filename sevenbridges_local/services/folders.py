"""The folder tree and blob references: helpers with no permission logic of their own.

Kept apart from ``services/files.py`` so that ``services/projects.py`` can create a project's root
folder and release its blobs without importing the files service (which imports projects).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, lazyload

from sevenbridges_local import workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import FOLDER_TYPE, File
from sevenbridges_local.db.models import Project

logger = logging.getLogger(__name__)

FILE_ID_BYTES = 12  # 24 hex characters, the platform's id format
RELEASE_BLOB = "blob.release"
KEYS_PER_RELEASE = 200


def new_file_id() -> str:
    return secrets.token_hex(FILE_ID_BYTES)


def create_root_folder(session: Session, project: Project) -> File:
    """The project's root folder (no parent); call once, right after the project is flushed."""
    now = project.created_on or utcnow()
    folder = File(
        id=new_file_id(),
        project_id=project.id,
        parent_id=None,
        name=project.slug,
        type=FOLDER_TYPE,
        size=0,
        origin={},
        created_on=now,
        modified_on=now,
    )
    session.add(folder)
    return folder


def root_folder(session: Session, project_id: int) -> File | None:
    # Asked on every upload and listing; a root folder has no metadata or tags to load.
    return session.scalar(
        select(File)
        .where(File.project_id == project_id, File.parent_id.is_(None))
        .options(lazyload(File.metadata_rows), lazyload(File.tag_rows))
    )


def root_folder_id(session: Session, project_id: int) -> str | None:
    return session.scalar(
        select(File.id).where(File.project_id == project_id, File.parent_id.is_(None))
    )


def root_folder_ids(session: Session, project_ids: Iterable[int]) -> dict[int, str]:
    """Root folder of each project, in one query (for pages of projects)."""
    wanted = list(project_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(File.project_id, File.id).where(
            File.project_id.in_(wanted), File.parent_id.is_(None)
        )
    )
    return {project_id: folder_id for project_id, folder_id in rows}


def has_children(session: Session, folder_id: str) -> bool:
    return bool(session.scalar(select(exists().where(File.parent_id == folder_id))))


def subtree_ids(session: Session, folder_id: str) -> list[str]:
    """Ids of every file and folder below ``folder_id`` (not the folder itself), top down."""
    found: list[str] = []
    frontier = [folder_id]
    while frontier:
        # Chunked so a wide tree never exceeds the database's limit on bound parameters.
        level: list[str] = []
        for start in range(0, len(frontier), 500):
            chunk = frontier[start : start + 500]
            level.extend(session.scalars(select(File.id).where(File.parent_id.in_(chunk))))
        found.extend(level)
        frontier = level
    return found


def is_inside(session: Session, candidate_id: str, folder_id: str) -> bool:
    """True when ``candidate_id`` is ``folder_id`` or lies somewhere below it."""
    current: str | None = candidate_id
    while current is not None:
        if current == folder_id:
            return True
        current = session.scalar(select(File.parent_id).where(File.id == current))
    return False


def release_blobs(session: Session, keys: Iterable[str | None]) -> None:
    """Schedule the deletion of blobs that may have lost their last file (same transaction).

    The worker deletes a blob only if no file references it when the item runs; doing it as
    durable work means a crash between the commit and the deletion leaves no orphan behind.
    """
    unique = sorted({key for key in keys if key})
    for start in range(0, len(unique), KEYS_PER_RELEASE):
        workers.enqueue(session, RELEASE_BLOB, {"keys": unique[start : start + KEYS_PER_RELEASE]})


def project_blob_keys(session: Session, project_id: int) -> list[str]:
    return list(
        session.scalars(
            select(File.blob_key)
            .where(File.project_id == project_id, File.blob_key.is_not(None))
            .distinct()
        )
    )


def _release_blobs(resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
    store = resources.blob_store
    keys = [key for key in payload.get("keys") or [] if isinstance(key, str) and key]
    if store is None or not keys:
        return
    with resources.database.read_session() as session:
        referenced = set(session.scalars(select(File.blob_key).where(File.blob_key.in_(keys))))
    for key in keys:
        if key in referenced:
            continue
        # Nothing refers to the key and nothing can start to: new references are only made
        # by copying an existing file, and fresh uploads get fresh keys.
        store.delete(key)
        logger.info("deleted blob %s: no file references it any more", key)


workers.register_handler(RELEASE_BLOB, _release_blobs)

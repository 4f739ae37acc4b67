"""Helpers for the files/folders tests: files with content seeded straight into a platform.

Uploads are tested by the transfer tests; here a file with content is made the way the upload
service finishes one: a blob in the platform's store plus a file row pointing at it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from local_helpers import Caller
from sqlalchemy import func, select

from sevenbridges_local.db import Database
from sevenbridges_local.db.files import File, FileMetadata, FileTag, WorkItem
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.services.files import match_text
from sevenbridges_local.storage import BlobStore, open_blob_store

_databases: dict[str, Database] = {}


def database_for(server: EmbeddedServer) -> Database:
    url = server.database_url
    if url not in _databases:
        _databases[url] = Database(url)
    return _databases[url]


_s3_stores: dict[str, BlobStore] = {}


def blob_store_for(server: EmbeddedServer) -> BlobStore:
    """The store the server keeps its files in (its own S3 prefix with SBG_TEST_STORAGE=s3)."""
    storage = server.extra_settings.get("storage", "local")
    if storage == "local":
        return open_blob_store(server.data_dir)
    if storage not in _s3_stores:
        from storage_fixtures import s3_store_for

        _s3_stores[storage] = s3_store_for(server)
    return _s3_stores[storage]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def seed_file(
    server: EmbeddedServer,
    *,
    project: str | None = None,
    parent: str | None = None,
    name: str,
    content: bytes = b"hello\n",
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    origin_task: str | None = None,
) -> str:
    """A file with ``content`` in ``project``'s root or in folder ``parent``; returns its id."""
    key = secrets.token_hex(16)
    blob_store_for(server).put_bytes(key, content)
    with database_for(server).write_session() as session:
        if parent is not None:
            folder = session.get(File, parent)
            assert folder is not None, parent
            project_id, parent_id = folder.project_id, folder.id
        else:
            assert project is not None
            owner, slug = project.split("/")
            project_id = session.scalar(
                select(Project.id)
                .join(User, User.id == Project.owner_id)
                .where(User.username == owner, Project.slug == slug)
            )
            parent_id = session.scalar(
                select(File.id).where(File.project_id == project_id, File.parent_id.is_(None))
            )
        now = _now()
        record = File(
            id=secrets.token_hex(12),
            project_id=project_id,
            parent_id=parent_id,
            name=name,
            type="file",
            size=len(content),
            blob_key=key,
            origin={"task": origin_task} if origin_task else {},
            origin_task=origin_task,
            created_on=now,
            modified_on=now,
        )
        record.metadata_rows = [
            FileMetadata(key=k, value=v, match_value=match_text(v))
            for k, v in (metadata or {}).items()
        ]
        record.tag_rows = [FileTag(position=i, tag=tag) for i, tag in enumerate(tags or [])]
        session.add(record)
        session.commit()
        return record.id


def blob_key_of(server: EmbeddedServer, file_id: str) -> str | None:
    with database_for(server).read_session() as session:
        return session.scalar(select(File.blob_key).where(File.id == file_id))


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``condition()`` is truthy (background work); fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)


def make_member(owner: Caller, project_id: str, member: Caller, **permissions: bool) -> None:
    body = {
        "username": member.username,
        "permissions": {
            "read": True,
            "copy": False,
            "write": False,
            "execute": False,
            **permissions,
        },
    }
    response = owner.post(f"/projects/{project_id}/members", json=body)
    assert response.status_code in (200, 201), response.text


def new_folder(
    caller: Caller, name: str, *, project: str | None = None, parent: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "type": "folder"}
    if project is not None:
        body["project"] = project
    if parent is not None:
        body["parent"] = parent
    response = caller.post("/files", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def names_of(response_json: dict[str, Any]) -> list[str]:
    return [item["name"] for item in response_json["items"]]


def work_settled(server: EmbeddedServer) -> bool:
    """True when the platform has no queued or running background work."""
    with database_for(server).read_session() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(WorkItem)
            .where(WorkItem.state.in_(("queued", "running")))
        )
    return pending == 0

"""Async file jobs (``/async/files/...``) on the live local platform, their survival across a
server restart, and the durable worker pool underneath them."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from files_support import (
    blob_key_of,
    blob_store_for,
    database_for,
    make_member,
    names_of,
    new_folder,
    seed_file,
    wait_for,
)
from local_helpers import Caller, assert_error, claimed_by_a_dead_process
from sqlalchemy import select

from sevenbridges_local import workers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.files import File, FileJob, WorkItem
from sevenbridges_local.db.models import User
from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"jobs-{uuid.uuid4().hex[:8]}")


def finished(caller: Caller, job: dict) -> dict:
    """Poll the job's href until the background work has finished it."""

    def state() -> dict | None:
        body = caller.get(job["href"]).json()
        return body if body["state"] == "FINISHED" else None

    return wait_for(state)


def submit(caller: Caller, kind: str, items: list[dict]) -> dict:
    response = caller.post(f"/async/files/{kind}", json={"items": items})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["type"] == kind.upper()
    assert job["state"] in ("SUBMITTED", "RUNNING", "FINISHED")
    assert job["total_files"] == len(items)
    return job


# --- the jobs ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_async_copy_of_files_and_folder_trees(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    target = alice.create_project(f"jobs-target-{uuid.uuid4().hex[:6]}")
    tree = new_folder(alice, "tree", project=project["id"])
    branch = new_folder(alice, "branch", parent=tree["id"])
    seed_file(platform, parent=tree["id"], name="top.txt", metadata={"k": "v"})
    leaf = seed_file(platform, parent=branch["id"], name="leaf.txt", tags=["x"])
    single = seed_file(platform, project=project["id"], name="single.txt")
    foreign = seed_file(platform, project=bob.create_project("bobs")["id"], name="no.txt")

    job = submit(
        alice,
        "copy",
        [
            {"file": single, "project": target["id"], "name": "renamed.txt"},
            {"file": tree["id"], "project": target["id"]},
            {"file": "0" * 24, "project": target["id"]},
            {"file": foreign, "project": target["id"]},
            {"file": single, "parent": tree["id"]},
        ],
    )
    done = finished(alice, job)
    assert done["completed_files"] == 3 and done["failed_files"] == 2
    assert "started_on" in done and "finished_on" in done
    result = done["result"]
    assert result[0]["resource"]["name"] == "renamed.txt"
    assert result[0]["resource"]["project"] == target["id"]
    assert result[2]["error"]["code"] == 5002
    assert result[3]["error"]["code"] == 5002
    assert result[4]["resource"]["parent"] == tree["id"]
    # the folder structure was preserved under the copy
    tree_copy = result[1]["resource"]
    assert tree_copy["type"] == "folder" and tree_copy["name"] == "tree"
    copied_top = alice.get(f"/files/{tree_copy['id']}/list").json()
    assert sorted(names_of(copied_top)) == ["branch", "top.txt"]
    branch_copy = next(item for item in copied_top["items"] if item["name"] == "branch")
    [leaf_copy] = alice.get(f"/files/{branch_copy['id']}/list").json()["items"]
    assert leaf_copy["name"] == "leaf.txt" and leaf_copy["tags"] == ["x"]
    assert blob_key_of(platform, leaf_copy["id"]) == blob_key_of(platform, leaf)
    # the sources are untouched
    assert sorted(names_of(alice.get(f"/files/{tree['id']}/list").json())) == [
        "branch",
        "single.txt",
        "top.txt",
    ]


@pytest.mark.postgres
def test_async_move_across_projects_and_name_conflicts(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    target = alice.create_project(f"jobs-move-{uuid.uuid4().hex[:6]}")
    folder = new_folder(alice, "moving", project=project["id"])
    inner = seed_file(platform, parent=folder["id"], name="inner.txt")
    clash = seed_file(platform, project=project["id"], name="clash.txt")
    seed_file(platform, project=target["id"], name="clash.txt")

    done = finished(
        alice,
        submit(
            alice,
            "move",
            [
                {"file": folder["id"], "project": target["id"], "name": "moved"},
                {"file": clash, "project": target["id"]},
            ],
        ),
    )
    assert done["completed_files"] == 1 and done["failed_files"] == 1
    moved = done["result"][0]["resource"]
    assert moved["id"] == folder["id"] and moved["project"] == target["id"]
    assert moved["name"] == "moved"
    assert done["result"][1]["error"]["code"] == 5003
    # everything below the folder moved with it
    assert alice.get(f"/files/{inner}").json()["project"] == target["id"]
    assert alice.get(f"/files/{clash}").json()["project"] == project["id"]


def test_moving_files_to_another_project_needs_the_copy_permission(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    """A move out of a project takes the content out, as a copy or a download would."""
    mine = bob.create_project(f"jobs-mine-{uuid.uuid4().hex[:6]}")
    make_member(alice, project["id"], bob, write=True)  # read and write, no copy
    kept = seed_file(platform, project=project["id"], name="kept.txt")
    shuffled = seed_file(platform, project=project["id"], name="shuffled.txt")
    folder = new_folder(alice, "inside", project=project["id"])

    items = [{"file": kept, "project": mine["id"]}, {"file": shuffled, "parent": folder["id"]}]
    done = finished(bob, submit(bob, "move", items))
    error = done["result"][0]["error"]
    assert (error["status"], error["code"]) == (403, 5032)
    assert "'copy' permission" in error["message"]
    assert alice.get(f"/files/{kept}").json()["project"] == project["id"]
    # Within the project, write is enough.
    assert done["result"][1]["resource"]["id"] == shuffled

    assert alice.patch(
        f"/projects/{project['id']}/members/{bob.username}/permissions", json={"copy": True}
    ).ok
    done = finished(bob, submit(bob, "move", [{"file": kept, "project": mine["id"]}]))
    assert done["result"][0]["resource"]["project"] == mine["id"]


@pytest.mark.postgres
def test_async_delete_removes_non_empty_folders_and_their_blobs(
    platform: EmbeddedServer, alice: Caller, bob: Caller, project: dict
) -> None:
    store = blob_store_for(platform)
    folder = new_folder(alice, "doomed", project=project["id"])
    sub = new_folder(alice, "sub", parent=folder["id"])
    deep = seed_file(platform, parent=sub["id"], name="deep.bin", content=b"deep")
    key = blob_key_of(platform, deep)
    survivor = seed_file(platform, project=project["id"], name="survivor.txt")
    make_member(alice, project["id"], bob)

    denied = finished(bob, submit(bob, "delete", [{"file": survivor}]))
    assert denied["result"][0]["error"]["code"] == 5001

    done = finished(alice, submit(alice, "delete", [{"file": folder["id"]}]))
    assert done["result"] == [
        {
            "resource": {
                "id": folder["id"],
                "name": "doomed",
                "href": f"{platform.url}/files/{folder['id']}",
            }
        }
    ]
    for gone in (folder["id"], sub["id"], deep):
        assert_error(alice.get(f"/files/{gone}"), 404, 5002)
    assert alice.get(f"/files/{survivor}").status_code == 200
    wait_for(lambda: key is not None and not store.exists(key))


def test_job_submission_rules(alice: Caller) -> None:
    assert_error(alice.post("/async/files/copy", json={"items": []}), 400, 10226)
    assert_error(alice.post("/async/files/copy", json={}), 400, 90000)
    assert_error(alice.post("/async/files/move", json={"items": "x"}), 400, 90000)
    assert_error(alice.post("/async/files/delete", json={"items": [{"id": "x"}]}), 400, 5004)
    assert_error(
        alice.post("/async/files/delete", json={"items": [{"file": "a" * 24}] * 2}), 400, 10227
    )
    assert_error(
        alice.post("/async/files/move", json={"items": [{"file": "a" * 24}] * 2}), 400, 10227
    )
    assert_error(
        alice.post("/async/files/copy", json={"items": [{"file": "a" * 24, "name": 5}]}),
        400,
        90000,
    )
    assert_error(alice.post("/async/files/rename", json={"items": [{"file": "a"}]}), 404, 90003)


def test_getting_and_listing_jobs(alice: Caller, bob: Caller, project: dict) -> None:
    first = submit(alice, "delete", [{"file": "1" * 24}])
    second = submit(alice, "copy", [{"file": "2" * 24, "project": project["id"]}])
    finished(alice, first)
    assert alice.get(f"/async/files/delete/{first['id']}").json()["id"] == first["id"]
    assert first["href"].endswith(f"/async/files/delete/{first['id']}")
    # the type in the path must match, and jobs are private to their owner
    assert_error(alice.get(f"/async/files/copy/{first['id']}"), 404, 10210)
    assert_error(bob.get(f"/async/files/delete/{first['id']}"), 404, 10210)
    assert_error(alice.get("/async/files/move/" + "f" * 32), 404, 10210)
    listing = alice.get("/async/files", params={"limit": 1})
    assert listing.status_code == 200
    assert int(listing.headers["X-Total-Matching-Query"]) >= 2
    ids = [listing.json()["items"][0]["id"]]
    page = listing.json()
    while page["links"] and any(link["rel"] == "next" for link in page["links"]):
        next_href = next(link["href"] for link in page["links"] if link["rel"] == "next")
        page = alice.get(next_href).json()
        ids += [item["id"] for item in page["items"]]
    assert {first["id"], second["id"]} <= set(ids)
    assert bob.get("/async/files").headers["X-Total-Matching-Query"] == "0"


# --- durability across restarts ------------------------------------------------------------------


@pytest.fixture
def private_platform(start_platform) -> EmbeddedServer:
    return start_platform()


def _user_id(database: Database, username: str) -> int:
    with database.read_session() as session:
        return session.scalar(select(User.id).where(User.username == username))


def test_interrupted_job_resumes_after_restart_without_repeating_items(
    private_platform: EmbeddedServer, http: requests.Session
) -> None:
    server = private_platform
    owner = Caller(http, server.url, server.token("dora"), "dora")
    source = owner.create_project("source")
    target = owner.create_project("target")
    done_already = seed_file(server, project=source["id"], name="first.txt")
    pending = seed_file(server, project=source["id"], name="second.txt")
    server.stop()

    # As if the server died mid-job: item 1 done (result recorded), item 2 not yet, and the
    # work item still marked running by the dead process.
    database = database_for(server)
    job_id = secrets.token_hex(16)
    with database.write_session() as session:
        session.add(
            FileJob(
                id=job_id,
                type="COPY",
                state="RUNNING",
                user_id=_user_id(database, "dora"),
                items=[
                    {"file": done_already, "project": target["id"]},
                    {"file": pending, "project": target["id"]},
                ],
                result=[{"resource": {"id": "e" * 24, "name": "first.txt"}}],
                total_files=2,
                completed_files=1,
                failed_files=0,
                created_on=utcnow(),
                started_on=utcnow(),
            )
        )
        session.add(claimed_by_a_dead_process("file_job.run", {"job_id": job_id}))
        session.commit()

    server.start()
    job = finished(owner, {"href": f"{server.url}/async/files/copy/{job_id}"})
    assert job["completed_files"] == 2 and job["failed_files"] == 0
    assert job["result"][1]["resource"]["name"] == "second.txt"
    listing = owner.get("/files", params={"project": target["id"]}).json()
    # the first item was done before the "crash" and is not repeated
    assert names_of(listing) == ["second.txt"]


def test_a_job_of_a_user_disabled_meanwhile_does_nothing(
    private_platform: EmbeddedServer, http: requests.Session
) -> None:
    """Permissions are checked as each item runs; a disabled account acts no more."""
    server = private_platform
    owner = Caller(http, server.url, server.token("fay"), "fay")
    source = owner.create_project("source")
    target = owner.create_project("target")
    file_id = seed_file(server, project=source["id"], name="x.txt")
    server.stop()
    database = database_for(server)
    job_id = secrets.token_hex(16)
    with database.write_session() as session:
        user = session.get(User, _user_id(database, "fay"))
        assert user is not None
        user.disabled = True
        session.add(
            FileJob(
                id=job_id,
                type="COPY",
                state="SUBMITTED",
                user_id=user.id,
                items=[{"file": file_id, "project": target["id"]}],
                result=[],
                total_files=1,
                completed_files=0,
                failed_files=0,
                created_on=utcnow(),
            )
        )
        session.add(
            WorkItem(
                kind="file_job.run",
                payload={"job_id": job_id},
                state="queued",
                attempts=0,
                available_on=utcnow(),
                created_on=utcnow(),
            )
        )
        session.commit()
    server.start()

    def finished_job() -> FileJob | None:
        with database.read_session() as session:
            job = session.get(FileJob, job_id)
            return job if job is not None and job.state == "FINISHED" else None

    job = wait_for(finished_job)
    assert (job.completed_files, job.failed_files) == (0, 1)
    assert job.result[0]["error"]["status"] == 403
    assert "disabled" in job.result[0]["error"]["message"]
    with database.read_session() as session:
        copies = session.scalars(select(File.id).where(File.name == "x.txt")).all()
    assert copies == [file_id]


def test_submitted_job_survives_a_restart(
    private_platform: EmbeddedServer, http: requests.Session
) -> None:
    server = private_platform
    owner = Caller(http, server.url, server.token("eve"), "eve")
    project = owner.create_project("keep")
    file_id = seed_file(server, project=project["id"], name="x.txt")
    job = submit(owner, "copy", [{"file": file_id, "project": project["id"], "name": "y.txt"}])
    server.restart()
    done = finished(owner, job)
    assert done["result"][0]["resource"]["name"] == "y.txt"
    assert sorted(names_of(owner.get("/files", params={"project": project["id"]}).json())) == [
        "x.txt",
        "y.txt",
    ]


# --- the worker pool itself ----------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'work.db'}")
    db.migrate()
    yield db
    db.dispose()


def _items(db: Database, kind: str) -> list[WorkItem]:
    with db.read_session() as session:
        return list(session.scalars(select(WorkItem).where(WorkItem.kind == kind)))


def _enqueue(db: Database, kind: str, payload: dict[str, Any]) -> None:
    with db.write_session() as session:
        workers.enqueue(session, kind, payload)
        session.commit()


def test_pool_retries_a_failing_handler_then_succeeds(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "RETRY_BASE_SECONDS", 0.0)
    calls: list[dict[str, Any]] = []

    def flaky(_resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("transient")

    kind = f"test.flaky.{uuid.uuid4().hex}"
    workers.register_handler(kind, flaky)
    _enqueue(database, kind, {"n": 1})
    pool = workers.WorkerPool(workers.WorkerResources(database=database), workers=0)
    assert pool.drain() == 2
    [item] = _items(database, kind)
    assert item.state == workers.DONE
    assert item.attempts == 2
    assert calls == [{"n": 1}, {"n": 1}]


def test_pool_gives_up_after_max_attempts_and_on_unknown_kinds(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "RETRY_BASE_SECONDS", 0.0)

    def broken(_resources: workers.WorkerResources, _payload: dict[str, Any]) -> None:
        raise ValueError("always broken")

    kind = f"test.broken.{uuid.uuid4().hex}"
    workers.register_handler(kind, broken)
    _enqueue(database, kind, {})
    unknown = f"test.unknown.{uuid.uuid4().hex}"
    _enqueue(database, unknown, {})
    pool = workers.WorkerPool(workers.WorkerResources(database=database), workers=0, max_attempts=3)
    pool.drain()
    [item] = _items(database, kind)
    assert item.state == workers.FAILED and item.attempts == 3
    assert "always broken" in (item.last_error or "")
    [lost] = _items(database, unknown)
    assert lost.state == workers.FAILED and "no handler" in (lost.last_error or "")


def test_pool_threads_requeue_interrupted_work_and_wake_on_notify(database: Database) -> None:
    seen: list[str] = []
    ran = threading.Event()

    def record(_resources: workers.WorkerResources, payload: dict[str, Any]) -> None:
        seen.append(payload["tag"])
        if len(seen) == 2:
            ran.set()

    kind = f"test.record.{uuid.uuid4().hex}"
    workers.register_handler(kind, record)
    with database.write_session() as session:
        session.add(
            WorkItem(
                kind=kind,
                payload={"tag": "interrupted"},
                state=workers.RUNNING,
                attempts=1,
                claimed_by="gone",
                available_on=utcnow(),
                created_on=utcnow(),
            )
        )
        session.commit()
    # A long poll interval: only the start-up re-queue and notify() can make this quick.
    pool = workers.WorkerPool(
        workers.WorkerResources(database=database), workers=1, poll_seconds=30
    )
    pool.start()
    try:
        wait_for(lambda: seen == ["interrupted"])
        _enqueue(database, kind, {"tag": "fresh"})
        pool.notify()
        assert ran.wait(20)
    finally:
        pool.stop()
    assert seen == ["interrupted", "fresh"]
    assert {item.state for item in _items(database, kind)} == {workers.DONE}


def test_pool_calls_the_give_up_hook_once_and_a_pause_is_no_attempt(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "RETRY_BASE_SECONDS", 0.0)
    gave_up: list[tuple[dict[str, Any], str]] = []

    def broken(_resources: workers.WorkerResources, _payload: dict[str, Any]) -> None:
        raise ValueError("still broken")

    def give_up(_resources: workers.WorkerResources, payload: dict[str, Any], error: str) -> None:
        gave_up.append((payload, error))

    kind = f"test.giveup.{uuid.uuid4().hex}"
    workers.register_handler(kind, broken, give_up)
    _enqueue(database, kind, {"job": "j1"})
    pool = workers.WorkerPool(workers.WorkerResources(database=database), workers=0, max_attempts=2)
    pool.drain()
    assert gave_up == [({"job": "j1"}, "ValueError('still broken')")]
    [item] = _items(database, kind)
    assert item.state == workers.FAILED and item.attempts == 2

    pauses: list[int] = []

    def pausing(_resources: workers.WorkerResources, _payload: dict[str, Any]) -> None:
        pauses.append(1)
        if len(pauses) < 3:
            raise workers.Paused("the pool is stopping")

    paused_kind = f"test.paused.{uuid.uuid4().hex}"
    workers.register_handler(paused_kind, pausing)
    _enqueue(database, paused_kind, {})
    pool.drain()
    [resumed] = _items(database, paused_kind)
    # Two pauses and a run: one attempt, no error, never given up on despite max_attempts=2.
    assert (resumed.state, resumed.attempts, resumed.last_error) == (workers.DONE, 1, None)
    assert len(pauses) == 3

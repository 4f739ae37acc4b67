"""DRS bulk imports (``/bulk/drs/imports``) from a second local platform on another port: bytes,
tags, metadata, conflict resolution, per-item failures, request limits and restarts."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from files_support import (
    blob_key_of,
    database_for,
    make_member,
    names_of,
    new_folder,
    seed_file,
    wait_for,
)
from local_helpers import Caller, assert_error, claimed_by_a_dead_process
from sqlalchemy import select

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.drs import BlobChecksum, DrsImportJob
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import User
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.services.drs_imports import blob_key_for, staging_id
from sevenbridges_local.storage import open_blob_store

SOURCE_USER = "sam"
DRS_TIMEOUT = 2


class Source:
    """The DRS server we import from: a platform of its own, with a user whose token the
    importing platform is configured with."""

    def __init__(self, server: EmbeddedServer, http: requests.Session) -> None:
        self.server = server
        self.owner = Caller(http, server.url, server.token(SOURCE_USER), SOURCE_USER)
        self.project = self.owner.create_project(f"source-{uuid.uuid4().hex[:6]}")

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def object(self, name: str, content: bytes) -> str:
        """A file on the source; returns its drs:// URI."""
        file_id = seed_file(self.server, project=self.project["id"], name=name, content=content)
        return f"drs://{self.netloc}/{file_id}"


def importer_settings(source: Source) -> dict[str, object]:
    return {
        "drs_tokens": json.dumps({source.netloc: source.owner.token}),
        "drs_timeout": DRS_TIMEOUT,
        # Tests reach loopback only; a host outside this list is refused before any lookup.
        "drs_allowed_hosts": json.dumps(["127.0.0.1", "localhost"]),
    }


@pytest.fixture(scope="module")
def module_http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory, module_http: requests.Session
) -> Iterator[Source]:
    server = EmbeddedServer(tmp_path_factory.mktemp("drs-source")).start()
    try:
        yield Source(server, module_http)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def importer(tmp_path_factory: pytest.TempPathFactory, source: Source) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(
        tmp_path_factory.mktemp("drs-importer"), settings=importer_settings(source)
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def user(importer: EmbeddedServer, module_http: requests.Session) -> Caller:
    name = f"imp{uuid.uuid4().hex[:8]}"
    return Caller(module_http, importer.url, importer.token(name), name)


@pytest.fixture
def project(user: Caller) -> dict:
    return user.create_project(f"dst-{uuid.uuid4().hex[:6]}")


def submit(caller: Caller, items: list[dict], **options: object) -> dict:
    response = caller.post("/bulk/drs/imports/create", json={"items": items, **options})
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["state"] in ("SUBMITTED", "RUNNING", "FINISHED")
    assert job["href"].endswith(f"/bulk/drs/imports/{job['id']}")
    return job


def finished(caller: Caller, job: dict, timeout: float = 30.0) -> dict:
    def done() -> dict | None:
        body = caller.get(job["href"]).json()
        return body if body["state"] == "FINISHED" else None

    return wait_for(done, timeout=timeout)


def download(caller: Caller, file_id: str) -> bytes:
    info = caller.get(f"/files/{file_id}/download_info")
    assert info.status_code == 200, info.text
    return caller.http.get(info.json()["url"], timeout=30).content


def listing(caller: Caller, project: dict) -> list[str]:
    return sorted(names_of(caller.get("/files", params={"project": project["id"]}).json()))


def no_leftovers(server: EmbeddedServer) -> bool:
    storage = server.data_dir / "storage"
    staged = [entry.name for entry in (storage / "uploads").iterdir()]
    temporary = list((storage / "tmp").iterdir())
    return not [name for name in staged if name.startswith("drs-")] and not temporary


# --- successful imports --------------------------------------------------------------------------


def test_imports_bytes_tags_and_metadata_into_a_project_and_a_folder(
    importer: EmbeddedServer, source: Source, user: Caller, project: dict
) -> None:
    first = os.urandom(300_000)
    second = b"second object\n"
    folder = new_folder(user, "incoming", project=project["id"])
    job = submit(
        user,
        [
            {
                "drs_uri": source.object("one.bin", first),
                "project": project["id"],
                "metadata": {"sample": "S1", "lane": 2},
            },
            {
                "drs_uri": source.object("two.txt", second),
                "parent": folder["id"],
                "name": "renamed.txt",
            },
        ],
        tags=["drs", "batch-1"],
    )
    done = finished(user, job)
    assert (done["completed_files"], done["failed_files"], done["total_files"]) == (2, 0, 2)
    assert done["started_on"] and done["finished_on"]
    one, two = (entry["resource"] for entry in done["result"])
    assert one["name"] == "one.bin" and one["size"] == len(first)
    assert one["tags"] == ["drs", "batch-1"]
    assert one["metadata"] == {"sample": "S1", "lane": 2}
    assert two["name"] == "renamed.txt" and two["parent"] == folder["id"]
    assert two["tags"] == ["drs", "batch-1"]
    assert download(user, one["id"]) == first
    assert download(user, two["id"]) == second
    # The importer knows the checksums without reading the bytes again.
    with database_for(importer).read_session() as session:
        stored = session.get(BlobChecksum, blob_key_of(importer, one["id"]))
        assert stored is not None and stored.sha256 == hashlib.sha256(first).hexdigest()
    assert no_leftovers(importer)


def test_each_conflict_resolution(source: Source, user: Caller, project: dict) -> None:
    original = source.object("dup.txt", b"original\n")
    newer = source.object("newer.txt", b"newer content\n")
    assert (
        finished(user, submit(user, [{"drs_uri": original, "project": project["id"]}]))[
            "completed_files"
        ]
        == 1
    )
    item = {"drs_uri": newer, "project": project["id"], "name": "dup.txt"}

    for resolution in ("SKIP", "ERROR"):
        done = finished(user, submit(user, [item], conflict_resolution=resolution))
        error = done["result"][0]["error"]
        assert (error["status"], error["code"]) == (409, 5003), error
    default = finished(user, submit(user, [item]))  # SKIP when not given
    assert default["result"][0]["error"]["code"] == 5003
    assert listing(user, project) == ["dup.txt"]

    renamed = finished(user, submit(user, [item], conflict_resolution="AUTORENAME"))
    assert renamed["result"][0]["resource"]["name"] == "_1_dup.txt"
    again = finished(user, submit(user, [item], conflict_resolution="AUTORENAME"))
    assert again["result"][0]["resource"]["name"] == "_2_dup.txt"

    files_before = user.get("/files", params={"project": project["id"], "name": "dup.txt"}).json()
    replaced = finished(user, submit(user, [item], conflict_resolution="OVERWRITE"))
    resource = replaced["result"][0]["resource"]
    assert resource["name"] == "dup.txt"
    assert resource["id"] != files_before["items"][0]["id"]
    assert download(user, resource["id"]) == b"newer content\n"
    assert listing(user, project) == ["_1_dup.txt", "_2_dup.txt", "dup.txt"]


def test_objects_of_this_platform_itself_need_no_token(
    importer: EmbeddedServer, user: Caller, project: dict, module_http: requests.Session
) -> None:
    owner_name = f"own{uuid.uuid4().hex[:6]}"
    owner = Caller(module_http, importer.url, importer.token(owner_name), owner_name)
    uris = {}
    for copy in (False, True):
        shared = owner.create_project(f"shared-{copy}")
        file_id = seed_file(importer, project=shared["id"], name="local.txt", content=b"local\n")
        uris[copy] = f"drs://127.0.0.1:{importer.port}/{file_id}"
        make_member(owner, shared["id"], user, read=True, copy=copy)
    # Read-only membership: like a download, importing needs the copy permission.
    refused = finished(user, submit(user, [{"drs_uri": uris[False], "project": project["id"]}]))
    assert refused["result"][0]["error"]["status"] == 403
    done = finished(user, submit(user, [{"drs_uri": uris[True], "project": project["id"]}]))
    resource = done["result"][0]["resource"]
    assert download(user, resource["id"]) == b"local\n"


# --- failures ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_bad_items_fail_alone_with_clear_errors(
    importer: EmbeddedServer,
    source: Source,
    user: Caller,
    project: dict,
    module_http: requests.Session,
    silent_server: int,
) -> None:
    good = source.object("good.txt", b"good\n")
    stranger = Caller(module_http, source.server.url, source.server.token("stranger"), "stranger")
    hidden_project = stranger.create_project(f"hidden-{uuid.uuid4().hex[:6]}")
    hidden = seed_file(source.server, project=hidden_project["id"], name="h.txt", content=b"h")
    owner_name = f"own{uuid.uuid4().hex[:6]}"
    owner = Caller(module_http, importer.url, importer.token(owner_name), owner_name)
    read_only = owner.create_project("read-only")
    make_member(owner, read_only["id"], user, read=True, copy=True, write=False)
    dest = {"project": project["id"]}
    items = [
        {"drs_uri": "drs://", **dest},
        {"drs_uri": "https://example.org/x", **dest},
        {"drs_uri": "drs://host-without-id", **dest},
        {"drs_uri": "drs://prefix:accession", **dest},
        {"drs_uri": "drs://127.0.0.1:99999/x", **dest},
        {"drs_uri": f"drs://127.0.0.1:{_closed_port()}/abc", **dest},
        {"drs_uri": f"drs://127.0.0.1:{silent_server}/abc", **dest},
        {"drs_uri": "drs://drs.invalid/abc", **dest},
        {"drs_uri": f"drs://{source.netloc}/{'0' * 24}", **dest},
        {"drs_uri": f"drs://{source.netloc}/{hidden}", **dest},
        {"drs_uri": good, "project": read_only["id"]},
        {"drs_uri": good},
        {"drs_uri": good, "project": "nobody/nothing"},
        {"drs_uri": good, **dest, "name": "bad/name"},
    ]
    started = time.monotonic()
    done = finished(user, submit(user, items), timeout=60)
    elapsed = time.monotonic() - started
    statuses = [(entry["error"]["status"], entry["error"]["code"]) for entry in done["result"]]
    assert statuses == [
        (400, 90000),  # empty
        (400, 90000),  # not drs://
        (400, 90000),  # no object id
        (400, 90000),  # compact identifier
        (400, 90000),  # port out of range
        (400, 90000),  # nothing listens
        (400, 90000),  # never answers: the read timeout ends it
        (400, 90000),  # a host outside SBG_LOCAL_DRS_ALLOWED_HOSTS
        (404, 90003),  # no such object on the source
        (404, 90003),  # another user's file on the source
        (403, 5001),  # no write permission on the destination
        (400, 5029),  # no destination
        (404, 3002),  # destination project does not exist
        (400, 5026),  # invalid name
    ], done["result"]
    messages = [entry["error"]["message"] for entry in done["result"]]
    assert "compact identifiers" in messages[3]
    assert "could not be reached" in messages[5] and "could not be reached" in messages[6]
    assert "SBG_LOCAL_DRS_ALLOWED_HOSTS" in messages[7]
    assert done["failed_files"] == len(items) and done["completed_files"] == 0
    # One silent server costs about one read timeout, not a hang.
    assert elapsed < 6 * DRS_TIMEOUT + 10
    assert listing(user, project) == []
    assert no_leftovers(importer)


def test_content_that_does_not_match_its_checksum_is_not_imported(
    importer: EmbeddedServer, source: Source, user: Caller, project: dict
) -> None:
    content = b"checked content\n"
    uri = source.object("checked.txt", content)
    object_id = uri.rsplit("/", 1)[1]
    # The source computes and stores the checksum, then its bytes change behind its back.
    assert (
        source.owner.get(
            source.server.url.removesuffix("/v2") + f"/ga4gh/drs/v1/objects/{object_id}"
        ).status_code
        == 200
    )
    key = blob_key_of(source.server, object_id)
    path = source.server.data_dir / "storage" / "objects" / key[:2] / key
    path.write_bytes(b"X" * len(content))
    done = finished(user, submit(user, [{"drs_uri": uri, "project": project["id"]}]))
    error = done["result"][0]["error"]
    assert error["status"] == 400 and "checksum" in error["message"], error
    assert listing(user, project) == []
    assert no_leftovers(importer)


def test_whole_request_errors(
    importer: EmbeddedServer,
    source: Source,
    user: Caller,
    project: dict,
    module_http: requests.Session,
) -> None:
    item = {"drs_uri": f"drs://{source.netloc}/x", "project": project["id"]}
    assert_error(user.post("/bulk/drs/imports/create", json={"items": [item] * 101}), 400, 90000)
    assert_error(user.post("/bulk/drs/imports/create", json={"items": []}), 400, 90000)
    assert_error(user.post("/bulk/drs/imports/create", json={}), 400, 90000)
    assert_error(
        user.post("/bulk/drs/imports/create", json={"items": [{"project": project["id"]}]}),
        400,
        90000,
    )
    assert_error(
        user.post(
            "/bulk/drs/imports/create", json={"items": [item], "conflict_resolution": "MERGE"}
        ),
        400,
        90000,
    )
    assert_error(
        user.post("/bulk/drs/imports/create", json={"items": [item], "tags": "not-a-list"}),
        400,
        90000,
    )
    anonymous = Caller(module_http, importer.url, None)
    assert_error(anonymous.post("/bulk/drs/imports/create", json={"items": [item]}), 401, 90001)
    job = submit(user, [item])
    other_name = f"other{uuid.uuid4().hex[:6]}"
    other = Caller(module_http, importer.url, importer.token(other_name), other_name)
    assert_error(other.get(f"/bulk/drs/imports/{job['id']}"), 404, 10210)
    assert_error(user.get("/bulk/drs/imports/does-not-exist"), 404, 10210)
    finished(user, job)


# --- durability -------------------------------------------------------------------------------


def test_an_interrupted_job_resumes_after_a_restart_without_half_written_files(
    tmp_path: Path, source: Source, module_http: requests.Session
) -> None:
    server = EmbeddedServer(tmp_path / "importer", settings=importer_settings(source)).start()
    try:
        owner = Caller(module_http, server.url, server.token("rita"), "rita")
        project = owner.create_project("landing")
        done_uri = source.object("done.txt", b"done before\n")
        pending_uri = source.object("pending.txt", b"pending content\n")
        server.stop()

        # As if the server died mid-item: item 0 finished, item 1 half-staged, plus a blob it
        # assembled but never recorded; the work item still claimed by the dead process.
        database = database_for(server)
        job_id = secrets.token_hex(16)
        store = open_blob_store(server.data_dir)
        store.begin_upload(staging_id(job_id, 1))
        store.put_bytes(blob_key_for(job_id, 1), b"half")
        with database.write_session() as session:
            user_id = session.scalar(select(User.id).where(User.username == "rita"))
            session.add(
                DrsImportJob(
                    id=job_id,
                    user_id=user_id,
                    state="RUNNING",
                    conflict_resolution="SKIP",
                    tags=["resumed"],
                    items=[
                        {"drs_uri": done_uri, "project": project["id"]},
                        {"drs_uri": pending_uri, "project": project["id"]},
                    ],
                    result=[{"resource": {"id": "e" * 24, "name": "done.txt"}}],
                    total_files=2,
                    completed_files=1,
                    failed_files=0,
                    created_on=utcnow(),
                    started_on=utcnow(),
                )
            )
            session.add(claimed_by_a_dead_process("drs_import.run", {"job_id": job_id}))
            session.commit()

        server.start()
        done = finished(owner, {"href": f"{server.url}/bulk/drs/imports/{job_id}"})
        assert (done["completed_files"], done["failed_files"]) == (2, 0)
        resource = done["result"][1]["resource"]
        assert resource["name"] == "pending.txt" and resource["tags"] == ["resumed"]
        assert download(owner, resource["id"]) == b"pending content\n"
        # Item 0 is not repeated, and nothing of the interrupted attempt is left.
        assert listing(owner, project) == ["pending.txt"]
        assert not store.upload_exists(staging_id(job_id, 1))
        with database.read_session() as session:
            keys = session.scalars(select(File.blob_key).where(File.name == "pending.txt")).all()
        assert keys == [blob_key_for(job_id, 1)]
    finally:
        server.stop()


def test_a_submitted_job_survives_a_restart(
    tmp_path: Path, source: Source, module_http: requests.Session
) -> None:
    server = EmbeddedServer(tmp_path / "importer", settings=importer_settings(source)).start()
    try:
        owner = Caller(module_http, server.url, server.token("uma"), "uma")
        project = owner.create_project("landing")
        items = [
            {"drs_uri": source.object(f"f{number}.txt", b"x" * number), "project": project["id"]}
            for number in range(1, 6)
        ]
        job = submit(owner, items)
        server.restart()
        done = finished(owner, job)
        assert done["completed_files"] == 5, done
        assert listing(owner, project) == [f"f{number}.txt" for number in range(1, 6)]
        assert no_leftovers(server)
    finally:
        server.stop()

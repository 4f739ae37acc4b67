"""Background jobs under injected faults (the ``work_faults`` setting): a job whose work item
fails on every attempt ends with an error instead of staying RUNNING, and an export cut off
between its write and its commit finishes on the rerun without taking someone else's object.

Each test runs its own platform (pointed at moto and the GCS emulator) so the fault countdowns
are consumed by the jobs the test submits and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cloud_fixtures import PLATFORM_VOLUME_TIMEOUT, REGION
from files_support import seed_file
from local_helpers import Caller, json_field, run_sql
from volume_support import s3_body

from sevenbridges_local.embedded import EmbeddedServer

IMPORTS = "/storage/imports"
EXPORTS = "/storage/exports"
MIB = 1024 * 1024


def start_platform(path, moto_cloud, gcs_emulator, faults: dict[str, int]) -> EmbeddedServer:
    server = EmbeddedServer(
        path,
        settings={
            "s3_endpoint_url": moto_cloud.url,
            "gcs_endpoint_url": gcs_emulator.url,
            "volume_timeout": PLATFORM_VOLUME_TIMEOUT,
            "volume_multipart_threshold": 6 * MIB,
            "volume_part_size": 5 * MIB,
            # Retries 0.5 s, 1 s, 2 s... after a failure: time for a test to act in between.
            "work_retry_seconds": 0.5,
            "work_faults": json.dumps(faults),
        },
        environment={
            "AWS_ACCESS_KEY_ID": moto_cloud.platform.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto_cloud.platform.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        },
    )
    server.start()
    return server


@pytest.fixture
def platform_with(tmp_path, moto_cloud, gcs_emulator) -> Iterator[Any]:
    started: list[EmbeddedServer] = []

    def start(faults: dict[str, int]) -> EmbeddedServer:
        server = start_platform(tmp_path / f"p{len(started)}", moto_cloud, gcs_emulator, faults)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def caller_on(server: EmbeddedServer, http: requests.Session, name: str) -> Caller:
    return Caller(http, server.url, server.token(name), name)


def new_volume(caller: Caller, moto_cloud) -> tuple[str, str]:
    bucket = moto_cloud.new_bucket("faults")
    response = caller.post("/storage/volumes", json=s3_body(moto_cloud, bucket))
    assert response.status_code == 201, response.text
    return response.json()["id"], bucket


def wait_state(caller: Caller, href: str, states: tuple[str, ...], timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = caller.get(href).json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def work_item(server: EmbeddedServer, kind: str, key: str, value: str) -> tuple:
    rows = run_sql(
        server,
        "SELECT state, attempts, last_error FROM work_items "
        f"WHERE kind = ? AND {json_field(server, 'payload', key)} = ?",
        (kind, value),
    )
    assert len(rows) == 1, rows
    return rows[0]


def test_jobs_whose_work_fails_every_attempt_end_with_an_error(
    platform_with, moto_cloud, http
) -> None:
    server = platform_with({"volume_import.run": 5, "volume_export.run": 5, "drs_import.run": 5})
    user = caller_on(server, http, "giver")
    volume, bucket = new_volume(user, moto_cloud)
    moto_cloud.put(bucket, "in.txt", b"in")
    project = user.create_project(f"p-{uuid.uuid4().hex[:6]}")
    imported = user.post(
        IMPORTS,
        json={
            "source": {"volume": volume, "location": "in.txt"},
            "destination": {"project": project["id"]},
        },
    )
    assert imported.status_code == 201, imported.text
    file_id = seed_file(server, project=project["id"], name="out.txt", content=b"out")
    exported = user.post(
        EXPORTS,
        json={"source": {"file": file_id}, "destination": {"volume": volume, "location": "o"}},
    )
    assert exported.status_code == 201, exported.text
    drs = user.post(
        "/bulk/drs/imports/create",
        json={
            "items": [
                {
                    "drs_uri": f"drs://127.0.0.1:{server.port}/{file_id}",
                    "project": project["id"],
                    "name": "copy.txt",
                }
            ]
        },
    )
    assert drs.status_code == 200, drs.text

    for response in (imported, exported):
        job = wait_state(user, response.json()["href"], ("COMPLETED", "FAILED"))
        assert job["state"] == "FAILED", job
        error = job["error"]
        assert error["status"] == 500 and error["code"] == 90004, error
        assert "every attempt" in error["message"]
    drs_job = wait_state(user, f"/bulk/drs/imports/{drs.json()['id']}", ("FINISHED",))
    assert drs_job["failed_files"] == 1 and drs_job["completed_files"] == 0, drs_job
    assert drs_job["result"][0]["error"]["code"] == 90004, drs_job

    assert work_item(server, "volume_import.run", "import_id", imported.json()["id"])[:2] == (
        "failed",
        5,
    )
    assert work_item(server, "volume_export.run", "export_id", exported.json()["id"])[:2] == (
        "failed",
        5,
    )
    # Nothing reached the bucket, and the file is still the platform's.
    assert "Contents" not in moto_cloud.client().list_objects_v2(Bucket=bucket, Prefix="o")
    assert user.get(f"/files/{file_id}").json()["storage"] == {"type": "PLATFORM"}


def test_an_export_cut_off_after_its_write_finishes_on_the_rerun(
    platform_with, moto_cloud, http
) -> None:
    # The first export's handler fails before it starts; every export then fails once between
    # its write and its commit, as a crash there would leave it.
    server = platform_with({"volume_export.run": 1, "volume_export.run:written": 2})
    user = caller_on(server, http, "rerunner")
    volume, bucket = new_volume(user, moto_cloud)
    project = user.create_project(f"p-{uuid.uuid4().hex[:6]}")

    def export(name: str, content: bytes, location: str) -> requests.Response:
        file_id = seed_file(server, project=project["id"], name=name, content=content)
        response = user.post(
            EXPORTS,
            json={
                "source": {"file": file_id},
                "destination": {"volume": volume, "location": location},
            },
        )
        assert response.status_code == 201, response.text
        return response

    # Someone else's object appears at the location while the job waits for its retry: the
    # rerun must not take it for its own, nor overwrite it.
    foreign = export("foreign.txt", b"ours", "taken.txt")
    moto_cloud.put(foreign_bucket := bucket, "taken.txt", b"theirs")
    job = wait_state(user, foreign.json()["href"], ("COMPLETED", "FAILED"))
    assert job["state"] == "FAILED" and job["error"]["code"] == 9107, job
    s3 = moto_cloud.client()
    assert s3.get_object(Bucket=foreign_bucket, Key="taken.txt")["Body"].read() == b"theirs"

    small, big = os.urandom(1000), os.urandom(13 * MIB)
    for name, content in (("small.bin", small), ("big.bin", big)):
        response = export(name, content, f"out/{name}")
        job = wait_state(user, response.json()["href"], ("COMPLETED", "FAILED"))
        assert job["state"] == "COMPLETED", job
        stored = s3.get_object(Bucket=bucket, Key=f"out/{name}")
        assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(content).digest()
        assert stored["Metadata"] == {"sbg-export-id": job["id"]}
        assert job["result"]["storage"]["location"] == f"out/{name}"
        state, attempts, error = work_item(server, "volume_export.run", "export_id", job["id"])
        assert (state, attempts) == ("done", 2), error
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")

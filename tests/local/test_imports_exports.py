"""Imports and exports over HTTP against a live platform pointed at moto and a GCS emulator.

Imported files are aliases whose content stays in the bucket: downloads, copies and exports are
checked to read (or refuse) through the volume. Exports are read back from moto with boto3.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from files_support import seed_file
from local_helpers import Caller, assert_error
from test_tasks_support import PUBLIC_LINE_COUNT, create_task, file_ref, wait_for_status
from volume_support import gcs_body, oss_body, s3_body

from sevenbridges_local.embedded import EmbeddedServer

VOLUMES = "/storage/volumes"
IMPORTS = "/storage/imports"
EXPORTS = "/storage/exports"
MIB = 1024 * 1024


@pytest.fixture
def on_cloud(
    cloud_platform: EmbeddedServer, http: requests.Session, new_username
) -> Callable[[str], Caller]:
    def make(prefix: str) -> Caller:
        username = new_username(prefix)
        return Caller(http, cloud_platform.url, cloud_platform.token(username), username)

    return make


@pytest.fixture
def owner(on_cloud) -> Caller:
    return on_cloud("impowner")


def make_volume(caller: Caller, body: dict[str, Any]) -> str:
    response = caller.post(VOLUMES, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def s3_volume(caller: Caller, moto_cloud, bucket: str | None = None, mode: str = "RW") -> tuple:
    bucket = bucket or moto_cloud.new_bucket("imp")
    body = s3_body(moto_cloud, bucket)
    body["access_mode"] = mode
    return make_volume(caller, body), bucket


def project_of(caller: Caller) -> dict[str, Any]:
    return caller.create_project(f"p-{uuid.uuid4().hex[:8]}")


def wait_job(caller: Caller, href: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = caller.get(href)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in ("COMPLETED", "FAILED"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def submit_import(caller: Caller, volume: str, location: str, **extra: Any) -> requests.Response:
    destination = extra.pop("destination")
    body = {"source": {"volume": volume, "location": location}, "destination": destination}
    body.update(extra)
    return caller.post(IMPORTS, json=body)


def imported(caller: Caller, volume: str, location: str, **extra: Any) -> dict[str, Any]:
    response = submit_import(caller, volume, location, **extra)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "PENDING"
    return wait_job(caller, response.json()["href"])


def download(caller: Caller, file_id: str) -> bytes:
    info = caller.get(f"/files/{file_id}/download_info")
    assert info.status_code == 200, info.text
    response = requests.get(info.json()["url"], timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def folder_items(caller: Caller, folder_id: str) -> dict[str, dict[str, Any]]:
    response = caller.get(f"/files/{folder_id}/list", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


# ---------------------------------------------------------------------------------------------
# Imports


def test_import_one_object_makes_an_alias_read_through_the_volume(
    owner: Caller, moto_cloud
) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "runs/a.fq", b"@read1\nACGT\n")
    project = project_of(owner)
    job = imported(owner, volume, "runs/a.fq", destination={"project": project["id"]})
    assert job["state"] == "COMPLETED", job
    assert job["source"] == {"volume": volume, "location": "runs/a.fq"}
    assert job["destination"]["project"] == project["id"]
    assert job["destination"]["name"] == "a.fq"
    assert job["started_on"].endswith("Z") and job["finished_on"].endswith("Z")
    result = job["result"]
    assert result["name"] == "a.fq" and result["size"] == 12
    assert result["storage"] == {"type": "VOLUME", "volume": volume, "location": "runs/a.fq"}
    assert download(owner, result["id"]) == b"@read1\nACGT\n"

    # The content stays in the bucket: a change there is what a download sees.
    moto_cloud.put(bucket, "runs/a.fq", b"@changed\n")
    assert download(owner, result["id"]) == b"@changed\n"

    # A copy of an alias is an alias of the same object.
    other = project_of(owner)
    copied = owner.post(f"/files/{result['id']}/actions/copy", json={"project": other["id"]})
    assert copied.status_code == 200, copied.text
    assert copied.json()["storage"] == result["storage"]
    assert download(owner, copied.json()["id"]) == b"@changed\n"

    # Vanished from the bucket: a clear 404 where it is read.
    moto_cloud.client().delete_object(Bucket=bucket, Key="runs/a.fq")
    assert_error(owner.get(f"/files/{result['id']}/download_info"), 404, 9109)

    fetched = owner.get(job["href"])
    assert fetched.status_code == 200 and fetched.json()["id"] == job["id"]
    listed = owner.get(IMPORTS, params={"volume": volume})
    assert [item["id"] for item in listed.json()["items"]] == [job["id"]]
    assert (
        owner.get(IMPORTS, params={"project": project["id"]}).json()["items"][0]["id"]
        == (job["id"])
    )
    assert owner.get(IMPORTS, params={"volume": volume, "state": "FAILED"}).json()["items"] == []


def test_prefix_import_into_a_folder_keeps_the_structure(owner: Caller, moto_cloud) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    for key in ("run1/a.txt", "run1/sub/b.txt", "run1/sub/deeper/c.txt", "other/x.txt"):
        moto_cloud.put(bucket, key, key.encode())
    project = project_of(owner)
    folder = owner.post(
        "/files", json={"name": "inbox", "type": "folder", "project": project["id"]}
    )
    assert folder.status_code == 201, folder.text
    job = imported(owner, volume, "run1/", destination={"parent": folder.json()["id"]})
    assert job["state"] == "COMPLETED", job
    top = job["result"]
    assert top["type"] == "folder" and top["name"] == "run1"
    assert top["parent"] == folder.json()["id"]
    level1 = folder_items(owner, top["id"])
    assert set(level1) == {"a.txt", "sub"}
    level2 = folder_items(owner, level1["sub"]["id"])
    assert set(level2) == {"b.txt", "deeper"}
    level3 = folder_items(owner, level2["deeper"]["id"])
    assert level3["c.txt"]["storage"]["location"] == "run1/sub/deeper/c.txt"
    assert download(owner, level3["c.txt"]["id"]) == b"run1/sub/deeper/c.txt"

    # Without the structure: every file directly in the new folder.
    flat = imported(
        owner,
        volume,
        "run1/",
        destination={"project": project["id"], "name": "flat"},
        preserve_folder_structure=False,
    )
    assert flat["state"] == "COMPLETED", flat
    assert set(folder_items(owner, flat["result"]["id"])) == {"a.txt", "b.txt", "c.txt"}


def test_overwrite_and_autorename(owner: Caller, moto_cloud) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "r.txt", b"one")
    project = project_of(owner)
    first = imported(owner, volume, "r.txt", destination={"project": project["id"]})
    assert first["state"] == "COMPLETED"

    taken = submit_import(owner, volume, "r.txt", destination={"project": project["id"]})
    assert_error(taken, 409, 9108)

    renamed = imported(
        owner, volume, "r.txt", destination={"project": project["id"]}, autorename=True
    )
    assert renamed["state"] == "COMPLETED", renamed
    assert renamed["result"]["name"] == "_1_r.txt"

    moto_cloud.put(bucket, "r.txt", b"two!")
    replaced = imported(
        owner, volume, "r.txt", destination={"project": project["id"]}, overwrite=True
    )
    assert replaced["state"] == "COMPLETED", replaced
    assert replaced["result"]["id"] != first["result"]["id"]
    assert replaced["result"]["size"] == 4
    names = owner.get("/files", params={"project": project["id"]}).json()["items"]
    assert sorted(item["name"] for item in names) == ["_1_r.txt", "r.txt"]
    assert owner.get(f"/files/{first['result']['id']}").status_code == 404


def test_import_bad_input_is_refused_and_stores_nothing(owner: Caller, on_cloud, moto_cloud):
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "here.txt", b"x")
    project = project_of(owner)
    to_project = {"project": project["id"]}
    assert_error(submit_import(owner, volume, "missing.txt", destination=to_project), 404, 9105)
    assert_error(submit_import(owner, volume, "nothing/", destination=to_project), 404, 9105)
    assert_error(
        submit_import(owner, f"{owner.username}/nope", "here.txt", destination=to_project),
        404,
        9007,
    )
    stranger = on_cloud("stranger")
    own_project = project_of(stranger)
    # Another user's volume: it does not exist for them.
    assert_error(
        submit_import(stranger, volume, "here.txt", destination={"project": own_project["id"]}),
        404,
        9007,
    )
    # A member with read only on the volume may not import (copy is needed).
    added = owner.post(
        f"{VOLUMES}/{volume}/members",
        json={"username": stranger.username, "permissions": {"read": True}},
    )
    assert added.status_code == 201, added.text
    assert_error(
        submit_import(stranger, volume, "here.txt", destination={"project": own_project["id"]}),
        403,
        9019,
    )
    # Wrong project permission: a read-only member of the destination project.
    reader = on_cloud("reader")
    joined = owner.post(
        f"/projects/{project['id']}/members",
        json={"username": reader.username, "permissions": {"read": True, "copy": True}},
    )
    assert joined.status_code == 201, joined.text
    owner.patch(f"{VOLUMES}/{volume}/members/{stranger.username}/permissions", json={"copy": True})
    owner.post(
        f"{VOLUMES}/{volume}/members",
        json={"username": reader.username, "permissions": {"read": True, "copy": True}},
    )
    assert_error(submit_import(reader, volume, "here.txt", destination=to_project), 403, 9102)
    assert owner.get(IMPORTS, params={"volume": volume}).json()["items"] == []
    assert owner.get("/files", params={"project": project["id"]}).json()["items"] == []


def test_bulk_imports(owner: Caller, moto_cloud) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "b1.txt", b"1")
    moto_cloud.put(bucket, "b2.txt", b"22")
    project = project_of(owner)
    items = [
        {
            "source": {"volume": volume, "location": location},
            "destination": {"project": project["id"]},
            "overwrite": False,
        }
        for location in ("b1.txt", "b2.txt", "gone.txt")
    ]
    response = owner.post("/bulk/storage/imports/create", json={"items": items})
    assert response.status_code == 200, response.text
    records = response.json()["items"]
    assert [sorted(record) for record in records] == [["resource"], ["resource"], ["error"]]
    assert records[2]["error"]["code"] == 9105
    ids = [record["resource"]["id"] for record in records[:2]]
    for job_id in ids:
        wait_job(owner, f"{IMPORTS}/{job_id}")
    fetched = owner.post("/bulk/storage/imports/get", json={"import_ids": [*ids, "nope"]})
    assert fetched.status_code == 200, fetched.text
    answers = fetched.json()["items"]
    assert [answer["resource"]["state"] for answer in answers[:2]] == ["COMPLETED"] * 2
    assert answers[2]["error"]["code"] == 9008
    too_many = owner.post("/bulk/storage/imports/create", json={"items": items[:1] * 101})
    assert too_many.status_code == 400, too_many.text
    too_many_ids = owner.post("/bulk/storage/imports/get", json={"import_ids": ["x"] * 101})
    assert too_many_ids.status_code == 400
    assert int(owner.get(IMPORTS, params={"volume": volume}).headers["X-Total-Matching-Query"]) == 2


def test_gcs_import_and_download_stream(owner: Caller, gcs_emulator) -> None:
    bucket = gcs_emulator.new_bucket()
    gcs_emulator.put(bucket, "g/one.txt", b"from gcs")
    volume = make_volume(owner, gcs_body(bucket))
    project = project_of(owner)
    job = imported(owner, volume, "g/one.txt", destination={"project": project["id"]})
    assert job["state"] == "COMPLETED", job
    assert download(owner, job["result"]["id"]) == b"from gcs"
    # The streaming link is signed: altered, it is refused.
    url = owner.get(f"/files/{job['result']['id']}/download_info").json()["url"]
    assert requests.get(url.replace("signature=", "signature=0"), timeout=30).status_code == 403


def test_volume_delete_refused_while_aliases_exist(owner: Caller, moto_cloud) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "keep.txt", b"k")
    project = project_of(owner)
    job = imported(owner, volume, "keep.txt", destination={"project": project["id"]})
    assert owner.patch(f"{VOLUMES}/{volume}", json={"active": False}).status_code == 200
    # Deactivated: reading the alias is refused with the platform's code.
    assert_error(owner.get(f"/files/{job['result']['id']}/download_info"), 400, 5034)
    assert_error(owner.delete(f"{VOLUMES}/{volume}"), 409, 90007)
    assert owner.delete(f"/files/{job['result']['id']}").status_code == 204
    assert owner.delete(f"{VOLUMES}/{volume}").status_code == 204


# ---------------------------------------------------------------------------------------------
# Exports


def submit_export(
    caller: Caller, file_id: str, volume: str, location: str, **extra: Any
) -> requests.Response:
    params = extra.pop("params", None)
    body = {"source": {"file": file_id}, "destination": {"volume": volume, "location": location}}
    body.update(extra)
    return caller.post(EXPORTS, json=body, params=params)


def test_export_is_byte_identical_and_the_file_becomes_an_alias(
    owner: Caller, moto_cloud, cloud_platform
) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    project = project_of(owner)
    content = os.urandom(100_000)
    file_id = seed_file(cloud_platform, project=project["id"], name="data.bin", content=content)
    response = submit_export(
        owner, file_id, volume, "out/data.bin", properties={"sse_algorithm": "AES256"}
    )
    assert response.status_code == 201, response.text
    job = wait_job(owner, response.json()["href"])
    assert job["state"] == "COMPLETED", job
    assert job["destination"] == {"volume": volume, "location": "out/data.bin"}
    assert job["properties"] == {"sse_algorithm": "AES256"}
    stored = moto_cloud.client().get_object(Bucket=bucket, Key="out/data.bin")
    assert stored["Body"].read() == content
    assert stored.get("ServerSideEncryption") == "AES256"
    # Not copy_only: the file is now an alias of the exported object.
    assert job["result"]["storage"] == {
        "type": "VOLUME",
        "volume": volume,
        "location": "out/data.bin",
    }
    assert download(owner, file_id) == content
    # An alias cannot be exported again.
    assert_error(submit_export(owner, file_id, volume, "again.bin"), 400, 9006)
    listed = owner.get(EXPORTS, params={"volume": volume, "state": "COMPLETED"})
    assert [item["id"] for item in listed.json()["items"]] == [job["id"]]


def test_copy_only_multipart_export(owner: Caller, moto_cloud, cloud_platform) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    project = project_of(owner)
    content = os.urandom(13 * MIB)  # above the test platform's 6 MiB threshold: 3 parts
    file_id = seed_file(cloud_platform, project=project["id"], name="big.bin", content=content)
    response = submit_export(owner, file_id, volume, "big/", params={"copy_only": "True"})
    assert response.status_code == 201, response.text
    job = wait_job(owner, response.json()["href"])
    assert job["state"] == "COMPLETED", job
    assert job["destination"]["location"] == "big/big.bin"
    stored = moto_cloud.client().get_object(Bucket=bucket, Key="big/big.bin")
    body = stored["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(content).hexdigest()
    assert stored["ETag"].strip('"').endswith("-3")  # written as a 3-part upload
    assert job["result"]["storage"] == {"type": "PLATFORM"}  # copy_only keeps the platform copy
    assert not moto_cloud.client().list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_export_bad_input(owner: Caller, on_cloud, moto_cloud, cloud_platform) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    read_only, _ = s3_volume(owner, moto_cloud, mode="RO")
    moto_cloud.put(bucket, "taken.txt", b"old")
    project = project_of(owner)
    file_id = seed_file(cloud_platform, project=project["id"], name="f.txt", content=b"new")
    assert_error(submit_export(owner, file_id, read_only, "f.txt"), 400, 9026)
    assert_error(submit_export(owner, file_id, volume, "taken.txt"), 409, 9107)
    assert_error(submit_export(owner, "0" * 24, volume, "x.txt"), 404, 5002)
    stranger = on_cloud("expstranger")
    assert_error(submit_export(stranger, file_id, volume, "x.txt"), 404, 5002)
    their_file = seed_file(
        cloud_platform, project=project_of(stranger)["id"], name="s.txt", content=b"s"
    )
    assert_error(submit_export(stranger, their_file, volume, "x.txt"), 404, 9007)
    items = [
        {
            "source": {"file": file_id},
            "destination": {"volume": volume, "location": "y.txt"},
            "properties": {},
            "overwrite": False,
        }
    ] * 101
    assert (
        owner.post(
            "/bulk/storage/exports/create?copy_only=False", json={"items": items}
        ).status_code
        == 400
    )
    assert moto_cloud.client().get_object(Bucket=bucket, Key="taken.txt")["Body"].read() == b"old"
    assert owner.get(EXPORTS, params={"volume": volume}).json()["items"] == []

    # With overwrite the object is replaced; bulk submit and bulk get.
    response = owner.post(
        "/bulk/storage/exports/create?copy_only=True",
        json={
            "items": [
                {
                    **items[0],
                    "destination": {"volume": volume, "location": "taken.txt"},
                    "overwrite": True,
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    export_id = response.json()["items"][0]["resource"]["id"]
    wait_job(owner, f"{EXPORTS}/{export_id}")
    got = owner.post("/bulk/storage/exports/get", json={"export_ids": [export_id]})
    assert got.json()["items"][0]["resource"]["state"] == "COMPLETED"
    assert moto_cloud.client().get_object(Bucket=bucket, Key="taken.txt")["Body"].read() == b"new"


# ---------------------------------------------------------------------------------------------
# Durability, tasks, secrets


def test_restart_during_a_prefix_import_loses_nothing_and_duplicates_nothing(
    tmp_path, moto_cloud, gcs_emulator, http
) -> None:
    from cloud_fixtures import PLATFORM_VOLUME_TIMEOUT, REGION
    from local_helpers import json_field, run_sql

    server = EmbeddedServer(
        tmp_path / "restart",
        settings={
            "s3_endpoint_url": moto_cloud.url,
            "volume_timeout": PLATFORM_VOLUME_TIMEOUT,
            # 100 files take about 3 s: the restart lands in the middle of the import.
            "volume_import_item_delay": 0.03,
        },
        environment={
            "AWS_ACCESS_KEY_ID": moto_cloud.platform.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto_cloud.platform.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        },
    )
    server.start()
    try:
        user = Caller(http, server.url, server.token("restarter"), "restarter")
        volume, bucket = s3_volume(user, moto_cloud)
        s3 = moto_cloud.client()
        for number in range(100):
            s3.put_object(Bucket=bucket, Key=f"many/{number // 10}/obj{number:03}.txt", Body=b"o")
        project = project_of(user)
        response = submit_import(user, volume, "many/", destination={"project": project["id"]})
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]

        def progress() -> tuple[str, int]:
            rows = run_sql(server, "SELECT state, done FROM volume_imports WHERE id = ?", (job_id,))
            return rows[0]

        deadline = time.monotonic() + 30
        while progress()[1] < 5:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        server.restart()
        state_after_stop, done_at_stop = progress()
        assert state_after_stop == "RUNNING" and done_at_stop < 100, (
            state_after_stop,
            done_at_stop,
        )
        job = wait_job(user, f"{IMPORTS}/{job_id}")
        assert job["state"] == "COMPLETED", job
        files = run_sql(
            server,
            f"SELECT COUNT(*), COUNT(DISTINCT {json_field(server, 'storage', 'location')}) "
            "FROM files WHERE volume_id IS NOT NULL AND type = 'file'",
        )
        assert files[0] == (100, 100)
        assert len(folder_items(user, job["result"]["id"])) == 10
        # The stop paused the import: that was not a failed attempt of its work item.
        item = run_sql(
            server,
            "SELECT state, attempts, last_error FROM work_items WHERE kind = ? "
            f"AND {json_field(server, 'payload', 'import_id')} = ?",
            ("volume_import.run", job_id),
        )
        assert item == [("done", 1, None)], item
    finally:
        server.stop()


def test_a_task_reads_an_imported_alias(owner: Caller, moto_cloud, cloud_platform) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "in/words.txt", b"alpha\nbeta\ngamma\n")
    project = project_of(owner)
    job = imported(owner, volume, "in/words.txt", destination={"project": project["id"]})
    assert job["state"] == "COMPLETED", job
    response = create_task(
        owner,
        run=True,
        name="count an alias",
        project=project["id"],
        app=PUBLIC_LINE_COUNT,
        inputs={"input_file": file_ref(job["result"]["id"])},
    )
    assert response.status_code == 201, response.text
    state = wait_for_status(owner, response.json()["id"], timeout=120)
    assert state["status"] == "COMPLETED", state.get("execution_status")
    output = state["outputs"]["line_count"]
    assert download(owner, output["path"]).strip() == b"3"


def test_secrets_stay_out_of_answers_and_the_log(owner: Caller, moto_cloud, cloud_platform):
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "s.txt", b"s")
    project = project_of(owner)
    job = imported(owner, volume, "s.txt", destination={"project": project["id"]})
    file_id = seed_file(cloud_platform, project=project["id"], name="e.txt", content=b"e")
    export = submit_export(owner, file_id, volume, "e.txt")
    done = wait_job(owner, export.json()["href"])
    secret = moto_cloud.reader.secret_access_key
    answers = [
        owner.get(IMPORTS).text,
        owner.get(EXPORTS).text,
        owner.get(job["href"]).text,
        owner.get(done["href"]).text,
        owner.get(f"/files/{job['result']['id']}").text,
        owner.get(f"/files/{job['result']['id']}/download_info").text,
    ]
    for answer in answers:
        assert secret not in answer
    log = cloud_platform.log_path.read_text(errors="replace")
    assert "import" in log.lower()  # the log is the one the platform writes to
    assert secret not in log


def test_gcs_exports_small_and_multipart_read_back_byte_for_byte(
    owner: Caller, gcs_emulator, cloud_platform
) -> None:
    bucket = gcs_emulator.new_bucket("gcs-out")
    body = gcs_body(bucket)
    body["access_mode"] = "RW"
    volume = make_volume(owner, body)
    project = project_of(owner)
    small, big = os.urandom(70_000), os.urandom(13 * MIB)  # 13 MiB: 3 parts of the test's 5 MiB
    jobs = {}
    for name, content in (("small.bin", small), ("big.bin", big)):
        file_id = seed_file(cloud_platform, project=project["id"], name=name, content=content)
        response = submit_export(owner, file_id, volume, f"exp/{name}")
        assert response.status_code == 201, response.text
        jobs[name] = (file_id, content, response.json()["href"])
    storage = gcs_emulator.client().bucket(bucket)
    for name, (file_id, content, href) in jobs.items():
        job = wait_job(owner, href)
        assert job["state"] == "COMPLETED", job
        blob = storage.get_blob(f"exp/{name}")
        assert blob is not None and blob.size == len(content)
        read = blob.download_as_bytes()
        assert hashlib.sha256(read).hexdigest() == hashlib.sha256(content).hexdigest(), name
        assert blob.metadata == {"sbg-export-id": job["id"]}
        # The file is now an alias read back through the GCS volume.
        assert hashlib.sha256(download(owner, file_id)).digest() == hashlib.sha256(content).digest()
    # The parts staged for the multipart write are gone.
    assert [b.name for b in storage.list_blobs()] == ["exp/big.bin", "exp/small.bin"]


def test_drs_serves_an_alias_through_its_volume(
    owner: Caller, on_cloud, moto_cloud, cloud_platform
) -> None:
    volume, bucket = s3_volume(owner, moto_cloud)
    moto_cloud.put(bucket, "drs/alias.txt", b"alias bytes\n")
    project = project_of(owner)
    job = imported(owner, volume, "drs/alias.txt", destination={"project": project["id"]})
    file_id = job["result"]["id"]
    root = cloud_platform.url.rsplit("/v2", 1)[0] + "/ga4gh/drs/v1"
    headers = {"X-SBG-Auth-Token": owner.token}
    described = owner.http.get(f"{root}/objects/{file_id}", headers=headers, timeout=30)
    assert described.status_code == 200, described.text
    found = described.json()
    assert (found["id"], found["name"], found["size"]) == (file_id, "alias.txt", 12)
    assert "checksums" not in found  # the bucket's object may change: no digest is promised
    access = owner.http.get(f"{root}/objects/{file_id}/access/https", headers=headers, timeout=30)
    assert access.status_code == 200, access.text
    assert requests.get(access.json()["url"], timeout=30).content == b"alias bytes\n"
    # Same permissions as a download: a stranger sees nothing; a vanished object is a 404.
    stranger = on_cloud("drsstranger")
    refused = owner.http.get(
        f"{root}/objects/{file_id}/access/https",
        headers={"X-SBG-Auth-Token": stranger.token},
        timeout=30,
    )
    assert refused.status_code == 404, refused.text
    moto_cloud.client().delete_object(Bucket=bucket, Key="drs/alias.txt")
    gone = owner.http.get(f"{root}/objects/{file_id}/access/https", headers=headers, timeout=30)
    assert gone.status_code == 404 and set(gone.json()) == {"msg", "status_code"}, gone.text


def test_a_volume_whose_cloud_hangs_fails_submits_within_seconds(
    owner: Caller, moto_cloud, forwarder_to_moto, cloud_platform
) -> None:
    # An OSS volume reaches its bucket through its own endpoint: here a forwarder to moto
    # that goes silent once the volume exists.
    bucket = moto_cloud.new_bucket("hang")
    moto_cloud.put(bucket, "obj.txt", b"o")
    body = oss_body(moto_cloud, bucket, forwarder_to_moto.url)
    volume = make_volume(owner, body)
    project = project_of(owner)
    file_id = seed_file(cloud_platform, project=project["id"], name="f.txt", content=b"f")
    forwarder_to_moto.silent.set()
    for submit in (
        lambda: submit_import(owner, volume, "obj.txt", destination={"project": project["id"]}),
        lambda: submit_import(owner, volume, "pre/", destination={"project": project["id"]}),
        lambda: submit_export(owner, file_id, volume, "new.txt"),
    ):
        started = time.monotonic()
        response = submit()
        elapsed = time.monotonic() - started
        error = assert_error(response, 400, 9100)
        assert "reach" in error["message"] or "answer" in error["message"], error
        assert elapsed < 10, f"{elapsed:.1f} s"  # 1.5 s timeout, two attempts
    # Nothing was stored.
    assert owner.get(IMPORTS, params={"volume": volume}).json()["items"] == []
    assert owner.get(EXPORTS, params={"volume": volume}).json()["items"] == []
    assert owner.get("/files", params={"project": project["id"]}).json()["items"][0]["id"] == (
        file_id
    )


def test_bulk_export_get_refuses_101_ids(owner: Caller) -> None:
    response = owner.post("/bulk/storage/exports/get", json={"export_ids": ["x"] * 101})
    assert_error(response, 400, 90000)
    assert owner.post("/bulk/storage/exports/get", json={"export_ids": ["x"] * 100}).ok

"""``sbg volumes ...``, ``sbg imports ...`` and ``sbg exports ...`` against the live platform
pointed at moto (S3 with authentication on) and the GCS emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cli_support import as_json
from click.testing import Result
from volume_support import GCS_EMAIL, private_key_pem, volume_name


@pytest.fixture
def cloud_sbg(cloud_platform, run) -> Callable[[str], Callable[..., Result]]:
    """``cloud_sbg(user)(*args)``: sbg bound to the cloud platform as ``user``."""

    def bind(username: str) -> Callable[..., Result]:
        token = cloud_platform.token(username)
        return lambda *args: run("--endpoint", cloud_platform.url, "--token", token, *args)

    return bind


@pytest.fixture
def cloud_rest(cloud_platform) -> Iterator[Callable[..., Any]]:
    """``cloud_rest(user, path, **params)``: the platform's own JSON answer to a GET."""
    session = requests.Session()
    session.trust_env = False

    def get(username: str, path: str, **params: Any) -> Any:
        response = session.get(
            cloud_platform.url + path,
            params=params,
            headers={"X-SBG-Auth-Token": cloud_platform.token(username)},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    yield get
    session.close()


def _create_s3(sbg, moto_cloud, bucket: str, *extra: str) -> dict[str, Any]:
    return as_json(
        sbg(
            "volumes",
            "create-s3",
            "--name",
            volume_name(),
            "--bucket",
            bucket,
            "--access-key-id",
            moto_cloud.reader.access_key_id,
            "--secret-access-key",
            moto_cloud.reader.secret_access_key,
            *extra,
            "--json",
        )
    )


def _failed(result: Result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_volume_import_export_round_trip(
    cloud_sbg, cloud_rest, moto_cloud, new_username, tmp_path: Path
) -> None:
    user = new_username("clivol")
    sbg = cloud_sbg(user)
    bucket = moto_cloud.new_bucket("cli")
    moto_cloud.put(bucket, "top.txt", b"top")
    moto_cloud.put(bucket, "reads/a.fq", b"@a\nACGT\n+\nIIII\n")
    moto_cloud.put(bucket, "reads/lane2/b.fq", b"@b\nTTTT\n+\nIIII\n")

    volume = _create_s3(sbg, moto_cloud, bucket, "--description", "CLI test bucket")
    volume_id = volume["id"]
    assert volume == cloud_rest(user, f"/storage/volumes/{volume_id}")
    assert volume["service"]["bucket"] == bucket and volume["access_mode"] == "RW"
    listed = as_json(sbg("volumes", "ls", "--json"))
    assert listed == cloud_rest(user, "/storage/volumes", fields="_all", limit=100)["items"]
    assert as_json(sbg("volumes", "show", volume_id, "--json")) == volume
    assert bucket in sbg("volumes", "show", volume_id).stdout

    # Objects: one level at a time, as the platform lists them.
    top = as_json(sbg("volumes", "objects", volume_id, "--json"))
    answer = cloud_rest(user, f"/storage/volumes/{volume_id}/list", fields="_all", limit=100)
    assert top == {"items": answer["items"], "prefixes": answer["prefixes"]}
    assert [item["location"] for item in top["items"]] == ["top.txt"]
    assert [entry["prefix"] for entry in top["prefixes"]] == ["reads/"]
    below = as_json(sbg("volumes", "objects", volume_id, "--prefix", "reads/", "--json"))
    assert [item["location"] for item in below["items"]] == ["reads/a.fq"]
    assert [entry["prefix"] for entry in below["prefixes"]] == ["reads/lane2/"]
    table = sbg("volumes", "objects", volume_id, "--prefix", "reads/").stdout
    assert "reads/a.fq" in table and "reads/lane2/" in table and "prefix" in table

    members = as_json(sbg("volumes", "members", volume_id, "--json"))
    assert members == cloud_rest(user, f"/storage/volumes/{volume_id}/members")["items"]
    assert [member["username"] for member in members] == [user]
    assert "read,copy,write,admin" in sbg("volumes", "members", volume_id).stdout

    updated = as_json(sbg("volumes", "update", volume_id, "--description", "renamed", "--json"))
    assert updated["description"] == "renamed"
    assert updated == cloud_rest(user, f"/storage/volumes/{volume_id}")

    project = as_json(sbg("projects", "create", "--name", "Imports", "--json"))["id"]

    # Import a prefix and wait: a folder with the sub-folder kept.
    imported = as_json(
        sbg("imports", "start", volume_id, "reads/", "--project", project, "--wait", "--json")
    )
    assert imported["state"] == "COMPLETED"
    assert imported["result"]["type"] == "folder" and imported["result"]["name"] == "reads"
    assert imported == cloud_rest(user, f"/storage/imports/{imported['id']}")
    folder = imported["result"]["id"]
    inside = as_json(sbg("files", "ls", "--parent", folder, "--json"))
    assert sorted((item["name"], item["type"]) for item in inside) == [
        ("a.fq", "file"),
        ("lane2", "folder"),
    ]

    # One object into a named file, without waiting, then listed and shown.
    named = sbg("imports", "start", volume_id, "top.txt", "--project", project, "--name", "t.txt")
    assert named.exit_code == 0 and "t.txt" in named.stdout, named.stderr
    single = as_json(
        sbg(
            "imports",
            "start",
            volume_id,
            "top.txt",
            "--project",
            project,
            "--name",
            "t2.txt",
            "--json",
        )
    )
    assert single["destination"] == {"project": project, "name": "t2.txt"}
    # The two jobs started without --wait may still run: let them end first, or the command's
    # listing and the platform's could each see another state (seen under a loaded machine).
    deadline = time.monotonic() + 60
    while any(
        job["state"] not in ("COMPLETED", "FAILED")
        for job in cloud_rest(user, "/storage/imports", fields="_all", limit=100)["items"]
    ):
        assert time.monotonic() < deadline, "the imports did not end within 60 s"
        time.sleep(0.05)
    listing = as_json(sbg("imports", "ls", "--json"))
    assert listing == cloud_rest(user, "/storage/imports", fields="_all", limit=100)["items"]
    assert {job["id"] for job in listing} >= {imported["id"], single["id"]}
    table = sbg(
        "imports", "ls", "--volume", volume_id, "--project", project, "--state", "completed"
    )
    assert table.exit_code == 0 and imported["id"] in table.stdout, table.stderr
    by_volume = as_json(
        sbg("imports", "ls", "--volume", volume_id, "--state", "COMPLETED", "--json")
    )
    assert (
        by_volume
        == cloud_rest(
            user,
            "/storage/imports",
            volume=volume_id,
            state="COMPLETED",
            fields="_all",
            limit=100,
        )["items"]
    )
    assert imported["id"] in [job["id"] for job in by_volume]
    shown = sbg("imports", "show", imported["id"])
    assert shown.exit_code == 0 and "COMPLETED" in shown.stdout and "reads/" in shown.stdout

    # Export a platform file and read it back from the bucket.
    source = tmp_path / "result.txt"
    source.write_bytes(b"computed on the platform\n")
    uploaded = as_json(sbg("files", "upload", str(source), "--project", project, "--json"))
    file_id = uploaded[0]["id"]
    exported = as_json(
        sbg(
            "exports",
            "start",
            file_id,
            volume_id,
            "out/",
            "--copy-only",
            "--sse",
            "AES256",
            "--wait",
            "--json",
        )
    )
    assert exported["state"] == "COMPLETED"
    assert exported["destination"] == {"volume": volume_id, "location": "out/result.txt"}
    assert exported["properties"] == {"sse_algorithm": "AES256"}
    assert exported == cloud_rest(user, f"/storage/exports/{exported['id']}")
    stored = moto_cloud.client().get_object(Bucket=bucket, Key="out/result.txt")
    assert stored["Body"].read() == b"computed on the platform\n"
    assert stored.get("ServerSideEncryption") == "AES256"
    exports_listed = as_json(sbg("exports", "ls", "--volume", volume_id, "--json"))
    assert (
        exports_listed
        == cloud_rest(user, "/storage/exports", volume=volume_id, fields="_all", limit=100)["items"]
    )
    assert [job["id"] for job in exports_listed] == [exported["id"]]
    assert as_json(sbg("exports", "show", exported["id"], "--json")) == exported
    assert "out/result.txt" in sbg("exports", "ls").stdout

    # Exporting there again without --overwrite is refused at once, with the platform's code.
    _failed(sbg("exports", "start", file_id, volume_id, "out/result.txt"), 1, "9107")


def test_volume_bad_inputs(cloud_sbg, cloud_rest, moto_cloud, new_username, tmp_path: Path) -> None:
    user = new_username("clibad")
    sbg = cloud_sbg(user)
    bucket = moto_cloud.new_bucket("clibad")
    moto_cloud.put(bucket, "x.txt", b"x")
    project = as_json(sbg("projects", "create", "--name", "Bad inputs", "--json"))["id"]

    # Unknown volume: 404 -> exit 3, for every command that names one.
    missing = f"{user}/no_such_volume"
    _failed(sbg("volumes", "show", missing), 3, "9007")
    _failed(sbg("volumes", "objects", missing), 3, "9007")
    _failed(sbg("imports", "start", missing, "x.txt", "--project", project), 3, "9007")
    _failed(sbg("imports", "show", "0" * 24), 3)

    # Usage mistakes are refused before anything is sent.
    _failed(sbg("imports", "start", missing, "x.txt"), 2, "--project")
    _failed(
        sbg("imports", "start", missing, "x.txt", "--project", project, "--parent", "f"),
        2,
        "--project",
    )
    assert sbg("imports", "ls", "--state", "DONE").exit_code == 2
    _failed(sbg("volumes", "create-s3", "--name", "v", "--bucket", bucket), 2, "--access-key-id")

    # A read-only volume: importing works, exporting is refused with the platform's code.
    read_only = _create_s3(sbg, moto_cloud, bucket, "--access-mode", "RO")
    assert read_only["access_mode"] == "RO"
    source = tmp_path / "f.txt"
    source.write_text("data")
    file_id = as_json(sbg("files", "upload", str(source), "--project", project, "--json"))[0]["id"]
    _failed(sbg("exports", "start", file_id, read_only["id"], "f.txt", "--wait"), 1, "9026")
    assert cloud_rest(user, "/storage/exports", volume=read_only["id"])["items"] == []
    _failed(sbg("exports", "start", file_id, read_only["id"], "f.txt", "--sse-kms-key-id", "k"), 2)

    # A job that fails while it runs: --wait prints it and ends with its error, exit 1. An
    # --overwrite prefix import goes into the existing folder, where a folder holds an
    # object's name (accepted at submit, refused by the worker).
    moto_cloud.put(bucket, "reads/a.fq", b"a")
    as_json(sbg("files", "mkdir", "reads/a.fq", "--project", project, "--json"))
    waited = sbg(
        "imports", "start", read_only["id"], "reads/", "--project", project, "--overwrite",
        "--wait", "--interval", "0.2", "--json",
    )  # fmt: skip
    assert waited.exit_code == 1, (waited.stdout, waited.stderr)
    job = json.loads(waited.stdout)
    assert job["state"] == "FAILED" and job == cloud_rest(user, f"/storage/imports/{job['id']}")
    assert waited.stderr.strip().splitlines()[-1] == (
        f"error: import {job['id']} failed: {' '.join(job['error']['message'].split())} "
        f"(code {job['error']['code']}, HTTP {job['error']['status']})"
    )
    assert "Traceback" not in waited.stderr
    assert job["error"]["code"] == 9108
    failed = as_json(sbg("imports", "ls", "--state", "FAILED", "--json"))
    assert [entry["id"] for entry in failed] == [job["id"]]

    # Wrong keys: the platform refuses the volume; nothing is created.
    wrong = sbg(
        "volumes",
        "create-s3",
        "--name",
        volume_name(),
        "--bucket",
        bucket,
        "--access-key-id",
        moto_cloud.reader.access_key_id,
        "--secret-access-key",
        "not-the-secret",
    )
    _failed(wrong, 1, "9001")
    assert len(cloud_rest(user, "/storage/volumes")["items"]) == 1

    # Nothing to change is a usage error; an active volume cannot be deleted.
    _failed(sbg("volumes", "update", read_only["id"]), 2, "nothing to change")
    _failed(sbg("volumes", "delete", read_only["id"]), 1, "90007")
    inactive = as_json(sbg("volumes", "update", read_only["id"], "--inactive", "--json"))
    assert inactive["active"] is False
    deleted = sbg("volumes", "delete", read_only["id"])
    assert deleted.exit_code == 0, deleted.stderr
    _failed(sbg("volumes", "show", read_only["id"]), 3, "9007")


def test_create_gcs_from_a_key_file(
    cloud_sbg, cloud_rest, gcs_emulator, new_username, tmp_path: Path
) -> None:
    user = new_username("cligcs")
    sbg = cloud_sbg(user)
    bucket = gcs_emulator.new_bucket("cli")
    gcs_emulator.put(bucket, "g.txt", b"g")
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({"client_email": GCS_EMAIL, "private_key": private_key_pem()}))
    created = as_json(
        sbg(
            "volumes",
            "create-gcs",
            "--name",
            volume_name("gcs"),
            "--bucket",
            bucket,
            "--key-file",
            str(key_file),
            "--access-mode",
            "ro",
            "--json",
        )
    )
    assert created == cloud_rest(user, f"/storage/volumes/{created['id']}")
    assert created["service"]["type"] == "GCS" and created["access_mode"] == "RO"
    assert "private_key" not in json.dumps(created)
    objects = as_json(sbg("volumes", "objects", created["id"], "--json"))
    assert [item["location"] for item in objects["items"]] == ["g.txt"]
    bad_key = tmp_path / "bad.json"
    bad_key.write_text(json.dumps({"client_email": GCS_EMAIL}))
    result = sbg(
        "volumes", "create-gcs", "--name", "g", "--bucket", bucket, "--key-file", str(bad_key)
    )
    _failed(result, 2, "private_key")


def test_role_volume_and_new_keys_without_secrets_on_the_command_line(
    cloud_sbg, cloud_rest, moto_cloud, new_username, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_username("clirole")
    sbg = cloud_sbg(user)
    bucket = moto_cloud.new_bucket("clirole")
    moto_cloud.put(bucket, "r.txt", b"r")
    role = as_json(
        sbg(
            "volumes", "create-s3", "--name", volume_name("role"), "--bucket", bucket,
            "--role-arn", moto_cloud.role_arn, "--external-id", moto_cloud.external_id,
            "--access-mode", "RO", "--json",
        )
    )  # fmt: skip
    assert role["service"]["credentials"] == {"role_arn": moto_cloud.role_arn}
    assert role == cloud_rest(user, f"/storage/volumes/{role['id']}")
    listed = as_json(sbg("volumes", "objects", role["id"], "--json"))
    assert [item["location"] for item in listed["items"]] == ["r.txt"]
    _failed(
        sbg("volumes", "create-s3", "--name", "x", "--bucket", bucket, "--role-arn", "arn:x"),
        2,
        "--external-id",
    )

    # The secret from the environment, not a flag: creating, then replacing the keys.
    monkeypatch.setenv("SBG_VOLUME_SECRET_ACCESS_KEY", moto_cloud.reader.secret_access_key)
    keys = as_json(
        sbg(
            "volumes", "create-s3", "--name", volume_name(), "--bucket", bucket,
            "--access-key-id", moto_cloud.reader.access_key_id, "--json",
        )
    )  # fmt: skip
    assert keys["service"]["credentials"] == {"access_key_id": moto_cloud.reader.access_key_id}
    monkeypatch.setenv("SBG_VOLUME_SECRET_ACCESS_KEY", "wrong-secret")
    refused = sbg(
        "volumes", "update", keys["id"], "--access-key-id", moto_cloud.reader.access_key_id
    )
    _failed(refused, 1, "9001")
    assert cloud_rest(user, f"/storage/volumes/{keys['id']}") == keys
    monkeypatch.setenv("SBG_VOLUME_SECRET_ACCESS_KEY", moto_cloud.reader.secret_access_key)
    renewed = as_json(
        sbg(
            "volumes", "update", keys["id"], "--access-key-id", moto_cloud.reader.access_key_id,
            "--description", "new keys", "--json",
        )
    )  # fmt: skip
    assert renewed["description"] == "new keys"
    assert renewed == cloud_rest(user, f"/storage/volumes/{keys['id']}")

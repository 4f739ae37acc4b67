"""The official ``sevenbridges-python`` client, used as a black box, works against our platform.

``official_script.py`` runs in a subprocess under another interpreter (the official client's import
name is the same as ours, so it lives in its own virtualenv, ``.venv-official``). The same script
also runs under our own client: one set of checks, two clients, one wire protocol.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from cloud_fixtures import MotoCloud

import sevenbridges as sbg
from sevenbridges_local.embedded import EmbeddedServer

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("official_script.py")
OFFICIAL_VERSION = "2.11.2"
# Every check the script makes; a lower count would mean checks were skipped silently.
EXPECTED_CHECKS = 195
EXPORT_TEXT = "exported by the compatibility script\n"
SCRIPT_TIMEOUT_SECONDS = 240


def official_python() -> str:
    """Interpreter with ``sevenbridges-python`` installed, or skip/fail as the brief says."""
    configured = os.environ.get("SBG_OFFICIAL_PYTHON")
    if configured:
        if not os.access(configured, os.X_OK):
            pytest.fail(f"SBG_OFFICIAL_PYTHON={configured} is not an executable interpreter")
        return configured
    candidate = REPO_ROOT / ".venv-official" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    message = "the official client is not installed: run `make test` (it creates .venv-official)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_script(
    interpreter: str,
    platform: EmbeddedServer,
    new_username: Callable[[str], str],
    workdir: Path,
    moto_cloud: MotoCloud,
    volume_env: dict[str, str] | None = None,
    timeout: float = SCRIPT_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    owner, member = new_username("owner"), new_username("member")
    outsider = new_username("outsider")
    env = {
        key: value
        for key, value in os.environ.items()
        # Keep the user's own credentials out of the way: the script passes url and token itself.
        if not key.startswith("SB_")
    }
    env.update(
        SBG_COMPAT_URL=platform.url,
        SBG_COMPAT_OWNER=owner,
        SBG_COMPAT_OWNER_TOKEN=platform.token(owner),
        SBG_COMPAT_MEMBER=member,
        SBG_COMPAT_MEMBER_TOKEN=platform.token(member),
        SBG_COMPAT_OUTSIDER=outsider,
        **(volume_env or volume_environment(moto_cloud)),
    )
    platform.token(outsider)  # the outsider must exist, so refusing them is about permissions
    env.update(local_fixtures(platform, owner, member, new_username("publisher"), workdir))
    # -I: isolated mode, so neither the script's folder nor the working directory can shadow the
    # installed ``sevenbridges`` package with the repository's copy.
    return subprocess.run(
        [interpreter, "-I", str(SCRIPT)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def local_fixtures(
    platform: EmbeddedServer, owner: str, member: str, publisher: str, workdir: Path
) -> dict[str, str]:
    """What the public API cannot create: a division (the owner its admin, the member a member)
    and a dataset published from a project holding ``cohort.txt`` by a fourth user, who makes
    the owner its admin (the owner's own projects stay the script's only ones)."""

    def call(token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(
            method, platform.url + path, headers={"X-SBG-Auth-Token": token}, timeout=30, **kwargs
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response

    admin, publisher_token = platform.token("admin"), platform.token(publisher)
    division = f"compat-{owner.lower()}"[:64]
    call(admin, "POST", "/_local/divisions", json={"id": division, "name": "Compat division"})
    call(admin, "PUT", f"/_local/divisions/{division}/members/{owner}", json={"role": "admin"})
    call(admin, "PUT", f"/_local/divisions/{division}/members/{member}", json={"role": "member"})
    project = call(
        publisher_token, "POST", "/projects", json={"name": "compat dataset source"}
    ).json()
    source = workdir / "cohort.txt"
    source.write_bytes(b"sample\n")
    uploaded = sbg.Api(url=platform.url, token=publisher_token).files.upload(
        str(source), project=project["id"], wait=True
    )
    assert uploaded.result() is not None, uploaded.error
    dataset = call(
        publisher_token,
        "POST",
        "/_local/datasets",
        json={"project": project["id"], "name": "Compat cohort", "description": "compat"},
    ).json()
    everything = dict.fromkeys(("read", "copy", "write", "execute", "admin"), True)
    call(
        publisher_token,
        "POST",
        f"/datasets/{dataset['id']}/members",
        json={"username": owner, "permissions": everything},
    )
    return {"SBG_COMPAT_DIVISION": division, "SBG_COMPAT_DATASET": dataset["id"]}


def volume_environment(moto_cloud: MotoCloud) -> dict[str, str]:
    """A bucket in moto holding the objects the script expects, and keys that read it."""
    bucket = moto_cloud.new_bucket("compat")
    for key in ("top.txt", "compat/a.txt", "compat/b.txt"):
        moto_cloud.put(bucket, key, b"hello")
    return {
        "SBG_COMPAT_S3_BUCKET": bucket,
        "SBG_COMPAT_S3_KEY_ID": moto_cloud.reader.access_key_id,
        "SBG_COMPAT_S3_SECRET": moto_cloud.reader.secret_access_key,
        "SBG_COMPAT_EXPORT_TEXT": EXPORT_TEXT,
    }


def assert_exports_in_bucket(moto_cloud: MotoCloud, bucket: str) -> None:
    """What the script exported is in the bucket, byte for byte (read with boto3)."""
    s3 = moto_cloud.client()
    keys = [
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="exported/")["Contents"]
    ]
    assert len(keys) == 2, keys
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == EXPORT_TEXT.encode(), key


def assert_all_checks_passed(result: subprocess.CompletedProcess[str]) -> list[str]:
    report = (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert result.returncode == 0, report
    lines = result.stdout.splitlines()
    passed = [line for line in lines if line.startswith("PASS ")]
    assert len(passed) == EXPECTED_CHECKS, report
    assert lines[-1] == f"DONE {EXPECTED_CHECKS} checks", report
    assert not [line for line in lines if line.startswith("FAIL")], report
    return lines


def client_line(lines: list[str]) -> tuple[str, Path]:
    header = next(line for line in lines if line.startswith("CLIENT "))
    _, _, version, location = header.split(" ", 3)
    return version, Path(location)


# The script also creates and lists an S3 volume: it runs on the platform pointed at moto.
def test_official_client_drives_the_local_platform(
    cloud_platform, moto_cloud, new_username, tmp_path
) -> None:
    volume_env = volume_environment(moto_cloud)
    result = run_script(
        official_python(), cloud_platform, new_username, tmp_path, moto_cloud, volume_env
    )
    lines = assert_all_checks_passed(result)
    assert_exports_in_bucket(moto_cloud, volume_env["SBG_COMPAT_S3_BUCKET"])
    version, location = client_line(lines)
    assert version == OFFICIAL_VERSION
    # The import really came from the official distribution, not from this repository.
    assert REPO_ROOT / "sevenbridges" != location
    assert "site-packages" in location.parts


def test_our_client_passes_the_same_script(
    cloud_platform, moto_cloud, new_username, tmp_path
) -> None:
    volume_env = volume_environment(moto_cloud)
    result = run_script(
        sys.executable, cloud_platform, new_username, tmp_path, moto_cloud, volume_env
    )
    lines = assert_all_checks_passed(result)
    assert_exports_in_bucket(moto_cloud, volume_env["SBG_COMPAT_S3_BUCKET"])
    _, location = client_line(lines)
    assert location.resolve() == (REPO_ROOT / "sevenbridges").resolve()


def test_script_reports_a_failed_check(platform, new_username, tmp_path) -> None:
    """The harness must notice failures: swap the owner's token for the member's."""
    owner, member = new_username("owner"), new_username("member")
    env = dict(os.environ)
    env.update(
        SBG_COMPAT_URL=platform.url,
        SBG_COMPAT_OWNER=owner,
        SBG_COMPAT_OWNER_TOKEN=platform.token(member),
        SBG_COMPAT_MEMBER=member,
        SBG_COMPAT_MEMBER_TOKEN=platform.token(member),
        SBG_COMPAT_OUTSIDER=owner,
    )
    result = subprocess.run(
        [sys.executable, "-I", str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("FAIL users.me() returns the token's user"), result.stdout
    assert repr(member) in last and repr(owner) in last

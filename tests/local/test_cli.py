"""``sbg local`` / ``python -m sevenbridges_local``: token, users, serve with --write-profile."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from volume_support import GCS_EMAIL, private_key_pem

from sevenbridges_local.embedded import EmbeddedServer

TOKEN_LINE = re.compile(r"^[0-9a-f]{32}$")


def _environment(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    environment["HOME"] = str(home)
    return environment


def _local(home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sevenbridges_local", *arguments],
        env=_environment(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_token_creates_users_and_is_stable(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    first = _local(tmp_path, "token", "alice", "--data-dir", data_dir)
    assert first.returncode == 0, first.stderr
    token = _last_line(first.stdout)
    assert TOKEN_LINE.match(token)
    assert "Created user alice" in first.stderr

    again = _local(tmp_path, "token", "alice", "--data-dir", data_dir)
    assert _last_line(again.stdout) == token
    assert "Created" not in again.stderr

    admin = _local(tmp_path, "token", "--data-dir", data_dir)
    assert TOKEN_LINE.match(_last_line(admin.stdout)) and _last_line(admin.stdout) != token
    key = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    listing = _local(tmp_path, "users", "--data-dir", data_dir)
    assert listing.returncode == 0
    rows = [line.split() for line in listing.stdout.strip().splitlines()[1:]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("admin", "ADMIN", "active"),
        ("alice", "USER", "active"),
    ]


def test_token_rejects_bad_usernames(tmp_path: Path) -> None:
    result = _local(tmp_path, "token", "no/slashes", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "invalid username" in result.stderr
    assert result.stdout == ""


def test_default_data_dir_is_under_home(tmp_path: Path) -> None:
    result = _local(tmp_path, "token", "dora")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".sevenbridges" / "local" / "platform.db").exists()


def test_sbg_local_delegates_to_the_local_cli(tmp_path: Path) -> None:
    sbg = Path(sys.executable).with_name("sbg")
    result = subprocess.run(
        [str(sbg), "local", "token", "erin", "--data-dir", str(tmp_path / "data")],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert TOKEN_LINE.match(_last_line(result.stdout))


def test_token_works_while_the_server_runs(tmp_path: Path, http: requests.Session) -> None:
    with EmbeddedServer(tmp_path / "data") as server:
        created = _local(tmp_path, "token", "frank", "--data-dir", str(server.data_dir))
        token = _last_line(created.stdout)
        me = http.get(server.url + "/user", headers={"X-SBG-Auth-Token": token})
        assert me.status_code == 200 and me.json()["username"] == "frank"
        groups = http.get(server.url + "/billing/groups", headers={"X-SBG-Auth-Token": token})
        assert groups.json()["items"][0]["name"] == "frank's billing group"
        assert server.token("frank") == token


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(process: subprocess.Popen[str], url: str, http: requests.Session) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            http.get(url + "/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_writes_the_profile_and_stops_cleanly(
    tmp_path: Path, http: requests.Session, stop_signal: signal.Signals
) -> None:
    credentials = tmp_path / ".sevenbridges" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text(
        "# my profiles\n"
        "[default]\napi_endpoint = https://api.sbgenomics.com/v2\nauth_token = " + "a" * 32 + "\n\n"
        "[local]\napi_endpoint = http://old.invalid/v2\nauth_token = stale\n\n"
        "[cgc]\napi_endpoint = https://cgc-api.sbgenomics.com/v2\nauth_token = " + "b" * 32 + "\n"
    )
    port = _free_port()
    data_dir = tmp_path / "data"
    command = [sys.executable, "-m", "sevenbridges_local", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--write-profile", "local", "--log-level", "warning"]
    process = subprocess.Popen(
        command,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v2"
    try:
        _wait_until_serving(process, url, http)
        admin_token = _last_line(_local(tmp_path, "token", "--data-dir", str(data_dir)).stdout)

        text = credentials.read_text()
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        assert text.startswith("# my profiles\n[default]\n")
        assert "auth_token = " + "a" * 32 in text and "auth_token = " + "b" * 32 in text
        assert "stale" not in text and "old.invalid" not in text
        assert f"[local]\napi_endpoint = {url}\nauth_token = {admin_token}\n" in text
        assert text.index("[local]") < text.index("[cgc]")
        me = http.get(url + "/user", headers={"X-SBG-Auth-Token": admin_token})
        assert me.json()["username"] == "admin"
    finally:
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert url in stdout
    assert "sbg local token" in stdout
    assert admin_token not in stdout + stderr  # the token is never printed by serve
    with pytest.raises(requests.ConnectionError):
        http.get(url + "/", timeout=2)


def test_write_profile_adds_a_new_section(tmp_path: Path) -> None:
    from sevenbridges_local.profiles import write_profile

    target = tmp_path / "credentials"
    target.write_text("[default]\napi_endpoint = x\nauth_token = y")
    write_profile("local", "http://127.0.0.1:1/v2", "c" * 32, path=target)
    write_profile("other", "http://127.0.0.1:2/v2", "d" * 32, path=target)
    write_profile("local", "http://127.0.0.1:3/v2", "e" * 32, path=target)
    assert target.read_text() == (
        "[default]\napi_endpoint = x\nauth_token = y\n\n"
        "[local]\napi_endpoint = http://127.0.0.1:3/v2\nauth_token = " + "e" * 32 + "\n\n"
        "[other]\napi_endpoint = http://127.0.0.1:2/v2\nauth_token = " + "d" * 32 + "\n"
    )


def test_a_second_server_on_the_same_data_dir_refuses_and_leaves_the_first_alone(
    tmp_path: Path, http: requests.Session
) -> None:
    from local_helpers import Caller
    from test_tasks_support import (
        SLEEP_TOOL,
        created,
        install_app,
        transitions,
        wait_for_status,
    )

    from sevenbridges_local.status import read_status

    data_dir = tmp_path / "shared"
    with EmbeddedServer(data_dir) as first:
        alice = Caller(http, first.url, first.token("alice"), "alice")
        project = alice.create_project("long runs")
        app = install_app(alice, project["id"], "sleep", SLEEP_TOOL)
        task = created(alice, run=True, project=project["id"], app=app, inputs={"seconds": 4})
        wait_for_status(alice, task["id"], ("RUNNING",))
        work_dir = data_dir / "tasks" / task["id"]
        assert work_dir.is_dir()

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            other_port = probe.getsockname()[1]
        second = _local(tmp_path, "serve", "--data-dir", str(data_dir), "--port", str(other_port))
        assert second.returncode == 1
        status = read_status(data_dir)
        assert status is not None and status.running
        assert f"in use by another local platform (pid {status.pid} serving {first.url})" in (
            second.stderr
        )
        assert "Traceback" not in second.stderr
        # The first platform's task was neither re-queued nor robbed of its work directory.
        assert work_dir.is_dir()
        assert wait_for_status(alice, task["id"])["status"] == "COMPLETED"
        assert transitions(first, task["id"]) == [
            "DRAFT",
            "QUEUED",
            "CREATING",
            "RUNNING",
            "COMPLETED",
        ]


def test_serve_takes_the_cloud_endpoints_as_flags(
    tmp_path: Path, http: requests.Session, moto_cloud, gcs_emulator
) -> None:
    """``--s3-endpoint`` and ``--gcs-endpoint`` send volumes to the local clouds."""
    refused = _local(tmp_path, "serve", "--s3-endpoint", "ftp://x", "--data-dir", str(tmp_path))
    assert refused.returncode == 2 and "s3_endpoint_url" in refused.stderr

    port, data_dir = _free_port(), tmp_path / "data"
    command = [sys.executable, "-m", "sevenbridges_local", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--log-level", "warning"]
    command += ["--s3-endpoint", moto_cloud.url, "--gcs-endpoint", gcs_emulator.url]
    process = subprocess.Popen(
        command, env=_environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/v2"
    try:
        _wait_until_serving(process, url, http)
        token = _last_line(_local(tmp_path, "token", "--data-dir", str(data_dir)).stdout)
        headers = {"X-SBG-Auth-Token": token}
        s3_bucket, gcs_bucket = moto_cloud.new_bucket(), gcs_emulator.new_bucket()
        keys = moto_cloud.reader
        services = [
            {
                "type": "S3",
                "bucket": s3_bucket,
                "credentials": {
                    "access_key_id": keys.access_key_id,
                    "secret_access_key": keys.secret_access_key,
                },
            },
            {
                "type": "GCS",
                "bucket": gcs_bucket,
                "credentials": {"client_email": GCS_EMAIL, "private_key": private_key_pem()},
            },
        ]
        for index, service in enumerate(services):
            body = {"name": f"flagged_{index}", "access_mode": "RO", "service": service}
            created = http.post(f"{url}/storage/volumes", json=body, headers=headers)
            assert created.status_code == 201, created.text
        root_urls = [
            volume["service"]["root_url"]
            for volume in http.get(f"{url}/storage/volumes", headers=headers).json()["items"]
        ]
        assert root_urls == [moto_cloud.url, gcs_emulator.url]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_division_commands_work_on_the_data_dir_of_a_running_server(
    tmp_path: Path, http: requests.Session
) -> None:
    with EmbeddedServer(tmp_path / "data") as server:
        data_dir = str(server.data_dir)

        def division(*arguments: str) -> subprocess.CompletedProcess[str]:
            return _local(tmp_path, "division", *arguments, "--data-dir", data_dir)

        token = _last_line(_local(tmp_path, "token", "dora", "--data-dir", data_dir).stdout)
        headers = {"X-SBG-Auth-Token": token}
        created = division("create", "genomics-lab", "Genomics Lab")
        assert created.returncode == 0, created.stderr
        assert division("create", "genomics-lab", "Again").returncode == 1  # already exists
        assert division("create", "Not A Slug", "x").returncode == 1

        missing = division("add-member", "genomics-lab", "nobody-here")
        assert missing.returncode == 1 and "sbg local token" in missing.stderr
        assert division("add-member", "no-such-division", "dora").returncode == 1
        bad_role = division("add-member", "genomics-lab", "dora", "--role", "owner")
        assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr

        added = division("add-member", "genomics-lab", "dora", "--role", "admin")
        assert added.returncode == 0, added.stderr
        # The running server sees the change at once: dora's division, and she may create teams.
        mine = http.get(server.url + "/divisions", headers=headers).json()["items"]
        assert [item["id"] for item in mine] == ["genomics-lab"]
        team = http.post(
            server.url + "/teams",
            json={"division": "genomics-lab", "name": "cli team"},
            headers=headers,
        )
        assert team.status_code == 201, team.text

        listing = division("ls")
        assert re.search(r"^genomics-lab\s+1\s+Genomics Lab$", listing.stdout, re.M), listing.stdout
        members = division("ls", "genomics-lab")
        assert re.search(r"^dora\s+admin$", members.stdout, re.M), members.stdout
        demoted = division("add-member", "genomics-lab", "dora", "--role", "member")
        assert demoted.returncode == 0
        assert re.search(r"^dora\s+member$", division("ls", "genomics-lab").stdout, re.M)

        removed = division("remove-member", "genomics-lab", "dora")
        assert removed.returncode == 0, removed.stderr
        assert http.get(server.url + "/divisions", headers=headers).json()["items"] == []
        team_id = team.json()["id"]
        gone = http.get(server.url + f"/teams/{team_id}", headers=headers)
        assert gone.status_code == 404  # out of the division, out of its teams
        assert division("remove-member", "genomics-lab", "dora").returncode == 1
        assert "dora" not in division("ls", "genomics-lab").stdout

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
# The commands here work on a data directory and the database it holds by default (SQLite);
# `--database` with PostgreSQL is tested in test_postgres.py.
pytestmark = pytest.mark.sqlite_only(reason="the commands' default database (the data dir's)")


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
    first = _local(tmp_path, "token", "alice", "--data-dir", data_dir, "--create")
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
    result = _local(tmp_path, "token", "dora", "--create")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".sevenbridges" / "local" / "platform.db").exists()


def test_sbg_local_delegates_to_the_local_cli(tmp_path: Path) -> None:
    sbg = Path(sys.executable).with_name("sbg")
    result = subprocess.run(
        [str(sbg), "local", "token", "erin", "--data-dir", str(tmp_path / "data"), "--create"],
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
    original = credentials.read_text()
    # [local] points at another endpoint: without --force the server refuses before starting.
    refused = subprocess.run(
        command, env=_environment(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2
    assert "points at http://old.invalid/v2" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert credentials.read_text() == original
    command.append("--force")
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
        backup = credentials.with_name("credentials.bak")
        assert backup.read_text() == original
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
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
    from sevenbridges_local.profiles import ProfileConflict, write_profile

    target = tmp_path / "credentials"
    target.write_text("[default]\napi_endpoint = x\nauth_token = y")
    write_profile("local", "http://127.0.0.1:1/v2", "c" * 32, path=target)
    write_profile("other", "http://127.0.0.1:2/v2", "d" * 32, path=target)
    with pytest.raises(ProfileConflict):
        write_profile("local", "http://127.0.0.1:3/v2", "e" * 32, path=target)
    assert not target.with_name("credentials.bak").exists()
    write_profile("local", "http://127.0.0.1:3/v2", "e" * 32, path=target, force=True)
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
        task = created(alice, run=True, project=project["id"], app=app, inputs={"seconds": 15})
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


def _start_serve(home: Path, *arguments: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "sevenbridges_local", "serve", "--log-level", "warning"]
    return subprocess.Popen(
        [*command, *arguments],
        env=_environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    return process.communicate(timeout=30)


def test_the_profile_is_written_only_once_the_platform_answers(
    tmp_path: Path, http: requests.Session
) -> None:
    credentials = tmp_path / ".sevenbridges" / "credentials"
    port = _free_port()
    process = _start_serve(
        tmp_path, "--port", str(port), "--data-dir", str(tmp_path / "d"), "--write-profile", "p"
    )
    try:
        deadline = time.monotonic() + 60
        while "[p]" not in (credentials.read_text() if credentials.exists() else ""):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        # The moment the profile exists, what it names answers.
        health = http.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ready"
    finally:
        stdout, _stderr = _stop(process)
    assert f"http://127.0.0.1:{port}/docs" in stdout  # the start-up lines name the docs


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _local(
            tmp_path, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"),
            "--write-profile", "local",
        )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: port {port} on 127.0.0.1 is already in use (another `sbg local serve`?): stop "
        "the program using it, or pass --port with a free port"
    ]
    assert not (tmp_path / ".sevenbridges" / "credentials").exists()

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        data_port = holder.getsockname()[1]
        result = _local(
            tmp_path, "serve", "--port", str(_free_port()), "--data-port", str(data_port),
            "--data-dir", str(tmp_path / "d"),
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: data plane: port {data_port} on 127.0.0.1 is already in use (another `sbg local "
        "serve`?): stop the program using it, or pass --data-port with a free port"
    ]


def test_unusable_data_dirs_are_one_clear_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    cases = [
        (("serve", "--data-dir", str(a_file)), "is not a directory"),
        (("serve", "--data-dir", str(a_file / "below")), "a part of that path is a file"),
        (
            ("token", "--data-dir", str(a_file / "below"), "--create"),
            "a part of that path is a file",
        ),
    ]
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((("serve", "--data-dir", str(locked)), "is not writable by you"))
        cases.append((("serve", "--data-dir", str(locked / "x")), "permission denied"))
    for arguments, message in cases:
        result = _local(tmp_path, *arguments)
        assert result.returncode == 1, arguments
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert "--data-dir" in result.stderr
        assert "Traceback" not in result.stderr


def test_token_and_users_never_create_a_platform_by_accident(tmp_path: Path) -> None:
    typo = tmp_path / "tpyo"
    for arguments in (("token", "--data-dir", str(typo)), ("users", "--data-dir", str(typo))):
        result = _local(tmp_path, *arguments)
        assert result.returncode == 1
        assert result.stdout == ""
        assert f"error: no local platform in {typo}" in result.stderr
        assert "--create" in result.stderr and "Traceback" not in result.stderr
        assert not typo.exists()
    created = _local(tmp_path, "token", "--data-dir", str(typo), "--create")
    assert created.returncode == 0 and TOKEN_LINE.match(_last_line(created.stdout))
    assert _local(tmp_path, "users", "--data-dir", str(typo)).returncode == 0


def test_a_killed_server_leaves_nothing_that_blocks_the_next(
    tmp_path: Path, http: requests.Session
) -> None:
    from sevenbridges_local.status import read_status

    data_dir = tmp_path / "d"
    first_port, second_port = _free_port(), _free_port()
    first = _start_serve(tmp_path, "--port", str(first_port), "--data-dir", str(data_dir))
    _wait_until_serving(first, f"http://127.0.0.1:{first_port}/v2", http)
    first.kill()  # no clean-up at all: server.json and server.lock stay behind
    first.communicate(timeout=30)
    stale = read_status(data_dir)
    assert stale is not None and stale.pid == first.pid and not stale.running
    assert "not running" in _local(tmp_path, "status", "--data-dir", str(data_dir)).stdout

    second = _start_serve(tmp_path, "--port", str(second_port), "--data-dir", str(data_dir))
    try:
        _wait_until_serving(second, f"http://127.0.0.1:{second_port}/v2", http)
        deadline = time.monotonic() + 30
        while (current := read_status(data_dir)) is None or current.pid != second.pid:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert current.running and str(second_port) in current.api_url
    finally:
        _stop(second)


def test_status_reports_version_ports_users_and_tasks(
    tmp_path: Path, http: requests.Session
) -> None:
    import json

    with EmbeddedServer(tmp_path / "data") as server:
        server.token("zoe")
        result = _local(tmp_path, "status", "--data-dir", str(server.data_dir), "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        health = http.get(server.url.removesuffix("/v2") + "/health").json()
        assert report["version"] == health["version"]
        assert report["running"] is True and report["api_url"] == server.url
        assert report["api_port"] == server.port and report["data_port"] > 0
        assert report["users"] == ["admin", "zoe"]
        assert report["queued_tasks"] == 0 and report["running_tasks"] == 0
        assert "task_isolation" in report and "container_engine" in report
        text = _local(tmp_path, "status", "--data-dir", str(server.data_dir)).stdout
        assert f"API {server.port}, data plane {report['data_port']}" in text
        assert "users:            2 (admin, zoe)" in text
        assert "tasks:            0 queued, 0 running" in text
        assert "container engine:" in text and "version:" in text
    stopped = _local(tmp_path, "status", "--data-dir", str(tmp_path / "data"))
    assert stopped.returncode == 3 and "not running" in stopped.stdout


def test_reset_wipes_a_stopped_platform_only_when_confirmed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with EmbeddedServer(data_dir) as server:
        server.token("yan")
        busy = _local(tmp_path, "reset", "--data-dir", str(server.data_dir), "--yes")
        assert busy.returncode == 1
        assert f"a local platform is running on {server.data_dir} (pid " in busy.stderr
        assert f"serving {server.url}): stop it" in busy.stderr
        assert "Traceback" not in busy.stderr
        assert (data_dir / "platform.db").exists()
    unconfirmed = subprocess.run(
        [sys.executable, "-m", "sevenbridges_local", "reset", "--data-dir", str(data_dir)],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    assert (data_dir / "platform.db").exists()

    not_a_platform = tmp_path / "home-like"
    (not_a_platform / "notes").mkdir(parents=True)
    refused = _local(tmp_path, "reset", "--data-dir", str(not_a_platform), "--yes")
    assert refused.returncode == 1 and "no local platform" in refused.stderr
    assert (not_a_platform / "notes").is_dir()

    done = _local(tmp_path, "reset", "--data-dir", str(data_dir), "--yes")
    assert done.returncode == 0, done.stderr
    assert not data_dir.exists()
    fresh = _local(tmp_path, "token", "yan", "--data-dir", str(data_dir), "--create")
    assert "Created user yan" in fresh.stderr  # the old users are gone

"""Several API processes (`sbg local serve --workers 2`) and forwarded headers from proxies.

Real processes on loopback; every request opens its own connection so the kernel hands them to
both processes, and ``X-SBG-Local-Process`` says which one answered.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from execution_support import needs_toil, processes_with
from files_support import database_for, seed_file, wait_for
from local_helpers import Caller, run_sql
from sqlalchemy import update
from test_tasks_support import (
    created,
    download,
    file_ref,
    get_task,
    install_app,
    slow_copy_tool,
    transitions,
    wait_for_status,
)

import sevenbridges
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.processes import PROCESS_HEADER
from sevenbridges_local.supervisor import ready_file

TOKEN_HEADER = "X-SBG-Auth-Token"


def _get(url: str, token: str, **headers: str) -> requests.Response:
    # A fresh connection each time: a kept-alive one would always reach the same process.
    return requests.get(url, headers={TOKEN_HEADER: token, "Connection": "close", **headers})


def _by_process(server: EmbeddedServer, token: str, path: str, want: int) -> requests.Response:
    """A GET of ``path`` answered by process ``want`` (retried on fresh connections)."""
    for _ in range(200):
        response = _get(server.url + path, token)
        if response.headers.get(PROCESS_HEADER) == str(want):
            return response
    raise AssertionError(f"process {want} never answered {path}")


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("two-processes")
    # Left open by an older version: the supervisor tightens it before starting the processes.
    (data_dir / "tasks" / "leftover").mkdir(parents=True, mode=0o755)
    (data_dir / "tasks" / "leftover" / "notes.txt").write_text("old\n")
    os.chmod(data_dir / "tasks" / "leftover" / "notes.txt", 0o644)
    server = EmbeddedServer(data_dir, settings={"workers": 2}, rate_limit=300)
    server.start()
    yield server
    server.stop()


def test_the_supervisor_tightened_the_data_directory(two_processes: EmbeddedServer) -> None:
    log = two_processes.log_path.read_text()
    assert log.count("tightened permissions of") == 1
    # By the supervisor, before any API process started (none of them does it).
    assert log.index("tightened permissions of") < log.index("Started server process")
    # The process's task pool removed the leftover afterwards; nothing in tasks/ is open.
    tasks = two_processes.data_dir / "tasks"
    assert stat.S_IMODE(tasks.stat().st_mode) == 0o700
    assert not (tasks / "leftover").exists()


def test_rate_limit_counts_requests_to_both_processes(two_processes: EmbeddedServer) -> None:
    token = two_processes.token("rl-user")
    seen: set[str] = set()
    remaining: list[int] = []
    # The kernel picks which process accepts a connection; on a loaded machine one may take a
    # long run of them, so keep asking (within the limit) until both have answered.
    while len(remaining) < 30 or (seen != {"0", "1"} and len(remaining) < 250):
        response = _get(two_processes.url + "/user", token)
        assert response.status_code == 200
        seen.add(response.headers[PROCESS_HEADER])
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert seen == {"0", "1"}, "both processes should have answered"
    # One window for the user, whichever process answered: the count falls by one each time.
    assert remaining == list(range(remaining[0], remaining[0] - len(remaining), -1))
    while remaining[-1] > 0:  # use up the rest, then both processes refuse
        response = _get(two_processes.url + "/user", token)
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    refusals = {_by_process(two_processes, token, "/user", n).status_code for n in (0, 1)}
    assert refusals == {429}


def test_fault_switch_set_via_one_process_applies_in_the_other(
    two_processes: EmbeddedServer,
) -> None:
    admin = two_processes.token("admin")
    for _ in range(200):
        response = requests.put(
            two_processes.url + "/_local/faults",
            headers={TOKEN_HEADER: admin, "Connection": "close"},
            json={"transfer_delay_ms": 7},
        )
        if response.headers.get(PROCESS_HEADER) == "0":
            break
    assert response.status_code == 200 and response.headers[PROCESS_HEADER] == "0"
    deadline = time.monotonic() + 5
    while True:
        seen = _by_process(two_processes, admin, "/_local/faults", 1).json()
        if seen["transfer_delay_ms"] == 7 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert seen["transfer_delay_ms"] == 7
    requests.put(
        two_processes.url + "/_local/faults", headers={TOKEN_HEADER: admin}, json={"rate_limit": 40}
    )


def _ready_pid(server: EmbeddedServer, index: int) -> int:
    return int(ready_file(server.data_dir, index).read_text())


def test_uploads_and_copies_through_both_survive_a_kill_9(
    two_processes: EmbeddedServer, tmp_path: Path
) -> None:
    admin = two_processes.token("admin")
    requests.put(
        two_processes.url + "/_local/faults",
        headers={TOKEN_HEADER: admin},
        json={"rate_limit": 1000, "transfer_delay_ms": 0},
    )
    token = two_processes.token("mover")
    api = sevenbridges.Api(url=two_processes.url, token=token)
    project = api.projects.create(name="two-processes")
    sources = []
    for number in range(6):
        path = tmp_path / f"f{number}.txt"
        path.write_bytes(f"content {number}\n".encode() * 1000)
        sources.append(path)

    def upload(path: Path) -> str:
        # One Api (so one connection pool) per upload: the uploads spread over both processes.
        own = sevenbridges.Api(url=two_processes.url, token=token)
        own.files.upload(str(path), project=project.id, wait=True)
        return path.name

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(upload, sources)) == sorted(p.name for p in sources)
    files = {f.name: f for f in api.files.query(project=project.id).all()}
    assert set(files) == {p.name for p in sources}
    target = api.projects.create(name="copies")

    # Copy jobs through both processes, then kill -9 one process while they run.
    victim = _ready_pid(two_processes, 1)
    jobs = []
    for number, name in enumerate(sorted(files)):
        response = requests.post(
            two_processes.url + "/async/files/copy",
            headers={TOKEN_HEADER: token, "Connection": "close"},
            json={"items": [{"file": files[name].id, "project": target.id, "name": name}]},
        )
        assert response.status_code == 201, response.text
        jobs.append(response.json()["id"])
        if number == 2:
            os.kill(victim, signal.SIGKILL)
    # The supervisor starts the killed process again; nothing is lost and nothing runs twice.
    deadline = time.monotonic() + 60
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        for job in jobs:
            answer = requests.get(
                f"{two_processes.url}/async/files/copy/{job}", headers={TOKEN_HEADER: token}
            )
            if answer.status_code == 200:
                states[job] = answer.json()["state"]
        if len(states) == len(jobs) and all(s in ("FINISHED", "FAILED") for s in states.values()):
            break
        time.sleep(0.3)
    assert set(states.values()) == {"FINISHED"}, states
    copies = list(api.files.query(project=target.id).all())
    assert sorted(c.name for c in copies) == sorted(files), "each copy made exactly once"
    for copy in copies:
        original = next(p for p in sources if p.name == copy.name)
        data = requests.get(copy.download_info().url).content
        assert hashlib.md5(data).digest() == hashlib.md5(original.read_bytes()).digest()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if _ready_pid(two_processes, 1) != victim:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    assert _ready_pid(two_processes, 1) != victim, "the killed process was started again"


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_headers_only_from_trusted_proxies(
    start_platform: Callable[..., EmbeddedServer], trusted: bool
) -> None:
    proxies = '["127.0.0.1", "::1"]' if trusted else '["10.0.0.0/8"]'
    server = start_platform(settings={"trusted_proxies": proxies})
    token = server.token("admin")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sbg.example.org"}
    user = _get(server.url + "/user", token, **forwarded).json()
    project = requests.post(
        server.url + "/projects", headers={TOKEN_HEADER: token}, json={"name": "fwd"}
    ).json()
    upload = requests.post(
        server.url + "/upload/multipart",
        headers={TOKEN_HEADER: token, **forwarded},
        json={"project": project["id"], "name": "a.txt", "size": 3},
    ).json()
    part = requests.get(
        f"{server.url}/upload/multipart/{upload['upload_id']}/part/1",
        headers={TOKEN_HEADER: token, **forwarded},
    ).json()
    via_rfc = _get(
        server.url + "/user", token, Forwarded='for=1.2.3.4;proto=https;host="rfc.example"'
    )
    if trusted:
        assert user["href"].startswith("https://sbg.example.org/v2/")
        assert part["url"].startswith("https://sbg.example.org:")
        assert via_rfc.json()["href"].startswith("https://rfc.example/v2/")
    else:
        assert user["href"].startswith(server.url + "/")
        assert part["url"].startswith("http://127.0.0.1:")
        assert via_rfc.json()["href"].startswith(server.url + "/")


# Seconds as text: each test sleeps a unique fractional length to find its tool process by.
SLOW_COPY = slow_copy_tool("string")


def _run_slow_copy(
    server: EmbeddedServer,
    owner: Caller,
    project_id: str,
    name: str,
    content: bytes,
    whole_seconds: int,
) -> tuple[dict[str, Any], str]:
    """Run SLOW_COPY on a new file of ``content``; returns the task and the command line its
    tool process shows (``sleep`` a unique fractional length, so the test finds its own)."""
    source = seed_file(server, project=project_id, name="in.txt", content=content)
    app = install_app(owner, project_id, "slow-copy", SLOW_COPY)
    seconds = f"{whole_seconds}.{random.randint(10_000, 99_999)}"
    task = created(
        owner,
        run=True,
        name=name,
        project=project_id,
        app=app,
        inputs={"source": file_ref(source), "seconds": seconds},
    )
    return task, f"sleep {seconds}"


def _pids_running(marker: str) -> set[int]:
    return set(processes_with(marker))


def _claim(server: EmbeddedServer, task_id: str) -> tuple[str, str | None, int]:
    ((status, claimed_by, attempts),) = run_sql(
        server, "SELECT status, claimed_by, run_attempts FROM tasks WHERE id = ?", (task_id,)
    )
    return status, claimed_by, attempts


def _kill_the_process_running_a_task(server: EmbeddedServer, timeout: float) -> None:
    """A task RUNNING in one of two API processes; that process is killed with SIGKILL. The
    task is queued again and run from the start, once, by a live process: one set of outputs,
    the execution details of the second run, and the killed process's tool gone first."""
    admin = server.token("admin")
    requests.put(
        server.url + "/_local/faults", headers={TOKEN_HEADER: admin}, json={"rate_limit": 1000}
    )
    session = requests.Session()
    # A fresh connection each time: a kept-alive one could be to the process killed.
    session.headers["Connection"] = "close"
    owner = Caller(session, server.url, server.token("killer"), "killer")
    project = owner.create_project("kill -9")
    # Short, as it runs twice.
    task, marker = _run_slow_copy(server, owner, project["id"], "survivor", b"kept\n", 4)
    first_run = wait_for(lambda: _pids_running(marker), timeout=timeout)
    wait_for(lambda: _claim(server, task["id"])[0] == "RUNNING", timeout=timeout)
    status, claimed_by, attempts = _claim(server, task["id"])
    assert (status, attempts) == ("RUNNING", 1) and claimed_by
    # The claim names the process: host:pid:random.
    victim = int(claimed_by.split(":")[1])
    assert victim in {_ready_pid(server, n) for n in (0, 1)}
    os.kill(victim, signal.SIGKILL)

    # Taken back and run again by a live process (the other one, or the killed one started
    # again); meanwhile the first run's tool never overlaps the second run.
    deadline = time.monotonic() + timeout
    while True:
        status, claimed_by, attempts = _claim(server, task["id"])
        if attempts == 2 and status in ("RUNNING", "COMPLETED", "FAILED"):
            assert not _pids_running(marker) & first_run, "the first run still runs"
        if status in ("COMPLETED", "FAILED", "ABORTED"):
            break
        assert time.monotonic() < deadline, f"task still {status} (attempt {attempts})"
        time.sleep(0.1)
    assert not _pids_running(marker) & first_run
    done = wait_for_status(owner, task["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    assert attempts == 2 and claimed_by and int(claimed_by.split(":")[1]) != victim
    assert transitions(server, task["id"]) == [
        "DRAFT",
        *("QUEUED", "CREATING", "RUNNING"),  # the run the kill cut off
        *("QUEUED", "CREATING", "RUNNING", "COMPLETED"),
    ]
    # Said by the surviving process's sweep, or by the killed one's start if that came first.
    (warning,) = done["warnings"]
    assert warning["message"].startswith("The task was restarted from the beginning")
    assert download(owner, done["outputs"]["copy"]["path"]) == b"kept\n"
    # One set of outputs and logs: the dead run recorded nothing.
    files = owner.get("/files", params={"project": project["id"], "limit": 100}).json()["items"]
    assert sorted(item["name"] for item in files) == [".task-logs", "copy.txt", "in.txt"]
    logs = next(item for item in files if item["name"] == ".task-logs")
    (folder,) = owner.get(f"/files/{logs['id']}/list").json()["items"]
    assert folder["name"] == task["id"]
    names = [item["name"] for item in owner.get(f"/files/{folder['id']}/list").json()["items"]]
    assert "cwltool.log" in names or "toil.log" in names
    assert len(names) == len(set(names)), names
    details = owner.get(f"/tasks/{task['id']}/execution_details").json()
    assert details["status"] == "COMPLETED"
    (job,) = details["jobs"]
    assert job["status"] == "COMPLETED" and job["start_time"] <= job["end_time"]
    assert marker.removeprefix("sleep ") in job["command_line"]


def test_a_task_whose_process_is_killed_runs_again_once(two_processes: EmbeddedServer) -> None:
    _kill_the_process_running_a_task(two_processes, timeout=60)


@needs_toil
@pytest.mark.toil
@pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test")
def test_a_toil_task_whose_process_is_killed_runs_again_once(
    start_platform: Callable[..., EmbeddedServer],
) -> None:
    server = start_platform(settings={"workers": 2, "executor": "toil", "task_workers": 2})
    _kill_the_process_running_a_task(server, timeout=240)


@pytest.mark.postgres  # the take-back's row locks (FOR UPDATE SKIP LOCKED) run on PostgreSQL
def test_a_worker_that_lost_its_claim_stops_and_records_nothing(
    platform: EmbeddedServer, http: requests.Session
) -> None:
    """A process presumed dead (no heartbeat within the lease) while it still runs a task: the
    task was taken back and another process claimed it. The first one stops its run at its
    next check and records nothing; the task's new holder decides how it ends."""
    from sevenbridges_local.db.processes import ServerProcess

    owner = Caller(http, platform.url, platform.token("claims"), "claims")
    project = owner.create_project("lost claim")
    task, marker = _run_slow_copy(platform, owner, project["id"], "taken back", b"once\n", 3)
    first_run = wait_for(lambda: _pids_running(marker), timeout=60)
    wait_for(lambda: _claim(platform, task["id"])[0] == "RUNNING", timeout=60)
    # Another live process (this test's pid keeps it alive) holds the task now.
    other = f"{socket.gethostname()[:200]}:{os.getpid()}:elsewhere"
    database = database_for(platform)
    with database.write_session() as session:
        session.add(ServerProcess(id=other, host=socket.gethostname()[:200], pid=os.getpid()))
        session.commit()
    run_sql(platform, "UPDATE tasks SET claimed_by = ? WHERE id = ?", (other, task["id"]))

    # Stopped at its next check (every 2 s), or, had its 3 s sleep ended first, refused when it
    # came to record its results: either way nothing of this run is kept.
    wait_for(lambda: not _pids_running(marker) & first_run, timeout=10)
    time.sleep(1)  # what the stopped worker would record, it would have by now
    assert _claim(platform, task["id"]) == ("RUNNING", other, 1)
    assert get_task(owner, task["id"])["outputs"] == {}
    listed = owner.get("/files", params={"project": project["id"]}).json()["items"]
    assert [item["name"] for item in listed] == ["in.txt"]

    # The other process dies in turn: the task is taken back again and run to the end, once.
    gone = subprocess.Popen(["true"])
    gone.wait()
    with database.write_session() as session:
        session.execute(update(ServerProcess).where(ServerProcess.id == other).values(pid=gone.pid))
        session.commit()
    done = wait_for_status(owner, task["id"], timeout=60)
    assert done["status"] == "COMPLETED", done["execution_status"]["message"]
    assert download(owner, done["outputs"]["copy"]["path"]) == b"once\n"
    history = transitions(platform, task["id"])
    assert history[-4:] == ["QUEUED", "CREATING", "RUNNING", "COMPLETED"]
    assert history.count("COMPLETED") == 1
    assert _claim(platform, task["id"])[2] == 2
    listed = owner.get("/files", params={"project": project["id"]}).json()["items"]
    assert sorted(item["name"] for item in listed) == [".task-logs", "copy.txt", "in.txt"]

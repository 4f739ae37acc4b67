"""Several API processes (`sbg local serve --workers 2`) and forwarded headers from proxies.

Real processes on loopback; every request opens its own connection so the kernel hands them to
both processes, and ``X-SBG-Local-Process`` says which one answered.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

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
    server = EmbeddedServer(
        tmp_path_factory.mktemp("two-processes"), settings={"workers": 2}, rate_limit=300
    )
    server.start()
    yield server
    server.stop()


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

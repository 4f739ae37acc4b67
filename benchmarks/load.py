"""Load benchmark: many concurrent clients doing a realistic mix against one local platform.

Run by hand (never from pytest), from the repository root:

    .venv/bin/python benchmarks/load.py                      # SQLite then PostgreSQL, 60 s each
    .venv/bin/python benchmarks/load.py --databases sqlite --duration 30
    .venv/bin/python benchmarks/load.py --databases postgresql --workers 2
    .venv/bin/python benchmarks/load.py --database postgresql://USER:PW@HOST/DB   # your own
    .venv/bin/python benchmarks/load.py --rates 0,20,40      # closed loop, then paced runs
    .venv/bin/python benchmarks/load.py --floor              # also a do-nothing HTTP endpoint
    .venv/bin/python benchmarks/load.py --write              # also update docs/benchmarks.md

For each database it starts a platform (``EmbeddedServer``: the server in its own process, rate
limit out of the way, ``--task-workers`` task workers), prepares one user with a few projects,
files and a trivial app, then lets ``--clients`` threads (each with its own HTTP session) pick
operations at random for ``--duration`` seconds:

- reads: list projects, list a project's files, get a file, get a task;
- metadata writes: ``PATCH /files/{id}/metadata`` and ``PUT /files/{id}/tags``;
- small uploads: ``api.files.upload`` of a few KiB with our client (init, part, complete);
- task submissions: ``POST /tasks?action=run`` of a one-line app (tasks may just queue).

Two ways to drive the clients (``--rates``): ``0`` is a closed loop, each client starting its next
operation as soon as the last one ends (the machine's saturation, where the mean latency is the
number of clients over the throughput); ``R`` offers R operations per second in all, arriving at
random (Poisson) and handed to the first of the ``--clients`` that is free. A paced operation's
latency counts from the moment it was due, so time spent waiting for a free client is included.

Latency is per operation (an upload is the whole client call). Errors are counted twice: what the
clients saw (exceptions, non-2xx) and, from the server's request log, every non-2xx response it
sent during the run, which includes 503s and 429s that a client retried without telling.

The machine's CPU time per operation (``/proc/stat``: every process but the niced task runs) is
reported for each run. ``--costs N`` adds each operation's cost: N of it by one client in
sequence on an idle platform, the machine's CPU per operation and the client's part of it.
``--floor`` adds a reference: the same clients against a FastAPI endpoint that does nothing,
served by uvicorn as the platform is, which shows what HTTP alone costs on this machine.

PostgreSQL: a throw-away cluster started like the tests' (``tests/pg_cluster.py``: initdb in a
temporary directory, as ``nobody`` when run as root), or ``--database URL``. ``--workers N``
(N > 1) passes ``--workers N`` on to ``sbg local serve`` (several server processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import random
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # tests/pg_cluster.py

from bench_support import database_url, load_text, percentile, write_section  # noqa: E402

import sevenbridges as sbg  # noqa: E402
from sevenbridges_local.embedded import EmbeddedServer  # noqa: E402

RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_START = "<!-- load-benchmark:start -->"
SECTION_END = "<!-- load-benchmark:end -->"
UNLIMITED_RATE = 1_000_000_000
WRITE_KINDS = ("metadata_patch", "tags_put", "upload", "task_submit")
GOAL_WRITE_P99_SECONDS = 1.0
# Relative weights of the operations a client picks from.
MIX: dict[str, int] = {
    "project_list": 10,
    "file_list": 15,
    "file_get": 20,
    "task_get": 10,
    "metadata_patch": 15,
    "tags_put": 10,
    "upload": 10,
    "task_submit": 10,
}
STATUS_LINE = re.compile(r" (GET|POST|PATCH|PUT|DELETE|HEAD) (\S+) -> (\d{3}) in ([\d.]+) ms")

log = logging.getLogger("benchmarks.load")

APP: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Load echo",
    "baseCommand": ["echo"],
    "inputs": {"word": {"type": "string", "inputBinding": {"position": 1}}},
    "outputs": {"said": {"type": "stdout"}},
    "stdout": "said.txt",
}


class LoadServer(EmbeddedServer):
    """``EmbeddedServer`` that can ask ``sbg local serve`` for several worker processes."""

    def __init__(self, *args: Any, workers: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = workers

    def _command(self) -> list[str]:
        command = super()._command()
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        return command


@dataclass
class Fixture:
    url: str
    token: str
    projects: list[str]
    files: list[str]
    tasks: list[str]
    app: str


@dataclass
class RunResult:
    label: str
    clients: int
    seconds: float
    rate: float = 0.0  # operations per second offered; 0: closed loop
    cpu_seconds: float = 0.0  # the whole machine's busy CPU time during the run
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    client_errors: Counter[str] = field(default_factory=Counter)
    server_statuses: Counter[str] = field(default_factory=Counter)
    # Time the server spent on each request (its log), reads (GET) and writes (the rest).
    server_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    error_examples: list[str] = field(default_factory=list)


def prepare(server: EmbeddedServer, projects: int, files_per_project: int) -> Fixture:
    """One user with ``projects`` projects, each with files, one app and a task to read."""
    token = server.token("load")
    api = sbg.Api(url=server.url, token=token, debug=True)
    session = requests.Session()
    session.headers["X-SBG-Auth-Token"] = token
    project_ids, file_ids, task_ids = [], [], []
    app_id = ""
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(projects):
            project = api.projects.create(name=f"load {number}")
            project_ids.append(project.id)
            for index in range(files_per_project):
                path = Path(scratch) / f"seed-{number}-{index}.txt"
                path.write_bytes(os.urandom(2048))
                uploaded = api.files.upload(str(path), project=project, wait=True).result()
                file_ids.append(uploaded.id)
        app = api.apps.install_app(id=f"{project_ids[0]}/load-echo", raw=APP)
        app_id = app.id
    for project_id in project_ids:
        response = session.post(
            f"{server.url}/tasks",
            json={"name": "seed", "project": project_id, "app": app_id, "inputs": {"word": "hi"}},
        )
        response.raise_for_status()
        task_ids.append(response.json()["id"])
    return Fixture(server.url, token, project_ids, file_ids, task_ids, app_id)


def busy_cpu_seconds() -> float:
    """CPU time the machine has spent busy since boot (``/proc/stat``; 0 elsewhere), leaving out
    user time at a positive nice value: the task processes (``task_nice``), which soak up any
    idle CPU and would make a lighter load look dearer per operation."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    del nice, idle, iowait
    return (user + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Pacer:
    """Due times of operations arriving at random at ``rate`` per second (a Poisson process),
    shared by all clients: each takes the next due time when it is free."""

    def __init__(self, rate: float, seed: int = 7) -> None:
        self._rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def next_due(self) -> float:
        with self._lock:
            self._next += self._random.expovariate(self._rate)
            return self._next


class Client:
    """One simulated user: a session of its own, a client ``Api`` for uploads."""

    def __init__(self, fixture: Fixture, number: int, scratch: Path) -> None:
        self.fixture = fixture
        self.number = number
        self.random = random.Random(number)
        self.session = requests.Session()
        self.session.headers["X-SBG-Auth-Token"] = fixture.token
        self.api = sbg.Api(url=fixture.url, token=fixture.token, debug=True)
        self.scratch = scratch
        self.uploads = 0
        self.operations: dict[str, Callable[[], None]] = {name: getattr(self, name) for name in MIX}

    def _check(self, response: requests.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise RuntimeError(
                f"{response.request.method} {response.status_code}: {response.text[:200]}"
            )

    def _url(self, path: str) -> str:
        return f"{self.fixture.url}{path}"

    def project_list(self) -> None:
        self._check(self.session.get(self._url("/projects"), params={"limit": 50}))

    def file_list(self) -> None:
        project = self.random.choice(self.fixture.projects)
        self._check(self.session.get(self._url("/files"), params={"project": project, "limit": 50}))

    def file_get(self) -> None:
        file_id = self.random.choice(self.fixture.files)
        self._check(self.session.get(self._url(f"/files/{file_id}")))

    def task_get(self) -> None:
        task_id = self.random.choice(self.fixture.tasks)
        self._check(self.session.get(self._url(f"/tasks/{task_id}")))

    def metadata_patch(self) -> None:
        file_id = self.random.choice(self.fixture.files)
        body = {"sample": f"s{self.random.randrange(1000)}", "client": str(self.number)}
        self._check(self.session.patch(self._url(f"/files/{file_id}/metadata"), json=body))

    def tags_put(self) -> None:
        file_id = self.random.choice(self.fixture.files)
        tags = [f"t{self.random.randrange(20)}", f"c{self.number}"]
        self._check(self.session.put(self._url(f"/files/{file_id}/tags"), json=tags))

    def upload(self) -> None:
        self.uploads += 1
        path = self.scratch / f"client{self.number}-{self.uploads}.bin"
        path.write_bytes(os.urandom(4096))
        project = self.random.choice(self.fixture.projects)
        handle = self.api.files.upload(str(path), project=project, wait=True)
        if handle.result() is None:
            raise RuntimeError(f"upload ended {handle.status}")
        path.unlink()

    def task_submit(self) -> None:
        project = self.random.choice(self.fixture.projects)
        body = {
            "name": f"load {self.number}",
            "project": project,
            "app": self.fixture.app,
            "inputs": {"word": "load"},
        }
        self._check(self.session.post(self._url("/tasks"), params={"action": "run"}, json=body))

    def run(
        self,
        deadline: float,
        result: RunResult,
        lock: threading.Lock,
        pacer: Pacer | None = None,
    ) -> None:
        names = list(MIX)
        weights = [MIX[name] for name in names]
        while True:
            if pacer is None:
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
            else:
                due = pacer.next_due()
                if due >= deadline:
                    return
                time.sleep(max(due - time.monotonic(), 0))
                # Latency from the due time: a late start (all clients busy) is waiting too.
                started = time.perf_counter() - max(time.monotonic() - due, 0)
            kind = self.random.choices(names, weights)[0]
            try:
                self.operations[kind]()
            except Exception as exc:  # every failure is a figure of the benchmark
                with lock:
                    result.client_errors[kind] += 1
                    if len(result.error_examples) < 5:
                        result.error_examples.append(f"{kind}: {str(exc)[:200]}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                result.latencies[kind].append(elapsed)


def read_server_log(log_path: Path, offset: int, result: RunResult) -> None:
    """Non-2xx responses the server logged after ``offset`` (``"503 PATCH"`` counts) and the
    time it spent on each request."""
    with log_path.open("rb") as handle:
        handle.seek(offset)
        for raw in handle:
            match = STATUS_LINE.search(raw.decode("utf-8", "replace"))
            if not match:
                continue
            method, _, status, millis = match.groups()
            if not status.startswith("2"):
                result.server_statuses[f"{status} {method}"] += 1
            kind = "read" if method in ("GET", "HEAD") else "write"
            result.server_seconds[kind].append(float(millis) / 1000)


def run_load(
    server: EmbeddedServer,
    label: str,
    clients: int,
    seconds: float,
    projects: int,
    rate: float = 0.0,
) -> RunResult:
    log.info("%s: preparing fixture ...", label)
    fixture = prepare(server, projects, files_per_project=10)
    offset = server.log_path.stat().st_size
    result = RunResult(label=label, clients=clients, seconds=seconds, rate=rate)
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="sbg-load-") as scratch:
        simulated = [Client(fixture, number, Path(scratch)) for number in range(clients)]
        pacing = f"{rate:g} ops/s offered" if rate else "closed loop"
        log.info("%s: %d clients, %s, for %.0f s ...", label, clients, pacing, seconds)
        started = time.perf_counter()
        cpu_before = busy_cpu_seconds()
        deadline = time.monotonic() + seconds
        pacer = Pacer(rate) if rate else None
        threads = [
            threading.Thread(target=client.run, args=(deadline, result, lock, pacer), daemon=True)
            for client in simulated
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Operations in flight at the deadline finish; the rate uses the real elapsed time.
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = busy_cpu_seconds() - cpu_before
    read_server_log(server.log_path, offset, result)
    return result


def _writes(result: RunResult) -> list[float]:
    return [v for kind in WRITE_KINDS for v in result.latencies.get(kind, [])]


def _reads(result: RunResult) -> list[float]:
    return [v for kind in MIX if kind not in WRITE_KINDS for v in result.latencies.get(kind, [])]


def _pacing(result: RunResult) -> str:
    return f"{result.rate:g} ops/s offered" if result.rate else "closed loop"


def summary_table(results: Sequence[RunResult]) -> str:
    """One row per run: throughput, the machine's CPU per operation, p99 of reads and writes."""
    rows = [
        "| setup | clients | load | ops/s | CPU ms/op | p50 (ms) | p99 reads (ms) "
        "| p99 writes (ms) | client errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        every = [v for values in result.latencies.values() for v in values]
        cpu_per_op = result.cpu_seconds / len(every) * 1000 if every else float("nan")
        rows.append(
            f"| {result.label} | {result.clients} | {_pacing(result)} | "
            f"{len(every) / result.seconds:,.1f} | {cpu_per_op:,.1f} | "
            f"{percentile(every, 0.5) * 1000:,.0f} | "
            f"{percentile(_reads(result), 0.99) * 1000:,.0f} | "
            f"{percentile(_writes(result), 0.99) * 1000:,.0f} | "
            f"{sum(result.client_errors.values())} |"
        )
    return "\n".join(rows)


def results_table(results: Sequence[RunResult]) -> str:
    """Per operation kind, for the closed-loop runs with the most clients (the saturation)."""
    most = max((result.clients for result in results), default=0)
    results = [result for result in results if not result.rate and result.clients == most]
    rows = [
        "| setup | load | operation | count | ops/s | p50 (ms) | p99 (ms) | client errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for kind in MIX:
            values = result.latencies.get(kind, [])
            rows.append(
                f"| {result.label} | {_pacing(result)} | {kind} | {len(values):,} | "
                f"{len(values) / result.seconds:,.1f} | {percentile(values, 0.5) * 1000:,.0f} | "
                f"{percentile(values, 0.99) * 1000:,.0f} | {result.client_errors[kind]} |"
            )
    return "\n".join(rows)


def verdicts(results: Sequence[RunResult]) -> list[str]:
    lines = []
    for result in results:
        p99 = percentile(_writes(result), 0.99)
        statuses = ", ".join(f"{n} x {s}" for s, n in sorted(result.server_statuses.items()))
        errors = sum(result.client_errors.values())
        # The latency goal is PostgreSQL's; SQLite's is zero errors only.
        goal = (
            f" (goal < {GOAL_WRITE_P99_SECONDS * 1000:.0f} ms: "
            f"{'met' if p99 < GOAL_WRITE_P99_SECONDS else 'missed'})"
            if result.label.startswith("PostgreSQL")
            else ""
        )
        lines.append(
            f"- {result.label}, {_pacing(result)}: p99 of writes {p99 * 1000:,.0f} ms{goal}; "
            f"client errors {errors} (goal 0); non-2xx responses in the server log "
            f"(retried or not): {statuses or 'none'}."
        )
        for kind, values in sorted(result.server_seconds.items()):
            lines.append(
                f"  - inside the server, {len(values):,} {kind} requests: "
                f"p50 {percentile(values, 0.5) * 1000:,.0f} ms, "
                f"p99 {percentile(values, 0.99) * 1000:,.0f} ms."
            )
        for example in result.error_examples:
            lines.append(f"  - e.g. {example}")
    return lines


@dataclass
class Cost:
    label: str
    kind: str
    machine_ms: float  # machine CPU per operation (niced task processes left out)
    client_ms: float  # of which this process, the client
    wall_ms: float


def _wait_for_tasks(fixture: Fixture, seconds: float = 120) -> None:
    """Until the fixture's seed tasks have ended: their runs would count as the API's CPU."""
    http = requests.Session()
    http.headers["X-SBG-Auth-Token"] = fixture.token
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses = {
            http.get(f"{fixture.url}/tasks/{task}").json()["status"] for task in fixture.tasks
        }
        if not statuses & {"QUEUED", "RUNNING", "DRAFT"}:
            return
        time.sleep(1)


def measure_costs(server: EmbeddedServer, label: str, count: int, projects: int) -> list[Cost]:
    """Each operation ``count`` times by one client, one after another, on an otherwise idle
    platform: the machine's CPU per operation (client, API processes and database) and the
    client's share of it."""
    fixture = prepare(server, projects, files_per_project=10)
    _wait_for_tasks(fixture)
    costs = []
    with tempfile.TemporaryDirectory(prefix="sbg-load-costs-") as scratch:
        client = Client(fixture, 0, Path(scratch))
        for kind, operation in client.operations.items():
            for _ in range(5):  # warm caches and pools
                operation()
            before = (busy_cpu_seconds(), sum(os.times()[:2]), time.perf_counter())
            for _ in range(count):
                operation()
            after = (busy_cpu_seconds(), sum(os.times()[:2]), time.perf_counter())
            machine, own, wall = (
                1000 * (b - a) / count for a, b in zip(before, after, strict=True)
            )
            costs.append(Cost(label, kind, machine, own, wall))
    return costs


def costs_table(costs: Sequence[Cost]) -> str:
    rows = [
        "| setup | operation (one client, in sequence) | machine CPU ms/op | of which the client "
        "| wall ms/op |",
        "|---|---|---|---|---|",
    ]
    for cost in costs:
        rows.append(
            f"| {cost.label} | {cost.kind} | {cost.machine_ms:.1f} | {cost.client_ms:.1f} | "
            f"{cost.wall_ms:.1f} |"
        )
    return "\n".join(rows)


FLOOR_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}
"""


def measure_floor(clients: int, seconds: float) -> str:
    """The same clients (threads with a ``requests`` session each, closed loop) against a
    FastAPI endpoint that does nothing, served by uvicorn: what HTTP alone costs here."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="sbg-load-floor-") as folder:
        Path(folder, "floor_app.py").write_text(FLOOR_APP)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "floor_app:app", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=folder,
        )
        url = f"http://127.0.0.1:{port}/ping"
        try:
            for _ in range(100):
                try:
                    requests.get(url, timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            counts: list[int] = []
            deadline = time.monotonic() + seconds

            def hammer() -> None:
                http, done = requests.Session(), 0
                while time.monotonic() < deadline:
                    http.get(url).raise_for_status()
                    done += 1
                counts.append(done)

            threads = [threading.Thread(target=hammer) for _ in range(clients)]
            started, cpu_before = time.perf_counter(), busy_cpu_seconds()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed, cpu = time.perf_counter() - started, busy_cpu_seconds() - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=10)
    total = sum(counts)
    return (
        f"- Reference, a FastAPI endpoint that does nothing (uvicorn, {clients} clients, closed "
        f"loop, {seconds:.0f} s): {total / elapsed:,.0f} requests/s, "
        f"{cpu / total * 1000:.2f} ms of machine CPU per request (client and server)."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        default="50",
        help="comma-separated numbers of clients, each run closed-loop; paced runs use the most",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds per database (60)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--database", help="a PostgreSQL URL to use instead of a new cluster")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on PostgreSQL; >1 is passed on as `sbg local serve --workers N`",
    )
    parser.add_argument(
        "--rates",
        default="0",
        help="comma-separated operations/s offered; 0 is a closed loop (default 0)",
    )
    parser.add_argument(
        "--floor", action="store_true", help="also measure a do-nothing FastAPI endpoint"
    )
    parser.add_argument(
        "--costs",
        type=int,
        default=0,
        metavar="N",
        help="also measure each operation's CPU cost, N times by one client (0: not)",
    )
    parser.add_argument("--task-workers", type=int, default=1, help="task workers (1)")
    parser.add_argument("--projects", type=int, default=5, help="projects in the fixture (5)")
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS_FILE.name}")
    args = parser.parse_args(argv)
    try:
        args.rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
        args.clients = [int(count) for count in args.clients.split(",") if count.strip()]
    except ValueError:
        parser.error("--rates, --clients: numbers separated by commas")
    if not args.rates or any(rate < 0 for rate in args.rates):
        parser.error("--rates: at least one rate, none negative")
    if not args.clients or any(count < 1 for count in args.clients):
        parser.error("--clients: at least one number, each 1 or more")
    if args.database and len(planned_runs(args.clients, args.rates)) > 1:
        parser.error("--database: one run only (each run needs a database of its own)")
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


@contextmanager
def started_platform(database: str, workers: int, args: argparse.Namespace) -> Iterator[LoadServer]:
    """A new platform (and, for PostgreSQL, a new cluster unless ``--database``) for one run."""
    with (
        tempfile.TemporaryDirectory(prefix="sbg-load-data-") as data_dir,
        database_url(database, Path(data_dir), args.database, "load") as url,
    ):
        server = LoadServer(
            Path(data_dir),
            rate_limit=UNLIMITED_RATE,
            settings={"task_workers": args.task_workers},
            database_url=url,
            workers=workers,
        )
        try:
            server.start()
            yield server
        finally:
            server.stop()


def planned_runs(clients: Sequence[int], rates: Sequence[float]) -> list[tuple[int, float]]:
    """A closed-loop run (rate 0) for each number of clients, paced runs with the most."""
    runs = [(count, 0.0) for count in clients] if 0 in rates else []
    return runs + [(max(clients), rate) for rate in rates if rate > 0]


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("sevenbridges").setLevel(logging.WARNING)
    args = parse_args(argv)
    results: list[RunResult] = []
    costs: list[Cost] = []
    load_before = os.getloadavg()
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    for database in databases:
        workers = args.workers if database == "postgresql" else 1
        label = (
            f"PostgreSQL, {workers} process{'es' if workers > 1 else ''}"
            if database == "postgresql"
            else "SQLite, 1 process"
        )
        # A new platform for each run: no run inherits another's queue of tasks.
        for clients, rate in planned_runs(args.clients, args.rates):
            with started_platform(database, workers, args) as server:
                results.append(run_load(server, label, clients, args.duration, args.projects, rate))
        if args.costs:
            with started_platform(database, workers, args) as server:
                costs.extend(measure_costs(server, label, args.costs, args.projects))
    load_after = os.getloadavg()
    table = summary_table(results) + "\n\n" + results_table(results)
    if costs:
        table += "\n\n" + costs_table(costs)
    lines = verdicts(results)
    if args.floor:
        lines.append(measure_floor(max(args.clients), min(args.duration, 20)))
    print(table)
    print("\n".join(lines))
    if args.write:
        command = shlex.join([".venv/bin/python", "benchmarks/load.py", *args.argv])
        body = "\n".join(
            [
                f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} CPUs, "
                f"{platform.system()} {platform.release()}; clients, server and database on the "
                f"same machine. Load average before: {load_text(load_before)}, after: "
                f"{load_text(load_after)} (the machine was shared).",
                "",
                f"Command: `{command}`",
                "",
                table,
                "",
                *lines,
            ]
        )
        write_section(SECTION_START, SECTION_END, body)
        log.info("updated %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

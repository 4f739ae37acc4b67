"""Scale benchmark: listing, filtering and searching a project as it grows to 100,000 files.

Run by hand (never from pytest), from the repository root:

    .venv/bin/python benchmarks/scale_listing.py                 # SQLite and PostgreSQL
    .venv/bin/python benchmarks/scale_listing.py --databases sqlite --sizes 1000,10000
    .venv/bin/python benchmarks/scale_listing.py --write         # also update docs/benchmarks.md

For each database it starts a platform (``EmbeddedServer``), creates one user and one project
through the API, then grows the project step by step (default 1k, 10k, 100k files, and a tenth as
many tasks). **Seeding is not API traffic**: rows are bulk-inserted with SQLAlchemy Core straight
into the server's database (files in the root folder, each with two metadata keys and a tag;
finished tasks of one app), which is what makes 100,000 files take seconds instead of hours. At
each size it times, over the API with ``requests`` (median of ``--repeats``):

- files: first page (``GET /files?project=&limit=100``), a deep page (offset = count - 100),
  a metadata filter (``metadata.sample=...``, 10 matches), a name filter (``name=...``, 1 match);
- search: ``POST /files/search`` with a metadata condition and ``LIMIT 100``;
- tasks: first page (``GET /tasks?project=&limit=100``), a deep page, a status filter.

Flat means indexed: the time should not grow with the count (a deep ``OFFSET`` is the expected
exception: the database walks the skipped rows of the index).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import secrets
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, insert, select, text

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # tests/pg_cluster.py

from bench_support import database_url, load_text, write_section  # noqa: E402

from sevenbridges_local.db.files import File, FileMetadata, FileTag  # noqa: E402
from sevenbridges_local.db.models import Project, User  # noqa: E402
from sevenbridges_local.db.tasks import Task  # noqa: E402
from sevenbridges_local.embedded import EmbeddedServer  # noqa: E402

RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_START = "<!-- scale-benchmark:start -->"
SECTION_END = "<!-- scale-benchmark:end -->"
UNLIMITED_RATE = 1_000_000_000
SAMPLES = 10_000  # metadata.sample takes this many values: a filter matches count / SAMPLES files
BATCH = 5_000
TASK_STATUSES = ("COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "ABORTED", "DRAFT")
APP: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["true"],
    "inputs": {},
    "outputs": {},
}

log = logging.getLogger("benchmarks.scale_listing")


class Seeder:
    """Bulk inserts into the platform's database (seeding, not API traffic)."""

    def __init__(self, database_url: str, project_id: str, app_id: str) -> None:
        self.engine = create_engine(database_url)
        owner, _, slug = project_id.partition("/")
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Project.id, User.id)
                .join(User, User.id == Project.owner_id)
                .where(User.username == owner, Project.slug == slug)
            ).one()
            self.project_pk, self.user_pk = row
            self.root_id = connection.execute(
                select(File.id).where(File.project_id == self.project_pk, File.parent_id.is_(None))
            ).scalar_one()
        self.app_id = app_id
        self.files = 0
        self.tasks = 0
        self.started = dt.datetime(2026, 1, 1)

    def grow_files(self, target: int) -> None:
        while self.files < target:
            count = min(BATCH, target - self.files)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            files, metadata, tags = [], [], []
            for number in range(self.files, self.files + count):
                file_id = secrets.token_hex(12)
                files.append(
                    {
                        "id": file_id,
                        "project_id": self.project_pk,
                        "parent_id": self.root_id,
                        "name": f"file-{number:07d}.txt",
                        "type": "file",
                        "size": 1024,
                        "blob_key": None,
                        "origin": {},
                        "created_on": now,
                        "modified_on": now,
                    }
                )
                sample = f"S{number % SAMPLES:05d}"
                metadata.append(
                    {"file_id": file_id, "key": "sample", "value": sample, "match_value": sample}
                )
                lane = str(number % 8)
                metadata.append(
                    {"file_id": file_id, "key": "lane", "value": lane, "match_value": lane}
                )
                tags.append({"file_id": file_id, "position": 0, "tag": f"batch{number % 100}"})
            with self.engine.begin() as connection:
                connection.execute(insert(File.__table__), files)
                connection.execute(insert(FileMetadata.__table__), metadata)
                connection.execute(insert(FileTag.__table__), tags)
            self.files += count

    def grow_tasks(self, target: int) -> None:
        while self.tasks < target:
            count = min(BATCH, target - self.tasks)
            rows = []
            for number in range(self.tasks, self.tasks + count):
                created = self.started + dt.timedelta(seconds=number)
                status = TASK_STATUSES[number % len(TASK_STATUSES)]
                ended = created + dt.timedelta(seconds=30) if status != "DRAFT" else None
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "project_id": self.project_pk,
                        "parent_id": None,
                        "position": 0,
                        "name": f"task {number}",
                        "status": status,
                        "app_ref": self.app_id,
                        "app_pk": None,
                        "app_revision": 0,
                        "created_by_id": self.user_pk,
                        "executed_by_id": self.user_pk if ended else None,
                        "created_on": created,
                        "modified_on": ended or created,
                        "queued_on": created if ended else None,
                        "started_on": created if ended else None,
                        "running_on": created if ended else None,
                        "ended_on": ended,
                        "transitions": [],
                        "batch": False,
                        "inputs": {},
                        "outputs": {},
                        "errors": [],
                        "warnings": [],
                        "jobs": [],
                        "steps_completed": 0,
                        "steps_total": 0,
                        "computation_cost": 0.0,
                        "storage_cost": 0.0,
                        "abort_requested": False,
                        "run_attempts": 1 if ended else 0,
                    }
                )
            with self.engine.begin() as connection:
                connection.execute(insert(Task.__table__), rows)
            self.tasks += count

    def analyze(self) -> None:
        """PostgreSQL: refresh the planner's statistics, as autovacuum does after a while."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as connection:
                connection.execute(text("ANALYZE"))

    def explain(self, statement: str) -> str:
        if self.engine.dialect.name != "postgresql":
            return ""
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"EXPLAIN ANALYZE {statement}")).scalars()
            return "\n".join(rows)

    def dispose(self) -> None:
        self.engine.dispose()


def timed(call: Callable[[], requests.Response], repeats: int) -> float:
    """Median seconds of ``repeats`` calls, after one warm-up call; a non-200 stops the run."""
    samples = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        response = call()
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        if attempt:
            samples.append(elapsed)
    return statistics.median(samples)


def measure(
    session: requests.Session, url: str, project: str, files: int, tasks: int, repeats: int
) -> dict[str, float]:
    sample = f"S{(files // 2) % SAMPLES:05d}"
    name = f"file-{files // 2:07d}.txt"
    checks: dict[str, Callable[[], requests.Response]] = {
        "files: first page": lambda: session.get(
            f"{url}/files", params={"project": project, "limit": 100}
        ),
        "files: deep page": lambda: session.get(
            f"{url}/files", params={"project": project, "limit": 100, "offset": files - 100}
        ),
        "files: metadata filter": lambda: session.get(
            f"{url}/files", params={"project": project, "metadata.sample": sample}
        ),
        "files: name filter": lambda: session.get(
            f"{url}/files", params={"project": project, "name": name}
        ),
        "files: search (metadata, LIMIT 100)": lambda: session.post(
            f"{url}/files/search",
            json={"query": f'IN "{project}" WHERE metadata.sample = "{sample}" LIMIT 100'},
        ),
        "tasks: first page": lambda: session.get(
            f"{url}/tasks", params={"project": project, "limit": 100}
        ),
        "tasks: deep page": lambda: session.get(
            f"{url}/tasks", params={"project": project, "limit": 100, "offset": tasks - 100}
        ),
        "tasks: status filter": lambda: session.get(
            f"{url}/tasks", params={"project": project, "status": "FAILED", "limit": 100}
        ),
    }
    return {label: timed(call, repeats) for label, call in checks.items()}


def run_database(
    label: str, url: str, sizes: Sequence[int], repeats: int, data_dir: Path, analyze: bool
) -> dict[int, dict[str, float]]:
    server = EmbeddedServer(data_dir, rate_limit=UNLIMITED_RATE, database_url=url)
    server.start()
    try:
        session = requests.Session()
        session.headers["X-SBG-Auth-Token"] = server.token("scale")
        created = session.post(f"{server.url}/projects", json={"name": "scale"})
        created.raise_for_status()
        project = created.json()["id"]
        app = session.post(f"{server.url}/apps/{project}/noop/raw", json=APP)
        app.raise_for_status()
        seeder = Seeder(url, project, f"{project}/noop/0")
        results: dict[int, dict[str, float]] = {}
        try:
            for size in sizes:
                started = time.perf_counter()
                seeder.grow_files(size)
                seeder.grow_tasks(max(100, size // 10))
                if analyze:
                    seeder.analyze()
                log.info(
                    "%s: seeded %d files, %d tasks (%.1f s)",
                    label,
                    seeder.files,
                    seeder.tasks,
                    time.perf_counter() - started,
                )
                results[size] = measure(
                    session, server.url, project, seeder.files, seeder.tasks, repeats
                )
                for check, seconds in results[size].items():
                    log.info("  %-40s %8.1f ms", check, seconds * 1000)
        finally:
            seeder.dispose()
        return results
    finally:
        server.stop()


def results_table(results: dict[str, dict[int, dict[str, float]]]) -> str:
    sizes = sorted({size for by_size in results.values() for size in by_size})
    header = " | ".join(f"{size:,} files / {max(100, size // 10):,} tasks (ms)" for size in sizes)
    rows = [f"| database | request | {header} |", "|---|---|" + "---|" * len(sizes)]
    for database, by_size in results.items():
        checks = list(next(iter(by_size.values())))
        for check in checks:
            cells = " | ".join(
                f"{by_size[size][check] * 1000:,.1f}" if size in by_size else "—" for size in sizes
            )
            rows.append(f"| {database} | {check} | {cells} |")
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="file counts to measure at")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--database", help="a PostgreSQL URL to use instead of a new cluster")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per request (5)")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: do not ANALYZE after seeding (measure with the planner's stale stats)",
    )
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS_FILE.name}")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    load_before = os.getloadavg()
    results: dict[str, dict[int, dict[str, float]]] = {}
    for database in [name.strip() for name in args.databases.split(",") if name.strip()]:
        label = "PostgreSQL" if database == "postgresql" else "SQLite"
        with (
            tempfile.TemporaryDirectory(prefix="sbg-scale-") as data_dir,
            database_url(database, Path(data_dir), args.database, "scale") as url,
        ):
            results[label] = run_database(
                label, url, sizes, args.repeats, Path(data_dir), args.analyze
            )
    load_after = os.getloadavg()
    table = results_table(results)
    print(table)
    if args.write:
        command = shlex.join([".venv/bin/python", "benchmarks/scale_listing.py", *args.argv])
        body = "\n".join(
            [
                f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} CPUs, "
                f"{platform.system()} {platform.release()}; one server process, client and "
                f"database on the same machine; median of {args.repeats} calls after a warm-up. "
                f"Load average before: {load_text(load_before)}, after: "
                f"{load_text(load_after)}.",
                "",
                f"Command: `{command}`",
                "",
                table,
            ]
        )
        write_section(SECTION_START, SECTION_END, body)
        log.info("updated %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

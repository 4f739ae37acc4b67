"""API benchmark: our ``sevenbridges`` client against the official one, on the same local platform.

Run by hand (never from pytest), from the repository root:

    .venv/bin/python benchmarks/api.py            # print the table
    .venv/bin/python benchmarks/api.py --write    # also update docs/benchmarks.md

It starts one local platform (``EmbeddedServer``: the server runs in its own process) in a
temporary directory, seeds projects for one user, then times each client in a subprocess of its own
interpreter with ``benchmarks/driver.py``: (a) ``api.users.me()`` calls and (b) listing every
project with ``api.projects.query(limit=100).all()``. Medians of several runs are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from bench_support import write_section

from sevenbridges_local.embedded import EmbeddedServer

REPO_ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("driver.py")
RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_START = "<!-- api-benchmark:start -->"
SECTION_END = "<!-- api-benchmark:end -->"
PAGE_SIZE = 100
# High enough that the benchmark never meets the platform's rate limit.
UNLIMITED_RATE = 1_000_000_000

log = logging.getLogger("benchmarks.api")


@dataclass
class ClientResult:
    name: str
    version: str
    python: str
    me_seconds: list[float]
    list_seconds: list[float]
    listed: int


def seed_projects(url: str, token: str, count: int, threads: int, budget: float) -> int:
    """Create ``count`` projects concurrently; stop early when ``budget`` seconds are spent."""
    deadline = time.monotonic() + budget
    local = threading.local()

    def create(number: int) -> bool:
        if time.monotonic() > deadline:
            return False
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update({"X-SBG-Auth-Token": token})
        response = session.post(f"{url}/projects", json={"name": f"bench {number:05d}"})
        response.raise_for_status()
        return True

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(create, range(count)))


def run_driver(
    interpreter: str,
    url: str,
    token: str,
    me_calls: int,
    expected: int,
    profile_to: Path | None = None,
) -> dict:
    """One timed run of ``driver.py`` under ``interpreter``; returns its JSON report."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SB_")}
    env.update(
        BENCH_URL=url,
        BENCH_TOKEN=token,
        BENCH_ME_CALLS=str(me_calls),
        BENCH_EXPECTED_PROJECTS=str(expected),
        BENCH_RUNS="1",
    )
    command = [interpreter, "-I"]
    if profile_to is not None:
        command += ["-m", "cProfile", "-o", str(profile_to)]
    command.append(str(DRIVER))
    # -I keeps the repository's own package from shadowing the interpreter's installed one.
    result = subprocess.run(
        command, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{interpreter} driver failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "n/a"


def results_table(results: Sequence[ClientResult], me_calls: int, projects: int) -> str:
    list_requests = 1 + max(1, math.ceil(projects / PAGE_SIZE))  # first page, then all() re-reads
    rows = [
        "| benchmark | client | runs (s) | median (s) | calls/s | items/s |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        median_me = statistics.median(result.me_seconds)
        median_list = statistics.median(result.list_seconds)
        rows.append(
            f"| {me_calls:,} × `api.users.me()` | {result.name} ({result.version}) | "
            f"{' / '.join(f'{s:.2f}' for s in result.me_seconds)} | {median_me:.2f} | "
            f"{rate(me_calls, median_me)} | — |"
        )
        rows.append(
            f"| list {projects:,} projects, `query(limit=100).all()` | {result.name} "
            f"({result.version}) | {' / '.join(f'{s:.2f}' for s in result.list_seconds)} | "
            f"{median_list:.2f} | {rate(list_requests, median_list)} | "
            f"{rate(projects, median_list)} |"
        )
    return "\n".join(rows)


def comparison(results: Sequence[ClientResult]) -> list[str]:
    by_name = {result.name: result for result in results}
    if "ours" not in by_name or "official" not in by_name:
        return []
    ours, official = by_name["ours"], by_name["official"]
    lines = []
    for label, attribute in (("users.me()", "me_seconds"), ("project listing", "list_seconds")):
        ratio = statistics.median(getattr(ours, attribute)) / statistics.median(
            getattr(official, attribute)
        )
        verdict = "faster" if ratio < 1 else "slower"
        lines.append(
            f"- {label}: ours takes {ratio:.2f}× the official client's time ({verdict})."
        )
    return lines


def machine_description(results: Sequence[ClientResult]) -> str:
    pythons = ", ".join(f"{r.name} Python {r.python}" for r in results)
    return (
        f"{os.cpu_count()} CPUs (`nproc`), {platform.system()} {platform.release()} "
        f"{platform.machine()}; {pythons}; server Python {platform.python_version()}"
    )


def display_path(path: str) -> str:
    """``path`` relative to the repository when it lies inside it (for the recorded command)."""
    absolute = Path(path).absolute()
    return str(absolute.relative_to(REPO_ROOT)) if absolute.is_relative_to(REPO_ROOT) else path


def default_interpreter(venv: str) -> str | None:
    candidate = REPO_ROOT / venv / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=5000, help="projects to seed (5000)")
    parser.add_argument("--me-calls", type=int, default=1000, help="users.me() calls (1000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument("--seed-threads", type=int, default=4, help="concurrent seeding requests")
    parser.add_argument(
        "--seed-budget", type=float, default=600, help="seconds allowed for seeding (600)"
    )
    parser.add_argument("--ours-python", default=default_interpreter(".venv") or sys.executable)
    parser.add_argument("--official-python", default=default_interpreter(".venv-official"))
    parser.add_argument(
        "--profile",
        type=Path,
        help="after timing, profile one extra run of our client with cProfile into this file",
    )
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS_FILE.name}")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    clients = [("ours", args.ours_python)]
    if args.official_python:
        clients.append(("official", args.official_python))
    else:
        log.warning("no .venv-official (run `make official`): timing our client only")

    with tempfile.TemporaryDirectory(prefix="sbg-bench-") as data_dir:
        server = EmbeddedServer(Path(data_dir), rate_limit=UNLIMITED_RATE)
        server.start()
        try:
            token = server.token("bench")
            log.info("platform at %s; seeding %d projects ...", server.url, args.projects)
            started = time.perf_counter()
            seeded = seed_projects(
                server.url, token, args.projects, args.seed_threads, args.seed_budget
            )
            seed_seconds = time.perf_counter() - started
            log.info("seeded %d projects in %.1f s", seeded, seed_seconds)
            results = {
                name: ClientResult(name, "?", "?", [], [], 0) for name, _ in clients
            }
            # Alternate the clients run by run, so a burst of load on a shared machine does not
            # land on one client only.
            for run in range(args.runs):
                for name, interpreter in clients:
                    log.info("run %d/%d: %s client (%s)", run + 1, args.runs, name, interpreter)
                    raw = run_driver(interpreter, server.url, token, args.me_calls, seeded)
                    result = results[name]
                    result.version = raw["client"].split()[-1]
                    result.python = raw["python"]
                    result.me_seconds += raw["me_seconds"]
                    result.list_seconds += raw["list_seconds"]
                    result.listed = raw["listed"]
            if args.profile:
                # An extra run, not counted: cProfile's overhead would distort the timings.
                log.info("profiling our client into %s", args.profile)
                run_driver(
                    args.ours_python, server.url, token, args.me_calls, seeded, args.profile
                )
        finally:
            server.stop()

    table = results_table(list(results.values()), args.me_calls, seeded)
    verdicts = comparison(list(results.values()))
    print(table)
    for line in verdicts:
        print(line)
    if seeded < args.projects:
        print(f"(seeding was time-boxed: {seeded} of {args.projects} projects created)")
    if args.profile:
        import pstats

        print(f"\nprofile of our client ({args.profile}), top functions by cumulative time:")
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)

    if args.write:
        command = shlex.join([display_path(sys.executable), "benchmarks/api.py", *args.argv])
        body = "\n".join(
            [
                f"Measured {dt.date.today().isoformat()} on "
                f"{machine_description(list(results.values()))}.",
                "",
                f"Command: `{command}`",
                "",
                f"Seeding {seeded:,} projects over HTTP with {args.seed_threads} threads took "
                f"{seed_seconds:.1f} s.",
                "",
                table,
                "",
                *verdicts,
            ]
        )
        write_section(SECTION_START, SECTION_END, body)
        log.info("updated %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

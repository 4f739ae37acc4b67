"""Task benchmark: a batch of tiny tasks on the local platform vs running cwltool in sequence.

Run by hand (never from pytest), from the repository root:

    .venv/bin/python benchmarks/tasks.py            # print the results (50 tasks)
    .venv/bin/python benchmarks/tasks.py --write    # also update docs/benchmarks.md

What it does: starts a local platform (``EmbeddedServer``, server in its own process, default
worker pool) in a temporary directory, installs a one-line tool (``wc -l`` of a small text file)
into a project and uploads ``--tasks`` small input files. Then, one after the other:

1. **cwltool alone**: the same tool on the same files, ``cwltool --outdir DIR tool.cwl job.json``
   once per file, in sequence (one warm-up run first, not counted): what the work costs without a
   platform, the way a user runs it. Then the same runs inside **one warm interpreter**
   (``cwltool.main.main`` called in a loop, with the arguments the platform passes), which leaves
   out Python start-up and schema loading: the floor for any runner built on cwltool.
2. **single tasks**: ``--single`` tasks created with ``run=True`` one at a time, each timed from
   the create request until the client sees ``COMPLETED`` (polling every ``--poll`` s). The
   difference to one cwltool run is the platform's latency per task.
3. **the batch**: one batch task (``batch_by={"type": "item"}``) over all the files, timed from the
   create request until the parent is ``COMPLETED``. Throughput is tasks per second; the
   per-task overhead is the worker time each task took beyond a bare cwltool run:
   ``wall x workers / tasks - cwltool mean``.

Each child's ``execution_status`` durations (milliseconds) split its time into waiting for a
worker and running. ``--profile FILE`` also runs one cold cwltool invocation under ``cProfile``
and prints where its time goes.

Goals (issue 4): overhead at most 0.3 s per task; throughput above sequential cwltool on 2 cores.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import logging
import os
import platform as host_platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_support

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_START = "<!-- tasks-benchmark:start -->"
SECTION_END = "<!-- tasks-benchmark:end -->"
UNLIMITED_RATE = 1_000_000_000
GOAL_OVERHEAD_SECONDS = 0.3
TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
TASK_TIMEOUT_SECONDS = 1800
# execution_status fields (milliseconds) averaged over the batch's children.
DURATION_FIELDS = ("queued_duration", "running_duration", "execution_duration", "duration")

log = logging.getLogger("benchmarks.tasks")

TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Tiny line count",
    "baseCommand": ["wc", "-l"],
    "stdin": "$(inputs.input_file.path)",
    "stdout": "count.txt",
    "inputs": {"input_file": {"type": "File"}},
    "outputs": {"count": {"type": "stdout"}},
}


@dataclass
class Results:
    tasks: int
    workers: int
    cwltool_runs: list[float] = field(default_factory=list)
    cwltool_total: float = 0.0
    warm_runs: list[float] = field(default_factory=list)
    single_runs: list[float] = field(default_factory=list)
    batch_wall: float = 0.0
    batch_status: str = ""
    # Per child, seconds, from execution_status: *_duration fields.
    durations: dict[str, list[float]] = field(default_factory=dict)
    child_statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # How the platform isolated the tasks, and (--compare-unisolated) the same batch without.
    isolation: str = ""
    unisolated_wall: float | None = None

    @property
    def cwltool_mean(self) -> float:
        return self.cwltool_total / len(self.cwltool_runs)

    @property
    def single_median(self) -> float:
        return statistics.median(self.single_runs)

    @property
    def single_overhead(self) -> float:
        return self.single_median - statistics.median(self.cwltool_runs)

    @property
    def worker_time_per_task(self) -> float:
        return self.batch_wall * self.workers / self.tasks

    @property
    def batch_overhead(self) -> float:
        return self.worker_time_per_task - self.cwltool_mean

    @property
    def warm_mean(self) -> float:
        return statistics.mean(self.warm_runs)

    @property
    def overhead_vs_warm(self) -> float:
        return self.worker_time_per_task - self.warm_mean

    @property
    def sandbox_cost(self) -> float | None:
        """Worker time per task that isolation adds (None when not compared)."""
        if self.unisolated_wall is None:
            return None
        return (self.batch_wall - self.unisolated_wall) * self.workers / self.tasks

    @property
    def platform_throughput(self) -> float:
        return self.tasks / self.batch_wall

    @property
    def sequential_throughput(self) -> float:
        return self.tasks / self.cwltool_total


# --------------------------------------------------------------------------- timing helpers


def wait_until_done(task: Any, poll: float) -> str:
    deadline = time.monotonic() + TASK_TIMEOUT_SECONDS
    while True:
        task.reload()
        if task.status in TERMINAL:
            return task.status
        if time.monotonic() > deadline:
            raise RuntimeError(f"task {task.id} still {task.status} after {TASK_TIMEOUT_SECONDS} s")
        time.sleep(poll)


def cwltool_command(outdir: Path, tool: Path, job: Path) -> list[str]:
    local = Path(sys.executable).with_name("cwltool")
    executable = str(local) if local.exists() else shutil.which("cwltool")
    if not executable:
        raise SystemExit("cwltool is not installed (make install)")
    return [executable, "--quiet", "--outdir", str(outdir), str(tool), str(job)]


def write_job(workdir: Path, input_path: Path, number: int) -> Path:
    job = workdir / f"job-{number}.json"
    job.write_text(json.dumps({"input_file": {"class": "File", "path": str(input_path)}}))
    return job


def run_cwltool(workdir: Path, tool: Path, input_path: Path, number: int) -> float:
    job = write_job(workdir, input_path, number)
    outdir = workdir / f"out-{number}"
    started = time.perf_counter()
    subprocess.run(cwltool_command(outdir, tool, job), check=True, capture_output=True)
    return time.perf_counter() - started


# The arguments the platform's executor passes to cwltool (sevenbridges_local/execution).
PLATFORM_CWLTOOL_ARGUMENTS = (
    "--skip-schemas",
    "--disable-js-validation",
    "--no-compute-checksum",
    "--relax-path-checks",
    "--disable-color",
    "--no-container",
    "--quiet",
)


def warm_child(tool: str, jobs: list[str], outdir: str) -> None:
    """``--warm-child``: run cwltool in this interpreter once per job; print the timings."""
    from cwltool.main import main as cwltool_main

    logging.getLogger("cwltool").setLevel(logging.WARNING)
    timings = []
    for number, job in enumerate(jobs):
        arguments = [*PLATFORM_CWLTOOL_ARGUMENTS, "--outdir", f"{outdir}/warm-{number}", tool, job]
        started = time.perf_counter()
        with open(os.devnull, "w") as sink:
            # A no-op schema callback: cwltool then keeps the schemas it loaded on the first run
            # instead of reloading them on every call, as a long-lived runner would.
            exit_code = cwltool_main(arguments, stdout=sink, custom_schema_callback=lambda: None)
        timings.append(time.perf_counter() - started)
        if exit_code != 0:
            raise SystemExit(f"warm cwltool run {number} exited {exit_code}")
    print(json.dumps(timings))


def measure_warm_cwltool(results: Results, workdir: Path, tool: Path, inputs: list[Path]) -> None:
    jobs = [str(write_job(workdir, path, 1000 + number)) for number, path in enumerate(inputs)]
    # The first run loads cwltool's schemas and is not counted.
    command = [sys.executable, __file__, "--warm-child", str(tool), str(workdir), jobs[0], *jobs]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    timings = json.loads(completed.stdout.strip().splitlines()[-1])
    results.warm_runs = timings[1:]
    log.info("cwltool warm, x%d: mean %.3f s", len(results.warm_runs), results.warm_mean)


def profile_cwltool(workdir: Path, tool: Path, input_path: Path, profile_file: Path) -> str:
    """Run cwltool once in this interpreter under cProfile; the top functions as text."""
    from cwltool.main import main as cwltool_main

    job = workdir / "job-profiled.json"
    job.write_text(json.dumps({"input_file": {"class": "File", "path": str(input_path)}}))
    arguments = ["--quiet", "--outdir", str(workdir / "out-profiled"), str(tool), str(job)]
    profiler = cProfile.Profile()
    profiler.enable()
    exit_code = cwltool_main(arguments)
    profiler.disable()
    if exit_code != 0:
        raise RuntimeError(f"profiled cwltool run exited {exit_code}")
    profiler.dump_stats(str(profile_file))
    text = []

    class _Sink:
        def write(self, chunk: str) -> None:
            text.append(chunk)

    pstats.Stats(str(profile_file), stream=_Sink()).sort_stats("cumulative").print_stats(15)
    return "".join(text)


# --------------------------------------------------------------------------- the phases


def upload_inputs(api: Any, project: Any, directory: Path, count: int) -> tuple[list[Path], list]:
    paths = []
    for number in range(count):
        path = directory / f"input-{number:03d}.txt"
        path.write_text("".join(f"line {line}\n" for line in range(number % 7 + 1)))
        paths.append(path)

    def upload(path: Path) -> Any:
        handle = api.files.upload(str(path), project=project, wait=True)
        uploaded = handle.result()
        if uploaded is None:
            raise RuntimeError(f"upload of {path.name} ended {handle.status}")
        return uploaded

    with ThreadPoolExecutor(max_workers=4) as pool:
        files = list(pool.map(upload, paths))
    return paths, files


def measure_cwltool(results: Results, workdir: Path, tool: Path, inputs: list[Path]) -> None:
    run_cwltool(workdir, tool, inputs[0], -1)  # warm-up: file caches, Python bytecode
    started = time.perf_counter()
    for number, path in enumerate(inputs):
        results.cwltool_runs.append(run_cwltool(workdir, tool, path, number))
    results.cwltool_total = time.perf_counter() - started
    log.info("cwltool x%d in sequence: %.1f s", len(inputs), results.cwltool_total)


def measure_single(
    results: Results, api: Any, project: Any, app: Any, files: list, runs: int, poll: float
) -> None:
    for number in range(runs + 1):  # the first one warms the worker up and is not counted
        started = time.perf_counter()
        task = api.tasks.create(
            name=f"single {number}", project=project, app=app,
            inputs={"input_file": files[number % len(files)]}, run=True,
        )
        status = wait_until_done(task, poll)
        elapsed = time.perf_counter() - started
        if status != "COMPLETED":
            raise RuntimeError(f"single task {task.id} ended {status}")
        if number:
            results.single_runs.append(elapsed)
    log.info("single tasks: %s s", ", ".join(f"{value:.2f}" for value in results.single_runs))


def measure_unisolated_batch(
    results: Results, api: Any, project: Any, app: Any, files: list, poll: float
) -> None:
    """The same batch on the same data with task isolation turned off: what the sandbox costs."""
    warm_up = api.tasks.create(
        name="warm-up", project=project, app=app, inputs={"input_file": files[0]}, run=True
    )
    wait_until_done(warm_up, poll)  # the new platform's fork server starts with its first task
    started = time.perf_counter()
    parent = api.tasks.create(
        name=f"unisolated batch of {len(files)}", project=project, app=app,
        inputs={"input_file": files}, batch_input="input_file", batch_by={"type": "item"},
        run=True,
    )
    status = wait_until_done(parent, poll)
    if status != "COMPLETED":
        raise RuntimeError(f"the unisolated batch ended {status}")
    results.unisolated_wall = time.perf_counter() - started
    log.info("unisolated batch of %d: %.1f s", len(files), results.unisolated_wall)


def measure_batch(
    results: Results, api: Any, project: Any, app: Any, files: list, poll: float
) -> None:
    started = time.perf_counter()
    parent = api.tasks.create(
        name=f"batch of {len(files)}", project=project, app=app,
        inputs={"input_file": files}, batch_input="input_file", batch_by={"type": "item"},
        run=True,
    )
    results.batch_status = wait_until_done(parent, poll)
    results.batch_wall = time.perf_counter() - started
    log.info("batch of %d: %s in %.1f s", len(files), results.batch_status, results.batch_wall)

    for child in parent.get_batch_children(limit=100).all():
        results.child_statuses[child.status] = results.child_statuses.get(child.status, 0) + 1
        status = child.execution_status
        if child.status != "COMPLETED":
            message = status.message if status is not None else ""
            results.failures.append(f"{child.name} ({child.id}): {child.status}: {message}")
        if status is None:
            continue
        for name in DURATION_FIELDS:
            value = getattr(status, name)
            if isinstance(value, int):
                results.durations.setdefault(name, []).append(value / 1000)


# --------------------------------------------------------------------------- report


def mean_text(values: Sequence[float]) -> str:
    return f"{statistics.mean(values):.2f}" if values else "n/a"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(results: Results, command: str, when: str) -> str:
    overhead_ok = results.batch_overhead <= GOAL_OVERHEAD_SECONDS
    warm_ok = results.overhead_vs_warm <= GOAL_OVERHEAD_SECONDS
    throughput_ok = results.platform_throughput > results.sequential_throughput
    children = ", ".join(
        f"{name.removesuffix('_duration')} {mean_text(results.durations.get(name, []))}"
        for name in DURATION_FIELDS
    )
    lines = [
        f"Measured {when} on {os.cpu_count()} CPUs, {host_platform.system()} "
        f"{host_platform.release()}; Python {host_platform.python_version()}; "
        f"{results.workers} platform workers (the default: one per CPU).",
        "",
        f"Command: `{command}`",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| cwltool alone, {results.tasks} runs in sequence (a new process each) | "
        f"{results.cwltool_total:.1f} s ({results.sequential_throughput:.2f} tasks/s; "
        f"{results.cwltool_mean:.2f} s per run) |",
        f"| cwltool in one warm interpreter, platform's arguments (mean of "
        f"{len(results.warm_runs)}) | {results.warm_mean:.3f} s per run |",
        f"| platform, batch of {results.tasks} (create to parent {results.batch_status}) | "
        f"{results.batch_wall:.1f} s ({results.platform_throughput:.2f} tasks/s; children: "
        + ", ".join(f"{count} {name}" for name, count in sorted(results.child_statuses.items()))
        + ") |",
        f"| platform worker time per task (wall x workers / tasks) | "
        f"{results.worker_time_per_task:.3f} s: {results.batch_overhead:+.3f} s vs cwltool alone,"
        f" {results.overhead_vs_warm:+.3f} s vs warm cwltool |",
        f"| one task alone, create to COMPLETED seen by the client (median of "
        f"{len(results.single_runs)}) | {results.single_median:.2f} s "
        f"({results.single_overhead:+.2f} s vs one cwltool run) |",
        f"| batch children, mean `execution_status` durations (s) | {children} |",
        f"| task isolation | {results.isolation} |",
        *(
            [
                f"| the same batch without isolation (`--sandbox none`) | "
                f"{results.unisolated_wall:.1f} s: isolation costs {results.sandbox_cost:+.3f} s "
                "of worker time per task |"
            ]
            if results.unisolated_wall is not None and results.sandbox_cost is not None
            else []
        ),
        "",
        f"- Overhead goal (<= {GOAL_OVERHEAD_SECONDS} s per task on top of cwltool): "
        f"{verdict(overhead_ok)} against cwltool alone"
        + ("" if overhead_ok else
           f" (by {results.batch_overhead - GOAL_OVERHEAD_SECONDS:.2f} s per task)")
        + f"; {verdict(warm_ok)} against warm cwltool"
        + ("" if warm_ok else
           f" (by {results.overhead_vs_warm - GOAL_OVERHEAD_SECONDS:.2f} s per task)") + ".",
        f"- Throughput goal (above sequential cwltool): {verdict(throughput_ok)} "
        f"({results.platform_throughput / results.sequential_throughput:.2f}x sequential).",
    ]
    return "\n".join(lines)


def write_section(body: str) -> None:
    bench_support.write_section(
        SECTION_START,
        SECTION_END,
        body,
        preamble="## Tasks: a batch on the platform vs cwltool in sequence\n\n",
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50, help="tasks in the batch (default 50)")
    parser.add_argument("--single", type=int, default=3, help="single tasks timed (default 3)")
    parser.add_argument("--poll", type=float, default=0.1, help="status poll period, seconds")
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS_FILE.name}")
    parser.add_argument("--profile", type=Path, help="profile one cwltool run into this file")
    parser.add_argument("--keep", type=Path, help="keep the platform's data in this directory")
    parser.add_argument(
        "--compare-unisolated",
        action="store_true",
        help="run the batch again with task isolation off, to show what the sandbox costs",
    )
    parser.add_argument("--warm-child", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("sevenbridges").setLevel(logging.WARNING)  # no line per upload
    args = parse_args(argv)
    if args.warm_child:
        tool, outdir, *jobs = args.warm_child
        warm_child(tool, jobs, outdir)
        return 0
    sys.path.insert(0, str(REPO_ROOT))
    import sevenbridges as sbg
    from sevenbridges_local.embedded import EmbeddedServer
    from sevenbridges_local.status import read_status

    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join([".venv/bin/python benchmarks/tasks.py", *arguments])
    with tempfile.TemporaryDirectory(prefix="sbg-task-bench-") as scratch:
        workdir = Path(scratch)
        data_dir = args.keep or workdir / "platform"
        tool_path = workdir / "tool.cwl"
        tool_path.write_text(json.dumps(TOOL))
        results = Results(tasks=args.tasks, workers=os.cpu_count() or 1)
        with EmbeddedServer(data_dir, rate_limit=UNLIMITED_RATE) as server:
            api = sbg.Api(url=server.url, token=server.token("bench"))
            project = api.projects.create(name="task benchmark")
            app = api.apps.install_app(id=f"{project.id}/tiny-line-count", raw=TOOL)
            inputs_dir = workdir / "inputs"
            inputs_dir.mkdir()
            paths, files = upload_inputs(api, project, inputs_dir, args.tasks)
            log.info("uploaded %d inputs", len(files))

            measure_cwltool(results, workdir, tool_path, paths)
            measure_warm_cwltool(results, workdir, tool_path, paths)
            measure_single(results, api, project, app, files, args.single, args.poll)
            measure_batch(results, api, project, app, files, args.poll)
            status = read_status(data_dir)
            results.isolation = status.task_isolation if status else "unknown"
        if args.compare_unisolated:
            with EmbeddedServer(
                data_dir, rate_limit=UNLIMITED_RATE, settings={"sandbox": "none"}
            ) as server:
                api = sbg.Api(url=server.url, token=server.token("bench"))
                measure_unisolated_batch(results, api, project.id, app.id, files, args.poll)

        body = report(results, command, dt.date.today().isoformat())
        print(body)
        if args.profile:
            print(f"\ncProfile of one cwltool run ({args.profile}):")
            print(profile_cwltool(workdir, tool_path, paths[0], args.profile))
    for failure in results.failures:
        log.error("child task failed: %s", failure)
    if results.batch_status != "COMPLETED":
        log.error("the batch ended %s: results not written", results.batch_status)
        return 1
    if args.write:
        write_section(body)
        log.info("updated %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

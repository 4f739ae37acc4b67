"""Stress test: many short tasks under CPU pressure, looking for false failures.

Run by hand (never from pytest or ``make test``), from the repository root:

    .venv/bin/python benchmarks/stress_tasks.py                  # 500 tasks in 5 batches
    .venv/bin/python benchmarks/stress_tasks.py --tasks 100 --batches 2 --burners 0

What it does: starts a local platform (``EmbeddedServer``, default worker pool and task
isolation) in a temporary directory, installs a one-line tool (``wc -l`` of a small file) and
uploads ``--tasks`` small files through the API with our client. It then starts ``--burners``
busy-loop processes (default: two per CPU) so the task processes compete for the CPUs, and
creates ``--batches`` batch tasks (by item) over the files, all at once. Every child must end
COMPLETED with the right line count in its output: the tool cannot fail, so any FAILED or
ABORTED child, or a wrong output, is a false failure of the platform. The script lists each one
with its ``execution_status.message`` and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
UNLIMITED_RATE = 1_000_000_000
TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
TIMEOUT_SECONDS = 3600
BURNER = "while True: pass"

log = logging.getLogger("benchmarks.stress_tasks")

TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Stress line count",
    "baseCommand": ["wc", "-l"],
    "stdin": "$(inputs.input_file.path)",
    "stdout": "count.txt",
    "inputs": {"input_file": {"type": "File"}},
    "outputs": {"count": {"type": "stdout"}},
}


def lines_in(number: int) -> int:
    return number % 5 + 1


def upload_inputs(api: Any, project: Any, directory: Path, count: int) -> list[tuple[Any, int]]:
    """Uploads ``count`` small files; returns each with its number of lines."""

    def upload(number: int) -> tuple[Any, int]:
        path = directory / f"stress-{number:04d}.txt"
        path.write_text("".join(f"line {line}\n" for line in range(lines_in(number))))
        handle = api.files.upload(str(path), project=project, wait=True)
        uploaded = handle.result()
        if uploaded is None:
            raise RuntimeError(f"upload of {path.name} ended {handle.status}")
        return uploaded, lines_in(number)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(upload, range(count)))


def start_burners(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(count)]


def stop_burners(burners: list[subprocess.Popen[bytes]]) -> None:
    for process in burners:
        process.kill()
    for process in burners:
        process.wait()


def wait_for(api: Any, parents: list[Any], poll: float) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    pending = list(parents)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} batch(es) unfinished after {TIMEOUT_SECONDS} s")
        time.sleep(poll)
        for parent in list(pending):
            parent.reload()
            if parent.status in TERMINAL:
                pending.remove(parent)
                log.info("batch %s ended %s", parent.name, parent.status)


def check_children(api: Any, parents: list[Any], expected: dict[str, int]) -> tuple[Counter, list]:
    """Child statuses and the false failures (FAILED/ABORTED children, wrong outputs)."""
    statuses: Counter = Counter()
    failures: list[str] = []
    for parent in parents:
        for child in parent.get_batch_children(limit=100).all():
            statuses[child.status] += 1
            status = child.execution_status
            message = status.message if status is not None else ""
            if child.status != "COMPLETED":
                failures.append(f"{child.name} ({child.id}): {child.status}: {message}")
                continue
            source = child.inputs["input_file"]
            output = child.outputs.get("count")
            if output is None:
                failures.append(f"{child.name} ({child.id}): COMPLETED without its output")
                continue
            text = b"".join(api.files.get(output.id).stream()).decode().strip()
            if text != str(expected[source.id]):
                failures.append(f"{child.name} ({child.id}): counted {text!r}")
    return statuses, failures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500, help="tasks in all (default 500)")
    parser.add_argument("--batches", type=int, default=5, help="batch tasks (default 5)")
    parser.add_argument(
        "--burners",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="busy-loop processes during the run (default: two per CPU)",
    )
    parser.add_argument("--workers", type=int, help="task workers (default: the platform's)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between status polls")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("sevenbridges").setLevel(logging.WARNING)
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    import sevenbridges as sbg
    from sevenbridges_local.embedded import EmbeddedServer

    settings: dict[str, object] = {"sandbox": args.sandbox}
    if args.workers:
        settings["task_workers"] = args.workers
    with tempfile.TemporaryDirectory(prefix="sbg-stress-") as scratch:
        workdir = Path(scratch)
        with EmbeddedServer(
            workdir / "platform", rate_limit=UNLIMITED_RATE, settings=settings
        ) as server:
            api = sbg.Api(url=server.url, token=server.token("stress"))
            project = api.projects.create(name="stress")
            app = api.apps.install_app(id=f"{project.id}/stress-line-count", raw=TOOL)
            inputs = workdir / "inputs"
            inputs.mkdir()
            uploaded = upload_inputs(api, project, inputs, args.tasks)
            expected = {item.id: lines for item, lines in uploaded}
            files = [item for item, _lines in uploaded]
            log.info("uploaded %d inputs", len(files))
            size = -(-len(files) // args.batches)
            burners = start_burners(args.burners)
            log.info("%d busy-loop processes started", len(burners))
            started = time.perf_counter()
            try:
                parents = [
                    api.tasks.create(
                        name=f"stress batch {number}",
                        project=project,
                        app=app,
                        inputs={"input_file": chunk},
                        batch_input="input_file",
                        batch_by={"type": "item"},
                        run=True,
                    )
                    for number, chunk in enumerate(
                        files[offset : offset + size] for offset in range(0, len(files), size)
                    )
                ]
                wait_for(api, parents, args.poll)
            finally:
                stop_burners(burners)
            elapsed = time.perf_counter() - started
            statuses, failures = check_children(api, parents, expected)
    load = os.getloadavg()
    print(
        f"{sum(statuses.values())} tasks in {len(parents)} batches, {args.burners} busy-loop "
        f"processes, {elapsed:.0f} s; load average at the end {load[0]:.1f}"
    )
    print("child statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"false failures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures or sum(statuses.values()) != args.tasks else 0


if __name__ == "__main__":
    sys.exit(main())

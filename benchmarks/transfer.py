"""Transfer benchmark: upload then download a big file with our client, the official client and
curl, against one local platform, on loopback and with WAN emulation.

Run by hand (never from pytest), from the repository root, after ``make install official``:

    .venv/bin/python benchmarks/transfer.py            # print the table (1 GiB, 3 runs)
    .venv/bin/python benchmarks/transfer.py --write    # also update docs/benchmarks.md

What it does: starts a local platform (``EmbeddedServer``, server in its own process) in a
temporary directory, writes a file of random bytes, then per run and per client uploads it and
downloads it back, checking the MD5 of every download. Our client and the official
``sevenbridges-python`` run the same driver code (this file with ``--child``) in their own
interpreters, through the public ``api.files.upload(...)`` / ``file.download(...)``; each reports
the wall time of the transfer (imports excluded), the CPU seconds it used (all threads) and its
peak RSS. curl is the single-stream reference: one ``PUT`` of the whole file to a signed part URL
(init, report and complete are done outside the timing) and one ``GET`` of the signed download
URL, measured from outside (``wait4``). Medians of ``--runs`` runs; the client order rotates from
run to run so that a burst of load elsewhere does not always hit the same client.

Two scenarios: ``loopback`` (the bare data plane) and ``wan``: the data plane's WAN emulation
(``wan_latency_ms``, ``wan_bandwidth_mbps`` through ``/_local/faults``; default 20 ms and
200 Mbit/s per connection), which is what users of a far-away storage feel. In every run the
disk's own rate is measured next to the uploads: ``dd ... conv=fsync`` of a file of the same size
in the same directory, the ceiling for any upload to this platform.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_START = "<!-- transfer-benchmark:start -->"
SECTION_END = "<!-- transfer-benchmark:end -->"
MiB = 1024 * 1024
UNLIMITED_RATE = 1_000_000_000
GOAL_PEAK_RSS_MIB = 100
# Goals of issue 13, per scenario and direction: (reference, minimum ratio of our throughput).
GOALS: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("loopback", "upload"): [("disk", 0.8), ("official", 1.0)],
    ("loopback", "download"): [("official", 2.0)],
    ("wan", "upload"): [("official", 3.0)],
    ("wan", "download"): [("official", 3.0)],
}
MAX_ATTEMPTS = 3  # a failed round trip is retried, and the failure reported


# --------------------------------------------------------------------------- child driver
# Runs inside the measured interpreter: only the standard library and the client under test.


def peak_rss_mib(pid: int | str = "self") -> float:
    """The process's peak resident set (``VmHWM``) in MiB.

    Not ``ru_maxrss``: a child started with vfork inherits the parent's high-water mark there,
    so every child of a big harness would look big. ``VmHWM`` belongs to the address space the
    program got at exec.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_main(argv: list[str]) -> None:
    action, url, token, target, path, workers = argv
    import sevenbridges as sbg

    api = sbg.Api(url=url, token=token, debug=True, upload_max_workers=int(workers),
                  download_max_workers=int(workers))
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if action == "upload":
        upload = api.files.upload(path, project=target, file_name=os.path.basename(path),
                                  overwrite=True)
        if upload.status != "COMPLETED":
            raise SystemExit(f"upload ended {upload.status}: {getattr(upload, 'error', '')}")
        produced = upload.result().id
    else:
        api.files.get(target).download(path, overwrite=True)
        produced = path
        if not os.path.exists(path):  # a client may swallow errors in its download thread
            raise SystemExit("the download returned without producing the file")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds() - cpu_before,
                      "rss_mib": peak_rss_mib(),
                      "result": produced, "version": sbg.__version__}))


# --------------------------------------------------------------------------- the harness


@dataclass
class Measure:
    seconds: float
    cpu: float
    rss_mib: float


@dataclass
class ClientRuns:
    name: str
    scenario: str = "loopback"
    version: str = ""
    upload: list[Measure] = field(default_factory=list)
    download: list[Measure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def write_random_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 16 * MiB))
            handle.write(block)
            remaining -= len(block)


class Platform:
    """Plain HTTP helpers for the parts of the benchmark that are not under test."""

    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["X-SBG-Auth-Token"] = token

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.url + path, timeout=600, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def delete_file(self, file_id: str) -> None:
        self.call("DELETE", f"/files/{file_id}")


def run_child(python: str, action: str, url: str, token: str, target: str, path: Path,
              workers: int) -> dict[str, Any]:
    command = [python, str(Path(__file__).resolve()), "--child", action, url, token, target,
               str(path), str(workers)]
    # A neutral working directory: with the repository as cwd the official interpreter could
    # import our package instead of its own.
    result = subprocess.run(command, cwd=tempfile.gettempdir(), capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command[:4])} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_measured(command: list[str]) -> Measure:
    """Run ``command`` and measure it from outside: wall time, CPU time and peak RSS (sampled
    from /proc while it runs; output goes to files, so pipes never fill)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0.0
        while True:
            finished, status, usage = os.wait4(process.pid, os.WNOHANG)
            if finished:
                break
            peak = max(peak, peak_rss_mib(process.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{shlex.join(command)} failed ({process.returncode}): "
                               f"{errors.read().decode(errors='replace')}")
    return Measure(seconds, usage.ru_utime + usage.ru_stime, peak)


def curl_upload(plat: Platform, project: str, path: Path) -> tuple[Measure, str]:
    """The whole protocol, curl moving the bytes in one PUT; timed from init to complete like
    the Python clients (CPU and RSS are curl's own)."""
    size = path.stat().st_size
    started = time.perf_counter()
    init = plat.call("POST", "/upload/multipart", params={"overwrite": "true"},
                     json={"name": path.name, "size": size, "part_size": size,
                           "project": project})
    upload_id = init["upload_id"]
    if int(init.get("part_size") or size) < size:
        raise RuntimeError("the platform would not take the file as one part; curl needs that")
    part = plat.call("GET", f"/upload/multipart/{upload_id}/part/1")
    headers_file = path.with_suffix(".headers")
    measure = run_measured(
        ["curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "-X", "PUT",
         "-H", "Expect:", "--upload-file", str(path), "-D", str(headers_file), "-o", os.devnull,
         part["url"]]
    )
    etag = next(line.split(":", 1)[1].strip().strip('"')
                for line in headers_file.read_text().splitlines()
                if line.lower().startswith("etag:"))
    headers_file.unlink()
    plat.call("POST", f"/upload/multipart/{upload_id}/part/",
              json={"part_number": 1, "response": {"headers": {"ETag": etag}}})
    created = plat.call("POST", f"/upload/multipart/{upload_id}/complete")
    measure.seconds = time.perf_counter() - started
    return measure, created["id"]


def curl_download(plat: Platform, file_id: str, target: Path) -> Measure:
    url = plat.call("GET", f"/files/{file_id}/download_info")["url"]
    return run_measured(
        ["curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "-o", str(target), url]
    )


def disk_fsync_rate(work_dir: Path, size: int) -> float:
    """MB/s of ``dd`` writing ``size`` bytes and fsyncing them, where the platform stores data."""
    target = work_dir / "dd-probe.bin"
    block = 16 * MiB
    settle()
    started = time.perf_counter()
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", f"bs={block}", f"count={max(1, size // block)}",
         "conv=fsync", "status=none"],
        check=True,
    )
    seconds = time.perf_counter() - started
    written = target.stat().st_size
    target.unlink()
    return written / 1e6 / seconds


def set_wan(server: Any, latency_ms: int, bandwidth_mbps: int) -> None:
    import requests

    response = requests.put(
        f"{server.url}/_local/faults",
        json={"wan_latency_ms": latency_ms, "wan_bandwidth_mbps": bandwidth_mbps},
        headers={"X-SBG-Auth-Token": server.token("admin")},
        timeout=60,
    )
    response.raise_for_status()


def settle() -> None:
    """Write dirty pages out before a timed transfer: otherwise the writeback of the previous
    transfer's gigabytes throttles whichever client comes next."""
    os.sync()
    time.sleep(0.5)


def one_round_trip(name: str, python: str | None, server: Any, token: str, plat: Platform,
                   project: str, source: Path, work_dir: Path, workers: int,
                   expected_md5: str, runs: ClientRuns) -> tuple[Measure, Measure]:
    """Upload ``source`` and download it back with one client; the platform copy and the
    download are removed afterwards."""
    target = work_dir / f"download-{name}.bin"
    file_id = None
    try:
        settle()
        if python is None:
            up, file_id = curl_upload(plat, project, source)
            settle()
            down = curl_download(plat, file_id, target)
        else:
            report = run_child(python, "upload", server.url, token, project, source, workers)
            up = Measure(report["seconds"], report["cpu"], report["rss_mib"])
            file_id = report["result"]
            runs.version = report["version"]
            settle()
            report = run_child(python, "download", server.url, token, file_id, target, workers)
            down = Measure(report["seconds"], report["cpu"], report["rss_mib"])
        if file_md5(target) != expected_md5:
            raise RuntimeError(f"{name}: the downloaded file differs from the source")
    finally:
        target.unlink(missing_ok=True)
        if file_id is not None:
            plat.delete_file(file_id)
    return up, down


def benchmark(
    args: argparse.Namespace,
) -> tuple[list[ClientRuns], list[float], dict[str, Any]]:
    from sevenbridges_local.embedded import EmbeddedServer

    size = args.size_mib * MiB
    clients: list[tuple[str, str | None]] = [("ours", args.ours_python)]
    if args.official_python and Path(args.official_python).exists():
        clients.append(("official", args.official_python))
    else:
        print(f"official client not found at {args.official_python}; skipping it")
    if shutil.which("curl"):
        clients.append(("curl", None))
    scenarios = [("loopback", 0, 0)]
    if args.wan_bandwidth_mbps or args.wan_latency_ms:
        scenarios.append(("wan", args.wan_latency_ms, args.wan_bandwidth_mbps))
    scenarios = [item for item in scenarios if item[0] in args.scenarios]
    runs = {
        (scenario, name): ClientRuns(name, scenario)
        for scenario, _, _ in scenarios
        for name, _ in clients
    }
    disk_rates: list[float] = []

    with tempfile.TemporaryDirectory(prefix="sbg-transfer-bench-", dir=args.work_dir) as work:
        work_dir = Path(work)
        source = work_dir / "payload.bin"
        print(f"writing {args.size_mib} MiB of random bytes...")
        write_random_file(source, size)
        expected_md5 = file_md5(source)
        with EmbeddedServer(work_dir / "platform", rate_limit=UNLIMITED_RATE) as server:
            token = server.token("bench")
            plat = Platform(server.url, token)
            project = plat.call("POST", "/projects", json={"name": "transfer bench"})["id"]
            for run in range(args.runs):
                disk_rates.append(disk_fsync_rate(work_dir, size))
                print(f"run {run + 1} disk (dd conv=fsync) {disk_rates[-1]:8.1f} MB/s")
                for scenario, latency_ms, bandwidth_mbps in scenarios:
                    set_wan(server, latency_ms, bandwidth_mbps)
                    order = clients[run % len(clients):] + clients[: run % len(clients)]
                    for name, python in order:
                        record = runs[(scenario, name)]
                        for attempt in range(1, MAX_ATTEMPTS + 1):
                            try:
                                up, down = one_round_trip(name, python, server, token, plat,
                                                          project, source, work_dir,
                                                          args.workers, expected_md5, record)
                                break
                            except RuntimeError as exc:
                                record.failures.append(str(exc).splitlines()[-1])
                                print(f"run {run + 1} {scenario} {name}: attempt {attempt} "
                                      f"failed: {exc}")
                                if attempt == MAX_ATTEMPTS:
                                    raise
                        record.upload.append(up)
                        record.download.append(down)
                        print(f"run {run + 1} {scenario:8s} {name:8s} upload "
                              f"{size / 1e6 / up.seconds:8.1f} MB/s  download "
                              f"{size / 1e6 / down.seconds:8.1f} MB/s")
            set_wan(server, 0, 0)
    environment = {
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "load": " / ".join(f"{value:.1f}" for value in os.getloadavg()),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "curl": subprocess.run(["curl", "--version"], capture_output=True, text=True)
        .stdout.split("\n", 1)[0].split(" ")[1] if shutil.which("curl") else "-",
        "size_mib": args.size_mib,
        "workers": args.workers,
        "runs": args.runs,
        "wan": f"{args.wan_latency_ms} ms, {args.wan_bandwidth_mbps} Mbit/s per connection",
    }
    return list(runs.values()), disk_rates, environment


# --------------------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _throughput(size_mib: int, seconds: float) -> float:
    return size_mib * MiB / 1e6 / seconds  # MB/s (10**6 bytes)


def render(
    results: list[ClientRuns], disk_rates: list[float], env: dict[str, Any], command: str
) -> str:
    size_mib = env["size_mib"]
    lines = [
        f"Measured {env['date']} on {env['cpus']} CPUs, {env['system']}; Python "
        f"{env['python']}; curl {env['curl']}. File: {size_mib} MiB of random bytes; "
        f"{env['workers']} workers for our client (the official client keeps up to 5 parts in "
        "flight whatever its pool size: 4, plus the oldest it waits for); "
        f"median of {env['runs']} runs. WAN emulation: {env['wan']}. "
        f"The machine was shared with other work (load average at the end: {env['load']}), so "
        "runs vary; every run is shown.",
        "",
        f"Command: `{command}`",
        "",
        "| scenario | transfer | client | runs (s) | median (s) | MB/s | peak RSS (MiB) | "
        "CPU (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    throughput: dict[tuple[str, str, str], float] = {}
    if disk_rates:
        disk = _median(disk_rates)
        runs = " / ".join(f"{size_mib * MiB / 1e6 / rate:.2f}" for rate in disk_rates)
        lines.append(
            f"| disk | dd conv=fsync | dd | {runs} | {size_mib * MiB / 1e6 / disk:.2f} | "
            f"{disk:,.0f} | - | - |"
        )
        for scenario in ("loopback", "wan"):
            throughput[(scenario, "upload", "disk")] = disk
    ours_rss: dict[tuple[str, str], float] = {}
    for scenario in ("loopback", "wan"):
        for direction in ("upload", "download"):
            for client in results:
                measures: list[Measure] = getattr(client, direction)
                if client.scenario != scenario or not measures:
                    continue
                median = Measure(
                    _median([m.seconds for m in measures]),
                    _median([m.cpu for m in measures]),
                    max(m.rss_mib for m in measures),
                )
                rate = _throughput(size_mib, median.seconds)
                throughput[(scenario, direction, client.name)] = rate
                if client.name == "ours":
                    ours_rss[(scenario, direction)] = median.rss_mib
                # Ours reports the official version number it is compatible with: name it instead.
                version = "sevenbridges-toolkit" if client.name == "ours" else client.version
                label = client.name + (f" ({version})" if version else "")
                runs = " / ".join(f"{m.seconds:.2f}" for m in measures)
                lines.append(
                    f"| {scenario} | {direction} | {label} | {runs} | {median.seconds:.2f} | "
                    f"{rate:,.0f} | {median.rss_mib:.0f} | {median.cpu:.2f} |"
                )
    lines.append("")
    for client in results:
        if client.failures:
            lines.append(
                f"- {client.scenario} {client.name}: {len(client.failures)} round trip(s) "
                f"failed and were repeated: {'; '.join(sorted(set(client.failures)))}."
            )
    for (scenario, direction), goals in GOALS.items():
        ours = throughput.get((scenario, direction, "ours"))
        if ours is None:
            continue
        for reference, goal in goals:
            other = throughput.get((scenario, direction, reference))
            if other is None:
                continue
            ratio = ours / other
            verdict = "goal met" if ratio >= goal else (
                f"goal missed by {(goal - ratio) / goal:.0%}"
            )
            what = f"the {reference} client"
            if reference == "disk":
                what = "the disk's fsync write rate"
            lines.append(
                f"- {scenario} {direction}: ours is {ratio:.2f}x {what} "
                f"(goal >= {goal}x: {verdict})."
            )
    for (scenario, direction), rss in ours_rss.items():
        verdict = "goal met" if rss < GOAL_PEAK_RSS_MIB else "goal missed"
        lines.append(
            f"- {scenario} {direction}: our peak RSS {rss:.0f} MiB (goal < {GOAL_PEAK_RSS_MIB} "
            f"MiB with {env['workers']} parts in flight: {verdict})."
        )
    return "\n".join(lines)


def write_section(body: str) -> None:
    text = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else "# Benchmarks\n"
    block = f"{SECTION_START}\n{body}\n{SECTION_END}"
    if SECTION_START in text and SECTION_END in text:
        before = text.split(SECTION_START, 1)[0]
        after = text.split(SECTION_END, 1)[1]
        text = before + block + after
    else:
        intro = textwrap.fill(
            "`benchmarks/transfer.py` uploads a file and downloads it back (MD5 checked) with "
            "each client against one local platform (API and data plane in one server process "
            "on this machine, so the server competes with the client for the CPUs). The Python "
            "clients' times cover the whole `api.files.upload(...)` / `file.download(...)` call "
            "(interpreter start-up and imports excluded); curl's upload time covers init, its "
            "single `PUT`, report and complete, its download time the single `GET`. Peak RSS is "
            "`VmHWM` of the client process. Dirty pages are written out (`sync`) before each "
            "timed transfer.",
            width=100,
        )
        text = (
            text.rstrip("\n")
            + "\n\n## Transfers: our client vs the official client vs curl\n\n"
            + intro
            + "\n\n"
            + block
            + "\n"
        )
    RESULTS_FILE.write_text(text)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--ours-python", default=str(REPO_ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--official-python",
                        default=str(REPO_ROOT / ".venv-official" / "bin" / "python"))
    parser.add_argument("--work-dir", default=None, help="where the payload and platform live")
    parser.add_argument("--wan-latency-ms", type=int, default=20)
    parser.add_argument("--wan-bandwidth-mbps", type=int, default=200)
    parser.add_argument("--scenarios", default="loopback,wan",
                        help="comma-separated: loopback, wan")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.scenarios = set(args.scenarios.split(","))
    results, disk_rates, env = benchmark(args)
    shown = [arg for arg in argv if arg != "--work-dir" and not arg.startswith("/")]
    command = shlex.join([".venv/bin/python", "benchmarks/transfer.py", *shown])
    table = render(results, disk_rates, env, command)
    print()
    print(table)
    if args.write:
        write_section(table)
        print(f"\nwrote {RESULTS_FILE.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

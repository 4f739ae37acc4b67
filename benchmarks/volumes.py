"""Volume imports and exports against moto's S3 server on loopback.

Starts moto (``moto_server``, authentication off) and a local platform pointed at it, then times
with our client:

- importing N small objects (one prefix import) and exporting N small files (bulk exports);
- importing and exporting one big object (multipart export).

Usage::

    .venv/bin/python benchmarks/volumes.py                 # 1,000 objects of 1 KiB, 1 GiB
    .venv/bin/python benchmarks/volumes.py --objects 200 --big-mib 64

Prints objects/s and MB/s. The big object is generated with random bytes into a temporary
directory (the upload to the platform is not timed). For comparison it also times boto3 alone
against the same moto (small PUTs, and the big object's multipart PUT and GET), and samples the
platform server's resident memory during the big export (peak RSS).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

import sevenbridges as sbg
from sevenbridges_local.embedded import EmbeddedServer

KEY_ID, SECRET, REGION = "bench", "bench-secret", "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=open(log, "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto did not start; see {log}")
            time.sleep(0.2)


def rss_mib(pid: int) -> float:
    """The process's resident memory now (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's RSS every 50 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self._done.wait(0.05)

    def __enter__(self) -> PeakRss:
        self.before = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


def wait(job, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while job.state not in ("COMPLETED", "FAILED"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{job} did not finish")
        time.sleep(0.1)
        job.reload()
    if job.state == "FAILED":
        raise RuntimeError(f"{job} failed: {job.error}")


def wait_all(api: sbg.Api, jobs: list, timeout: float = 3600) -> None:
    """Polls exports 100 at a time (bulk get) until none is pending or running."""
    deadline = time.monotonic() + timeout
    pending = [job.id for job in jobs]
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} exports did not finish")
        still = []
        for start in range(0, len(pending), 100):
            for record in api.exports.bulk_get(pending[start : start + 100]):
                if record.resource.state == "FAILED":
                    raise RuntimeError(f"{record.resource} failed: {record.resource.error}")
                if record.resource.state != "COMPLETED":
                    still.append(record.resource.id)
        pending = still
        if pending:
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--object-bytes", type=int, default=1024)
    parser.add_argument("--big-mib", type=int, default=1024)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sbg-volume-bench-"))
    moto, moto_url = start_moto(work / "moto.log")
    server = EmbeddedServer(
        work / "platform",
        settings={"s3_endpoint_url": moto_url, "volume_presigned_downloads": False},
        rate_limit=1_000_000,  # thousands of calls: the default 1,000 per 5 minutes would stop it
    )
    server.start()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto_url,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket="bench")
        payload = os.urandom(args.object_bytes)
        started = time.perf_counter()
        for number in range(args.objects):
            s3.put_object(Bucket="bench", Key=f"small/{number:05}.bin", Body=payload)
        took = time.perf_counter() - started
        print(f"raw boto3: {args.objects} PUTs: {took:.2f} s, {args.objects / took:.1f} objects/s")
        api = sbg.Api(url=server.url, token=server.token("bencher"))
        group = api.billing_groups.query()[0]
        project = api.projects.create(name="volume bench", billing_group=group.id)
        volume = api.volumes.create_s3_volume(
            name="bench",
            bucket="bench",
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            access_mode="RW",
        )
        started = time.perf_counter()
        job = api.imports.submit_import(volume, "small/", project=project)
        wait(job)
        took = time.perf_counter() - started
        print(f"import {args.objects} objects: {took:.2f} s, {args.objects / took:.1f} objects/s")

        # Aliases cannot be exported: export platform files of the same size instead.
        small = work / "small.bin"
        small.write_bytes(payload)
        # One upload, then copies (they share its content): uploading 1,000 files one by one
        # would take longer than everything measured here.
        first = api.files.upload(str(small), project=project, file_name="s00000.bin").result()
        platform_files = [first] + [
            first.copy(project=project.id, name=f"s{number:05}.bin")
            for number in range(1, args.objects)
        ]
        started = time.perf_counter()
        jobs = []
        for start in range(0, len(platform_files), 100):
            chunk = platform_files[start : start + 100]
            records = api.exports.bulk_submit(
                [{"file": f, "volume": volume, "location": f"out/{f.name}"} for f in chunk],
                copy_only=True,
            )
            jobs.extend(record.resource for record in records)
        wait_all(api, jobs)
        took = time.perf_counter() - started
        print(f"export {len(jobs)} files: {took:.2f} s, {len(jobs) / took:.1f} objects/s")

        big = work / "big.bin"
        with open(big, "wb") as out:
            for _ in range(args.big_mib):
                out.write(os.urandom(1024 * 1024))
        size_mb = args.big_mib * 1024 * 1024 / 1e6
        # boto3 alone, with the platform's part size and one part at a time (as the export).
        transfer = TransferConfig(
            multipart_threshold=64 * 1024 * 1024,
            multipart_chunksize=32 * 1024 * 1024,
            max_concurrency=1,
            use_threads=False,
        )
        started = time.perf_counter()
        s3.upload_file(str(big), "bench", "raw/big.bin", Config=transfer)
        took = time.perf_counter() - started
        rate = size_mb / took
        print(f"raw boto3: multipart PUT of {args.big_mib} MiB: {took:.2f} s, {rate:.1f} MB/s")
        started = time.perf_counter()
        s3.download_file("bench", "raw/big.bin", str(work / "raw-back.bin"), Config=transfer)
        took = time.perf_counter() - started
        print(f"raw boto3: GET of {args.big_mib} MiB: {took:.2f} s, {size_mb / took:.1f} MB/s")
        s3.delete_object(Bucket="bench", Key="raw/big.bin")
        (work / "raw-back.bin").unlink()
        uploaded = api.files.upload(str(big), project=project, file_name="big.bin").result()
        assert server.pid is not None
        with PeakRss(server.pid) as memory:
            started = time.perf_counter()
            export = api.exports.submit_export(uploaded, volume, "big/big.bin", copy_only=True)
            wait(export)
            took = time.perf_counter() - started
        print(f"export {args.big_mib} MiB: {took:.2f} s, {size_mb / took:.1f} MB/s")
        print(
            f"server RSS during that export: {memory.before:.0f} MiB before, "
            f"{memory.peak:.0f} MiB peak"
        )
        started = time.perf_counter()
        job = api.imports.submit_import(volume, "big/big.bin", project=project, name="back.bin")
        wait(job)
        took = time.perf_counter() - started
        print(f"import {args.big_mib} MiB (an alias: no bytes copied): {took:.2f} s")
        started = time.perf_counter()
        job.result.download(str(work / "back.bin"))
        took = time.perf_counter() - started
        print(f"download of the {args.big_mib} MiB alias: {took:.2f} s, {size_mb / took:.1f} MB/s")
    finally:
        server.stop()
        moto.terminate()
        moto.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ctrl-C during a library transfer, in a real process: the parts in flight stop, the process
ends with one KeyboardInterrupt and one traceback, the log says how to resume, and the same
call made again resumes from the parts already stored."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sevenbridges as sbg
from sevenbridges_local.embedded import EmbeddedServer

from .test_upload import set_faults

MIB = 1024 * 1024
PART = 5 * MIB
PARTS = 6

# One part at a time (and a slowed data plane below), so that a Ctrl-C after the first part
# always finds parts still to do, however loaded the machine is.
SCRIPT = """
import logging, sys
import sevenbridges as sbg

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
url, token, mode, ident, path = sys.argv[1:6]
api = sbg.Api(url=url, token=token, upload_max_workers=1, download_max_workers=1)
if mode == "upload":
    upload = api.files.upload(path, project=ident, part_size=PART, wait=True)
    print("status", upload.status, upload.resumed_parts, flush=True)
    print("file", upload.result().id, flush=True)
else:
    api.files.get(ident).download(path=path, chunk_size=PART, overwrite=True)
    print("downloaded", flush=True)
""".replace("PART", str(PART))


@pytest.fixture
def server(platform: EmbeddedServer) -> EmbeddedServer:
    # The shared platform: the only switch used (transfer_delay_ms) is put back in a finally.
    return platform


def _journal_parts(home: Path) -> int:
    """Part records in the (single) resume journal under HOME."""
    journals = list((home / ".sevenbridges" / "transfers").glob("*"))
    if not journals:
        return 0
    return max(0, len(journals[0].read_text().splitlines()) - 1)


def _run(server, token, home: Path, script: Path, *arguments: str, interrupt_after: int = 0):
    environment = dict(os.environ, HOME=str(home))
    process = subprocess.Popen(
        [sys.executable, str(script), server.url, token, *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if interrupt_after:
        deadline = time.monotonic() + 120
        while _journal_parts(home) < interrupt_after:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def _assert_one_clean_interrupt(returncode: int, stderr: str, what: str) -> None:
    assert returncode != 0
    assert stderr.count("Traceback") == 1, stderr
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    assert stderr.count("KeyboardInterrupt") == 1, stderr
    assert f"{what} interrupted" in stderr and "the same call again resumes it" in stderr
    assert " failed" not in stderr  # the transfer did not end as a failure


def test_ctrl_c_during_files_upload_keeps_it_resumable(server, tmp_path: Path) -> None:
    user = "interrupt-up"
    token = server.token(user)
    api = sbg.Api(url=server.url, token=token)
    group = api.billing_groups.query()[0]
    project = api.projects.create(name="interrupted", billing_group=group.id)
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "transfer.py"
    script.write_text(SCRIPT)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(PARTS * PART))

    set_faults(server, transfer_delay_ms=300)
    try:
        returncode, stdout, stderr = _run(
            server, token, home, script, "upload", project.id, str(big), interrupt_after=1
        )
    finally:
        set_faults(server, transfer_delay_ms=0)
    _assert_one_clean_interrupt(returncode, stderr, "upload big.bin")
    assert "status" not in stdout
    assert 1 <= _journal_parts(home) < PARTS  # the resume record stayed

    returncode, stdout, stderr = _run(server, token, home, script, "upload", project.id, str(big))
    assert returncode == 0, stderr
    status_line = next(line for line in stdout.splitlines() if line.startswith("status"))
    _, status, resumed = status_line.split()
    assert status == "COMPLETED" and int(resumed) >= 1
    file_id = stdout.split("file ", 1)[1].strip()
    back = tmp_path / "back.bin"
    api.files.get(file_id).download(path=str(back))
    assert hashlib.md5(back.read_bytes()).digest() == hashlib.md5(big.read_bytes()).digest()


def test_ctrl_c_during_file_download_keeps_it_resumable(server, tmp_path: Path) -> None:
    user = "interrupt-down"
    token = server.token(user)
    api = sbg.Api(url=server.url, token=token)
    group = api.billing_groups.query()[0]
    project = api.projects.create(name="interrupted", billing_group=group.id)
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(PARTS * PART))
    uploaded = api.files.upload(str(source), project=project.id, wait=True).result()
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "transfer.py"
    script.write_text(SCRIPT)
    target = tmp_path / "copy.bin"

    set_faults(server, transfer_delay_ms=300)
    try:
        returncode, stdout, stderr = _run(
            server, token, home, script, "download", uploaded.id, str(target), interrupt_after=1
        )
    finally:
        set_faults(server, transfer_delay_ms=0)
    _assert_one_clean_interrupt(returncode, stderr, "download copy.bin")
    assert not target.exists()  # never a partial file under the target name
    assert 1 <= _journal_parts(home) < PARTS

    returncode, stdout, stderr = _run(
        server, token, home, script, "download", uploaded.id, str(target)
    )
    assert returncode == 0 and "downloaded" in stdout, stderr
    assert target.read_bytes() == source.read_bytes()
    assert _journal_parts(home) == 0

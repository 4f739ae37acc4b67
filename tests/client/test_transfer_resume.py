"""Pausing, resuming, and continuing transfers after the client process died or the platform
restarted. Runs on a private platform (restarts and fault switches)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sevenbridges as sbg
from sevenbridges.models.enums import TransferState
from sevenbridges.transfer.download import Download, temporary_path
from sevenbridges.transfer.upload import Upload

from .test_upload import (
    PART,
    faults,
    home,
    md5,
    new_project,
    platform_content,
    set_faults,
    signed_url,
    transfer_states,
    write_file,
)

__all__ = ["home"]  # the autouse fixture giving every test a private HOME


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from sevenbridges_local.embedded import EmbeddedServer

    with EmbeddedServer(tmp_path_factory.mktemp("resume-platform")) as private:
        yield private


@pytest.fixture
def api(server, new_username) -> sbg.Api:
    return sbg.Api(url=server.url, token=server.token(new_username("resumer")))


@pytest.fixture
def project(api) -> str:
    return new_project(api)


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# --------------------------------------------------------------------------- pause and resume


def parts_done_into(seen: list[int]):
    """A progress callback noting each new count of finished parts (progress also comes in
    between parts, every 1% or second, without a new count)."""

    def note(progress) -> None:
        if progress.parts_done > (seen[-1] if seen else 0):
            seen.append(progress.parts_done)

    return note


def test_pause_and_resume_an_upload(server, api, project, tmp_path):
    data = write_file(tmp_path / "pausing.bin", 3 * PART + 1, seed=41)
    upload = Upload(str(tmp_path / "pausing.bin"), project=project, part_size=PART, api=api,
                    max_workers=1)
    parts_seen: list[int] = []
    upload.add_progress_callback(parts_done_into(parts_seen))

    with faults(server, transfer_delay_ms=200):
        upload.start()
        wait_for(lambda: len(parts_seen) >= 1)
        upload.pause()
        assert upload.status == TransferState.PAUSED
        time.sleep(1.0)  # the part in flight (if any) finishes; no new part may start
        paused_at = upload.bytes_done
        parts_while_paused = len(parts_seen)
        time.sleep(1.0)
        assert upload.bytes_done == paused_at
        assert len(parts_seen) == parts_while_paused < 4
        upload.resume()
        assert upload.status == TransferState.RUNNING
        upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert parts_seen == [1, 2, 3, 4]
    assert md5(platform_content(api, upload.result().id)) == md5(data)


def test_pause_and_resume_a_download(server, api, project, tmp_path):
    data = write_file(tmp_path / "src.bin", 3 * PART, seed=42)
    source = Upload(str(tmp_path / "src.bin"), project=project, part_size=PART, api=api)
    source.start()
    source.wait()
    target = tmp_path / "paused.bin"
    download = Download(signed_url(api, source.result().id), str(target), part_size=PART,
                        api=api, max_workers=1)
    parts_seen: list[int] = []
    download.add_progress_callback(parts_done_into(parts_seen))

    with faults(server, transfer_delay_ms=200):
        download.start()
        wait_for(lambda: len(parts_seen) >= 1)
        download.pause()
        time.sleep(1.0)
        paused_at = download.bytes_done
        time.sleep(1.0)
        assert download.bytes_done == paused_at < len(data)
        assert not target.exists()
        download.resume()
        download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert parts_seen == [1, 2, 3]
    assert target.read_bytes() == data


# --------------------------------------------------------------------------- a killed client

_CHILD = textwrap.dedent(
    """
    import sys
    import sevenbridges as sbg
    from sevenbridges.transfer.download import Download, temporary_path
    from sevenbridges.transfer.upload import Upload

    kind, url, token, source, destination, part_size = sys.argv[1:7]
    api = sbg.Api(url=url, token=token)
    if kind == "upload":
        transfer = Upload(source, project=destination, part_size=int(part_size), api=api,
                          max_workers=1)
    else:
        transfer = Download(source, destination, part_size=int(part_size), api=api,
                            max_workers=1)
    def report(progress):
        if progress.parts_done:  # calls between parts (every 1% or second) have nothing new
            print("PART", progress.parts_done, getattr(transfer, "upload_id", ""), flush=True)

    transfer.add_progress_callback(report)
    transfer.start()
    transfer.wait()
    print("END", transfer.status, flush=True)
    """
)


def kill_after_first_part(server, api: sbg.Api, kind: str, source: str, destination: str
                          ) -> str:
    """Run a transfer in a child process and SIGKILL it once a part is done; returns the
    child's upload id (empty for downloads)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind, server.url, api.token, source, destination,
         str(PART)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("PART 1"), line + child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    fields = line.split()
    return fields[2] if len(fields) > 2 else ""


def test_an_upload_killed_mid_way_continues_in_a_new_process(server, api, project, tmp_path,
                                                              home):
    path = tmp_path / "killed.bin"
    data = write_file(path, 4 * PART + 17, seed=43)

    with faults(server, transfer_delay_ms=400):
        child_upload_id = kill_after_first_part(server, api, "upload", str(path), project)
    assert child_upload_id
    assert len(transfer_states(home)) == 1  # the dead process left its journal
    held = api.get(f"/upload/multipart/{child_upload_id}", params={"list_parts": "true"}).json()
    assert len(held["parts"]) >= 1

    upload = Upload(str(path), project=project, part_size=PART, api=api)
    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.upload_id == child_upload_id  # the same server-side upload, continued
    assert upload.resumed_parts >= 1
    assert md5(platform_content(api, upload.result().id)) == md5(data)
    assert transfer_states(home) == []


def test_a_download_killed_mid_way_continues_in_a_new_process(server, api, project, tmp_path,
                                                              home):
    data = write_file(tmp_path / "src.bin", 4 * PART + 17, seed=44)
    source = Upload(str(tmp_path / "src.bin"), project=project, part_size=PART, api=api)
    source.start()
    source.wait()
    file_id = source.result().id
    target = tmp_path / "killed.bin"

    with faults(server, transfer_delay_ms=400):
        kill_after_first_part(server, api, "download", signed_url(api, file_id), str(target))
    assert not target.exists()  # never a partial file under the target name

    download = Download(signed_url(api, file_id), str(target), part_size=PART, api=api)
    assert os.path.exists(download.temporary_file)
    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.resumed_parts >= 1
    assert download.retries == 0
    assert md5(target.read_bytes()) == md5(data)
    assert not os.path.exists(download.temporary_file)
    assert transfer_states(home) == []


def test_a_download_journal_from_before_a_reboot_is_not_trusted(server, api, project,
                                                                 tmp_path, home):
    """Written parts are journaled before they reach the disk: after an OS crash the journal
    may list parts whose bytes were lost, so a journal from another boot starts over."""
    data = write_file(tmp_path / "src.bin", 2 * PART + 5, seed=51)
    source = Upload(str(tmp_path / "src.bin"), project=project, part_size=PART, api=api)
    source.start()
    source.wait()
    file_id = source.result().id
    target = tmp_path / "rebooted.bin"
    with faults(server, transfer_delay_ms=400):
        kill_after_first_part(server, api, "download", signed_url(api, file_id), str(target))
    journal = next((home / ".sevenbridges" / "transfers").iterdir())
    lines = journal.read_text().splitlines()
    header = json.loads(lines[0])
    header["boot_id"] = "an-earlier-boot"
    journal.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    # What a crash could leave: the journaled part's bytes never reached the disk.
    with open(temporary_path(str(target)), "r+b") as temporary:
        temporary.write(bytes(PART))

    download = Download(signed_url(api, file_id), str(target), part_size=PART, api=api)
    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.resumed_parts == 0
    assert target.read_bytes() == data


def test_a_journal_for_an_upload_the_platform_forgot_starts_over(server, api, project,
                                                                 tmp_path, home):
    path = tmp_path / "forgotten.bin"
    data = write_file(path, 2 * PART + 1, seed=45)
    with faults(server, transfer_delay_ms=400):
        old_id = kill_after_first_part(server, api, "upload", str(path), project)
    api.delete(f"/upload/multipart/{old_id}")  # aborted meanwhile, e.g. by another client

    upload = Upload(str(path), project=project, part_size=PART, api=api)
    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.upload_id != old_id
    assert upload.resumed_parts == 0
    assert md5(platform_content(api, upload.result().id)) == md5(data)
    assert transfer_states(home) == []


def test_a_file_changed_after_the_kill_is_uploaded_afresh(server, api, project, tmp_path):
    path = tmp_path / "changed.bin"
    write_file(path, 2 * PART + 1, seed=46)
    with faults(server, transfer_delay_ms=400):
        old_id = kill_after_first_part(server, api, "upload", str(path), project)
    new_data = write_file(path, 2 * PART + 1, seed=47)  # same size, other bytes, new mtime
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))

    upload = Upload(str(path), project=project, part_size=PART, api=api)
    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.upload_id != old_id
    assert md5(platform_content(api, upload.result().id)) == md5(new_data)


def test_parts_stored_but_not_matching_the_local_bytes_are_sent_again(server, api, project,
                                                                      tmp_path):
    """The kill left parts on the server; the journal is lost and the local bytes changed in
    place with the same size and mtime: only the MD5 comparison can tell."""
    path = tmp_path / "sneaky.bin"
    write_file(path, 2 * PART + 1, seed=48)
    before = os.stat(path)
    with faults(server, transfer_delay_ms=400):
        kill_after_first_part(server, api, "upload", str(path), project)
    journals = list((Path(os.environ["HOME"]) / ".sevenbridges" / "transfers").iterdir())
    header = journals[0].read_text().splitlines()[0]
    journals[0].write_text(header + "\n")  # the records of reported parts are gone
    new_data = write_file(path, 2 * PART + 1, seed=49)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    upload = Upload(str(path), project=project, part_size=PART, api=api)
    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.resumed_parts == 0  # the stored part did not match: sent again
    assert md5(platform_content(api, upload.result().id)) == md5(new_data)


# --------------------------------------------------------------------------- a restarted server


def test_an_upload_survives_a_platform_restart(server, api, project, tmp_path):
    data = write_file(tmp_path / "restart.bin", 4 * PART, seed=50)
    upload = Upload(str(tmp_path / "restart.bin"), project=project, part_size=PART, api=api,
                    max_workers=1)
    first_part = threading.Event()
    upload.add_progress_callback(lambda progress: progress.parts_done and first_part.set())

    set_faults(server, transfer_delay_ms=300)
    upload.start()
    assert first_part.wait(60)
    server.restart()  # fault switches live in memory: the restarted server has no delay
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert md5(platform_content(api, upload.result().id)) == md5(data)

"""Transfers under injected faults: dropped connections, corrupted parts, expired signed URLs,
stopping mid-transfer. Runs on the shared platform: every switch is set through ``faults``,
which puts it back even when the test fails, and a worker runs one test at a time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import sevenbridges as sbg
from sevenbridges.errors import NotFound, SbgError
from sevenbridges.models.enums import TransferState
from sevenbridges.transfer.download import Download
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


@pytest.fixture
def server(platform):
    return platform


@pytest.fixture
def api(server, new_username) -> sbg.Api:
    return sbg.Api(url=server.url, token=server.token(new_username("faulty")))


@pytest.fixture
def project(api) -> str:
    return new_project(api)


def upload_file(api: sbg.Api, project: str, path: Path, **kwargs) -> Upload:
    upload = Upload(str(path), project=project, part_size=PART, api=api, **kwargs)
    upload.start()
    upload.wait()
    return upload


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# --------------------------------------------------------------------------- dropped connections


def test_upload_survives_dropped_connections(server, api, project, tmp_path):
    data = write_file(tmp_path / "drop.bin", 2 * PART + 99, seed=21)

    with faults(server, drop_transfers=2):
        upload = upload_file(api, project, tmp_path / "drop.bin", max_workers=1)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.retries >= 2
    assert md5(platform_content(api, upload.result().id)) == md5(data)


def test_download_survives_dropped_connections(server, api, project, tmp_path):
    data = write_file(tmp_path / "src.bin", 2 * PART + 99, seed=22)
    uploaded = upload_file(api, project, tmp_path / "src.bin")
    assert uploaded.status == TransferState.COMPLETED, uploaded.error
    target = tmp_path / "dropped.bin"
    download = Download(signed_url(api, uploaded.result().id), str(target), part_size=PART,
                        api=api, max_workers=1)

    with faults(server, drop_transfers=2):
        download.start()
        download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.retries >= 2
    assert md5(target.read_bytes()) == md5(data)


# --------------------------------------------------------------------------- corruption


def test_a_corrupted_part_is_detected_and_sent_again(server, api, project, tmp_path):
    data = write_file(tmp_path / "corrupt.bin", 2 * PART + 5, seed=23)

    with faults(server, corrupt_parts=1):
        upload = upload_file(api, project, tmp_path / "corrupt.bin", max_workers=1)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.retries == 1
    assert md5(platform_content(api, upload.result().id)) == md5(data)


def test_parts_corrupted_every_time_fail_clearly(server, api, project, tmp_path, home):
    write_file(tmp_path / "always.bin", 1000, seed=24)

    with faults(server, corrupt_parts=100):
        upload = upload_file(api, project, tmp_path / "always.bin", retry_count=2)

    assert upload.status == TransferState.FAILED
    assert upload.retries == 2
    message = str(upload.error)
    assert "failed after 3 attempts" in message and "checksum mismatch" in message
    assert upload.result() is None
    assert api.get("/files", params={"project": project}).json()["items"] == []


# --------------------------------------------------------------------------- expired signed URLs


def test_upload_fetches_new_urls_when_they_expire(server, api, project, tmp_path):
    data = write_file(tmp_path / "expiring.bin", PART + 3, seed=25)
    upload = Upload(str(tmp_path / "expiring.bin"), project=project, part_size=PART, api=api,
                    retry_count=10)

    with faults(server, signed_url_ttl=0):  # every URL handed out is already expired
        upload.start()
        wait_for(lambda: upload.retries >= 1)
        set_faults(server, signed_url_ttl=3600)
        upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert md5(platform_content(api, upload.result().id)) == md5(data)


def test_download_refreshes_an_expired_url(server, api, project, tmp_path):
    data = write_file(tmp_path / "src.bin", PART + 3, seed=26)
    uploaded = upload_file(api, project, tmp_path / "src.bin")
    file_id = uploaded.result().id
    with faults(server, signed_url_ttl=0):
        expired = signed_url(api, file_id)
    target = tmp_path / "refreshed.bin"

    download = Download(expired, str(target), api=api,
                        refresh_url=lambda: signed_url(api, file_id))
    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.url_refreshes == 1
    assert download.url != expired
    assert target.read_bytes() == data


def test_download_url_expiring_mid_transfer_is_refreshed(server, api, project, tmp_path):
    data = write_file(tmp_path / "src.bin", 3 * PART, seed=27)
    uploaded = upload_file(api, project, tmp_path / "src.bin")
    file_id = uploaded.result().id
    target = tmp_path / "mid.bin"
    download = Download(signed_url(api, file_id), str(target), part_size=PART, api=api,
                        max_workers=1, refresh_url=lambda: signed_url(api, file_id))
    first_part = threading.Event()
    url_expired = threading.Event()

    def expire_after_first_part(progress) -> None:
        if progress.parts_done and not first_part.is_set():
            first_part.set()
            url_expired.wait(30)

    download.add_progress_callback(expire_after_first_part)
    with faults(server, signed_url_ttl=0):
        download.start()
        assert first_part.wait(60)
        # Replace the URL by one that is born expired, as if time had run out.
        download.url = signed_url(api, file_id)
        set_faults(server, signed_url_ttl=3600)
        url_expired.set()
        download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.url_refreshes >= 1
    assert target.read_bytes() == data


def test_an_expired_url_without_a_way_to_refresh_fails_clearly(server, api, project, tmp_path):
    write_file(tmp_path / "src.bin", 100, seed=28)
    uploaded = upload_file(api, project, tmp_path / "src.bin")
    with faults(server, signed_url_ttl=0):
        expired = signed_url(api, uploaded.result().id)

    with pytest.raises(SbgError, match="expired") as raised:
        Download(expired, str(tmp_path / "never.bin"), api=api)

    assert raised.value.status == 403
    assert not (tmp_path / "never.bin").exists()


# --------------------------------------------------------------------------- stopping


def test_stop_mid_upload_aborts_it(server, api, project, tmp_path, home):
    write_file(tmp_path / "stopped.bin", 3 * PART, seed=29)
    upload = Upload(str(tmp_path / "stopped.bin"), project=project, part_size=PART, api=api,
                    max_workers=1)
    callbacks: list[str] = []
    upload.add_callback(callback=lambda status: callbacks.append(status) or "callback result")

    with faults(server, transfer_delay_ms=300):
        upload.start()
        wait_for(lambda: upload.upload_id is not None and upload.bytes_done > 0)
        returned = upload.stop()

    assert upload.status == TransferState.STOPPED
    assert returned == "callback result"
    assert callbacks == [TransferState.STOPPED]
    assert upload.result() is None and upload.error is None
    with pytest.raises(NotFound):
        api.get(f"/upload/multipart/{upload.upload_id}")
    assert api.get("/files", params={"project": project}).json()["items"] == []
    assert transfer_states(home) == []
    with pytest.raises(SbgError, match="STOPPED"):
        upload.resume()


def test_stop_mid_download_leaves_no_file(server, api, project, tmp_path, home):
    write_file(tmp_path / "src.bin", 3 * PART, seed=30)
    uploaded = upload_file(api, project, tmp_path / "src.bin")
    target = tmp_path / "partial.bin"
    download = Download(signed_url(api, uploaded.result().id), str(target), part_size=PART,
                        api=api, max_workers=1)

    with faults(server, transfer_delay_ms=300):
        download.start()
        wait_for(lambda: download.bytes_done > 0)
        download.stop()

    assert download.status == TransferState.STOPPED
    assert not target.exists()
    assert not os.path.exists(download.temporary_file)
    assert transfer_states(home) == []


def test_stop_while_paused(server, api, project, tmp_path):
    write_file(tmp_path / "paused.bin", 2 * PART, seed=31)
    upload = Upload(str(tmp_path / "paused.bin"), project=project, part_size=PART, api=api,
                    max_workers=1)

    with faults(server, transfer_delay_ms=200):
        upload.start()
        upload.pause()
        assert upload.status == TransferState.PAUSED
        upload.stop()

    assert upload.status == TransferState.STOPPED
    assert api.get("/files", params={"project": project}).json()["items"] == []


# ----------------------------------------------------------------- progress over a slow link


def test_progress_comes_between_parts_over_a_slow_link(server, api, project, tmp_path):
    """One part of 3 MB at 1 MB/s (WAN emulation): progress every second, not once per part."""
    data = write_file(tmp_path / "slow.bin", 3_000_000, seed=77)
    uploads: list = []
    downloads: list = []
    with faults(server, wan_bandwidth_mbps=8):
        upload = Upload(str(tmp_path / "slow.bin"), project=project, part_size=PART, api=api)
        upload.add_progress_callback(uploads.append)
        upload.start()
        upload.wait()
        assert upload.status == TransferState.COMPLETED, upload.error
        target = tmp_path / "slow-back.bin"
        download = Download(signed_url(api, upload.result().id), str(target), api=api)
        download.add_progress_callback(downloads.append)
        download.start()
        download.wait()
    assert download.status == TransferState.COMPLETED, download.error
    assert md5(target.read_bytes()) == md5(data)
    for snapshots in (uploads, downloads):
        # A single part: once per part would be one call; about 3 s of transfer give more.
        assert len(snapshots) >= 3
        assert [s.parts_done for s in snapshots[:-1]] == [0] * (len(snapshots) - 1)
        assert snapshots[-1].parts_done == 1 and snapshots[-1].bytes_done == len(data)
    # The download counts bytes as they arrive: its calls show the part filling up.
    assert len({s.bytes_done for s in downloads}) >= 3

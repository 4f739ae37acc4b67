"""The seams users' own test suites patch in the official client keep working with ours."""

from __future__ import annotations

import os
import time
from unittest import mock

import pytest
import requests

import sevenbridges as sbg
from sevenbridges.config import UserProfile
from sevenbridges.http.error_handlers import rate_limit_sleeper
from sevenbridges.transfer.download import Download
from sevenbridges.transfer.upload import Upload
from sevenbridges.transfer.utils import Progress


def test_config_files_are_checked_with_isfile_and_read_once_each(monkeypatch, tmp_path):
    credentials, config = str(tmp_path / "credentials"), str(tmp_path / "config")
    monkeypatch.setattr(UserProfile, "CREDENTIALS", credentials)
    monkeypatch.setattr(UserProfile, "CONFIG", config)
    parser = mock.MagicMock()
    with (
        mock.patch("os.path.isfile", return_value=True) as isfile,
        mock.patch("configparser.ConfigParser", return_value=parser),
    ):
        UserProfile("default")
    assert isfile.call_args_list == [mock.call(credentials), mock.call(config)]
    assert parser.read.call_args_list == [mock.call(credentials), mock.call(config)]


def test_error_handlers_resend_exactly_the_request(platform, admin_token):
    api = sbg.Api(url=platform.url, token=admin_token)
    throttled = requests.Response()
    throttled.status_code = 429
    throttled.headers["X-RateLimit-Reset"] = str(int(time.time()))
    throttled.request = requests.Request("GET", platform.url + "/user").prepare()
    fresh = requests.Response()
    fresh.status_code = 200
    with mock.patch.object(api.session, "send", return_value=fresh) as send:
        assert rate_limit_sleeper(api, throttled) is fresh
    send.assert_called_once_with(throttled.request)


def test_progress_duration_is_seconds_and_bandwidth_mb_per_second():
    progress = Progress(
        num_of_parts=2, parts_done=1, bytes_done=3_000_000, file_size=6_000_000, duration=1.5
    )
    assert progress.duration == 1.5
    assert progress.bandwidth == pytest.approx(2.0)


def test_upload_checks_the_size_with_getsize(platform, admin_token, tmp_path):
    api = sbg.Api(url=platform.url, token=admin_token)
    path = tmp_path / "big.bin"
    path.write_bytes(b"x")
    with mock.patch("os.path.getsize", return_value=6 * 1024**4) as getsize:
        with pytest.raises(sbg.SbgError):
            Upload(str(path), project="admin/no-such-project", api=api)
    getsize.assert_called_with(str(path))


def test_upload_run_called_directly_raises(platform, admin_token, tmp_path):
    api = sbg.Api(url=platform.url, token=admin_token)
    path = tmp_path / "small.txt"
    path.write_bytes(b"hello")
    upload = Upload(str(path), project="admin/no-such-project", api=api)
    with pytest.raises(sbg.SbgError):
        upload.run()
    assert upload.status == sbg.TransferState.FAILED


@pytest.fixture
def downloadable(platform, api_for, new_username, tmp_path, monkeypatch):
    """A small file on the platform, its signed URL, and a private HOME for resume journals."""
    monkeypatch.setenv("HOME", str(tmp_path))
    api = api_for(new_username("seam"))
    project = api.projects.create(name="download seams").id
    source = tmp_path / "source.txt"
    source.write_bytes(b"seam bytes\n" * 100)
    upload = Upload(str(source), project=project, api=api)
    upload.run()
    record = upload.result()
    url = api.get(f"/files/{record.id}/download_info").json()["url"]
    return api, record, url


def test_download_run_raises_when_initialising_fails(downloadable, tmp_path):
    api, _, url = downloadable
    folder = tmp_path / "gone"
    folder.mkdir()
    download = Download(url, str(folder / "out.txt"), api=api, retry_count=0)
    folder.rmdir()  # the temporary file cannot be created any more
    with pytest.raises(sbg.SbgError):
        download.run()
    assert download.status == sbg.TransferState.FAILED


def _wait_until_gone(url: str, deadline_seconds: float = 30.0) -> None:
    """Wait until the signed URL answers 404: deleting a file removes its bytes in durable
    background work, so a link handed out before the delete serves them until then."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        # A one-byte GET, not HEAD: a presigned S3 URL is signed for GET only.
        status = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=10).status_code
        if status == 404:
            return
        assert status == 206, f"the signed URL answered {status} while the bytes were removed"
        assert time.monotonic() < deadline, "the deleted file's bytes were never removed"
        time.sleep(0.05)


def test_download_run_raises_when_a_part_fails(downloadable, tmp_path):
    api, record, url = downloadable
    download = Download(url, str(tmp_path / "out.txt"), api=api, retry_count=0)
    record.delete()  # the size probe saw the file; its part request finds nothing
    _wait_until_gone(url)
    with pytest.raises(sbg.SbgError) as raised:
        download.run()
    assert download.status == sbg.TransferState.FAILED
    assert "404" in str(raised.value) or "not found" in str(raised.value).lower()
    assert not (tmp_path / "out.txt").exists()


def test_download_racing_a_delete_gets_the_bytes_or_a_clear_error(downloadable, tmp_path):
    """No wait this time: whichever wins, the user gets the file's exact bytes or an error."""
    api, record, url = downloadable
    target = tmp_path / "raced.txt"
    download = Download(url, str(target), api=api, retry_count=0)
    record.delete()
    try:
        download.run()
    except sbg.SbgError:
        assert download.status == sbg.TransferState.FAILED
        assert not target.exists()
    else:
        assert target.read_bytes() == (tmp_path / "source.txt").read_bytes()


def test_download_run_raises_when_completing_fails(downloadable, tmp_path):
    api, _, url = downloadable
    target = tmp_path / "out.txt"
    download = Download(url, str(target), api=api, retry_count=0)
    target.mkdir()  # the finished file cannot be renamed onto a directory
    (target / "keep").write_text("x")
    with pytest.raises(sbg.SbgError):
        download.run()
    assert download.status == sbg.TransferState.FAILED
    assert (target / "keep").read_text() == "x"


def test_version_names_the_official_release_and_ours():
    assert sbg.__version__ == "2.11.2"
    assert sbg.__toolkit_version__ and sbg.__toolkit_version__ != sbg.__version__
    assert os.path.basename(sbg.__file__) == "__init__.py"


def test_package_metadata_names_the_official_release_and_ours():
    """The installed distribution's version: public part = the official release we match, local
    label = ours, so version checks on the metadata (``==2.11.2``, ``>=2.11``) keep holding."""
    from importlib.metadata import distribution

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    installed = distribution("sevenbridges-toolkit")
    version = Version(installed.version)
    assert version.public == sbg.__version__
    assert version.local == f"toolkit.{sbg.__toolkit_version__}"
    assert version in SpecifierSet("==2.11.2") and version in SpecifierSet(">=2.11,<2.12")
    # The metadata describes this very package, not a stale install of another checkout.
    assert "sevenbridges" in (installed.read_text("top_level.txt") or "").split()

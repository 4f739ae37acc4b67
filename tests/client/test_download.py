"""``sevenbridges.transfer.download``: parallel ranged downloads against the live local platform."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import sevenbridges as sbg
from sevenbridges.errors import SbgError
from sevenbridges.models.enums import TransferState
from sevenbridges.transfer.download import Download, DPartedFile, temporary_path
from sevenbridges.transfer.upload import Upload
from sevenbridges.transfer.utils import Progress

from .test_upload import PART, home, md5, new_project, signed_url, transfer_states, write_file

__all__ = ["home"]  # the autouse fixture giving every test a private HOME


@pytest.fixture
def api(api_for, new_username) -> sbg.Api:
    return api_for(new_username("downloader"))


def uploaded(api: sbg.Api, tmp_path: Path, size: int, seed: int = 0,
             name: str = "source.bin") -> tuple[str, bytes]:
    """Upload ``size`` random bytes to a new project; returns the file id and the bytes."""
    source = tmp_path / "sources" / name
    source.parent.mkdir(exist_ok=True)
    data = write_file(source, size, seed)
    upload = Upload(str(source), project=new_project(api), part_size=PART, api=api)
    upload.start()
    upload.wait()
    assert upload.status == TransferState.COMPLETED, upload.error
    return upload.result().id, data


def run_download(**kwargs: Any) -> Download:
    download = Download(**kwargs)
    download.start()
    download.wait()
    return download


def test_multipart_download(api, tmp_path, home):
    file_id, data = uploaded(api, tmp_path, 3 * PART + 777, seed=11)
    target = tmp_path / "out.bin"
    download = Download(signed_url(api, file_id), str(target), part_size=PART, api=api,
                        max_workers=4)
    snapshots: list[Progress] = []
    finished: list[str] = []
    download.add_progress_callback(snapshots.append)
    download.add_callback(callback=finished.append)

    assert download.status == TransferState.PREPARING
    assert download.file_size == len(data)  # known from the constructor's probe
    assert not target.exists()
    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert finished == [TransferState.COMPLETED]
    assert md5(target.read_bytes()) == md5(data)
    # A call at each finished part (and possibly more in between: every 1% or second).
    done_counts = [s.parts_done for s in snapshots]
    assert done_counts == sorted(done_counts) and {1, 2, 3, 4} <= set(done_counts)
    assert snapshots[-1].bytes_done == len(data)
    assert download.progress == 100.0
    assert download.bytes_done == len(data)
    assert download.path == str(target)
    assert not os.path.exists(download.temporary_file)
    assert transfer_states(home) == []


def test_a_stale_temporary_file_is_replaced_not_reused(api, tmp_path, home):
    """Leftovers of an earlier attempt that cannot be continued (no journal) are dropped: the
    download starts from a new, empty file (not one truncated to zero, which ext4 would flush
    from close()), and none of the old bytes survive."""
    file_id, data = uploaded(api, tmp_path, 2 * PART + 5, seed=19)
    target = tmp_path / "again.bin"
    stale = Path(temporary_path(str(target)))
    stale.write_bytes(b"\xff" * (3 * PART))  # longer than the file, and not zeros
    stale_inode = stale.stat().st_ino
    keep = tmp_path / "another-name-for-the-stale-file"
    os.link(stale, keep)

    download = run_download(
        url=signed_url(api, file_id), file_path=str(target), part_size=PART, api=api
    )

    assert download.status == TransferState.COMPLETED, download.error
    assert target.read_bytes() == data
    assert target.stat().st_ino != stale_inode
    assert keep.read_bytes() == b"\xff" * (3 * PART)  # the old file was left alone, not reused
    assert not stale.exists()


def test_fsync_before_the_rename(api, tmp_path):
    file_id, data = uploaded(api, tmp_path, PART + 10, seed=18)

    download = run_download(url=signed_url(api, file_id), file_path=str(tmp_path / "synced"),
                            api=api, fsync=True)

    assert download.status == TransferState.COMPLETED, download.error
    assert (tmp_path / "synced").read_bytes() == data


def test_parts_cover_the_file_exactly(api, tmp_path):
    file_id, data = uploaded(api, tmp_path, 2 * PART, seed=12)  # an exact multiple
    download = Download(signed_url(api, file_id), str(tmp_path / "exact.bin"), api=api)

    parted = DPartedFile(download.temporary_file, download.session, download.url,
                         download.file_size, PART, 60, api.download_pool, download=download)
    assert parted.get_parts() == [[0, PART - 1], [PART, 2 * PART - 1]]

    download.start()
    download.wait()
    assert download.status == TransferState.COMPLETED, download.error
    assert (tmp_path / "exact.bin").read_bytes() == data


def test_zero_byte_file(api, tmp_path):
    file_id, _ = uploaded(api, tmp_path, 0)
    target = tmp_path / "empty.out"

    download = run_download(url=signed_url(api, file_id), file_path=str(target), api=api)

    assert download.status == TransferState.COMPLETED, download.error
    assert target.exists() and target.read_bytes() == b""
    assert download.progress == 100.0


def test_single_part_file_smaller_than_a_part(api, tmp_path):
    file_id, data = uploaded(api, tmp_path, 1234, seed=13)

    download = run_download(url=signed_url(api, file_id), file_path=str(tmp_path / "s"), api=api)

    assert download.status == TransferState.COMPLETED, download.error
    assert (tmp_path / "s").read_bytes() == data


def test_target_names_with_spaces_and_unicode(api, tmp_path):
    file_id, data = uploaded(api, tmp_path, 5000, seed=14)
    target = tmp_path / "dossier été" / "résultat 数据 final.bin"
    target.parent.mkdir()

    download = run_download(url=signed_url(api, file_id), file_path=target, api=api)

    assert download.status == TransferState.COMPLETED, download.error
    assert target.read_bytes() == data
    assert os.listdir(target.parent) == [target.name]


def test_an_existing_target_is_replaced_only_when_complete(api, tmp_path):
    file_id, data = uploaded(api, tmp_path, PART + 1, seed=15)
    target = tmp_path / "existing.bin"
    target.write_bytes(b"old content")
    download = Download(signed_url(api, file_id), str(target), api=api)
    seen_during: list[bytes] = []
    download.add_progress_callback(lambda _progress: seen_during.append(target.read_bytes()))

    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert seen_during and all(content == b"old content" for content in seen_during)
    assert target.read_bytes() == data


def test_constructor_checks(api, tmp_path):
    file_id, _ = uploaded(api, tmp_path, 10)
    url = signed_url(api, file_id)

    with pytest.raises(SbgError, match="needs an Api"):
        Download(url, str(tmp_path / "a"))
    with pytest.raises(SbgError, match="at least 5242880"):
        Download(url, str(tmp_path / "a"), part_size=1024, api=api)
    with pytest.raises(SbgError, match="does not exist"):
        Download(url, str(tmp_path / "no such dir" / "a"), api=api)
    with pytest.raises(SbgError, match="is a directory"):
        Download(url, str(tmp_path), api=api)
    with pytest.raises(SbgError, match="needs a URL"):
        Download("", str(tmp_path / "a"), api=api)
    assert not (tmp_path / "a").exists()


def test_a_tampered_url_is_refused_clearly(api, tmp_path):
    file_id, _ = uploaded(api, tmp_path, 10)
    url = signed_url(api, file_id)
    tampered = url.replace("signature=", "signature=00")

    with pytest.raises(SbgError, match="expired or is not valid") as raised:
        Download(tampered, str(tmp_path / "t"), api=api)

    assert raised.value.status == 403
    assert not (tmp_path / "t").exists()


def test_state_errors(api, tmp_path):
    file_id, _ = uploaded(api, tmp_path, 10)
    download = Download(signed_url(api, file_id), str(tmp_path / "d"), api=api)

    for action in (download.pause, download.resume, download.stop):
        with pytest.raises(SbgError, match="PREPARING"):
            action()
    download.start()
    with pytest.raises(SbgError, match="Cannot start"):
        download.start()
    download.wait()
    assert download.status == TransferState.COMPLETED
    with pytest.raises(SbgError, match="COMPLETED"):
        download.resume()


def test_a_vanished_target_directory_fails_clearly(api, tmp_path):
    file_id, _ = uploaded(api, tmp_path, 100)
    directory = tmp_path / "will vanish"
    directory.mkdir()
    download = Download(signed_url(api, file_id), str(directory / "f"), api=api)
    errors: list[Any] = []
    download.add_callback(errorback=errors.append)
    shutil.rmtree(directory)

    download.start()
    download.wait()

    assert download.status == TransferState.FAILED
    assert "No such file or directory" in str(download.error)
    assert errors == [download.error]  # a download's errorback gets the exception
    assert not directory.exists()


# --------------------------------------------------------------------------- a full disk

_DOWNLOAD_SCRIPT = textwrap.dedent(
    """
    import sys
    import sevenbridges as sbg
    from sevenbridges.transfer.download import Download

    url, token, signed, target = sys.argv[1:5]
    api = sbg.Api(url=url, token=token)
    download = Download(signed, target, api=api)
    download.start()
    download.wait()
    print("STATUS", download.status)
    print("ERROR", download.error)
    """
)


def _download_in_subprocess(command_prefix: list[str], api: sbg.Api, platform, file_id: str,
                            target: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command_prefix, sys.executable, "-c", _DOWNLOAD_SCRIPT, platform.url, api.token,
         signed_url(api, file_id), target],
        capture_output=True, text=True, timeout=120, **popen,
    )


def test_a_full_disk_fails_clearly_and_leaves_nothing_behind(api, platform, tmp_path):
    """A 1 MiB tmpfs (mounted in a private user+mount namespace) cannot take a 6 MiB file."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs '{mount_point}'"],
        capture_output=True,
    ) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot mount a private tmpfs here (unshare -rm not permitted)")
    file_id, _ = uploaded(api, tmp_path, PART + 1024 * 1024, seed=16)
    target = mount_point / "big.bin"
    script = (f"mount -t tmpfs -o size=1m tmpfs '{mount_point}' && \"$@\"; "
              f"status=$?; ls -A '{mount_point}'; exit $status")

    result = _download_in_subprocess(["unshare", "-rm", "sh", "-c", script, "sh"], api,
                                     platform, file_id, str(target))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "STATUS FAILED" in lines
    error_line = next(line for line in lines if line.startswith("ERROR"))
    assert "Not enough space" in error_line and "No space left on device" in error_line
    assert lines[-1].startswith("ERROR")  # `ls -A` printed nothing: no temporary file, no target


def test_a_file_size_limit_fails_clearly(api, platform, tmp_path):
    """RLIMIT_FSIZE makes big writes fail with EFBIG, no privileges needed."""
    file_id, _ = uploaded(api, tmp_path, PART + 1024 * 1024, seed=17)
    target = tmp_path / "limited" / "big.bin"
    target.parent.mkdir()

    def limit_file_size() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))

    result = _download_in_subprocess([], api, platform, file_id, str(target),
                                     preexec_fn=limit_file_size)

    assert result.returncode == 0, result.stderr
    assert "STATUS FAILED" in result.stdout
    assert "Not enough space" in result.stdout
    assert os.listdir(target.parent) == []
    assert not os.path.exists(temporary_path(str(target)))


# --------------------------------------------------------------------------- storages without Range
# The platform always honours Range; these cases need a storage that does not, so a minimal
# loopback server stands in for one.


class _WholeBodyOnly(BaseHTTPRequestHandler):
    """Ignores Range: always 200 with the whole body (and Content-Length unless told not to)."""

    protocol_version = "HTTP/1.1"
    body = b""
    send_length = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.send_response(200)
        if self.send_length:
            self.send_header("Content-Length", str(len(self.body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(self.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client's size probe hangs up once it has the headers

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def whole_body_storage() -> Iterator[tuple[str, type[_WholeBodyOnly]]]:
    handler = type("Handler", (_WholeBodyOnly,), {"body": os.urandom(2 * PART + 3)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/object", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_storage_ignoring_range_is_read_in_one_stream(api, tmp_path, whole_body_storage):
    url, handler = whole_body_storage
    target = tmp_path / "whole.bin"
    download = Download(url, str(target), part_size=PART, api=api)
    parts: list[int] = []
    download.add_progress_callback(lambda progress: parts.append(progress.num_of_parts))

    download.start()
    download.wait()

    assert download.status == TransferState.COMPLETED, download.error
    assert download.file_size == len(handler.body)
    assert set(parts) == {1}  # ranges would come back whole: a single part instead of three
    assert target.read_bytes() == handler.body


def test_a_storage_without_content_length_is_refused(api, tmp_path, whole_body_storage):
    url, handler = whole_body_storage
    handler.send_length = False

    with pytest.raises(SbgError, match="Content-Length") as raised:
        Download(url, str(tmp_path / "x"), api=api)

    assert "attempts" not in str(raised.value)  # a broken protocol is not worth retrying

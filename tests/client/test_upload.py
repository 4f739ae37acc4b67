"""``sevenbridges.transfer.upload``: multipart uploads against the live local platform.

Also home of the helpers the other transfer test modules import (files with known content,
reading a platform file back, fault switches of a private platform).
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

import sevenbridges as sbg
from sevenbridges.errors import Conflict, Forbidden, NotFound, SbgError
from sevenbridges.models.enums import TransferState
from sevenbridges.transfer._engine import (
    BLOCK_SIZE,
    ByteCounter,
    PartReader,
    TransferControl,
    adaptive_part_size,
)
from sevenbridges.transfer.upload import CodePackageUpload, UPartedFile, Upload
from sevenbridges.transfer.utils import Part, Progress, simple_progress_bar, total_parts
from sevenbridges_local.embedded import EmbeddedServer

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part size the platform allows


# --------------------------------------------------------------------------- shared helpers


def write_file(path: Path, size: int, seed: int = 0) -> bytes:
    """Write ``size`` pseudo-random bytes to ``path`` and return them."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxies from the environment
    return session


def signed_url(api: sbg.Api, file_id: str) -> str:
    return api.get(f"/files/{file_id}/download_info").json()["url"]


def platform_content(api: sbg.Api, file_id: str) -> bytes:
    """The bytes the platform serves for a file, fetched in one plain GET."""
    with plain_session() as session:
        response = session.get(signed_url(api, file_id), timeout=60)
    assert response.status_code == 200, response.text
    return response.content


def new_project(api: sbg.Api, name: str = "transfers") -> str:
    return api.projects.create(name=name).id


def transfer_states(home: Path) -> list[str]:
    """Resume journals left under ``home``."""
    directory = home / ".sevenbridges" / "transfers"
    return sorted(os.listdir(directory)) if directory.exists() else []


def set_faults(server: EmbeddedServer, **switches: Any) -> dict[str, Any]:
    with plain_session() as session:
        response = session.put(
            f"{server.url}/_local/faults",
            json=switches,
            headers={"X-SBG-Auth-Token": server.token("admin")},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    return response.json()


@contextmanager
def faults(server: EmbeddedServer, **switches: Any) -> Iterator[None]:
    """Turn transfer faults on for the duration of a block, and back off afterwards."""
    set_faults(server, **switches)
    try:
        yield
    finally:
        set_faults(server, signed_url_ttl=3600, drop_transfers=0, corrupt_parts=0,
                   transfer_delay_ms=0, wan_latency_ms=0, wan_bandwidth_mbps=0)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Resume state goes to a private HOME, never the real one."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def api(api_for, new_username) -> sbg.Api:
    return api_for(new_username("uploader"))


@pytest.fixture
def project(api: sbg.Api) -> str:
    return new_project(api)


def run_upload(**kwargs: Any) -> Upload:
    upload = Upload(**kwargs)
    upload.start()
    upload.wait()
    return upload


# --------------------------------------------------------------------------- happy paths


def test_small_file_is_one_part(api, project, tmp_path, home):
    data = write_file(tmp_path / "small.txt", 1000)

    upload = run_upload(file_path=str(tmp_path / "small.txt"), project=project, api=api)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.error is None
    uploaded = upload.result()
    assert isinstance(uploaded, sbg.File)
    assert uploaded.name == "small.txt"
    assert uploaded.size == 1000
    assert uploaded.project == project
    assert platform_content(api, uploaded.id) == data
    assert upload.progress == 100.0
    assert upload.fraction == 1.0
    assert upload.bytes_done == upload.total_bytes == 1000
    assert upload.duration > 0
    assert upload.start_time > 0
    assert upload.file_name == "small.txt"
    assert transfer_states(home) == []  # the resume journal is removed on success


def test_multipart_upload_runs_parts_in_parallel_and_reports_progress(api, project, tmp_path):
    size = 3 * PART + 123_457
    data = write_file(tmp_path / "big.bin", size, seed=1)
    upload = Upload(str(tmp_path / "big.bin"), project=project, part_size=PART, api=api,
                    max_workers=4)
    snapshots: list[Progress] = []
    finished: list[str] = []
    upload.add_progress_callback(snapshots.append)
    upload.add_callback(callback=finished.append)
    assert upload.status == TransferState.PREPARING

    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert finished == [TransferState.COMPLETED]
    # A call at each finished part (and possibly more in between: every 1% or second).
    done_counts = [s.parts_done for s in snapshots]
    assert done_counts == sorted(done_counts) and {1, 2, 3, 4} <= set(done_counts)
    assert all(s.num_of_parts == 4 and s.file_size == size for s in snapshots)
    assert snapshots[-1].bytes_done == size
    assert snapshots[-1].progress == 100.0
    assert upload.part_size == PART
    assert upload.result().size == size
    assert md5(platform_content(api, upload.result().id)) == md5(data)
    assert upload.bandwidth > 0


def test_size_that_is_an_exact_multiple_of_the_part_size(api, project, tmp_path):
    data = write_file(tmp_path / "exact.bin", 2 * PART, seed=2)
    upload = Upload(str(tmp_path / "exact.bin"), project=project, part_size=PART, api=api)
    seen: list[int] = []
    upload.add_progress_callback(lambda progress: seen.append(progress.num_of_parts))

    upload.start()
    upload.wait()

    assert upload.status == TransferState.COMPLETED, upload.error
    assert set(seen) == {2}  # no empty third part
    assert platform_content(api, upload.result().id) == data


def test_zero_byte_file(api, project, tmp_path):
    (tmp_path / "empty").write_bytes(b"")

    upload = run_upload(file_path=str(tmp_path / "empty"), project=project, api=api)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.result().size == 0
    assert platform_content(api, upload.result().id) == b""
    assert upload.progress == 100.0


def test_names_with_spaces_and_unicode(api, project, tmp_path):
    local = tmp_path / "lokal datei ü.txt"
    data = write_file(local, 4096, seed=3)

    default_name = run_upload(file_path=str(local), project=project, api=api)
    chosen = run_upload(file_path=str(local), project=project, api=api,
                        file_name="résumé des données 数据 v2.txt")

    assert default_name.status == TransferState.COMPLETED, default_name.error
    assert default_name.result().name == "lokal datei ü.txt"
    assert chosen.status == TransferState.COMPLETED, chosen.error
    assert chosen.result().name == "résumé des données 数据 v2.txt"
    assert platform_content(api, chosen.result().id) == data


def test_upload_into_a_folder(api, project, tmp_path):
    folder = api.post("/files", data={"name": "inbox", "type": "folder", "project": project})
    folder_id = folder.json()["id"]
    data = write_file(tmp_path / "in-folder.txt", 2048, seed=4)

    upload = run_upload(file_path=str(tmp_path / "in-folder.txt"), parent=folder_id, api=api)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.result().parent == folder_id
    assert upload.result().project == project
    assert platform_content(api, upload.result().id) == data


def test_accepts_project_objects_and_path_objects(api, tmp_path):
    project = api.projects.create(name="as object")
    write_file(tmp_path / "obj.txt", 10)

    upload = run_upload(file_path=tmp_path / "obj.txt", project=project, api=api)

    assert upload.status == TransferState.COMPLETED, upload.error
    assert upload.result().project == project.id


# --------------------------------------------------------------------------- overwrite


def test_existing_name_fails_clearly_without_overwrite(api, project, tmp_path, home):
    write_file(tmp_path / "same.txt", 100, seed=5)
    first = run_upload(file_path=str(tmp_path / "same.txt"), project=project, api=api)
    assert first.status == TransferState.COMPLETED, first.error

    second = run_upload(file_path=str(tmp_path / "same.txt"), project=project, api=api)

    assert second.status == TransferState.FAILED
    assert isinstance(second.error, Conflict)
    assert second.error.status == 409
    assert second.error.message  # the platform's explanation reaches the user
    assert second.result() is None
    assert transfer_states(home) == []


def test_overwrite_replaces_the_content(api, project, tmp_path):
    write_file(tmp_path / "replace.txt", 100, seed=6)
    first = run_upload(file_path=str(tmp_path / "replace.txt"), project=project, api=api)
    assert first.status == TransferState.COMPLETED, first.error
    new_data = write_file(tmp_path / "replace.txt", 300, seed=7)

    second = run_upload(file_path=str(tmp_path / "replace.txt"), project=project, api=api,
                        overwrite=True)

    assert second.status == TransferState.COMPLETED, second.error
    assert second.result().name == "replace.txt"
    assert second.result().size == 300
    assert platform_content(api, second.result().id) == new_data
    listing = api.get("/files", params={"project": project, "name": "replace.txt"}).json()
    assert len(listing["items"]) == 1


# --------------------------------------------------------------------------- bad input


def test_constructor_checks(api, project, tmp_path):
    write_file(tmp_path / "ok.txt", 10)
    ok = str(tmp_path / "ok.txt")

    with pytest.raises(SbgError, match="exactly one destination"):
        Upload(ok, api=api)
    with pytest.raises(SbgError, match="exactly one destination"):
        Upload(ok, project=project, parent="abc", api=api)
    with pytest.raises(SbgError, match="No such file"):
        Upload(str(tmp_path / "missing.txt"), project=project, api=api)
    with pytest.raises(SbgError, match="not a regular file"):
        Upload(str(tmp_path), project=project, api=api)
    with pytest.raises(SbgError, match="needs an Api"):
        Upload(ok, project=project)
    with pytest.raises(SbgError, match="maximum part size"):
        Upload(ok, project=project, api=api, part_size=6 * 1024**3)
    with pytest.raises(SbgError, match="path"):
        Upload("", project=project, api=api)
    with pytest.raises(SbgError, match="max_workers"):
        Upload(ok, project=project, api=api, max_workers=0)


def test_small_part_sizes_are_raised_to_the_platform_minimum(api, project, tmp_path):
    write_file(tmp_path / "p.bin", PART + 10)

    upload = Upload(str(tmp_path / "p.bin"), project=project, api=api, part_size=1024)

    assert upload.part_size == PART


def test_the_default_part_size_grows_with_the_file(api, project, tmp_path):
    mib, gib = 1024**2, 1024**3
    assert [adaptive_part_size(size) for size in (0, 64 * mib, gib, 100 * gib, 1024 * gib)] == [
        5 * mib, 8 * mib, 32 * mib, 320 * mib, gib
    ]
    largest = adaptive_part_size(5 * 1024 * gib)
    assert largest <= 5 * gib and -(-5 * 1024 * gib // largest) <= 10_000
    # What an upload asks for by default (a sparse file: no disk space needed).
    with open(tmp_path / "huge.bin", "wb") as sparse:
        sparse.truncate(100 * gib)
    assert Upload(str(tmp_path / "huge.bin"), project=project, api=api).part_size == 320 * mib
    # An explicit part size is still taken as given.
    huge = Upload(str(tmp_path / "huge.bin"), project=project, api=api, part_size=64 * mib)
    assert huge.part_size == 64 * mib


def test_state_errors(api, project, tmp_path):
    write_file(tmp_path / "s.txt", 10)
    upload = Upload(str(tmp_path / "s.txt"), project=project, api=api)

    for action in (upload.pause, upload.resume, upload.stop):
        with pytest.raises(SbgError, match="PREPARING"):
            action()
    upload.start()
    with pytest.raises(SbgError, match="Cannot start"):
        upload.start()
    upload.wait()
    assert upload.status == TransferState.COMPLETED, upload.error
    with pytest.raises(SbgError, match="COMPLETED"):
        upload.pause()
    with pytest.raises(SbgError, match="COMPLETED"):
        upload.stop()


def test_a_file_that_vanished_before_the_start(api, project, tmp_path):
    path = tmp_path / "gone.txt"
    write_file(path, 100)
    upload = Upload(str(path), project=project, api=api)
    errors: list[Any] = []
    upload.add_callback(callback=lambda status: errors.append(("ok", status)),
                        errorback=lambda status: errors.append(("error", status)))
    path.unlink()

    upload.start()
    upload.wait()

    assert upload.status == TransferState.FAILED
    assert isinstance(upload.error, SbgError)
    assert "gone.txt" in str(upload.error) and "No such file" in str(upload.error)
    assert errors == [("error", TransferState.FAILED)]
    listing = api.get("/files", params={"project": project}).json()
    assert listing["items"] == []


def test_a_file_that_changes_during_the_upload_is_not_completed(api, project, tmp_path):
    path = tmp_path / "growing.bin"
    write_file(path, 2 * PART + 10, seed=8)
    upload = Upload(str(path), project=project, part_size=PART, api=api, max_workers=1)
    first_part_done = threading.Event()
    release = threading.Event()

    def on_progress(_progress: Progress) -> None:
        if not first_part_done.is_set():
            first_part_done.set()
            release.wait(30)  # hold the transfer thread while the file changes

    upload.add_progress_callback(on_progress)
    upload.start()
    assert first_part_done.wait(60)
    with open(path, "ab") as handle:
        handle.write(b"appended while uploading")
    release.set()
    upload.wait()

    assert upload.status == TransferState.FAILED
    assert "modified while it was being uploaded" in str(upload.error)
    assert api.get("/files", params={"project": project}).json()["items"] == []


# --------------------------------------------------------------------------- permissions


def test_read_only_member_cannot_upload(api, api_for, new_username, project, tmp_path):
    reader_name = new_username("reader")
    reader = api_for(reader_name)
    api.projects.get(project).add_member(
        reader_name,
        {"read": True, "copy": False, "write": False, "execute": False, "admin": False},
    )
    write_file(tmp_path / "denied.txt", 10)

    upload = run_upload(file_path=str(tmp_path / "denied.txt"), project=project, api=reader)

    assert upload.status == TransferState.FAILED
    assert isinstance(upload.error, Forbidden)
    assert upload.result() is None


def test_outsider_cannot_upload(api_for, new_username, project, tmp_path):
    outsider = api_for(new_username("outsider"))
    write_file(tmp_path / "denied.txt", 10)

    upload = run_upload(file_path=str(tmp_path / "denied.txt"), project=project, api=outsider)

    assert upload.status == TransferState.FAILED
    assert isinstance(upload.error, (Forbidden, NotFound))


def test_unknown_project_or_folder(api, tmp_path):
    write_file(tmp_path / "x.txt", 10)

    to_project = run_upload(file_path=str(tmp_path / "x.txt"), project="nobody/nothing", api=api)
    to_folder = run_upload(file_path=str(tmp_path / "x.txt"), parent="0" * 24, api=api)

    assert to_project.status == TransferState.FAILED
    assert isinstance(to_project.error, (Forbidden, NotFound))
    assert to_folder.status == TransferState.FAILED
    assert isinstance(to_folder.error, (Forbidden, NotFound))


# --------------------------------------------------------------------------- building blocks


def test_parted_file_lists_parts(api, project, tmp_path):
    write_file(tmp_path / "parts.bin", 2 * PART + 1)
    upload = Upload(str(tmp_path / "parts.bin"), project=project, api=api, part_size=PART)

    with open(tmp_path / "parts.bin", "rb") as fp:
        parted = upload.partition_file(fp)

    assert isinstance(parted, UPartedFile)
    assert parted.total == 3
    assert parted.get_parts() == [
        {"part": 1, "offset": 0, "limit": PART},
        {"part": 2, "offset": PART, "limit": PART},
        {"part": 3, "offset": 2 * PART, "limit": 1},
    ]


def test_part_reader_streams_in_bounded_blocks(tmp_path):
    data = write_file(tmp_path / "reader.bin", 3 * BLOCK_SIZE + 5, seed=9)
    counter = ByteCounter()
    with open(tmp_path / "reader.bin", "rb") as fp:
        reader = PartReader(fp.fileno(), 100, len(data) - 200, path="reader.bin",
                            control=TransferControl(), counter=counter)
        chunks = []
        while chunk := reader.read(-1):  # "everything" still comes one block at a time
            assert len(chunk) <= BLOCK_SIZE
            chunks.append(chunk)

    assert len(reader) == len(data) - 200
    assert b"".join(chunks) == data[100:-100]
    assert reader.complete
    assert reader.hexdigest() == md5(data[100:-100])
    assert counter.value == len(data) - 200


def test_part_reader_notices_a_truncated_file(tmp_path):
    write_file(tmp_path / "short.bin", 10)
    with open(tmp_path / "short.bin", "rb") as fp:
        reader = PartReader(fp.fileno(), 0, 20, path="short.bin", control=TransferControl(),
                            counter=ByteCounter())
        assert len(reader.read(100)) == 10
        with pytest.raises(SbgError, match="changed while it was being uploaded"):
            reader.read(100)


def test_code_package_upload_checks(api, tmp_path):
    (tmp_path / "empty.zip").write_bytes(b"")
    write_file(tmp_path / "package.zip", 10)

    with pytest.raises(SbgError, match="empty"):
        CodePackageUpload(str(tmp_path / "empty.zip"), "automation-id", api=api)
    with pytest.raises(SbgError, match="automation"):
        CodePackageUpload(str(tmp_path / "package.zip"), None, api=api)
    package = CodePackageUpload(str(tmp_path / "package.zip"), "automation-id", api=api)
    assert package.status == TransferState.PREPARING
    assert package.file_name == "package.zip"


def test_utils():
    assert total_parts(0, PART) == 0
    assert total_parts(PART, PART) == 1
    assert total_parts(PART + 1, PART) == 2
    part = Part(start=5, size=10)
    assert (part.start, part.size) == (5, 10)
    assert part == Part(5, 10)
    progress = Progress(num_of_parts=4, parts_done=2, bytes_done=5_000_000, file_size=10_000_000,
                        duration=2)  # seconds
    assert progress.progress == 50.0
    assert progress.bandwidth == pytest.approx(2.5)  # MB/s: 5 MB in 2 s
    assert Progress(1, 1, 20, 10, 0).progress == 100.0  # capped
    assert Progress(1, 1, 0, 0, 0).progress == 100.0  # an empty file, done
    assert Progress(1, 0, 0, 0, 0).bandwidth == 0.0


def test_simple_progress_bar(capsys):
    simple_progress_bar(Progress(4, 2, 5_000_000, 10_000_000, 2))

    out = capsys.readouterr().out
    assert out.startswith("\r[")
    assert "50.0%" in out and "2.50 MB/s" in out and "parts 2/4" in out

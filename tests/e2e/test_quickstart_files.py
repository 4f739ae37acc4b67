"""The official quickstart's file steps, written as a user writes them: upload (sync and async),
query by names and metadata, edit metadata and tags, copy, download (sync and async).

:func:`run_file_quickstart` uses only the public surface of ``sevenbridges``; the test runs it
against the local platform and checks what a user would look at.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sevenbridges as sbg
from sevenbridges.models.enums import TransferState

MIB = 1024 * 1024


def run_file_quickstart(api: sbg.Api, workdir: Path) -> dict[str, object]:
    seen: dict[str, object] = {}
    project = api.projects.create(name="Quickstart files")
    archive = api.projects.create(name="Quickstart archive")

    # Upload a small file and wait for it.
    small = workdir / "sample 1 ü.fastq"
    small.write_bytes(b"@read1\nACGT\n+\nIIII\n" * 100)
    upload = api.files.upload(str(small), project=project.id)
    seen["sync_upload"] = (upload.status, upload.result().name)

    # Upload a bigger file in the background, in several parts, under another name.
    big = workdir / "big.bam"
    big.write_bytes(os.urandom(12 * MIB + 123))
    upload = api.files.upload(
        str(big), project=project, file_name="NA12878.bam", part_size=5 * MIB, wait=False
    )
    upload.start()
    upload.wait()
    seen["async_upload"] = (upload.status, upload.result().name, upload.result().size)

    # Find files by name, then edit metadata and tags.
    bam = api.files.query(project=project, names=["NA12878.bam"])[0]
    bam = api.files.get(id=bam.id)
    bam.metadata["sample_id"] = "NA12878"
    bam.metadata["platform"] = "Illumina"
    bam.tags.append("wgs")
    bam.save()
    found = api.files.query(project=project, metadata={"sample_id": "NA12878"})
    seen["by_metadata"] = [f.name for f in found]
    seen["tags"] = api.files.get(id=bam.id).tags

    # Copy it to another project.
    copied = bam.copy(project=archive.id, name="NA12878 archived.bam")
    seen["copy"] = (copied.project == archive.id, copied.name, copied.metadata["sample_id"])

    # Download: blocking, then in the background with a progress callback.
    target = workdir / "downloads" / "NA12878.bam"
    target.parent.mkdir()
    seen["sync_download_returns"] = bam.download(path=str(target))
    seen["sync_download_md5"] = hashlib.md5(target.read_bytes()).hexdigest()
    background = workdir / "downloads" / "archived.bam"
    download = copied.download(path=str(background), wait=False)
    progress: list[float] = []
    download.add_progress_callback(lambda update: progress.append(update.progress))
    download.start()
    download.wait()
    seen["async_download"] = download.status
    seen["async_download_md5"] = hashlib.md5(background.read_bytes()).hexdigest()
    seen["progress_seen"] = bool(progress)

    # Small text files can be read straight away.
    small_file = api.files.query(project=project, names=["sample 1 ü.fastq"])[0]
    seen["content_head"] = small_file.content()[:12]
    seen["big_md5"] = hashlib.md5(big.read_bytes()).hexdigest()
    return seen


def test_file_quickstart(platform, new_username, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # transfer state stays in the sandbox
    api = sbg.Api(url=platform.url, token=platform.token(new_username("quickfiles")), debug=True)

    seen = run_file_quickstart(api, tmp_path)

    assert seen["sync_upload"] == (TransferState.COMPLETED, "sample 1 ü.fastq")
    assert seen["async_upload"] == (TransferState.COMPLETED, "NA12878.bam", 12 * MIB + 123)
    assert seen["by_metadata"] == ["NA12878.bam"]
    assert seen["tags"] == ["wgs"]
    assert seen["copy"] == (True, "NA12878 archived.bam", "NA12878")
    assert seen["sync_download_returns"] is None
    assert seen["sync_download_md5"] == seen["big_md5"]
    assert seen["async_download"] == TransferState.COMPLETED
    assert seen["async_download_md5"] == seen["big_md5"]
    assert seen["progress_seen"] is True
    assert seen["content_head"] == "@read1\nACGT\n"

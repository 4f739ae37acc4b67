"""The S3 blob store in tests (a pytest plugin loaded by ``tests/conftest.py``).

- ``moto_blobs``: moto's S3 server in a subprocess, with one bucket for blob stores. Unlike the
  volume tests' ``moto_cloud`` it runs with request authentication OFF: moto 5's IAM check reads
  only the ``Authorization`` header and answers 500 to every presigned (query-signed) request,
  and presigned part and download URLs are the point of the S3 store. Signatures are therefore
  not checked here; AWS and MinIO check them.
- ``s3_platform``: a session platform whose files live in that bucket (a prefix of its own).
- ``SBG_TEST_STORAGE=s3``: every platform the suite starts (``platform``, ``start_platform``...)
  stores its files in the bucket, each under its own prefix, so the whole server suite runs on S3
  (``make test-s3``). Platforms given an S3 endpoint of their own (the volume tests'
  authenticating moto) keep local storage.

Tests marked ``s3`` are the storage-dependent slice that ``make test`` runs on S3.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from cloud_fixtures import REGION, _clean_environment, _start, _stop, free_port

from sevenbridges_local.embedded import EmbeddedServer

TEST_STORAGE_VARIABLE = "SBG_TEST_STORAGE"
BLOB_BUCKET = "sbg-blobs"
# moto checks no signatures here, but boto3 needs some credentials to sign with.
KEYS = {"AWS_ACCESS_KEY_ID": "blob-tests", "AWS_SECRET_ACCESS_KEY": "blob-tests-secret"}


# Tests of the data plane and the local store's internals (its staging directory, the data
# plane's own signatures, fault switches that act on data-plane transfers): with files in S3,
# clients talk to S3 directly and these have nothing to test, so SBG_TEST_STORAGE=s3 skips them.
# A module path skips the whole module.
LOCAL_STORAGE_ONLY = (
    "tests/local/test_dataplane.py",
    "tests/client/test_transfer_faults.py",
    "tests/client/test_transfer_resume.py::test_pause_and_resume_a_download",
    "tests/client/test_download.py::test_a_tampered_url_is_refused_clearly",
    "tests/local/test_uploads.py::test_init_answers_the_upload",
    "tests/local/test_uploads.py::test_abort_discards_everything",
    "tests/local/test_uploads.py::test_stale_uploads_are_cleaned_up_at_start",
    "tests/local/test_uploads.py::test_parts_fit_their_places",
    # Parts written in place into the local store's data file, and the data plane's WAN emulation.
    "tests/local/test_uploads_in_place.py",
    # Data-plane URLs over HTTPS and from forwarded headers: with files in S3 the part and
    # download URLs are S3's presigned URLs on its own endpoint, whatever the API's scheme and host.
    "tests/local/test_tls.py::test_our_client_uploads_and_downloads_over_https",
    "tests/local/test_api_processes.py::test_forwarded_headers_only_from_trusted_proxies",
    "tests/local/test_downloads.py::test_download_info_is_a_signed_url_usable_without_a_token",
    "tests/local/test_files.py::test_delete_file_and_release_blob_with_last_reference",
    "tests/local/test_files.py::test_deleting_the_only_file_releases_its_blob",
    "tests/local/test_files.py::test_deleting_a_project_deletes_its_files_and_blobs",
    "tests/local/test_drs.py::test_checksums_are_computed_once_and_stored",
    "tests/local/test_drs_imports.py::test_imports_bytes_tags_and_metadata_into_a_project_and_a_folder",
    "tests/local/test_drs_imports.py::test_bad_items_fail_alone_with_clear_errors",
    "tests/local/test_drs_imports.py::test_content_that_does_not_match_its_checksum_is_not_imported",
    "tests/local/test_drs_imports.py::test_an_interrupted_job_resumes_after_a_restart_without_half_written_files",
    "tests/local/test_drs_imports.py::test_a_submitted_job_survives_a_restart",
    "tests/local/test_disk_full.py",
    "tests/client/test_files.py::test_expired_download_url_is_replaced",
    "tests/client/test_files.py::test_stream_notices_a_connection_cut_mid_body",
    "tests/local/test_data_dir_permissions.py::test_an_open_data_dir_is_tightened_at_start_and_nothing_else_is",
    "tests/local/test_data_dir_permissions.py::test_what_the_server_creates_is_born_private",
    "tests/local/test_sandbox.py::test_a_task_cannot_read_the_platforms_secrets_or_other_users_files",
)


def storage_under_test() -> str:
    return os.environ.get(TEST_STORAGE_VARIABLE, "local").strip().lower()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "s3: storage-dependent tests that run against the S3 blob store (moto)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if storage_under_test() != "s3":
        return
    skip = pytest.mark.skip(reason="tests the data plane or the local store (SBG_TEST_STORAGE=s3)")
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path in LOCAL_STORAGE_ONLY or item.nodeid.split("[", 1)[0] in LOCAL_STORAGE_ONLY:
            item.add_marker(skip)


@dataclass
class MotoBlobs:
    url: str
    bucket: str

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client("s3", endpoint_url=self.url, config=Config(s3={"addressing_style": "path"}))

    def new_prefix(self) -> str:
        return f"platform-{uuid.uuid4().hex[:12]}"

    def platform_settings(self, prefix: str | None = None) -> tuple[dict[str, object], dict]:
        """Settings and environment of a platform storing its files under a prefix of its own."""
        settings = {
            "storage": f"s3://{self.bucket}/{prefix or self.new_prefix()}",
            "s3_endpoint_url": self.url,
        }
        return settings, {**KEYS, "AWS_DEFAULT_REGION": REGION}

    def keys_under(self, prefix: str) -> list[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="session")
def moto_blobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoBlobs]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto-blobs") / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = _start(command, f"{url}/moto-api/", log, _clean_environment())
    try:
        blobs = MotoBlobs(url=url, bucket=BLOB_BUCKET)
        blobs.client().create_bucket(Bucket=BLOB_BUCKET)
        yield blobs
    finally:
        _stop(process)


@pytest.fixture(scope="session", autouse=True)
def _storage_under_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """With SBG_TEST_STORAGE=s3, every embedded platform of the session stores files in S3."""
    if storage_under_test() != "s3":
        yield
        return
    blobs: MotoBlobs = request.getfixturevalue("moto_blobs")

    def defaults(given: Mapping[str, object]) -> tuple[dict[str, object], dict[str, str]]:
        # A platform pointed at a cloud of its own (the volume tests' authenticating moto)
        # keeps its files local: that S3 endpoint refuses the store's presigned URLs.
        if "storage" in given or "s3_endpoint_url" in given:
            return {}, {}
        return blobs.platform_settings()

    EmbeddedServer.defaults = defaults
    try:
        yield
    finally:
        EmbeddedServer.defaults = None


def s3_store_for(server: EmbeddedServer) -> Any:
    """An in-process S3 store over the same bucket and prefix as ``server`` (test set-up)."""
    import boto3
    from botocore.config import Config

    from sevenbridges_local.storage.s3 import S3BlobStore, parse_storage_url

    bucket, prefix = parse_storage_url(server.extra_settings["storage"])
    client = boto3.session.Session(
        aws_access_key_id=server.environment.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=server.environment.get("AWS_SECRET_ACCESS_KEY"),
        region_name=REGION,
    ).client(
        "s3",
        endpoint_url=server.extra_settings["s3_endpoint_url"],
        config=Config(s3={"addressing_style": "path"}),
    )
    return S3BlobStore(bucket, prefix, client=client)


@dataclass
class S3Platform:
    server: EmbeddedServer
    blobs: MotoBlobs
    prefix: str


@pytest.fixture(scope="session")
def s3_platform(
    tmp_path_factory: pytest.TempPathFactory, moto_blobs: MotoBlobs
) -> Iterator[S3Platform]:
    prefix = moto_blobs.new_prefix()
    settings, environment = moto_blobs.platform_settings(prefix)
    server = EmbeddedServer(
        tmp_path_factory.mktemp("s3-platform"), settings=settings, environment=environment
    )
    server.start()
    try:
        yield S3Platform(server=server, blobs=moto_blobs, prefix=prefix)
    finally:
        server.stop()

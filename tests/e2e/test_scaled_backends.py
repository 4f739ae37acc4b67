"""All the scaled backends at once: PostgreSQL, S3 (moto), Toil and two API processes.

The real command line, as a deployment would type it::

    sbg local serve --database postgresql://... --storage s3://BUCKET/PREFIX \\
        --s3-endpoint http://127.0.0.1:PORT --executor toil --workers 2

then the official client's compatibility script (``tests/compat/official_script.py``) and the
README quickstart (``readme_support.py``) run against it unchanged. Each test also checks
something only the scaled backends can show (rows in PostgreSQL, bytes in the bucket, Toil's
leader log, answers from both processes), so none can pass on the embedded defaults.

The S3 endpoint is moto's server with authentication on (S3 volumes must refuse a wrong key),
started through ``tests/moto_presigned_server.py`` so that the blob store's presigned URLs work.

Marked ``scaled``: ``make test-scaled`` runs it; it skips when PostgreSQL or Toil is missing.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cloud_fixtures import (
    REGION,
    MotoCloud,
    _clean_environment,
    _enable_authentication,
    _set_up_identities,
    _start,
    _stop,
    free_port,
)
from pg_cluster import PostgresCluster
from readme_support import (
    BLOCK_KINDS,
    check_reader_sees,
    make_workdir,
    quickstart_blocks,
    run_blocks,
)

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.toil_executor import find_toil_runner
from sevenbridges_local.processes import PROCESS_HEADER

# The compatibility harness lives beside the compat tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))
from test_official_client import (  # noqa: E402
    EXPECTED_CHECKS,
    assert_all_checks_passed,
    assert_exports_in_bucket,
    official_python,
    run_script,
    volume_environment,
)

pytestmark = [
    pytest.mark.scaled,
    pytest.mark.skipif(
        find_toil_runner() is None,
        reason="Toil is not installed (pip install 'sevenbridges-toolkit[toil]')",
    ),
]

BLOB_BUCKET = "sbg-scaled-blobs"
SBG = Path(sys.executable).with_name("sbg")
# Every task runs under Toil (seconds of start-up each) on a machine other tests share.
SCRIPT_TIMEOUT_SECONDS = 900
TOKEN_HEADER = "X-SBG-Auth-Token"


class CommandLineServer(EmbeddedServer):
    """An ``EmbeddedServer`` started through the ``sbg`` command with extra flags."""

    def __init__(self, data_dir: Path, flags: list[str], **kwargs: object) -> None:
        super().__init__(data_dir, **kwargs)  # type: ignore[arg-type]
        self.flags = flags

    def _command(self) -> list[str]:
        command = [str(SBG), "local", "serve", "--host", self.host, "--port", str(self.port)]
        return [*command, "--data-dir", str(self.data_dir), *self.flags]


@dataclass
class Scaled:
    server: CommandLineServer
    cloud: MotoCloud
    prefix: str
    database_url: str
    home: Path

    def startup_lines(self) -> list[str]:
        return self.server.log_path.read_text(errors="replace").splitlines()

    def keys(self) -> list[str]:
        pages = (
            self.cloud.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=BLOB_BUCKET, Prefix=self.prefix + "/")
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def rows(self, query: str) -> list[tuple]:
        import psycopg

        plain = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(plain) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoCloud]:
    """moto with authentication on, presigned requests let through (see the module docstring)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto-scaled") / "moto.log"
    launcher = Path(__file__).resolve().parents[1] / "moto_presigned_server.py"
    command = [sys.executable, str(launcher), "-H", "127.0.0.1", "-p", str(port)]
    process = _start(command, f"{url}/moto-api/", log, _clean_environment())
    try:
        cloud = _set_up_identities(url)
        _enable_authentication(url)
        cloud.ensure_bucket(BLOB_BUCKET)
        yield cloud
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def scaled(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_cluster: PostgresCluster,
    moto_server: MotoCloud,
) -> Iterator[Scaled]:
    database_url = postgres_cluster.new_database("scaled")
    prefix = f"scaled-{os.getpid()}"
    home = tmp_path_factory.mktemp("scaled-home")
    flags = [
        "--database",
        database_url,
        "--storage",
        f"s3://{BLOB_BUCKET}/{prefix}",
        "--s3-endpoint",
        moto_server.url,
        "--executor",
        "toil",
        "--workers",
        "2",
        # The README's serve block writes this profile; the quickstart's Python reads it.
        "--write-profile",
        "local",
    ]
    server = CommandLineServer(
        tmp_path_factory.mktemp("scaled-platform"),
        flags,
        database_url=database_url,
        environment={
            "HOME": str(home),
            # The platform's own identity: may use the blob bucket (volumes bring their keys).
            "AWS_ACCESS_KEY_ID": moto_server.admin.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto_server.admin.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        },
    )
    server.start()
    try:
        # The start-up lines (and the profile) come once both processes serve; the first one
        # answers before that.
        deadline = time.monotonic() + 120
        while "profile [local] written" not in server.log_path.read_text(errors="replace"):
            assert server.running, server.log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the start-up lines never came"
            time.sleep(0.1)
        yield Scaled(server, moto_server, prefix, database_url, home)
    finally:
        server.stop()


def _line(lines: list[str], label: str) -> str:
    found = [line for line in lines if line.startswith(f"  {label}:")]
    assert found, f"no start-up line '{label}' in:\n" + "\n".join(lines)
    return found[0]


def test_the_start_up_lines_name_every_backend(scaled: Scaled) -> None:
    lines = scaled.startup_lines()
    database = _line(lines, "database")
    assert "postgresql" in database and "127.0.0.1" in database
    assert postgres_password(scaled.database_url) not in "\n".join(lines)  # hidden
    storage = _line(lines, "file storage")
    assert f"s3://{BLOB_BUCKET}/{scaled.prefix}" in storage and scaled.cloud.url in storage
    executor = _line(lines, "task executor")
    assert executor.split(":", 1)[1].split()[0] == "toil" and "single_machine" in executor
    assert re.search(r"API processes:\s+2 \(pids \d+, \d+\)", "\n".join(lines)), lines


def postgres_password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_the_official_client_passes_the_compatibility_script(
    scaled: Scaled, new_username, tmp_path: Path
) -> None:
    volume_env = volume_environment(scaled.cloud)
    started = time.monotonic()
    result = run_script(
        official_python(),
        scaled.server,
        new_username,
        tmp_path,
        scaled.cloud,
        volume_env,
        timeout=SCRIPT_TIMEOUT_SECONDS,
    )
    elapsed = time.monotonic() - started
    lines = assert_all_checks_passed(result)
    assert lines[-1] == f"DONE {EXPECTED_CHECKS} checks"
    assert_exports_in_bucket(scaled.cloud, volume_env["SBG_COMPAT_S3_BUCKET"])
    print(f"compatibility script: {elapsed:.1f} s")

    # Backend evidence: the uploaded bytes are S3 objects, not files in the data directory...
    assert len(scaled.keys()) >= 5, scaled.keys()
    local_store = scaled.server.data_dir / "storage"
    assert not local_store.exists() or not any(p.is_file() for p in local_store.rglob("*"))
    # ...the rows are in PostgreSQL (the data directory holds no SQLite database)...
    assert not (scaled.server.data_dir / "platform.db").exists()
    statuses = dict(scaled.rows("SELECT status, count(*) FROM tasks GROUP BY status"))
    assert statuses.get("COMPLETED", 0) >= 2, statuses
    # ...and every task that completed (batch parents run nothing themselves) ran under Toil:
    # its leader's log is among its job's logs.
    completed = scaled.rows(
        "SELECT t.id, u.username FROM tasks t JOIN users u ON u.id = t.created_by_id"
        " WHERE t.status = 'COMPLETED' AND NOT t.batch ORDER BY t.created_on"
    )
    assert len(completed) >= 3, completed  # a task, batch children, a draft-2 task
    for task_id, username in completed:
        assert_ran_under_toil(
            scaled.server, scaled.server.token(username), task_id, scaled.cloud.url
        )


def assert_ran_under_toil(server: EmbeddedServer, token: str, task_id: str, store_url: str) -> None:
    headers = {TOKEN_HEADER: token}
    details = requests.get(f"{server.url}/tasks/{task_id}/execution_details", headers=headers)
    assert details.status_code == 200, details.text
    assert details.json()["jobs"], (task_id, details.json())
    logs = details.json()["jobs"][0]["logs"]
    assert "toil.log" in logs, logs
    info = requests.get(logs["toil.log"], headers=headers, timeout=30)
    assert info.status_code == 200, info.text
    # The log is a file like any other: a presigned URL of the object store.
    assert info.json()["url"].startswith(store_url + "/"), info.json()
    leader_log = requests.get(info.json()["url"], timeout=30)
    assert leader_log.status_code == 200, leader_log.text
    assert "toil" in leader_log.text.lower()


def test_the_readme_quickstart_runs_unchanged(scaled: Scaled, tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert [kind for kind, _code in blocks] == BLOCK_KINDS
    _install, serve, *rest = blocks
    assert "--write-profile local" in serve[1]  # the fixture's server wrote that profile
    work = tmp_path / "work"
    make_workdir(work)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SBG_LOCAL_", "SB_API", "SB_AUTH", "AWS_"))
    }
    # `sbg local token` and `sbg local division` work on the platform's data directory and
    # database, as the reader's would with the same flags.
    environment.update(
        HOME=str(scaled.home),
        SBG_LOCAL_DATA_DIR=str(scaled.server.data_dir),
        SBG_LOCAL_DATABASE_URL=scaled.database_url,
    )
    started = time.monotonic()
    outputs = run_blocks(rest, work, environment, scaled.server.port or 0)
    print(f"README quickstart: {time.monotonic() - started:.1f} s")
    check_reader_sees(outputs, work)

    # The sample reads are an object in the bucket, byte for byte.
    reads = (work / "reads.fastq").read_bytes()
    s3 = scaled.cloud.client()
    contents = [
        s3.get_object(Bucket=BLOB_BUCKET, Key=key)["Body"].read()
        for key in scaled.keys()
        if s3.head_object(Bucket=BLOB_BUCKET, Key=key)["ContentLength"] == len(reads)
    ]
    assert reads in contents
    # The task's row is in PostgreSQL, and Toil ran it.
    rows = scaled.rows("SELECT id, status FROM tasks WHERE name = 'stats'")
    assert [status for _id, status in rows] == ["COMPLETED"], rows
    assert_ran_under_toil(scaled.server, scaled.server.token("admin"), rows[0][0], scaled.cloud.url)


def test_both_api_processes_answer(scaled: Scaled) -> None:
    token = scaled.server.token("admin")
    seen: set[str] = set()
    for _ in range(300):
        # A fresh connection each time: a kept-alive one would always reach the same process.
        answer = requests.get(
            scaled.server.url + "/user", headers={TOKEN_HEADER: token, "Connection": "close"}
        )
        assert answer.status_code == 200, answer.text
        seen.add(answer.headers[PROCESS_HEADER])
        if seen == {"0", "1"}:
            break
    assert seen == {"0", "1"}


NAP_THEN_COPY = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Nap, then copy",
    "baseCommand": ["sh", "-c", 'sleep "$0" && cat "$1" > copy.txt'],
    "inputs": {
        "seconds": {"type": "int", "inputBinding": {"position": 1}},
        "text": {"type": "File", "inputBinding": {"position": 2}},
    },
    "outputs": {"copy": {"type": "File", "outputBinding": {"glob": "copy.txt"}}},
}


def test_a_task_cut_off_by_a_restart_completes_after_it(scaled: Scaled, tmp_path: Path) -> None:
    """Stop the whole platform (both processes) while a Toil task runs; once it is back, the task
    runs to the end and its output is in the bucket."""
    import sevenbridges as sbg

    api = sbg.Api(url=scaled.server.url, token=scaled.server.token("restarter"))
    project = api.projects.create(name="restarts")
    app = api.apps.install_app(id=f"{project.id}/nap-copy", raw=NAP_THEN_COPY)
    source = tmp_path / "kept.txt"
    source.write_bytes(b"kept across the restart\n")
    text = api.files.upload(str(source), project=project.id, wait=True).result()
    task = api.tasks.create(
        name="cut off",
        project=project.id,
        app=app.id,
        inputs={"seconds": 8, "text": text},
        run=True,
    )
    deadline = time.monotonic() + 120
    while task.status != "RUNNING":
        assert time.monotonic() < deadline and task.status in ("QUEUED", "RUNNING"), task.status
        time.sleep(0.5)
        task.reload()
    time.sleep(2)  # Toil's leader is under way

    assert _commands_naming(task.id), "the task's Toil processes name it"
    scaled.server.stop()
    # Nothing of the first attempt outlives the platform (Toil's leader, its workers, the tool).
    assert _commands_naming(task.id) == []
    scaled.server.start()

    deadline = time.monotonic() + 240
    while task.status not in ("COMPLETED", "FAILED", "ABORTED"):
        assert time.monotonic() < deadline, task.status
        time.sleep(1)
        task.reload()
    assert task.status == "COMPLETED", task.execution_status.message
    copy = api.files.get(task.outputs["copy"].id)
    assert copy.content() == source.read_bytes().decode()
    rows = scaled.rows(f"SELECT status FROM tasks WHERE id = '{task.id}'")
    assert rows == [("COMPLETED",)]


def _commands_naming(marker: str) -> list[str]:
    """Command lines of this machine's processes that contain ``marker``."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if marker in command:
            found.append(command)
    return found

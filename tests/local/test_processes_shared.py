"""Several API processes (`sbg local serve --workers 2`): every process runs automation runs,
none runs one twice, and the runs of a process killed with -9 start again elsewhere from the
state they had written, while their old process dies with the server process. `sbg local status`
names the backends and the number of processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automation_support import WAITS_ON_FIRST_START, processes_of, wait_for_run, zip_package  # noqa: E402

import sevenbridges as sbg  # noqa: E402
from sevenbridges_local.db import Database  # noqa: E402
from sevenbridges_local.db.automations import AutomationRun  # noqa: E402
from sevenbridges_local.embedded import EmbeddedServer  # noqa: E402

pytestmark = pytest.mark.postgres

# Counts its starts in the state file and takes a few seconds, so that the runs overlap.
COUNTS_AND_SLEEPS = """
import json, os, time
state_path = os.environ["SB_AUTOMATION_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"starts": 0}
state["starts"] += 1
json.dump(state, open(state_path, "w"))
print("start", state["starts"], flush=True)
time.sleep(3)
"""


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory):
    # No sandbox: bubblewrap's --die-with-parent would hide whether the run's own process
    # dies with the server process that started it (the launcher's doing).
    server = EmbeddedServer(
        tmp_path_factory.mktemp("automation-processes"),
        settings={"workers": 2, "sandbox": "none"},
        rate_limit=5000,
    )
    server.start()
    database = Database(server._settings().database_url or "")
    yield server, database
    database.dispose()
    server.stop()


def _claims(database: Database, run_ids: list[str]) -> dict[str, tuple[str, str | None, int]]:
    """Run id -> (status, claiming process, attempts), straight from the database."""
    with database.read_session() as session:
        rows = session.execute(
            select(
                AutomationRun.id,
                AutomationRun.status,
                AutomationRun.claimed_by,
                AutomationRun.attempts,
            ).where(AutomationRun.id.in_(run_ids))
        )
        return {row.id: (row.status, row.claimed_by, row.attempts) for row in rows}


def test_both_processes_run_automation_runs_and_none_runs_twice(two_processes, tmp_path) -> None:
    server, database = two_processes
    api = sbg.Api(url=server.url, token=server.token("spread"))
    automation = api.automations.create(name="spread")
    package = automation.add_package("1", str(zip_package(tmp_path, COUNTS_AND_SLEEPS)), {})
    # Two run threads per process: six overlapping runs need both processes.
    runs = [api.automation_runs.create(package) for _ in range(6)]
    ids = [run.id for run in runs]
    owners: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        claims = _claims(database, ids)
        owners |= {owner for _, owner, _ in claims.values() if owner}
        if all(status in ("FINISHED", "FAILED", "ABORTED") for status, _, _ in claims.values()):
            break
        time.sleep(0.1)
    assert len(owners) == 2, f"runs should be claimed by both processes: {owners}"
    for run in runs:
        run = wait_for_run(run)
        assert run.status == "FINISHED", run.message
        assert run.get_state() == {"starts": 1}, "each run started exactly once"
        assert run.get_log_file().content().count("start ") == 1
    claims = _claims(database, ids)
    assert {attempts for _, _, attempts in claims.values()} == {1}
    assert {owner for _, owner, _ in claims.values()} == {None}, "claims end with the run"


def test_status_names_the_backends_and_the_api_processes(two_processes, tmp_path) -> None:
    server, _ = two_processes
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    environment["HOME"] = str(tmp_path)
    sbg = str(Path(sys.executable).with_name("sbg"))
    database = server._settings().database_url or ""
    command = [sbg, "local", "status", "--data-dir", str(server.data_dir)]
    if not database.startswith("sqlite"):
        command += ["--database", database]
    as_json = subprocess.run(
        [*command, "--json"], env=environment, capture_output=True, text=True, timeout=60
    )
    text = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["running"] is True
    assert report["executor"] == "cwltool"
    assert report["database_kind"] == database.split(":")[0].split("+")[0]
    assert report["storage_kind"] == "local" and report["storage"].endswith("storage")
    assert report["api_processes"] == 2
    password = database.partition("@")[0].rpartition(":")[2] if "@" in database else None
    if password:
        assert password not in as_json.stdout + text.stdout
    assert "executor:         cwltool\n" in text.stdout
    assert f"database:         {report['database_kind']} (" in text.stdout
    assert "storage:          local (" in text.stdout
    assert "API processes:    2\n" in text.stdout


def test_runs_of_a_killed_process_resume_elsewhere_from_their_state(
    two_processes, tmp_path
) -> None:
    server, database = two_processes
    api = sbg.Api(url=server.url, token=server.token("survivor"))
    automation = api.automations.create(name="kill-9")
    package = automation.add_package("1", str(zip_package(tmp_path, WAITS_ON_FIRST_START)), {})
    run = api.automation_runs.create(package)
    deadline = time.monotonic() + 30
    while run.get_state() != {"starts": 1}:
        assert time.monotonic() < deadline, run.status
        time.sleep(0.1)
    owner = _claims(database, [run.id])[run.id][1]
    assert owner is not None
    victim = int(owner.split(":")[1])  # process ids are host:pid:random
    first_start = processes_of(run.id)
    assert first_start, "the run's process is running"
    os.kill(victim, signal.SIGKILL)
    # The run's own process dies with the server process that started it ...
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in first_start):
        assert time.monotonic() < deadline, "the killed server's run survived it"
        time.sleep(0.1)
    # ... and the run starts again (elsewhere or in the restarted process) from its state file.
    run = wait_for_run(api.automation_runs.get(run.id))
    assert run.status == "FINISHED", run.message
    assert run.get_state() == {"starts": 2}
    assert "start 2" in run.get_log_file().content()
    status, claimed_by, attempts = _claims(database, [run.id])[run.id]
    assert (status, claimed_by, attempts) == ("FINISHED", None, 2)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(") ", 1)[1][:1] != "Z"  # a zombie has died
    except OSError:
        return False

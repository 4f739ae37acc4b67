"""Automations on the wire: bad packages and inputs, run tokens, a platform restart during a
run, strangers and read-only members."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automation_support import (  # noqa: E402
    LIST_AND_WRITE,
    SCHEMA,
    WAITS_ON_FIRST_START,
    processes_of,
    wait_for_run,
    zip_package,
)
from local_helpers import Caller, assert_error  # noqa: E402

import sevenbridges as sbg  # noqa: E402


def _upload(api: sbg.Api, automation_id: str, path: Path) -> str:
    upload = sbg.transfer.upload.CodePackageUpload(str(path), automation_id, api=api)
    upload.start()
    upload.wait()
    return upload.result().id


@pytest.fixture
def owner_api(api_for, new_username):
    return api_for(new_username("wireowner"))


def test_bad_archives_and_bad_inputs_are_refused(owner_api, platform, http, tmp_path) -> None:
    caller = Caller(http, platform.url, owner_api.token, "owner")
    automation = owner_api.automations.create(name="bad inputs")
    not_an_archive = tmp_path / "notes.zip"
    not_an_archive.write_text("plain text, not a zip")
    location = _upload(owner_api, automation.id, not_an_archive)
    path = f"/automation/automations/{automation.id}/packages"
    body = {"version": "1", "location": location, "schema": {}}
    problem = assert_error(caller.post(path, json=body), 400, 13012)
    assert "not a valid .zip or .tar.gz" in problem["message"]

    no_entry = tmp_path / "no-entry.zip"
    import zipfile

    with zipfile.ZipFile(no_entry, "w") as archive:
        archive.writestr("lib/helper.py", "x = 1")
    body["location"] = _upload(owner_api, automation.id, no_entry)
    assert "no entry point" in assert_error(caller.post(path, json=body), 400, 13012)["message"]

    body["location"] = _upload(owner_api, automation.id, zip_package(tmp_path, LIST_AND_WRITE))
    bad_schema = {**body, "schema": {"inputs": {"n": {"type": "complex"}}}}
    assert_error(caller.post(path, json=bad_schema), 400, 13012)
    created = caller.post(path, json={**body, "schema": SCHEMA})
    assert created.status_code == 201, created.text
    package = created.json()
    assert_error(caller.post(path, json={**body, "schema": SCHEMA}), 409, 13013)

    runs_before = len(list(owner_api.automation_runs.query(automation=automation.id).all()))
    for inputs, hint in (
        ({"project": "x"}, "input 'file_name' is required"),
        ({"project": 5, "file_name": "a"}, "input 'project' must be of type string"),
        ({"project": "x", "file_name": "a", "extra": 1}, "input 'extra' is not in"),
    ):
        answer = caller.post("/automation/runs", json={"package": package["id"], "inputs": inputs})
        assert hint in assert_error(answer, 400, 13022)["message"]
    good = {"project": "x", "file_name": "a"}
    answer = caller.post(
        "/automation/runs",
        json={"package": package["id"], "inputs": good, "settings": {"time_limit": "soon"}},
    )
    assert_error(answer, 400, 13024)
    # Nothing was stored by the refused requests.
    assert len(list(owner_api.automation_runs.query(automation=automation.id).all())) == runs_before
    assert_error(caller.get("/automation/runs/nope"), 404, 13021)
    assert_error(caller.get("/automation/packages/nope"), 404, 13011)


def test_strangers_get_404_and_readers_cannot_run(
    owner_api, platform, http, new_username, tmp_path
) -> None:
    automation = owner_api.automations.create(name="private")
    stranger = Caller(http, platform.url, platform.token(new_username("stranger")), "stranger")
    reader_name = new_username("reader")
    reader = Caller(http, platform.url, platform.token(reader_name), reader_name)
    assert_error(stranger.get(f"/automation/automations/{automation.id}"), 404, 13002)
    assert automation.id not in [
        a["id"] for a in stranger.get("/automation/automations").json()["items"]
    ]
    package = automation.add_package("1", str(zip_package(tmp_path, LIST_AND_WRITE)), SCHEMA)
    assert_error(stranger.get(f"/automation/packages/{package.id}"), 404, 13011)
    automation.add_member(reader_name, {"read": True})
    assert reader.get(f"/automation/packages/{package.id}").status_code == 200
    answer = reader.post(
        "/automation/runs",
        json={"package": package.id, "inputs": {"project": "a", "file_name": "b"}},
    )
    assert_error(answer, 403, 13001)
    assert_error(
        reader.post(f"/automation/automations/{automation.id}/members", json={"username": "x"}),
        403,
        13001,
    )
    # The stored package file is readable by members through the files API, not by strangers.
    assert reader.get(f"/files/{package.location}").status_code == 200
    assert stranger.get(f"/files/{package.location}").status_code == 404


def test_a_restart_during_a_run_loses_nothing(start_platform, tmp_path) -> None:
    """The interrupted run starts again after the restart from the state it had written; its
    old token stops working; no process of it survives the stop."""
    server = start_platform()
    api = sbg.Api(url=server.url, token=server.token("owner"))
    automation = api.automations.create(name="restart")
    package = automation.add_package("1", str(zip_package(tmp_path, WAITS_ON_FIRST_START)), {})
    run = api.automation_runs.create(package)
    deadline = time.monotonic() + 30
    while run.get_state() != {"starts": 1}:
        assert time.monotonic() < deadline, run.status
        time.sleep(0.1)
    server.stop()
    assert processes_of(run.id) == []
    server.start()
    api = sbg.Api(url=server.url, token=server.token("owner"))
    run = wait_for_run(api.automation_runs.get(run.id))
    assert run.status == "FINISHED", run.message
    assert run.get_state() == {"starts": 2}
    log = run.get_log_file().content()
    assert "start 2" in log


def test_the_run_token_works_only_while_the_run_is_active(owner_api, platform, http, tmp_path):
    code = (
        "import os, json\n"
        "json.dump({'token': os.environ['SB_AUTH_TOKEN'], 'api': os.environ['SB_API_ENDPOINT']},"
        " open(os.environ['SB_AUTOMATION_STATE'], 'w'))\n"
    )
    automation = owner_api.automations.create(name="token")
    package = automation.add_package("1", str(zip_package(tmp_path, code)), {})
    run = wait_for_run(owner_api.automation_runs.create(package))
    assert run.status == "FINISHED", run.message
    state = run.get_state()
    assert state["api"].rstrip("/").endswith("/v2")
    assert state["token"] != owner_api.token
    answer = http.get(f"{platform.url}/user", headers={"X-SBG-Auth-Token": state["token"]})
    assert answer.status_code == 401

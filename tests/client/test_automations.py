"""The automation classes of the client against the live platform: every method, runs that
really run (list projects, write a file), stop, rerun, resume, time limit and crashes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automation_support import (  # noqa: E402
    CRASHES,
    ENDLESS,
    LIST_AND_WRITE,
    NEEDS_MEMORY,
    SCHEMA,
    processes_of,
    tar_package,
    wait_for_run,
    zip_package,
)

import sevenbridges as sbg  # noqa: E402
from sevenbridges.errors import Forbidden, NotFound, ResourceNotModified, SbgError  # noqa: E402


@pytest.fixture
def owner(api_for, new_username):
    return api_for(new_username("autoowner"))


def _automation(api, name="qc"):
    return api.automations.create(name=name, description="nightly", memory_limit=1024)


def test_automation_crud_archive_and_query(owner) -> None:
    automation = _automation(owner, "crud")
    assert isinstance(automation, sbg.Automation)
    assert automation.owner == owner.users.me().username
    assert automation.memory_limit == 1024 and automation.archived is False
    assert owner.automations.get(automation.id) == automation
    automation.description = "changed"
    automation.save()
    assert owner.automations.get(automation.id).description == "changed"
    with pytest.raises(ResourceNotModified):
        automation.save()
    automation.archive()
    assert automation.archived is True
    assert automation.id not in [a.id for a in owner.automations.query().all()]
    assert automation.id in [a.id for a in owner.automations.query(include_archived=True).all()]
    automation.restore()
    assert automation.archived is False
    assert [a.id for a in owner.automations.query(name="crud").all()] == [automation.id]
    with pytest.raises(SbgError):
        owner.automations.create(name=None)


def test_members_and_permissions(owner, api_for, new_username) -> None:
    automation = _automation(owner, "members")
    reader_name, stranger_name = new_username("reader"), new_username("stranger")
    reader, stranger = api_for(reader_name), api_for(stranger_name)
    member = automation.add_member(reader_name, {"read": True, "execute": False})
    assert isinstance(member, sbg.AutomationMember)
    assert member.username == reader_name and member.permissions["execute"] is False
    assert reader_name in [m.username for m in automation.get_members().all()]
    assert automation.get_member(reader_name) == member
    with pytest.raises(NotFound):
        stranger.automations.get(automation.id)
    readable = reader.automations.get(automation.id)
    assert readable.name == "members"
    member.permissions["copy"] = True
    member.save()
    assert automation.get_member(reader_name).permissions["copy"] is True
    automation.remove_member(reader_name)
    with pytest.raises(NotFound):
        reader.automations.get(automation.id)


def test_packages_runs_files_state_and_logs(owner, tmp_path) -> None:
    project = owner.projects.create(name="automation target")
    automation = _automation(owner, "writer")
    package = automation.add_package("1.0.0", str(zip_package(tmp_path, LIST_AND_WRITE)), SCHEMA)
    assert isinstance(package, sbg.AutomationPackage)
    assert package.version == "1.0.0" and package.schema == SCHEMA
    assert [p.id for p in automation.get_packages().all()] == [package.id]
    assert owner.automations.get_package(package.id) == package
    package.memory_limit = 1500
    package.save()
    assert owner.automation_packages.get(package.id).memory_limit == 1500

    inputs = {"project": project.id, "file_name": "from-run.txt"}
    run = owner.automation_runs.create(package, inputs=inputs, name="first")
    assert isinstance(run, sbg.AutomationRun) and run.name == "first"
    wait_for_run(run)
    assert run.status == "FINISHED", run.get_log_file().content()
    written = owner.files.get(run.outputs["file"])
    assert written.name == "from-run.txt"
    assert written.content() == f"written by run {run.id}"
    # The run acted as its creator: it saw the creator's projects (the automation's storage
    # project included) and no other.
    expected = sorted(p.id for p in owner.projects.query().all())
    assert len(expected) == 2 and project.id in expected
    assert run.get_state() == {"count": 1, "projects": 2}
    log = run.get_log_file()
    assert isinstance(log, sbg.File)
    assert f"projects: {','.join(expected)}" in log.content()

    again = owner.automation_runs.rerun(run.id)
    assert again.id != run.id and again.inputs == inputs and again.name == "first"
    wait_for_run(again)
    assert again.status == "FINISHED" and again.get_state()["count"] == 1

    resumed = owner.automation_runs.create(
        package, inputs=inputs, resume_from=run.id, name="resumed"
    )
    wait_for_run(resumed)
    assert resumed.resumed_from == run.id
    assert resumed.get_state()["count"] == 2

    names = {r.name for r in automation.get_runs().all()}
    assert names == {"first", "resumed"}
    assert [r.id for r in owner.automation_runs.query(name="resumed").all()] == [resumed.id]
    finished = owner.automation_runs.query(package=package, status="FINISHED").all()
    assert {r.id for r in finished} == {run.id, again.id, resumed.id}
    # Once the run has ended its token is revoked: nothing can act with it any more.
    package.archive()
    assert package.archived is True
    with pytest.raises(SbgError):
        owner.automation_runs.create(package, inputs=inputs)
    package.restore()
    assert package.archived is False


def test_a_tar_package_that_crashes_fails_with_its_log(owner, tmp_path) -> None:
    automation = _automation(owner, "crash")
    package = automation.add_package("1", str(tar_package(tmp_path, CRASHES)), {"inputs": {}})
    run = wait_for_run(owner.automation_runs.create(package))
    assert run.status == "FAILED"
    assert "exited with code 1" in run.message
    content = run.get_log_file().content()
    assert "about to fail" in content and "the package broke on purpose" in content


def test_the_memory_limit_holds_the_run(owner, tmp_path) -> None:
    """The same package (it takes 400 MB) fails under a 128 MB run limit and finishes under
    the automation's 1024 MB."""
    automation = _automation(owner, "memory")
    package = automation.add_package("1", str(zip_package(tmp_path, NEEDS_MEMORY)), {"inputs": {}})
    small = wait_for_run(owner.automation_runs.create(package, memory_limit=128))
    assert small.status == "FAILED", small.message
    assert "MemoryError" in small.get_log_file().content()
    roomy = wait_for_run(owner.automation_runs.create(package))
    assert roomy.status == "FINISHED", roomy.message
    assert "allocated 419430400" in roomy.get_log_file().content()


def test_stop_and_time_limit_leave_no_process(owner, tmp_path) -> None:
    automation = _automation(owner, "endless")
    package = automation.add_package("1", str(zip_package(tmp_path, ENDLESS, manifest=True)), {})
    run = wait_for_run(owner.automation_runs.create(package), ("RUNNING",))
    # The state document is live while the run runs; once it is written, the loop has begun.
    deadline = time.monotonic() + 20
    while run.get_state() != {"looping": True}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert processes_of(run.id)
    run.stop()
    wait_for_run(run, timeout=15)
    assert run.status == "ABORTED"
    assert processes_of(run.id) == []
    assert "looping" in run.get_log_file().content()

    limited = owner.automation_runs.create(package, settings={"time_limit": 2})
    wait_for_run(limited, timeout=30)
    assert limited.status == "FAILED"
    assert "time limit of 2 seconds" in limited.message
    assert processes_of(limited.id) == []


def test_run_save_and_read_only_member_cannot_run(owner, api_for, new_username, tmp_path) -> None:
    automation = _automation(owner, "perm")
    package = automation.add_package("1", str(zip_package(tmp_path, ENDLESS)), {})
    reader_name = new_username("viewer")
    viewer = api_for(reader_name)
    automation.add_member(reader_name, {"read": True, "execute": False})
    with pytest.raises(Forbidden):
        viewer.automation_runs.create(package.id)
    run = owner.automation_runs.create(package, name="to rename")
    run.name = "renamed"
    run.save()
    assert owner.automation_runs.get(run.id).name == "renamed"
    assert viewer.automation_runs.get(run.id).name == "renamed"
    with pytest.raises(Forbidden):
        viewer.automation_runs.get(run.id).stop()
    run.stop()
    wait_for_run(run, timeout=15)
    assert run.status == "ABORTED"

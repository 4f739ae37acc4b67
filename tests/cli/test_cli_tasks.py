"""``sbg apps ...``, ``sbg tasks ...`` and ``sbg volumes ...`` against the live platform."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import as_json

TOOL = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: [wc, -l]
stdin: $(inputs.input_file.path)
stdout: lines.txt
inputs:
  input_file: File
outputs:
  line_count:
    type: stdout
"""
WORKFLOW = """cwlVersion: v1.2
class: Workflow
inputs:
  reads: File
outputs:
  counted:
    type: File
    outputSource: count/line_count
steps:
  count:
    run: tools/count.cwl
    in:
      input_file: reads
    out: [line_count]
"""


def test_install_a_workflow_and_run_it_from_local_files(
    sbg_as, rest, new_username, tmp_path: Path
) -> None:
    user = new_username("runner")
    sbg = sbg_as(user)
    group = rest(user, "/billing/groups")["items"][0]["id"]
    project_id = as_json(
        sbg("projects", "create", "--name", "Runs", "--billing-group", group, "--json")
    )["id"]
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "count.cwl").write_text(TOOL)
    (tmp_path / "wf.cwl").write_text(WORKFLOW)

    installed = as_json(
        sbg("apps", "install", str(tmp_path / "wf.cwl"), "--project", project_id, "--json")
    )
    app_id = f"{project_id}/wf"
    # The step's tool was packed into the document.
    step = installed["raw"]["steps"][0]
    assert step["run"]["class"] == "CommandLineTool"
    assert as_json(sbg("apps", "show", app_id, "--json")) == rest(user, f"/apps/{app_id}")
    revision = as_json(
        sbg("apps", "install", str(tmp_path / "wf.cwl"), "--project", project_id, "--json")
    )
    assert revision["revision"] == installed["revision"] + 1
    listed = as_json(sbg("apps", "ls", "--project", project_id, "--json"))
    assert [app["id"] for app in listed] == [rest(user, f"/apps/{app_id}")["id"]]

    reads = tmp_path / "reads.txt"
    reads.write_text("1\n2\n3\n4\n")
    job = tmp_path / "job.yaml"
    job.write_text("reads:\n  class: File\n  path: reads.txt\n")
    ran = sbg(
        "tasks",
        "run",
        "--project",
        project_id,
        "--app",
        app_id,
        "--inputs",
        str(job),
        "--wait",
        "--interval",
        "0.3",
        "--json",
    )
    task = as_json(ran)
    assert task["status"] == "COMPLETED"
    assert task == rest(user, f"/tasks/{task['id']}")
    assert as_json(sbg("tasks", "show", task["id"], "--json")) == task
    ids = [item["id"] for item in as_json(sbg("tasks", "ls", "--project", project_id, "--json"))]
    assert ids == [task["id"]]

    outputs = as_json(sbg("tasks", "outputs", task["id"], "--json"))
    assert outputs == task["outputs"]
    out_dir = tmp_path / "out"
    fetched = sbg("tasks", "outputs", task["id"], "--download", str(out_dir))
    assert fetched.exit_code == 0, fetched.stderr
    assert (out_dir / "lines.txt").read_text().strip() == "4"
    logs = sbg("tasks", "logs", task["id"])
    assert logs.exit_code == 0 and "completed success" in logs.stdout

    # The same input as a flag: the file already in the project is reused, not uploaded again.
    again = sbg(
        "tasks",
        "run",
        "--project",
        project_id,
        "--app",
        app_id,
        "-i",
        f"reads={reads}",
        "--draft",
        "--json",
    )
    draft = as_json(again)
    assert draft["status"] == "DRAFT"
    assert draft["inputs"]["reads"]["path"] == task["inputs"]["reads"]["path"]
    aborted = sbg("tasks", "abort", draft["id"])
    assert aborted.exit_code != 0 and "Traceback" not in aborted.stderr  # drafts do not abort

    wrong = sbg("tasks", "run", "--project", project_id, "--app", app_id, "-i", "nope=1")
    assert wrong.exit_code == 2 and "no input named nope" in wrong.stderr
    missing_app = sbg("tasks", "run", "--project", project_id, "--app", f"{project_id}/none")
    assert missing_app.exit_code == 3


def test_a_failing_task_exits_6(sbg_as, rest, new_username, tmp_path: Path) -> None:
    user = new_username("failer")
    sbg = sbg_as(user)
    group = rest(user, "/billing/groups")["items"][0]["id"]
    project_id = as_json(
        sbg("projects", "create", "--name", "Fails", "--billing-group", group, "--json")
    )["id"]
    tool = tmp_path / "fail.cwl"
    tool.write_text(
        'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: ["false"]\n'
        "inputs: {}\noutputs: {}\n"
    )
    assert sbg("apps", "install", str(tool), "--project", project_id).exit_code == 0
    failed = sbg(
        "tasks",
        "run",
        "--project",
        project_id,
        "--app",
        f"{project_id}/fail",
        "--wait",
        "--interval",
        "0.3",
    )
    assert failed.exit_code == 6
    assert "FAILED" in failed.stderr


def test_volumes_listing_matches_the_api(sbg_as, rest) -> None:
    listed = as_json(sbg_as("admin")("volumes", "ls", "--json"))
    assert listed == rest("admin", "/storage/volumes", fields="_all", limit=100)["items"]
    assert sbg_as("admin")("volumes", "show", "admin/none").exit_code == 3
    assert json.loads(sbg_as("admin")("volumes", "ls", "-o", "json").stdout) == listed

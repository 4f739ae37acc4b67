"""The official quickstart's app and task steps, written as a user writes them: find a public app,
copy it, install one from a raw CWL description, run a single task and a batch task (by metadata
criteria and by item), watch them, read outputs and execution details, abort and clone.

:func:`run_task_quickstart` uses only the public surface of ``sevenbridges``; the test runs it
against the local platform, where the tasks really execute, and checks what a user would look at.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import sevenbridges as sbg
from sevenbridges.errors import SbgError
from sevenbridges.models.enums import TaskStatus

SAMPLES = {"HG001": 3, "HG002": 5, "HG003": 2}  # sample id -> reads in its FASTQ file

WORD_COUNT_APP = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Word count",
    "baseCommand": ["wc", "-w"],
    "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
    "stdout": "words.txt",
    "outputs": {"words": {"type": "stdout"}},
}


NAP_APP = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Nap",
    "baseCommand": ["sleep"],
    "inputs": {"seconds": {"type": "int", "inputBinding": {"position": 1}}},
    "outputs": {},
}


def write_fastq(path: Path, reads: int) -> None:
    records = (f"@read{n}\nACGTACGTAA\n+\nIIIIIIIIII\n" for n in range(reads))
    path.write_text("".join(records))


def run_task_quickstart(api: sbg.Api, workdir: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    project = api.projects.create(name="Quickstart tasks")

    # Apps: browse the public ones, copy one into the project, install our own from CWL.
    public = api.apps.query(visibility="public")
    seen["public_apps"] = sorted(app.id for app in public)
    fastq_stats = api.apps.get(id="admin/public-apps/fastq-stats")
    my_stats = fastq_stats.copy(project=project.id)
    seen["copied_app"] = (my_stats.id, my_stats.revision)
    word_count = api.apps.install_app(id=f"{project.id}/word-count", raw=WORD_COUNT_APP)
    seen["installed_app"] = (word_count.id, word_count.revision)

    # Upload reads and tag each file with its sample.
    for sample, reads in SAMPLES.items():
        path = workdir / f"{sample}.fastq"
        write_fastq(path, reads)
        uploaded = api.files.upload(str(path), project=project.id).result()
        uploaded.metadata["sample_id"] = sample
        uploaded.save()

    # A single task, run right away; wait for it and look at its outputs.
    reads = api.files.query(project=project, metadata={"sample_id": "HG002"})[0]
    task = api.tasks.create(
        name="HG002 statistics",
        project=project,
        app=my_stats,
        inputs={"reads": reads},
        run=True,
    )
    task.wait(period=0.5)
    seen["single_status"] = task.status
    seen["single_outputs"] = (task.outputs["read_count"], task.outputs["base_count"])
    stats_file = task.outputs["stats"]
    stats_path = workdir / "HG002.stats.json"
    stats_file.download(path=str(stats_path))
    seen["stats_json"] = json.loads(stats_path.read_text())["read_count"]
    seen["output_origin"] = api.files.get(stats_file.id).origin.task == task.id
    details = task.get_execution_details()
    seen["jobs"] = [(job.status, bool(job.logs)) for job in details.jobs]

    # A batch task: one child per sample, grouped by the sample_id metadata.
    all_reads = list(api.files.query(project=project, names=[f"{s}.fastq" for s in SAMPLES]))
    batch = api.tasks.create(
        name="Statistics per sample",
        project=project,
        app=my_stats,
        inputs={"reads": all_reads},
        batch_input="reads",
        batch_by={"type": "criteria", "criteria": ["metadata.sample_id"]},
        run=True,
    )
    batch.wait(period=0.5)
    seen["batch_status"] = batch.status
    per_sample = {}
    for child in batch.get_batch_children():
        per_sample[child.batch_group.value] = child.outputs["read_count"]
    seen["batch_reads"] = per_sample
    seen["batch_counters"] = (batch.execution_status.completed, batch.execution_status.failed)

    # The same as a draft batched by item: save a change, then run it.
    draft = api.tasks.create(
        name="Word count per file",
        project=project,
        app=word_count,
        inputs={"text": all_reads},
        batch_input="text",
        batch_by={"type": "item"},
    )
    draft.description = "Counting words of every FASTQ file"
    draft.save()
    draft.run()
    draft.wait(period=0.5)
    seen["item_batch"] = (
        draft.status,
        sorted(int(child.outputs["words"].content().split()[0])
               for child in draft.get_batch_children()),
    )

    # Clone the single task (it runs again).
    again = task.clone()
    again.wait(period=0.5)
    seen["clone_status"] = again.status

    # Abort a long task while it runs.
    nap = api.apps.install_app(id=f"{project.id}/nap", raw=NAP_APP)
    long_task = api.tasks.create(
        name="Long nap", project=project, app=nap, inputs={"seconds": 600}, run=True
    )
    while long_task.status not in (TaskStatus.RUNNING, *TaskStatus.terminal_states):
        time.sleep(0.2)
        long_task.reload()
    long_task.abort()
    long_task.wait(period=0.5)
    seen["aborted_status"] = long_task.status

    # Every task of the project.
    seen["project_tasks"] = len(list(api.tasks.query(project=project).all()))
    try:
        task.get_batch_children()
    except SbgError as error:
        seen["not_a_batch"] = str(error)
    return seen


def test_task_quickstart(platform, new_username, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # transfer state stays in the sandbox
    api = sbg.Api(url=platform.url, token=platform.token(new_username("quicktasks")), debug=True)

    seen = run_task_quickstart(api, tmp_path)

    assert "admin/public-apps/fastq-stats" in seen["public_apps"]
    assert seen["copied_app"][0].endswith("/fastq-stats")
    assert seen["installed_app"][1] == 0
    assert seen["single_status"] == TaskStatus.COMPLETED
    assert seen["single_outputs"] == (5, 50)
    assert seen["stats_json"] == 5
    assert seen["output_origin"] is True
    assert seen["jobs"] and all(status == TaskStatus.COMPLETED for status, _ in seen["jobs"])
    assert all(has_logs for _, has_logs in seen["jobs"])
    assert seen["batch_status"] == TaskStatus.COMPLETED
    assert seen["batch_reads"] == SAMPLES
    assert seen["batch_counters"][0] == len(SAMPLES)
    assert not seen["batch_counters"][1]
    # wc -w counts one word per FASTQ line: 4 lines per read.
    assert seen["item_batch"] == (TaskStatus.COMPLETED, sorted(4 * n for n in SAMPLES.values()))
    assert seen["clone_status"] == TaskStatus.COMPLETED
    assert seen["aborted_status"] == TaskStatus.ABORTED
    assert seen["project_tasks"] >= 5
    assert "not a batch task" in seen["not_a_batch"]

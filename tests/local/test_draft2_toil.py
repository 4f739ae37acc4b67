"""sbg:draft-2 file metadata with the Toil executor: Toil moves input files into its job store
(their locations change), so the metadata must travel on the File objects themselves. Toil is
slow to start; marked ``toil`` (``make test-toil``-style runs with ``SBG_TEST_TOIL=all``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import draft2_documents as docs
import pytest

import sevenbridges as sbg
from sevenbridges.models.enums import TaskStatus
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.toil_executor import find_toil_runner

pytestmark = [
    pytest.mark.toil,
    pytest.mark.skipif(find_toil_runner() is None, reason="Toil is not installed"),
    pytest.mark.skipif(os.environ.get("SBG_TEST_TOIL") != "all", reason="long Toil test"),
]


@pytest.fixture(scope="module")
def toil_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(
        tmp_path_factory.mktemp("draft2-toil"), settings={"executor": "toil", "task_workers": 1}
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_output_metadata_with_toil(toil_platform: EmbeddedServer, tmp_path: Path) -> None:
    api = sbg.Api(url=toil_platform.url, token=toil_platform.token("toildrafter"))
    project = api.projects.create(name=f"draft2 toil {uuid.uuid4().hex[:8]}")
    app = api.apps.install_app(id=f"{project.id}/labeller", raw=docs.labeller_tool())
    source = tmp_path / "reads.txt"
    source.write_text("R\n")
    reads = api.files.upload(str(source), project=project).result()
    reads.metadata.update({"sample_id": "S1", "case": "c1"})
    reads.save()

    task = api.tasks.create(
        name="labeller",
        project=project,
        app=app,
        run=True,
        inputs={"reads": reads, "label": "T", "others": [reads]},
    )
    task.wait(period=0.5)

    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    copied = api.files.get(task.outputs["copy"].id)
    assert dict(copied.metadata) == {
        "sample_id": "S1",
        "case": "c1",
        "label": "T:copy.txt",
        "origin": "S1/copied",
        "pipeline": "labeller",
    }

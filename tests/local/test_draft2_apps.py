"""sbg:draft-2 apps on the live platform through the client: installed as they are (``app.raw``
gives the document back), run through their CWL v1.0 translation with real cwltool tasks, and
refused with 400/6013 naming the construct when they cannot be translated."""

from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from typing import Any

import draft2_documents as docs
import pytest
from local_helpers import assert_error

import sevenbridges as sbg
from sevenbridges.errors import BadRequest
from sevenbridges.models.enums import TaskStatus
from sevenbridges.models.file import File
from sevenbridges_local.services.cwl import to_yaml

APP_INVALID = 6013
POLL_SECONDS = 0.2
# Keys the platform adds to every raw it returns (revision, authorship, project).
PLATFORM_KEY = re.compile(
    r"^sbg:(id|revision|latestRevision|revisionNotes|revisionsInfo|"
    r"createdBy|createdOn|modifiedBy|modifiedOn|contributors|project|"
    r"projectName|appVersion|validationErrors|copyOf)$"
)


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("drafter"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return owner.projects.create(name=f"draft2 {uuid.uuid4().hex[:8]}")


def upload(api: sbg.Api, project: sbg.Project, tmp_path: Path, name: str, text: str) -> File:
    source = tmp_path / name
    source.write_text(text)
    uploaded = api.files.upload(str(source), project=project, file_name=name)
    return uploaded.result()


def without_platform_keys(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if not PLATFORM_KEY.match(key)}


def run(api: sbg.Api, project: sbg.Project, app: sbg.App, inputs: dict[str, Any]) -> Any:
    task = api.tasks.create(name="draft-2 run", project=project, app=app, inputs=inputs, run=True)
    task.wait(period=POLL_SECONDS)
    assert task.status == TaskStatus.COMPLETED, task.execution_status.message
    return task


def test_a_draft2_tool_is_stored_as_installed_and_runs(owner, project, tmp_path):
    document = docs.counter_tool()

    app = owner.apps.install_app(id=f"{project.id}/counter", raw=copy.deepcopy(document))

    # app.raw is the draft-2 document itself, plus the keys the platform adds to every raw.
    fetched = owner.apps.get(app.id)
    assert without_platform_keys(fetched.raw) == document
    assert fetched.raw["sbg:appVersion"] == ["sbg:draft-2"]
    assert fetched.raw["inputs"][0]["id"] == "#text"

    # A space in the name: plain values stay quoted on the shell command line.
    text = upload(owner, project, tmp_path, "my poem.txt", "one two\nthree\nfour five six\n")
    task = run(owner, project, app, {"text": text, "words": True})

    # '-w' came from the expression on $job.inputs.words, the file name from the stdout one.
    assert task.outputs["number"] == 6
    counted = task.outputs["count"]
    assert isinstance(counted, File)
    assert counted.name == "my poem.txt.count"
    assert counted.content().split()[0] == "6"


def test_staging_secondary_files_environment_and_created_files(owner, project, tmp_path):
    app = owner.apps.install_app(id=f"{project.id}/stager", raw=docs.stager_tool())
    bam = upload(owner, project, tmp_path, "reads.bam", "BAM")
    bam.metadata["sample_id"] = "NA12878"
    bam.save()
    upload(owner, project, tmp_path, "reads.bam.bai", "BAI")

    task = run(owner, project, app, {"bam": bam, "who": "world"})

    assert task.outputs["listing"].content().splitlines() == [
        "listing.txt",
        "reads.bam",
        "reads.bam.bai",
        "world.note",
        "hello world",
        "price: $(5)",
        "sample NA12878",  # $job.inputs.bam.metadata, from the file's platform metadata
    ]


def test_a_draft2_workflow_scatters_and_links_steps(owner, project, tmp_path):
    workflow = docs.count_and_join_workflow()
    # The join step's pipe (an argument the shell must see unquoted) upper-cases the report.
    workflow["steps"][1]["inputs"][2]["default"] = "upper"
    app = owner.apps.install_app(id=f"{project.id}/count-and-join", raw=workflow)
    first = upload(owner, project, tmp_path, "first.txt", "a\nb\n")
    second = upload(owner, project, tmp_path, "second.txt", "c\nd\ne\n")

    task = run(owner, project, app, {"texts": [first, second], "title": "Line counts"})

    assert task.outputs["numbers"] == [2, 3]
    report = task.outputs["report"].content().splitlines()
    assert report[0] == "LINE COUNTS"
    assert [line.split()[0] for line in report[1:]] == ["2", "3"]
    assert report[1].endswith("FIRST.TXT") and report[2].endswith("SECOND.TXT")
    assert task.execution_status.steps_total == 2


def test_draft2_revisions_are_checked_and_copies_keep_the_document(owner, project):
    app = owner.apps.install_app(id=f"{project.id}/joiner", raw=docs.joiner_tool())
    broken = docs.joiner_tool()
    broken["steps"] = []
    with pytest.raises(BadRequest) as refused:
        owner.apps.create_revision(id=app.id, revision=1, raw=broken)
    assert refused.value.code == APP_INVALID and "construct at steps" in refused.value.message
    changed = docs.joiner_tool()
    changed["label"] = "Joiner, second revision"

    revised = owner.apps.create_revision(id=app.id, revision=1, raw=changed)
    other = owner.projects.create(name=f"draft2 copies {uuid.uuid4().hex[:8]}")
    copied = revised.copy(project=other.id, name="joiner copy")

    assert revised.revision == 1
    assert without_platform_keys(revised.raw) == changed
    assert without_platform_keys(copied.raw) == {**changed, "label": "joiner copy"}
    assert copied.raw["sbg:appVersion"] == ["sbg:draft-2"]


@pytest.mark.parametrize(
    ("change", "construct"),
    [
        (
            lambda d: d["inputs"][0]["inputBinding"].update(bogus=1),
            "inputs[#text].inputBinding.bogus",
        ),
        (
            lambda d: d["hints"].append({"class": "SchemaDefRequirement", "types": []}),
            "hints[SchemaDefRequirement]",
        ),
        (
            lambda d: d.update(stdout={"class": "Expression", "engine": "#python", "script": "1"}),
            "stdout.engine",
        ),
        (lambda d: d["outputs"][0].update(type=["Fiel"]), "outputs[#count].type[0]"),
    ],
)
def test_untranslatable_constructs_are_refused_by_name(owner, project, change, construct):
    document = docs.counter_tool()
    change(document)

    with pytest.raises(BadRequest) as refused:
        owner.apps.install_app(id=f"{project.id}/broken", raw=document)

    assert refused.value.status == 400 and refused.value.code == APP_INVALID
    assert construct in refused.value.message
    assert owner.apps.query(project=project).total == 0


def test_refusal_has_the_platform_error_shape(platform, http, project, owner):
    workflow = docs.count_and_join_workflow()
    workflow["steps"][1]["inputs"][0]["source"] = ["#nowhere.count"]
    response = http.post(
        f"{platform.url}/apps/{project.id}/wf/raw",
        json=workflow,
        headers={"X-SBG-Auth-Token": owner.token},
        timeout=30,
    )

    body = assert_error(response, 400, APP_INVALID)
    assert set(body) == {"status", "code", "message", "more_info"}
    assert "steps[#join].inputs[#join.files].source[0]" in body["message"]
    assert "#nowhere.count" in body["message"]


def test_a_yaml_draft2_app_is_installed_and_read_back(platform, http, project, owner):
    document = docs.stager_tool()
    headers = {"X-SBG-Auth-Token": owner.token}
    response = http.post(
        f"{platform.url}/apps/{project.id}/stager-yaml/raw",
        data=to_yaml(document).encode(),
        headers={**headers, "Content-Type": "application/yaml"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    raw = http.get(
        f"{platform.url}/apps/{project.id}/stager-yaml/raw", headers=headers, timeout=30
    ).json()
    assert without_platform_keys(raw) == document


def test_outputs_inherit_metadata_and_get_sbg_metadata(owner, project, tmp_path):
    app = owner.apps.install_app(id=f"{project.id}/labeller", raw=docs.labeller_tool())
    reads = upload(owner, project, tmp_path, "reads.txt", "R\n")
    reads.metadata.update({"sample_id": "NA12878", "platform": "Illumina", "case": "c1"})
    reads.save()
    # Two inputs of the same name with different metadata: each keeps its own.
    folder = owner.files.create_folder(name="lane2", project=project)
    twin = owner.files.upload(
        str(tmp_path / "reads.txt"), parent=folder, file_name="reads.txt"
    ).result()
    twin.metadata.update({"sample_id": "NA12878", "lane": "2", "case": "c2"})
    twin.save()
    other = upload(owner, project, tmp_path, "other.txt", "O\n")
    other.metadata.update({"sample_id": "NA12878", "lane": "1", "case": "c2"})
    other.save()

    task = run(owner, project, app, {"reads": reads, "label": "L", "others": [twin, other]})

    copy_file = owner.files.get(task.outputs["copy"].id)
    assert copy_file.content() == "R\n"
    # Inherited from #reads, then sbg:metadata on top (an expression returning null removes).
    assert dict(copy_file.metadata) == {
        "sample_id": "NA12878",
        "case": "c1",
        "label": "L:copy.txt",
        "origin": "NA12878/copied",
        "pipeline": "labeller",
    }
    (merged,) = task.outputs["merged"]
    merged_file = owner.files.get(merged.id)
    # From a list: the keys every file shares with the same value.
    assert dict(merged_file.metadata) == {"sample_id": "NA12878", "case": "c2", "batch": 2}


def test_metadata_set_by_one_step_reaches_the_next(owner, project, tmp_path):
    app = owner.apps.install_app(id=f"{project.id}/label-tag", raw=docs.label_then_tag_workflow())
    reads = upload(owner, project, tmp_path, "reads.txt", "R\n")
    reads.metadata["sample_id"] = "S1"
    reads.save()
    other = upload(owner, project, tmp_path, "other.txt", "O\n")

    task = run(owner, project, app, {"reads": reads, "others": [other]})

    tagged = owner.files.get(task.outputs["tagged"].id)
    assert tagged.name == "copy.txt.tag"
    assert dict(tagged.metadata) == {
        "sample_id": "S1",
        "label": "W:copy.txt",
        "origin": "S1/copied",
        "pipeline": "labeller",
        "seen": "W:copy.txt",  # the step read the metadata its input got from step one
    }


def test_stage_input_copy_gives_the_tool_a_copy_it_may_change(owner, project, tmp_path):
    app = owner.apps.install_app(id=f"{project.id}/appender", raw=docs.appender_tool())
    text = upload(owner, project, tmp_path, "notes.txt", "R\n")

    task = run(owner, project, app, {"f": text})

    assert owner.files.get(task.outputs["out"].id).content() == "R\nmore\n"
    assert owner.files.get(text.id).content() == "R\n"  # the stored file is untouched

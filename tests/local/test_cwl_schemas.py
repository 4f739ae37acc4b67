"""``$schemas``: ontologies an app names are read from the operator's folder
(``cwl_schemas_dir``), by file name, never downloaded; namespaced metadata (``dct:creator`` of
class ``foaf:Person``) is an annotation, accepted as such."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from local_helpers import Caller, assert_error
from test_tasks_support import created, download, wait_for_status

from sevenbridges_local.embedded import EmbeddedServer

APP_INVALID = 6013
FORMATS = "http://example.org/formats#"
# 'child' is a subclass of 'parent'; cwltool accepts it only when it reads this ontology.
ONTOLOGY = f"""\
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{FORMATS}child> rdfs:subClassOf <{FORMATS}parent> .
"""


def formatted_tool(*schemas: str) -> dict[str, Any]:
    return {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "$namespaces": {"fmt": FORMATS},
        "$schemas": list(schemas),
        "baseCommand": ["cat"],
        "inputs": {"reads": {"type": "File", "format": "fmt:parent", "inputBinding": {}}},
        "outputs": {"out": {"type": "stdout"}},
        "stdout": "out.txt",
    }


def reads(format_name: str) -> dict[str, Any]:
    literal = {"class": "File", "basename": "r.txt", "contents": "hello\n"}
    return {"reads": {**literal, "format": FORMATS + format_name}}


@pytest.fixture
def with_ontologies(
    start_platform: Callable[..., EmbeddedServer],
    tmp_path: Path,
    http: requests.Session,
) -> Caller:
    folder = tmp_path / "ontologies"
    folder.mkdir()
    (folder / "tiny.ttl").write_text(ONTOLOGY, encoding="utf-8")
    server = start_platform(settings={"cwl_schemas_dir": str(folder)})
    return Caller(http, server.url, server.token("onto"), "onto")


def test_schemas_resolve_in_the_operators_folder_and_check_formats(with_ontologies: Caller) -> None:
    caller = with_ontologies
    project = caller.create_project("ontologies")["id"]
    # Found by its last URL segment; the URL itself is never fetched.
    document = formatted_tool("https://ontologies.invalid/path/tiny.ttl")
    answer = caller.post(f"/apps/{project}/formats/raw", json=document)
    assert answer.status_code == 200, answer.text
    assert caller.get(f"/apps/{project}/formats/raw").json()["$schemas"] == document["$schemas"]
    app = f"{project}/formats"
    good = created(caller, run=True, name="child", project=project, app=app, inputs=reads("child"))
    done = wait_for_status(caller, good["id"])
    assert done["status"] == "COMPLETED", done["execution_status"]
    assert download(caller, done["outputs"]["out"]["path"]) == b"hello\n"
    # A format the ontology does not relate to 'parent' is refused by cwltool's check.
    bad = created(caller, run=True, name="other", project=project, app=app, inputs=reads("other"))
    failed = wait_for_status(caller, bad["id"])
    assert failed["status"] == "FAILED"
    # An entry with no file of that name in the folder is refused at install.
    missing = formatted_tool("tiny.ttl", "https://example.org/EDAM.owl")
    body = assert_error(caller.post(f"/apps/{project}/missing/raw", json=missing), 400, APP_INVALID)
    assert "'EDAM.owl'" in body["message"] and "cwl_schemas_dir" in body["message"]


def test_schemas_are_refused_without_a_folder_of_ontologies(alice: Caller) -> None:
    project = alice.create_project("no ontologies")["id"]
    response = alice.post(f"/apps/{project}/formats/raw", json=formatted_tool("EDAM.owl"))
    body = assert_error(response, 400, APP_INVALID)
    assert "EDAM.owl" in body["message"]
    assert "SBG_LOCAL_CWL_SCHEMAS_DIR" in body["message"]


def test_namespaced_metadata_is_an_annotation(alice: Caller) -> None:
    project = alice.create_project("metadata")["id"]
    document = formatted_tool()
    document.pop("$schemas")
    document["$namespaces"].update(
        dct="http://purl.org/dc/terms/", foaf="http://xmlns.com/foaf/0.1/"
    )
    document["dct:creator"] = {
        "id": "http://orcid.org/0000-0003-3566-7705",
        "class": "foaf:Person",
        "foaf:name": "Peter Amstutz",
    }
    response = alice.post(f"/apps/{project}/annotated/raw", json=document)
    assert response.status_code == 200, response.text
    raw = alice.get(f"/apps/{project}/annotated/raw").json()
    assert raw["dct:creator"]["class"] == "foaf:Person"

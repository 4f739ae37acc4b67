"""Project helpers that reach into other resources: ``get_files``, ``add_files``, ``get_apps``."""

from __future__ import annotations

import pytest

import sevenbridges as sbg

from .test_files import names_of, new_project, put_file


@pytest.fixture
def owner(api_for, new_username) -> sbg.Api:
    return api_for(new_username("projfiles"))


@pytest.fixture
def project(owner: sbg.Api) -> sbg.Project:
    return new_project(owner, "project files")


def test_get_files_lists_the_project_files_with_paging(owner, project):
    for index in range(3):
        put_file(owner, f"sample-{index}.txt", project=project)

    first = project.get_files(limit=2)
    assert len(first) == 2
    assert first.total == 3
    assert sorted(names_of(project.get_files().all())) == [
        "sample-0.txt",
        "sample-1.txt",
        "sample-2.txt",
    ]


def test_add_files_copies_objects_and_ids_into_the_project(owner, project):
    as_object = put_file(owner, "by-object.txt", b"object\n", project=project)
    as_id = put_file(owner, "by-id.txt", b"identifier\n", project=project)
    target = new_project(owner, "copies")

    target.add_files([as_object, as_id.id])

    copies = {f.name: f for f in target.get_files().all()}
    assert sorted(copies) == ["by-id.txt", "by-object.txt"]
    assert copies["by-id.txt"].size == len(b"identifier\n")
    # The sources stay where they were.
    assert sorted(names_of(project.get_files().all())) == ["by-id.txt", "by-object.txt"]


def test_get_apps_lists_the_apps_installed_in_the_project(owner, project):
    tool = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "label": "Echo",
        "baseCommand": ["echo"],
        "inputs": [],
        "outputs": [],
    }
    installed = owner.apps.install_app(id=f"{project.id}/echo", raw=tool)

    apps = project.get_apps()
    assert [app.id for app in apps] == [installed.id]
    assert apps.total == 1
    assert project.get_apps(limit=1)[0].name == "Echo"

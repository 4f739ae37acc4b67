"""``api.divisions``, ``api.teams``, ``api.datasets``, ``api.markers`` and ``api.actions`` with
the client against the live local platform."""

from __future__ import annotations

import itertools

import pytest
import requests
from bam_support import bam_file_bytes

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Forbidden, NotFound, ResourceNotModified
from sevenbridges.models.compound.markers.position import MarkerPosition
from sevenbridges.models.enums import DivisionRole, FeedbackType

_numbers = itertools.count(1)


def _admin_call(platform, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(
        method,
        platform.url + path,
        headers={"X-SBG-Auth-Token": platform.token("admin")},
        timeout=30,
        **kwargs,
    )
    assert response.ok, response.text
    return response


@pytest.fixture
def lab(platform, new_username, api_for):
    """A division with a division admin (``boss``) and a member (``worker``)."""
    slug = f"client-lab-{next(_numbers)}"
    boss, worker = new_username("boss"), new_username("worker")
    boss_api, worker_api = api_for(boss), api_for(worker)  # creates the users
    _admin_call(platform, "POST", "/_local/divisions", json={"id": slug, "name": "Client lab"})
    _admin_call(platform, "PUT", f"/_local/divisions/{slug}/members/{boss}", json={"role": "admin"})
    _admin_call(platform, "PUT", f"/_local/divisions/{slug}/members/{worker}", json={})
    return slug, boss_api, worker_api, boss, worker


def test_divisions_and_teams(lab):
    slug, boss, worker, boss_name, worker_name = lab
    divisions = boss.divisions.query()
    assert [d.id for d in divisions] == [slug]
    division = boss.divisions.get(slug)
    assert isinstance(division, sbg.Division) and division.name == "Client lab"
    members = division.get_members()
    assert {u.username for u in members} == {boss_name, worker_name}
    assert [u.username for u in division.get_members(role=DivisionRole.ADMIN)] == [boss_name]

    team = boss.teams.create(name="Sequencing", division=division)
    assert isinstance(team, sbg.Team) and team.name == "Sequencing"
    assert [t.id for t in division.get_teams()] == [team.id]
    assert worker.teams.query(division=slug).total == 0
    assert [t.id for t in worker.teams.query(division=slug, list_all=True)] == [team.id]

    member = team.add_member(worker_name)
    assert isinstance(member, sbg.TeamMember)
    assert (member.username, member.role) == (worker_name, "MEMBER")
    listed = team.get_members()
    assert {m.username for m in listed} == {boss_name, worker_name}

    team.name = "Sequencing core"
    team.save()
    assert worker.teams.get(team.id).name == "Sequencing core"
    with pytest.raises(ResourceNotModified):
        team.save()

    # Access through the team: granted, then revoked.
    project = boss.projects.create(name="team project")
    with pytest.raises(NotFound):
        worker.projects.get(project.id)
    added = project.add_member_team(team, permissions={"read": True, "write": True})
    assert added.type == "TEAM" and added.username == team.id
    assert worker.projects.get(project.id).name == "team project"
    team.remove_member(worker_name)
    with pytest.raises(NotFound):
        worker.projects.get(project.id)

    # Bad input surfaces as the client's exceptions.
    with pytest.raises(NotFound) as missing:
        boss.teams.get("no-such-team")
    assert missing.value.code == 2106
    with pytest.raises(BadRequest) as outsider:
        team.add_member("admin")
    assert outsider.value.code == 2109
    with pytest.raises(Forbidden):
        worker.teams.create(name="Mine", division=slug)


def test_datasets(platform, api_for, new_username):
    owner_name, reader_name = new_username("dsowner"), new_username("dsreader")
    owner, reader = api_for(owner_name), api_for(reader_name)
    project = owner.projects.create(name="dataset source")
    _ = requests.post(
        platform.url + "/_local/datasets",
        headers={"X-SBG-Auth-Token": platform.token(owner_name)},
        json={"project": project.id, "name": "Cohort A", "description": "first"},
        timeout=30,
    ).json()
    dataset = owner.datasets.get(f"{owner_name}/cohort-a")
    assert isinstance(dataset, sbg.Dataset) and dataset.description == "first"
    # Other tests on this shared platform may publish public datasets; private ones are per user.
    assert [d.id for d in owner.datasets.query(visibility="private")] == [dataset.id]
    assert dataset.id in [d.id for d in owner.datasets.query()]
    assert [d.id for d in owner.datasets.get_owned_by(owner_name)] == [dataset.id]
    assert dataset.id not in [d.id for d in reader.datasets.query(visibility="public")]

    dataset.description = "second"
    dataset.save()
    assert owner.datasets.get(dataset.id).description == "second"

    member = dataset.add_member(reader_name, {"read": True, "copy": True})
    assert member.username == reader_name and member.permissions["copy"] is True
    assert reader.datasets.get(dataset.id).name == "Cohort A"
    assert {m.username for m in dataset.get_members()} == {owner_name, reader_name}
    fetched = dataset.get_member(reader_name)
    fetched.permissions["write"] = True
    fetched.save()
    assert dataset.get_member(reader_name).permissions["write"] is True
    dataset.remove_member(fetched)
    with pytest.raises(NotFound):
        reader.datasets.get(dataset.id)
    dataset.delete()
    with pytest.raises(NotFound):
        owner.datasets.get(dataset.id)


def test_files_of_a_dataset(platform, api_for, new_username, tmp_path):
    """``files.query(dataset=...)`` lists the source project's files for the dataset's readers
    only; reading goes with ``read``, downloading with ``copy``; both end with the membership."""
    owner_name, reader_name = new_username("dsfiles"), new_username("dsfilereader")
    owner, reader = api_for(owner_name), api_for(reader_name)
    project = owner.projects.create(name="dataset with files")
    for name in ("a.txt", "b.txt"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 10)
        owner.files.upload(str(path), project=project, wait=True)
    subfolder = owner.files.create_folder("sub", project=project)
    response = requests.post(
        platform.url + "/_local/datasets",
        headers={"X-SBG-Auth-Token": platform.token(owner_name)},
        json={"project": project.id, "name": "Files cohort"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    dataset_id = response.json()["id"]

    listed = owner.files.query(dataset=dataset_id)
    assert sorted(f.name for f in listed) == ["a.txt", "b.txt", "sub"]
    assert listed.total == 3
    assert [f.name for f in owner.files.query(dataset=dataset_id, names=["b.txt"])] == ["b.txt"]

    with pytest.raises(NotFound) as hidden:
        reader.files.query(dataset=dataset_id)
    assert hidden.value.code == 12002
    file_a = next(f for f in listed if f.name == "a.txt")
    with pytest.raises(NotFound):
        reader.files.get(file_a.id)

    dataset = owner.datasets.get(dataset_id)
    dataset.add_member(reader_name, {"read": True, "copy": False})
    seen = reader.files.query(dataset=dataset_id)
    assert sorted(f.name for f in seen) == ["a.txt", "b.txt", "sub"]
    assert reader.files.get(file_a.id).size == 50
    assert reader.files.query(parent=subfolder.id).total == 0  # its folders list too
    with pytest.raises(Forbidden):
        reader.files.get(file_a.id).download_info()  # taking the bytes out needs 'copy'
    with pytest.raises(NotFound):  # the dataset gives nothing on the project itself
        reader.projects.get(project.id)

    member = dataset.get_member(reader_name)
    member.permissions["copy"] = True
    member.save()
    out = tmp_path / "downloaded.txt"
    reader.files.get(file_a.id).download(str(out))
    assert out.read_bytes() == b"a.txt" * 10
    mine = reader.projects.create(name="my copies")
    assert reader.files.get(file_a.id).copy(project=mine.id).size == 50
    with pytest.raises(NotFound):  # never write: the project stays its members' own
        reader.files.get(file_a.id).copy(project=project.id, name="mine.txt")

    dataset.remove_member(reader_name)
    with pytest.raises(NotFound):
        reader.files.query(dataset=dataset_id)
    with pytest.raises(NotFound):
        reader.files.get(file_a.id)
    with pytest.raises(NotFound) as unknown:
        owner.files.query(dataset=f"{owner_name}/no-such-dataset")
    assert unknown.value.code == 12002


def test_markers_and_actions(api_for, new_username, tmp_path):
    api = api_for(new_username("markers"))
    project = api.projects.create(name="genome browser")
    bam = tmp_path / "sample.bam"
    bam.write_bytes(bam_file_bytes())
    text = tmp_path / "notes.txt"
    text.write_bytes(b"notes")
    bam_file = api.files.upload(str(bam), project=project, wait=True).result()
    text_file = api.files.upload(str(text), project=project, wait=True).result()

    marker = api.markers.create(
        file=bam_file, name="TP53", position={"start": 7668402, "end": 7687550}, chromosome="chr17"
    )
    assert isinstance(marker, sbg.Marker) and isinstance(marker.position, MarkerPosition)
    assert (marker.position["start"], marker.position["end"]) == (7668402, 7687550)
    assert marker.file == bam_file.id and marker.created_time is not None
    assert [m.id for m in api.markers.query(file=bam_file)] == [marker.id]

    marker.position["end"] = 7687560
    marker.name = "TP53 gene"
    marker.save()
    again = api.markers.get(marker.id)
    assert again.name == "TP53 gene" and again.position["end"] == 7687560
    assert again.position["start"] == 7668402
    with pytest.raises(BadRequest) as not_bam:
        api.markers.create(text_file, "x", {"start": 1, "end": 2}, "chr1")
    assert not_bam.value.code == 11004
    with pytest.raises(BadRequest) as out_of_range:
        api.markers.create(bam_file, "x", {"start": 5, "end": 1}, "chr1")
    assert out_of_range.value.code == 11005
    again.delete()
    assert api.markers.query(file=bam_file).total == 0

    assert api.actions.send_feedback(type=FeedbackType.THOUGHT, text="Nice local platform") is None
    target = api.projects.create(name="copies")
    result = api.actions.bulk_copy_files([bam_file, text_file.id], target)
    assert {result[bam_file.id]["status"], result[text_file.id]["status"]} == {"OK"}
    assert {f.name for f in api.files.query(project=target)} == {"sample.bam", "notes.txt"}

"""Datasets, genome markers and actions (feedback, bulk copy) over HTTP on the live platform."""

from __future__ import annotations

import gzip
import struct

import pytest
from bam_support import GRCH38_SOME, bam_file_bytes, bgzf
from files_support import seed_file
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer

READ = {"read": True, "copy": False, "write": False, "execute": False, "admin": False}


@pytest.fixture
def dataset(alice: Caller) -> dict:
    project = alice.create_project("tcga brca source")
    response = alice.post(
        "/_local/datasets",
        json={"project": project["id"], "name": "TCGA BRCA", "description": "Breast carcinoma"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_dataset_publish_get_list_save_delete(
    dataset: dict, alice: Caller, bob: Caller, admin: Caller
) -> None:
    assert dataset == {
        "href": f"{alice.url}/datasets/{alice.username}/tcga-brca",
        "id": f"{alice.username}/tcga-brca",
        "name": "TCGA BRCA",
        "description": "Breast carcinoma",
    }
    path = f"/datasets/{dataset['id']}"
    assert alice.get(path).json() == dataset
    mine = alice.get("/datasets", params={"fields": "_all"})
    assert dataset["id"] in [item["id"] for item in mine.json()["items"]]
    owned = alice.get(f"/datasets/{alice.username}", params={"fields": "_all"}).json()
    assert [item["id"] for item in owned["items"]] == [dataset["id"]]
    # Private: others neither see nor list it.
    assert_error(bob.get(path), 404, 12002)
    assert bob.get(f"/datasets/{alice.username}").json()["items"] == []
    assert dataset["id"] not in [i["id"] for i in bob.get("/datasets").json()["items"]]
    # Save: name and description; an empty name is refused and changes nothing.
    saved = alice.patch(path, json={"description": "BRCA, 1,098 cases"})
    assert saved.status_code == 200 and saved.json()["description"] == "BRCA, 1,098 cases"
    assert_error(alice.patch(path, json={"name": " "}), 400, 12004)
    assert alice.get(path).json()["name"] == "TCGA BRCA"
    # Only platform admins publish public datasets.
    project = alice.create_project("public source")
    body = {"project": project["id"], "name": "Open", "visibility": "public"}
    assert_error(alice.post("/_local/datasets", json=body), 403, 12001)
    alice.post(f"/projects/{project['id']}/members", json={"username": "admin"})
    assert_error(admin.post("/_local/datasets", json=body), 403, 3001)  # needs project admin
    admin_project = admin.create_project("admin open data")
    public = admin.post(
        "/_local/datasets",
        json={"project": admin_project["id"], "name": "Open data", "visibility": "public"},
    )
    assert public.status_code == 201, public.text
    listed = bob.get("/datasets", params={"visibility": "public"}).json()["items"]
    assert public.json()["id"] in [item["id"] for item in listed]
    assert dataset["id"] not in [item["id"] for item in listed]
    assert bob.get(f"/datasets/{public.json()['id']}").status_code == 200
    assert_error(bob.patch(f"/datasets/{public.json()['id']}", json={"name": "x"}), 403, 12001)
    assert_error(bob.get("/datasets", params={"visibility": "secret"}), 400, 90000)
    # Delete (unpublish): the source project stays.
    assert alice.delete(path).status_code == 204
    assert_error(alice.get(path), 404, 12002)
    assert alice.get(f"/projects/{project['id']}").status_code == 200


def test_dataset_members(dataset: dict, alice: Caller, bob: Caller, carol: Caller) -> None:
    path = f"/datasets/{dataset['id']}"
    added = alice.post(f"{path}/members", json={"username": bob.username, "permissions": READ})
    assert added.status_code == 201, added.text
    member = added.json()
    assert member["href"] == f"{alice.url}{path}/members/{bob.username}"
    assert member["permissions"] == READ and member["type"] == "USER"
    assert bob.get(path).status_code == 200
    listed = alice.get(f"{path}/members")
    assert listed.headers["X-Total-Matching-Query"] == "2"
    assert {m["username"] for m in listed.json()["items"]} == {alice.username, bob.username}
    assert alice.get(f"{path}/members/{bob.username}").json() == member
    # A reader cannot manage members.
    assert_error(bob.post(f"{path}/members", json={"username": carol.username}), 403, 12001)
    changed = alice.patch(f"{path}/members/{bob.username}/permissions", json={"copy": True})
    assert changed.json()["permissions"]["copy"] is True
    assert_error(alice.post(f"{path}/members", json={"username": bob.username}), 409, 12003)
    assert_error(alice.delete(f"{path}/members/{alice.username}"), 403, 12001)  # the owner stays
    assert alice.delete(f"{path}/members/{bob.username}").status_code == 204
    assert_error(bob.get(path), 404, 12002)
    assert_error(alice.get(f"{path}/members/{bob.username}"), 404, 12002)


def _bam(platform: EmbeddedServer, project: dict, name: str = "NA12878.bam") -> str:
    return seed_file(platform, project=project["id"], name=name, content=bam_file_bytes())


def test_markers_check_the_content_of_the_bam_file(platform: EmbeddedServer, alice: Caller) -> None:
    """A '.bam' name is not enough: the content must start with a BAM header (BGZF, magic,
    references); the limits of the region come from that header."""
    project = alice.create_project("bam content")
    body = {"name": "m", "chromosome": "chr1", "position": {"start": 1, "end": 10}}
    whole = bam_file_bytes()
    not_bam = {
        "text.bam": b"chr1\t1\t10\n",
        "gzipped-text.bam": gzip.compress(b"@HD\tVN:1.6\n"),
        "truncated.bam": whole[: len(whole) // 2],
        "bgzf-but-sam.bam": bgzf(b"@HD\tVN:1.6\n" * 10),
        "negative-text.bam": bgzf(b"BAM\x01" + struct.pack("<i", -1)),
        "empty.bam": b"",
    }
    for name, content in not_bam.items():
        file_id = seed_file(platform, project=project["id"], name=name, content=content)
        assert_error(alice.post("/genome/markers", json={**body, "file": file_id}), 400, 11004)
        assert_error(alice.get("/genome/markers", params={"file": file_id}), 400, 11004)
    # A header larger than one BGZF block (a long SAM text), with a reference after it.
    long_text = "@HD\tVN:1.6\n" + "".join(f"@CO\tcomment {i}\n" for i in range(8000))
    big = seed_file(
        platform,
        project=project["id"],
        name="big header.BAM",
        content=bam_file_bytes({"scaffold_1": 500}, text=long_text),
    )
    created = alice.post(
        "/genome/markers",
        json={
            **body,
            "file": big,
            "chromosome": "scaffold_1",
            "position": {"start": 1, "end": 500},
        },
    )
    assert created.status_code == 201, created.text
    too_far = {
        **body,
        "file": big,
        "chromosome": "scaffold_1",
        "position": {"start": 1, "end": 501},
    }
    assert_error(alice.post("/genome/markers", json=too_far), 400, 11005)
    assert len(alice.get("/genome/markers", params={"file": big}).json()["items"]) == 1


def test_markers(platform: EmbeddedServer, alice: Caller, bob: Caller, carol: Caller) -> None:
    project = alice.create_project("markers")
    bam = _bam(platform, project)
    text = seed_file(platform, project=project["id"], name="notes.txt")
    alice.post(f"/projects/{project['id']}/members", json={"username": bob.username})
    body = {
        "file": bam,
        "name": "BRCA1",
        "position": {"start": 43044295, "end": 43125483},
        "chromosome": "chr17",
        "private": False,
    }
    created = alice.post("/genome/markers", json=body)
    assert created.status_code == 201, created.text
    marker = created.json()
    assert marker["href"] == f"{alice.url}/genome/markers/{marker['id']}"
    assert {k: marker[k] for k in ("file", "name", "chromosome", "position", "private")} == {
        k: body[k] for k in ("file", "name", "chromosome", "position", "private")
    }
    assert marker["created_by"] == alice.username and marker["created_time"].endswith("Z")
    private = alice.post("/genome/markers", json={**body, "name": "mine", "private": True}).json()
    # Bob (a project member) sees the public marker only; carol sees nothing.
    seen = bob.get("/genome/markers", params={"file": bam, "fields": "_all"})
    assert [m["id"] for m in seen.json()["items"]] == [marker["id"]]
    assert seen.headers["X-Total-Matching-Query"] == "1"
    assert len(alice.get("/genome/markers", params={"file": bam}).json()["items"]) == 2
    assert_error(bob.get(f"/genome/markers/{private['id']}"), 404, 11002)
    assert_error(carol.get("/genome/markers", params={"file": bam}), 404, 5002)
    assert_error(carol.get(f"/genome/markers/{marker['id']}"), 404, 11002)
    # Save: given keys only; position sub-keys one by one.
    saved = alice.patch(f"/genome/markers/{marker['id']}", json={"position": {"end": 43125490}})
    assert saved.json()["position"] == {"start": 43044295, "end": 43125490}
    assert saved.json()["name"] == "BRCA1"
    assert alice.get(f"/genome/markers/{marker['id']}").json() == saved.json()
    assert_error(bob.patch(f"/genome/markers/{marker['id']}", json={"name": "x"}), 403, 11001)
    # Bad input, nothing stored or changed.
    bad = [
        ({**body, "file": text}, 400, 11004),
        ({**body, "position": {"start": 0, "end": 5}}, 400, 11005),
        ({**body, "position": {"start": 10, "end": 5}}, 400, 11005),
        ({**body, "position": {"start": 1, "end": 2**31}}, 400, 11005),
        ({**body, "position": {"start": 1}}, 400, 11005),
        ({**body, "chromosome": "chr 1"}, 400, 11006),
        ({**body, "name": ""}, 400, 11007),
        ({**body, "file": "0" * 24}, 404, 5002),
        # Checked against the file's header: the reference must exist and hold the region.
        ({**body, "chromosome": "chr2"}, 400, 11006),
        ({**body, "chromosome": "17"}, 400, 11006),
        ({**body, "position": {"start": 1, "end": GRCH38_SOME["chr17"] + 1}}, 400, 11005),
        ({**body, "chromosome": "chrM", "position": {"start": 16_000, "end": 16_570}}, 400, 11005),
    ]
    for payload, status, code in bad:
        assert_error(alice.post("/genome/markers", json=payload), status, code)
    assert_error(
        alice.patch(f"/genome/markers/{marker['id']}", json={"position": {"start": 43125491}}),
        400,
        11005,
    )
    assert_error(
        alice.patch(f"/genome/markers/{marker['id']}", json={"chromosome": "chrM"}), 400, 11005
    )  # BRCA1's region lies beyond chrM's 16,569 bases
    assert_error(
        alice.patch(f"/genome/markers/{marker['id']}", json={"chromosome": "chrX"}), 400, 11006
    )
    assert alice.get(f"/genome/markers/{marker['id']}").json() == saved.json()
    assert_error(alice.get("/genome/markers", params={"file": text}), 400, 11004)
    assert len(alice.get("/genome/markers", params={"file": bam}).json()["items"]) == 2
    # Delete.
    assert alice.delete(f"/genome/markers/{marker['id']}").status_code == 204
    assert_error(alice.get(f"/genome/markers/{marker['id']}"), 404, 11002)


def test_feedback_is_stored_for_admins(alice: Caller, admin: Caller) -> None:
    sent = alice.post(
        "/action/notifications/feedback",
        json={"type": "PROBLEM", "text": "The upload stalls at 99%", "referrer": "tests"},
    )
    assert sent.status_code == 204, sent.text
    received = admin.get("/action/notifications/feedback").json()["items"]
    assert {
        "type": "PROBLEM",
        "text": "The upload stalls at 99%",
        "referrer": "tests",
        "user": alice.username,
    }.items() <= received[0].items()
    assert_error(alice.get("/action/notifications/feedback"), 403, 90002)
    for body in ({"type": "RANT", "text": "x"}, {"type": "IDEA", "text": "  "}, {"type": "IDEA"}):
        assert_error(alice.post("/action/notifications/feedback", json=body), 400, 12501)


def test_bulk_copy_files(platform: EmbeddedServer, alice: Caller, bob: Caller) -> None:
    source = alice.create_project("copy source")
    target = alice.create_project("copy target")
    first = seed_file(platform, project=source["id"], name="a.txt")
    second = seed_file(platform, project=source["id"], name="b.txt")
    foreign = seed_file(platform, project=bob.create_project("elsewhere")["id"], name="c.txt")
    response = alice.post(
        "/action/files/copy", json={"project": target["id"], "file_ids": [first, second, foreign]}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {first, second, foreign}
    assert result[first]["status"] == "OK" and result[first]["new_file_name"] == "a.txt"
    copied = alice.get(f"/files/{result[second]['new_file_id']}").json()
    assert copied["name"] == "b.txt" and copied["project"] == target["id"]
    assert result[foreign]["status"] == "FAILED" and result[foreign]["error"]["code"] == 5002
    # A second copy of the same names conflicts per file; nothing else changes.
    again = alice.post("/action/files/copy", json={"project": target["id"], "file_ids": [first]})
    assert again.json()[first]["status"] == "FAILED"
    assert (
        alice.get("/files", params={"project": target["id"]}).headers["X-Total-Matching-Query"]
        == "2"
    )
    assert_error(alice.post("/action/files/copy", json={"project": target["id"]}), 400, 90000)

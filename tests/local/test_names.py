"""File and folder names from hostile clients: the 255-byte limit, NFC, bidi and zero-width
characters, on every path that accepts or makes a name (issue 7)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from typing import Any

import pytest
from files_support import names_of, new_folder, seed_file, wait_for
from local_helpers import Caller, assert_error, run_sql
from test_tasks_support import CAT_TOOL, created, file_ref, install_app, wait_for_status
from test_uploads import start_upload

from sevenbridges_local.embedded import EmbeddedServer

NFC_CAFE = unicodedata.normalize("NFC", "café.txt")
NFD_CAFE = unicodedata.normalize("NFD", "café.txt")
# 255 two-byte characters: 255 characters (the old limit) but 510 bytes, which no file system
# takes as a file name.
TWO_BYTE_255 = "é" * 255
LONGEST_TWO_BYTE = "é" * 127 + "x"  # 255 bytes
ONE_BYTE_TOO_MANY = "é" * 128  # 256 bytes
EMOJI_FITS = "😀" * 63 + "abc"  # 4-byte characters: 252 + 3 = 255 bytes
EMOJI_TOO_LONG = "😀" * 64  # 256 bytes

BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"] + [
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]

# Touches a file named after its input and returns it: tool outputs are named by tools.
TOUCH_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Touch",
    "baseCommand": ["touch"],
    "inputs": {"name": {"type": "string", "inputBinding": {"position": 1}}},
    "outputs": {"made": {"type": "File", "outputBinding": {"glob": "$(inputs.name)"}}},
}


@pytest.fixture
def project(alice: Caller) -> dict:
    return alice.create_project(f"names-{uuid.uuid4().hex[:8]}")


def _folder(caller: Caller, project: dict, name: str):
    return caller.post("/files", json={"name": name, "type": "folder", "project": project["id"]})


def _name_error(response) -> str:
    return assert_error(response, 400, 5026)["message"]


# --- the byte limit --------------------------------------------------------------------------


def test_the_limit_is_255_bytes_of_utf8_not_255_characters(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    for name in (TWO_BYTE_255, ONE_BYTE_TOO_MANY, EMOJI_TOO_LONG):
        message = _name_error(_folder(alice, project, name))
        assert "bytes" in message and "255" in message, message
    for name in (LONGEST_TWO_BYTE, EMOJI_FITS, "n" * 255):
        response = _folder(alice, project, name)
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name
    assert sorted(names_of(alice.get("/files", params={"project": project["id"]}).json())) == (
        sorted([LONGEST_TWO_BYTE, EMOJI_FITS, "n" * 255])
    )


def test_every_path_that_takes_a_name_applies_the_byte_limit(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    file_id = seed_file(platform, project=project["id"], name="keep.txt")
    folder = new_folder(alice, "dest", project=project["id"])
    bad = TWO_BYTE_255

    _name_error(alice.patch(f"/files/{file_id}", json={"name": bad}))
    _name_error(alice.put(f"/files/{file_id}", json={"name": bad}))
    _name_error(
        alice.post(f"/files/{file_id}/actions/copy", json={"project": project["id"], "name": bad})
    )
    _name_error(
        alice.post(f"/files/{file_id}/actions/move", json={"parent": folder["id"], "name": bad})
    )
    _name_error(
        alice.post("/upload/multipart", json={"name": bad, "size": 3, "project": project["id"]})
    )
    for kind in ("edit", "update"):
        [item] = alice.post(
            f"/bulk/files/{kind}", json={"items": [{"id": file_id, "name": bad}]}
        ).json()["items"]
        assert item["error"]["code"] == 5026, item

    for kind, item in (
        ("copy", {"file": file_id, "project": project["id"], "name": bad}),
        ("move", {"file": file_id, "parent": folder["id"], "name": bad}),
    ):
        response = alice.post(f"/async/files/{kind}", json={"items": [item]})
        assert response.status_code == 201, response.text
        href = response.json()["href"]
        done = wait_for(
            lambda href=href: (body := alice.get(href).json())["state"] == "FINISHED" and body
        )
        assert done["failed_files"] == 1
        assert done["result"][0]["error"]["code"] == 5026

    # Nothing was renamed, copied or moved.
    assert alice.get(f"/files/{file_id}").json()["name"] == "keep.txt"
    assert sorted(names_of(alice.get("/files", params={"project": project["id"]}).json())) == [
        "dest",
        "keep.txt",
    ]
    assert alice.get(f"/files/{folder['id']}/list").json()["items"] == []


def test_completing_an_upload_rechecks_its_name(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    upload = start_upload(alice, "ok.txt", 0, project=project["id"])
    upload_id = upload["upload_id"]
    # An upload started before the byte limit existed still carries its over-long name.
    run_sql(platform, "UPDATE uploads SET name = ? WHERE id = ?", (TWO_BYTE_255, upload_id))
    url = alice.get(f"/upload/multipart/{upload_id}/part/1").json()["url"]
    stored = alice.http.put(url, data=b"", timeout=30)
    assert stored.status_code == 200
    etag = stored.headers["ETag"].strip('"')
    alice.post(
        f"/upload/multipart/{upload_id}/part",
        json={"part_number": 1, "response": {"headers": {"ETag": etag}}},
    )
    _name_error(alice.post(f"/upload/multipart/{upload_id}/complete"))
    assert alice.get("/files", params={"project": project["id"]}).json()["items"] == []


# --- normalisation ---------------------------------------------------------------------------


def test_names_are_stored_in_nfc_and_nfd_cannot_sit_beside_nfc(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    assert NFC_CAFE != NFD_CAFE
    created_folder = _folder(alice, project, NFD_CAFE)
    assert created_folder.status_code == 201
    assert created_folder.json()["name"] == NFC_CAFE

    assert_error(_folder(alice, project, NFC_CAFE), 409, 5030)
    assert_error(
        alice.post(
            "/upload/multipart", json={"name": NFC_CAFE, "size": 1, "project": project["id"]}
        ),
        409,
        8005,
    )
    file_id = seed_file(platform, project=project["id"], name="other.txt")
    assert_error(alice.patch(f"/files/{file_id}", json={"name": NFD_CAFE}), 409, 5030)

    for spelled in (NFC_CAFE, NFD_CAFE):
        found = alice.get("/files", params={"project": project["id"], "name": spelled}).json()
        assert names_of(found) == [NFC_CAFE], spelled
    # Renaming a file to its own name in another spelling is no conflict.
    renamed = alice.patch(f"/files/{file_id}", json={"name": unicodedata.normalize("NFD", "ü.txt")})
    assert renamed.json()["name"] == unicodedata.normalize("NFC", "ü.txt")
    again = alice.patch(f"/files/{file_id}", json={"name": unicodedata.normalize("NFC", "ü.txt")})
    assert again.status_code == 200, again.text


def test_names_stored_in_nfd_before_the_rule_are_kept_and_found(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    # A row written before names were normalised (seeded straight into the database).
    legacy = seed_file(platform, project=project["id"], name=NFD_CAFE, content=b"old\n")
    assert alice.get(f"/files/{legacy}").json()["name"] == NFD_CAFE  # nothing rewritten

    for spelled in (NFC_CAFE, NFD_CAFE):
        found = alice.get("/files", params={"project": project["id"], "name": spelled}).json()
        assert [item["id"] for item in found["items"]] == [legacy], spelled
    assert_error(_folder(alice, project, NFC_CAFE), 409, 5003)
    assert_error(
        alice.post(
            "/upload/multipart", json={"name": NFC_CAFE, "size": 1, "project": project["id"]}
        ),
        409,
        8005,
    )
    # Renaming it to its NFC spelling is allowed and stores NFC.
    renamed = alice.patch(f"/files/{legacy}", json={"name": NFC_CAFE})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == NFC_CAFE


def test_a_name_too_long_from_before_the_rule_is_refused_as_a_task_input(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    """Such a file stays readable, but no file system can stage it: the task says why."""
    legacy = seed_file(platform, project=project["id"], name=TWO_BYTE_255, content=b"old\n")
    app = install_app(alice, project["id"], "cat-long", CAT_TOOL)
    task = created(alice, project=project["id"], app=app, inputs={"files": [file_ref(legacy)]})
    assert [problem["code"] for problem in task["errors"]] == [7024]
    assert "longer than 255 bytes" in task["errors"][0]["message"]
    refused = alice.post(f"/tasks/{task['id']}/actions/run")
    assert_error(refused, 400, 7024)


# --- invisible and direction-changing characters ----------------------------------------------


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH, ids=lambda char: f"U+{ord(char):04X}")
def test_bidi_and_zero_width_characters_are_refused(
    platform: EmbeddedServer, alice: Caller, project: dict, char: str
) -> None:
    name = f"invoice{char}txt.exe"
    message = _name_error(_folder(alice, project, name))
    assert f"U+{ord(char):04X}" in message, message
    assert ("bidirectional" if char in BIDI else "zero-width") in message
    file_id = seed_file(platform, project=project["id"], name=f"plain-{ord(char)}.txt")
    _name_error(alice.patch(f"/files/{file_id}", json={"name": name}))
    _name_error(
        alice.post("/upload/multipart", json={"name": name, "size": 1, "project": project["id"]})
    )


def test_lone_surrogates_and_controls_are_refused_with_a_reason(
    alice: Caller, project: dict
) -> None:
    # JSON can carry a lone surrogate, which no file system (and no UTF-8 column) can store.
    body = json.dumps({"name": "bad\ud800name", "type": "folder", "project": project["id"]})
    assert "\\ud800" in body
    response = alice.post("/files", data=body, headers={"Content-Type": "application/json"})
    assert "surrogate" in _name_error(response)
    assert "U+0007" in _name_error(_folder(alice, project, "bell\x07"))


# --- names the platform makes ----------------------------------------------------------------


def test_task_outputs_get_names_that_fit_and_can_be_staged_again(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    touch = install_app(alice, project["id"], "touch", TOUCH_TOOL)
    cat = install_app(alice, project["id"], "cat", CAT_TOOL)
    outputs = []
    for _ in range(2):
        task = created(
            alice,
            run=True,
            name="make a long name",
            project=project["id"],
            app=touch,
            inputs={"name": LONGEST_TWO_BYTE},
        )
        finished = wait_for_status(alice, task["id"])
        assert finished["status"] == "COMPLETED", finished
        outputs.append(finished["outputs"]["made"])
    assert outputs[0]["name"] == LONGEST_TWO_BYTE
    # The second one gets the platform's _1_ prefix, cut (whole characters) to fit 255 bytes.
    second = outputs[1]["name"]
    assert second.startswith("_1_é")
    assert len(second.encode()) <= 255
    assert second == "_1_" + "é" * 126

    # ... and it can be used as an input: staging it under its name works.
    task = created(
        alice,
        run=True,
        name="use it",
        project=project["id"],
        app=cat,
        inputs={"files": [file_ref(outputs[1]["path"])]},
    )
    finished = wait_for_status(alice, task["id"])
    assert finished["status"] == "COMPLETED", finished


def test_task_outputs_with_forbidden_characters_are_repaired(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    touch = install_app(alice, project["id"], "touch", TOUCH_TOOL)
    task = created(
        alice,
        run=True,
        name="spoof",
        project=project["id"],
        app=touch,
        inputs={"name": "report\u202etxt.exe"},
    )
    finished = wait_for_status(alice, task["id"])
    assert finished["status"] == "COMPLETED", finished
    assert finished["outputs"]["made"]["name"] == "report_txt.exe"
    listed = alice.get("/files", params={"project": project["id"], "name": "report_txt.exe"})
    assert len(listed.json()["items"]) == 1


def test_batch_children_names_are_cut_by_bytes(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    cat = install_app(alice, project["id"], "cat", CAT_TOOL)
    first = seed_file(platform, project=project["id"], name="é" * 100 + ".txt")
    second = seed_file(platform, project=project["id"], name="ü" * 100 + ".txt")
    parent = created(
        alice,
        run=True,
        name="ä" * 100,
        project=project["id"],
        app=cat,
        inputs={"files": [file_ref(first), file_ref(second)]},
        batch_input="files",
        batch_by={"type": "item"},
    )
    children = alice.get("/tasks", params={"parent": parent["id"]}).json()["items"]
    assert len(children) == 2
    for child, letter in zip(children, "éü", strict=True):
        # 200 + 3 bytes of "<parent> - ", then 26 two-byte characters of the value: 255 bytes.
        assert child["name"] == "ä" * 100 + " - " + letter * 26

"""Interrupted uploads: Ctrl-C exits 130 and keeps the resume record; the same command resumes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli_support import as_json

MIB = 1024 * 1024


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _project(sbg, rest, user: str) -> str:
    group = rest(user, "/billing/groups")["items"][0]["id"]
    created = sbg("projects", "create", "--name", "Big", "--billing-group", group, "--json")
    return as_json(created)["id"]


def test_an_upload_cut_short_resumes_and_says_so(
    sbg_as, rest, new_username, api_for, home: Path, tmp_path: Path
) -> None:
    user = new_username("resume")
    sbg = sbg_as(user)
    project_id = _project(sbg, rest, user)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 5 * MIB))
    # A crashed run: the library uploaded some parts, then its process "died" (parts aborted,
    # resume record left behind).
    api = api_for(user, upload_max_workers=1)
    upload = api.files.upload(str(big), project=project_id, part_size=5 * MIB, wait=False)
    upload.add_progress_callback(
        lambda progress: progress.parts_done >= 2 and upload._control.abort_parts()
    )
    upload.start()
    upload.wait()
    assert upload.status == "STOPPED"

    records = as_json(sbg("transfers", "ls", "--json"))
    assert [(r["kind"], r["local_path"], r["state"]) for r in records] == [
        ("upload", str(big.resolve()), "resumable")
    ]
    resumed = sbg(
        "files", "upload", str(big), "--project", project_id, "--part-size", "5", "--json"
    )
    assert resumed.exit_code == 0, resumed.stderr
    line = next(text for text in resumed.stderr.splitlines() if "resuming:" in text)
    stored = int(line.split("resuming: ")[1].split("/")[0])
    assert stored >= 2 and line.endswith("/6 parts already stored")
    uploaded = as_json(resumed)[0]
    assert uploaded["size"] == big.stat().st_size
    copy = tmp_path / "back.bin"
    assert sbg("files", "download", uploaded["id"], str(copy)).exit_code == 0
    assert _digest(copy) == _digest(big)
    assert as_json(sbg("transfers", "ls", "--json")) == []


def test_ctrl_c_exits_130_quietly_and_the_same_command_resumes(
    platform, rest, new_username, sbg_as, home: Path, tmp_path: Path
) -> None:
    user = new_username("ctrlc")
    project_id = _project(sbg_as(user), rest, user)
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.write(os.urandom(MIB) * 160)
    command = [
        str(Path(sys.executable).with_name("sbg")),
        "--endpoint",
        platform.url,
        "--token",
        platform.token(user),
        "files",
        "upload",
        str(big),
        "--project",
        project_id,
        "--part-size",
        "5",
    ]
    environment = {**os.environ, "HOME": str(home)}
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    journals = home / ".sevenbridges" / "transfers"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = list(journals.glob("upload-*.json")) if journals.exists() else []
        if found and len(found[0].read_text().splitlines()) >= 2:  # header + one part
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "run the same command again to resume" in stderr

    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "resuming: " in again.stderr and "/32 parts already stored" in again.stderr
    files = rest(user, "/files", project=project_id, fields="_all")["items"]
    assert [(item["name"], item["size"]) for item in files] == [("big.bin", big.stat().st_size)]

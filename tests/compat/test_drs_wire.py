"""Our ``api.drs_imports`` puts the same requests on the wire as the official client 2.11.2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_official_client import official_python

SCRIPT = Path(__file__).with_name("drs_wire_script.py")


def test_drs_import_requests_match_the_official_client(platform, new_username) -> None:
    import requests

    outputs = []
    for interpreter in (official_python(), sys.executable):
        user = new_username("drswire")
        token = platform.token(user)
        http = requests.Session()
        http.trust_env = False
        headers = {"X-SBG-Auth-Token": token}
        project = http.post(
            platform.url + "/projects", json={"name": "wire"}, headers=headers, timeout=30
        ).json()
        folder = http.post(
            platform.url + "/files",
            json={"name": "in", "type": "folder", "project": project["id"]},
            headers=headers,
            timeout=30,
        ).json()
        env = {key: value for key, value in os.environ.items() if not key.startswith("SB_")}
        env.update(
            SBG_WIRE_URL=platform.url,
            SBG_WIRE_TOKEN=token,
            SBG_WIRE_PROJECT=project["id"],
            SBG_WIRE_FOLDER=folder["id"],
        )
        result = subprocess.run(
            [interpreter, "-I", str(SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=SCRIPT.parent.parent.parent / "docs",  # not the repository root (no shadowing)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        text = result.stdout.replace(user, "USER").replace(folder["id"], "FOLDER")
        outputs.append([json.loads(line) for line in text.splitlines()])
    official, ours = outputs
    assert official[0] == ours[0] == "<DRSBulkImport: id=JOB>"
    assert official[1] is None and ours[1] is None  # nothing was imported
    submitted = official[4]
    assert submitted == [
        "POST",
        "/bulk/drs/imports/create",
        {
            "conflict_resolution": "SKIP",
            "tags": ["a", "b"],
            "items": [
                {"drs_uri": "drs://", "project": "USER/wire", "metadata": {"k": "v"}},
                {"drs_uri": "drs://h", "parent": "FOLDER", "name": "n.txt"},
            ],
        },
    ], official
    assert official[-1][:2] == ["GET", "/bulk/drs/imports/JOB"], official
    assert ours == official

"""Code packages for the automation tests: small Python archives built on the fly."""

from __future__ import annotations

import io
import os
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

TERMINAL = ("FINISHED", "FAILED", "ABORTED")

# Lists the projects it can see, uploads a file into the project named by its input and keeps
# a count in its state file (continuing the count of the run it resumes).
LIST_AND_WRITE = """
import json, os, sys
import sevenbridges as sbg

api = sbg.Api()
inputs = json.load(open(os.environ["SB_AUTOMATION_INPUTS"]))
state_path = os.environ["SB_AUTOMATION_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"count": 0}
projects = sorted(project.id for project in api.projects.query().all())
print("projects:", ",".join(projects))
path = os.path.join(os.environ["TMPDIR"], inputs["file_name"])
with open(path, "w") as stream:
    stream.write("written by run " + os.environ["SB_AUTOMATION_RUN_ID"])
upload = api.files.upload(path, project=inputs["project"], overwrite=True)
print("uploaded", upload.result().id)
state["count"] += 1
state["projects"] = len(projects)
json.dump(state, open(state_path, "w"))
json.dump({"file": upload.result().id}, open(os.environ["SB_AUTOMATION_OUTPUTS"], "w"))
"""

# Counts its starts in the state file and waits forever on the first start only.
WAITS_ON_FIRST_START = """
import json, os, time
state_path = os.environ["SB_AUTOMATION_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"starts": 0}
state["starts"] += 1
json.dump(state, open(state_path, "w"))
print("start", state["starts"], flush=True)
while state["starts"] == 1:
    time.sleep(0.2)
"""

ENDLESS = """
import json, os, time
print("looping", flush=True)
json.dump({"looping": True}, open(os.environ["SB_AUTOMATION_STATE"], "w"))
while True:
    time.sleep(0.1)
"""

CRASHES = """
print("about to fail", flush=True)
raise RuntimeError("the package broke on purpose")
"""

NEEDS_MEMORY = """
block = bytearray(400 * 1024 * 1024)
print("allocated", len(block))
"""

SCHEMA = {
    "inputs": {
        "project": {"type": "string", "required": True},
        "file_name": {"type": "string", "required": True},
    }
}


def zip_package(directory: Path, code: str, *, manifest: bool = False) -> Path:
    path = directory / f"package-{time.monotonic_ns()}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        if manifest:
            archive.writestr("automation.json", '{"entrypoint": "app/run.py"}')
            archive.writestr("app/run.py", code)
        else:
            archive.writestr("main.py", code)
    return path


def tar_package(directory: Path, code: str) -> Path:
    path = directory / f"package-{time.monotonic_ns()}.tar.gz"
    data = code.encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("__main__.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def wait_for_run(run: Any, statuses: tuple[str, ...] = TERMINAL, timeout: float = 60.0) -> Any:
    """Reload the client's run object until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        run.reload()
        if run.status in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run.id} still {run.status}: {run.message}"
        time.sleep(0.2)


def processes_of(run_id: str) -> list[int]:
    """Processes whose command line names the run (its work directory holds the run id)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                if run_id.encode() in stream.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found

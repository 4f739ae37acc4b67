"""Drive ``api.drs_imports`` with the client under test and print every request it sent.

Run by ``test_drs_wire.py`` under the official client and under ours; the outputs must match
(method, path and query, JSON body). ``SBG_WIRE_URL`` and ``SBG_WIRE_TOKEN`` say where and who.
"""

from __future__ import annotations

import json
import os
import sys
import time

import requests

import sevenbridges as sbg

sent: list[tuple] = []
_send = requests.Session.send
recording = {"on": True}  # off while polling: how many polls it takes is a matter of timing


def _recording_send(session, request, **kwargs):
    if not recording["on"]:
        return _send(session, request, **kwargs)
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    path = request.url.replace(os.environ["SBG_WIRE_URL"], "")
    sent.append((request.method, path, json.loads(body) if body else body))
    return _send(session, request, **kwargs)


requests.Session.send = _recording_send


def main() -> int:
    api = sbg.Api(url=os.environ["SBG_WIRE_URL"], token=os.environ["SBG_WIRE_TOKEN"], debug=True)
    project = api.projects.get(os.environ["SBG_WIRE_PROJECT"])
    folder = api.files.get(os.environ["SBG_WIRE_FOLDER"])
    job = api.drs_imports.bulk_submit(
        [
            {"drs_uri": "drs://", "project": project, "metadata": {"k": "v"}},
            {"drs_uri": "drs://h", "parent": folder, "name": "n.txt"},
        ],
        tags=["a", "b"],
    )
    api.drs_imports.bulk_submit(
        [{"drs_uri": "drs://x", "project": project.id}], conflict_resolution="OVERWRITE"
    )
    api.drs_imports.bulk_get(job.id)
    recording["on"] = False
    while api.drs_imports.bulk_get(job.id).state != "FINISHED":
        time.sleep(0.2)
    recording["on"] = True
    job.reload()
    print(json.dumps(str(job).replace(job.id, "JOB")))
    print(json.dumps(job.result_files))
    for method, path, body in sent:
        print(json.dumps([method, path.replace(job.id, "JOB"), body]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

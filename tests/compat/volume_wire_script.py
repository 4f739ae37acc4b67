"""Drive ``api.volumes`` with the client under test and print every request it sent.

Run by ``test_volume_wire.py`` under the official client and under ours; the two outputs must be
the same (method, path and query, JSON body, content type). Input arrives in environment
variables (``SBG_WIRE_*``); the requests are recorded by wrapping ``requests.Session.send``.
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
# Polling a job until it ends takes as many GETs as it takes: those are not compared.
paused = [False]


def _recording_send(session, request, **kwargs):
    if paused[0]:
        return _send(session, request, **kwargs)
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    path = request.url.replace(os.environ["SBG_WIRE_URL"], "")
    sent.append((request.method, path, json.loads(body) if body else body))
    return _send(session, request, **kwargs)


requests.Session.send = _recording_send


def main() -> int:
    env = os.environ
    api = sbg.Api(url=env["SBG_WIRE_URL"], token=env["SBG_WIRE_TOKEN"], debug=True)
    key_id, secret = env["SBG_WIRE_KEY_ID"], env["SBG_WIRE_SECRET"]
    bucket, gcs_bucket, member = (
        env["SBG_WIRE_BUCKET"],
        env["SBG_WIRE_GCS_BUCKET"],
        env["SBG_WIRE_MEMBER"],
    )
    volume = api.volumes.create_s3_volume(
        name="wire_s3",
        bucket=bucket,
        access_key_id=key_id,
        secret_access_key=secret,
        access_mode="RO",
        description="wire",
        prefix="",
        properties={"sse_algorithm": "AES256"},
    )
    api.volumes.create_s3_volume_role_auth(
        "wire_role",
        bucket,
        env["SBG_WIRE_ROLE_ARN"],
        env["SBG_WIRE_EXTERNAL_ID"],
        "RO",
        prefix="compat/",
    )
    api.volumes.create_google_volume(
        "wire_gcs", gcs_bucket, env["SBG_WIRE_GCS_EMAIL"], env["SBG_WIRE_GCS_KEY"], "RO"
    )
    api.volumes.create_google_iam_volume(
        "wire_iam", gcs_bucket, json.loads(env["SBG_WIRE_IAM"]), "RO", description="iam"
    )
    api.volumes.create_oss_volume(
        "wire_oss", bucket, env["SBG_WIRE_OSS_ENDPOINT"], key_id, secret, "RW"
    )
    api.volumes.query(limit=5)
    api.volumes.get(volume.id)
    volume.description = "changed"
    volume.service["credentials"] = {"access_key_id": key_id, "secret_access_key": secret}
    volume.save()
    page = volume.list(prefix="compat/", limit=1)
    page.next_page()
    volume.get_volume_object_info("top.txt")
    volume.get_members(limit=3)
    added = volume.add_member(member, {"read": True, "copy": False, "execute": False})
    volume.get_member(member)
    added.permissions["copy"] = True
    added.save()
    volume.remove_member(member)
    masks = exercise_imports_and_exports(api, volume)
    volume.active = False
    volume.save()
    volume.delete()
    for request in sent:
        line = json.dumps(request, sort_keys=True)
        for value, mask in masks.items():
            line = line.replace(value, mask)
        print(line)
    return 0


def _wait(job):
    deadline = time.monotonic() + 60
    paused[0] = True
    try:
        while job.state not in ("COMPLETED", "FAILED"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{job} did not finish")
            time.sleep(0.2)
            job.reload()
    finally:
        paused[0] = False
    return job


def exercise_imports_and_exports(api, volume) -> dict[str, str]:
    """Every import and export call; returns the ids to mask (they differ between runs)."""
    project = api.projects.get(os.environ["SBG_WIRE_PROJECT"])
    platform_file = os.environ["SBG_WIRE_FILE"]
    masks = {project.id: "PROJECT", platform_file: "FILE"}
    imported = _wait(api.imports.submit_import(volume, "top.txt", project=project, name="t.txt"))
    masks[imported.id] = "IMPORT1"
    if imported.state != "COMPLETED":
        raise RuntimeError(f"import failed: {imported.error}")
    folder = api.imports.submit_import(
        volume.id, "compat/", project=project.id, preserve_folder_structure=False, autorename=True
    )
    masks[folder.id] = "IMPORT2"
    _wait(folder)
    api.imports.get(imported.id)
    api.imports.query(project=project, volume=volume, state="COMPLETED", limit=10)
    volume.get_imports(project=project, state="COMPLETED")
    records = api.imports.bulk_submit(
        [
            {"volume": volume, "location": "compat/a.txt", "project": project, "name": "b1"},
            {
                "volume": volume.id,
                "location": "compat/b.txt",
                "project": project.id,
                "overwrite": True,
                "autorename": False,
                "preserve_folder_structure": True,
            },
        ]
    )
    for number, record in enumerate(records, start=3):
        masks[record.resource.id] = f"IMPORT{number}"
        _wait(record.resource)
    api.imports.bulk_get([imported, folder.id])
    exported_file = api.files.get(platform_file)
    rw = api.volumes.get(f"{volume.id.split('/')[0]}/wire_oss")
    export = api.exports.submit_export(
        exported_file,
        rw,
        "out/t.txt",
        properties={"sse_algorithm": "AES256"},
        overwrite=True,
        copy_only=True,
    )
    masks[export.id] = "EXPORT1"
    _wait(export)
    api.exports.get(export.id)
    api.exports.query(volume=rw, state="FAILED", limit=5)
    rw.get_exports(state="FAILED")
    bulk = api.exports.bulk_submit(
        [{"file": exported_file.id, "volume": rw, "location": "out/u.txt", "overwrite": True}],
        copy_only=True,
    )
    masks[bulk[0].resource.id] = "EXPORT2"
    _wait(bulk[0].resource)
    api.exports.bulk_get([export, bulk[0].resource.id])
    project.delete()  # its aliases with it: the volume can then be deleted
    return masks


if __name__ == "__main__":
    sys.exit(main())

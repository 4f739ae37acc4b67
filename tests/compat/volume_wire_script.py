"""Drive ``api.volumes`` with the client under test and print every request it sent.

Run by ``test_volume_wire.py`` under the official client and under ours; the two outputs must be
the same (method, path and query, JSON body, content type). Input arrives in environment
variables (``SBG_WIRE_*``); the requests are recorded by wrapping ``requests.Session.send``.
"""

from __future__ import annotations

import json
import os
import sys

import requests

import sevenbridges as sbg

sent: list[tuple] = []
_send = requests.Session.send


def _recording_send(session, request, **kwargs):
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
    volume.active = False
    volume.save()
    volume.delete()
    for request in sent:
        print(json.dumps(request, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Our ``api.volumes`` puts the same requests on the wire as the official client 2.11.2.

``volume_wire_script.py`` runs every volume call (each create helper, query, get, save with new
credentials, list and next page, object info, members) once per client, each as a new user of the
platform pointed at moto and the GCS emulator, and prints the requests it sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from test_official_client import official_python
from volume_support import GCS_EMAIL, iam_configuration, private_key_pem

import sevenbridges as sbg

SCRIPT = Path(__file__).with_name("volume_wire_script.py")


def test_volume_requests_match_the_official_client(
    cloud_platform, moto_cloud, gcs_emulator, new_username, tmp_path
) -> None:
    bucket, gcs_bucket = moto_cloud.new_bucket("wire"), gcs_emulator.new_bucket("wire")
    for key in ("top.txt", "compat/a.txt", "compat/b.txt"):
        moto_cloud.put(bucket, key, b"hello")
    member = new_username("wiremember")
    cloud_platform.token(member)
    outputs = []
    for interpreter in (official_python(), sys.executable):
        user = new_username("wire")
        token = cloud_platform.token(user)
        project = requests.post(
            f"{cloud_platform.url}/projects",
            json={"name": "wire imports"},
            headers={"X-SBG-Auth-Token": token},
            timeout=30,
        ).json()["id"]
        source = tmp_path / f"{user}.txt"
        source.write_bytes(b"platform copy")
        uploader = sbg.Api(url=cloud_platform.url, token=token)
        platform_file = (
            uploader.files.upload(str(source), project=project, file_name="p.txt", overwrite=True)
            .result()
            .id
        )
        env = {key: value for key, value in os.environ.items() if not key.startswith("SB_")}
        env.update(
            SBG_WIRE_URL=cloud_platform.url,
            SBG_WIRE_TOKEN=token,
            SBG_WIRE_PROJECT=project,
            SBG_WIRE_FILE=platform_file,
            SBG_WIRE_BUCKET=bucket,
            SBG_WIRE_GCS_BUCKET=gcs_bucket,
            SBG_WIRE_KEY_ID=moto_cloud.reader.access_key_id,
            SBG_WIRE_SECRET=moto_cloud.reader.secret_access_key,
            SBG_WIRE_ROLE_ARN=moto_cloud.role_arn,
            SBG_WIRE_EXTERNAL_ID=moto_cloud.external_id,
            SBG_WIRE_GCS_EMAIL=GCS_EMAIL,
            SBG_WIRE_GCS_KEY=private_key_pem(),
            SBG_WIRE_IAM=json.dumps(iam_configuration()),
            SBG_WIRE_OSS_ENDPOINT=moto_cloud.url,
            SBG_WIRE_MEMBER=member,
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
        outputs.append(
            [json.loads(line) for line in result.stdout.replace(user, "USER").splitlines()]
        )
    official, ours = outputs
    assert len(official) == 18 + 17
    for number, (theirs, mine) in enumerate(zip(official, ours, strict=True)):
        assert mine == theirs, f"request {number}: official {theirs}, ours {mine}"

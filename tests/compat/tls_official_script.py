"""Run by the official client (``.venv-official``) against ``sbg local serve --tls``.

The credentials profile named by ``SBG_TLS_PROFILE`` has no ``debug`` and an ``https://``
endpoint; the CA comes from ``REQUESTS_CA_BUNDLE``. Prints one JSON line of what it saw.
"""

import hashlib
import json
import os
import sys
import tempfile

import sevenbridges as sbg

api = sbg.Api(config=sbg.Config(profile=os.environ["SBG_TLS_PROFILE"]))
me = api.users.me()
billing_group = api.billing_groups.query()[0]
project = api.projects.create(name=os.environ["SBG_TLS_PROJECT"], billing_group=billing_group.id)

workdir = tempfile.mkdtemp()
source = os.path.join(workdir, "reads.fastq")
with open(source, "wb") as handle:
    handle.write(os.urandom(6 * 1024 * 1024 + 123))  # two parts of the official 5 MiB minimum
uploaded = api.files.upload(source, project=project.id, part_size=5 * 1024 * 1024, wait=True)
# The upload call returns the upload handle or the file depending on the version: ask the API.
found = api.files.query(project=project.id, names=["reads.fastq"])[0]
target = os.path.join(workdir, "back.fastq")
found.download(target, wait=True)


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


json.dump(
    {
        "version": sbg.__version__,
        "url": api.url,
        "username": me.username,
        "project": project.id,
        "project_href": project.href,
        "file_href": found.href,
        "download_url": found.download_info().url,
        "same_bytes": digest(source) == digest(target),
        "size": os.path.getsize(target),
    },
    sys.stdout,
)

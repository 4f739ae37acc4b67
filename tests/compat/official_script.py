"""Black-box compatibility script: drive a running local platform with a ``sevenbridges`` client.

It is meant to run under the *official* ``sevenbridges-python`` interpreter (see
``test_official_client.py``), but uses only the public surface both clients share, so it runs under
ours as well. Everything it needs arrives through environment variables:

``SBG_COMPAT_URL``                        API root, e.g. ``http://127.0.0.1:8765/v2``
``SBG_COMPAT_OWNER`` / ``..._TOKEN``       a fresh user who owns everything the script creates
``SBG_COMPAT_MEMBER`` / ``..._TOKEN``      a second user, added to a project as a plain member
``SBG_COMPAT_OUTSIDER``                   a third existing user, never a member
``SBG_COMPAT_S3_BUCKET`` / ``..._KEY_ID`` / ``..._SECRET``
                                          an S3 bucket the platform reaches (holding
                                          ``top.txt``, ``compat/a.txt``, ``compat/b.txt``, each
                                          ``hello``) and keys that read and write it
``SBG_COMPAT_DIVISION``                   a division: the owner is its admin, the member a member
``SBG_COMPAT_DATASET``                    a private dataset (``owner/slug``) the owner published
                                          from a project holding one file, ``cohort.txt``
``SBG_COMPAT_EXPORT_TEXT``                what the exported files hold; exports go below
                                          ``exported/`` (the harness reads them back)

Output: one ``CLIENT ...`` line, then one ``PASS nn name`` line per check, then ``DONE n checks``.
The first failed check prints ``FAIL name: detail`` and exits 1; an unexpected exception exits 2.
The script uses only the standard library and the client under test.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import time
import traceback
import uuid
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import sevenbridges as sbg
from sevenbridges.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    SbgError,
    Unauthorized,
)

PAGING_PROJECTS = 5
PAGE_SIZE = 2


class CheckFailed(Exception):
    """A check did not hold; the message says which and why."""


class Checks:
    """Counts passed checks and prints one line for each."""

    def __init__(self) -> None:
        self.passed = 0

    def that(self, name: str, condition: bool, detail: Any = "") -> None:
        if not condition:
            raise CheckFailed(f"{name}: {detail}")
        self.passed += 1
        print(f"PASS {self.passed:02d} {name}", flush=True)

    def equal(self, name: str, actual: Any, expected: Any) -> None:
        self.that(name, actual == expected, f"expected {expected!r}, got {actual!r}")

    def raises(
        self,
        name: str,
        error_type: type[BaseException],
        action: Callable[[], Any],
        status: int | None = None,
    ) -> BaseException:
        try:
            result = action()
        except error_type as exc:
            actual_status = getattr(exc, "status", None)
            if status is not None and actual_status != status:
                raise CheckFailed(f"{name}: status {actual_status!r}, expected {status}")
            message = getattr(exc, "message", None)
            if not message:
                raise CheckFailed(f"{name}: {error_type.__name__} carries no message")
            self.that(name, True)
            return exc
        except Exception as exc:  # wrong type: report it instead of a traceback
            raise CheckFailed(f"{name}: expected {error_type.__name__}, got {exc!r}")
        raise CheckFailed(f"{name}: expected {error_type.__name__}, call returned {result!r}")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"missing environment variable {name}")
    return value


def _client(url: str, token: str) -> sbg.Api:
    # The local platform speaks plain http on loopback; the official client insists on debug=True.
    return sbg.Api(url=url, token=token, debug=True)


def check_users_and_endpoints(
    checks: Checks, api: sbg.Api, url: str, owner: str, member: str
) -> None:
    me = api.users.me()
    checks.equal("users.me() returns the token's user", me.username, owner)
    checks.that("users.me() has an absolute href", str(me.href).startswith(url), me.href)
    same = api.users.get(owner)
    checks.equal("users.get(own username) returns the user", same.username, owner)
    # Like the platform, only admins may look up other users.
    checks.raises(
        "users.get(someone else) is Forbidden",
        Forbidden,
        lambda: api.users.get(member),
        status=403,
    )

    endpoints = api.endpoints.get()
    for attribute, path in (
        ("projects_url", "/projects"),
        ("user_url", "/user"),
        ("rate_limit_url", "/rate_limit"),
    ):
        value = getattr(endpoints, attribute)
        checks.equal(f"endpoints.{attribute}", str(value).rstrip("/"), url + path)


def check_rate_limit(checks: Checks, api: sbg.Api) -> None:
    limit = api.limit
    checks.that("api.limit is a positive int", isinstance(limit, int) and limit > 0, limit)
    remaining = api.remaining
    checks.that(
        "api.remaining is within the limit",
        isinstance(remaining, int) and 0 <= remaining <= limit,
        remaining,
    )
    rate = api.rate_limit.get().rate
    checks.equal("rate_limit.get().rate.limit matches api.limit", rate.limit, limit)
    checks.equal("rate_limit.get().rate.remaining matches the headers", rate.remaining, remaining)
    api.users.me()
    after_call = api.remaining
    checks.that(
        "an API call uses up the rate limit",
        isinstance(after_call, int) and after_call < remaining,
        f"{after_call} after {remaining}",
    )


def check_billing(checks: Checks, api: sbg.Api) -> Any:
    groups = api.billing_groups.query()
    checks.that("billing_groups.query() lists a group", len(groups) >= 1, groups)
    group = groups[0]
    fetched = api.billing_groups.get(group.id)
    checks.equal("billing_groups.get(id) returns the same group", fetched.id, group.id)
    checks.that(
        "billing group balance has a currency",
        isinstance(fetched.balance.currency, str) and fetched.balance.currency != "",
        fetched.balance,
    )

    invoices = api.invoices.query()
    checks.that(
        "invoices.query() pages with a total",
        isinstance(invoices.total, int) and len(invoices) <= invoices.total,
        invoices,
    )
    checks.that("invoices.query() lists an invoice", len(invoices) >= 1, invoices)
    invoice = api.invoices.get(invoices[0].id)
    checks.equal("invoices.get(id) returns the same invoice", invoice.id, invoices[0].id)
    checks.that(
        "invoice total is priced",
        isinstance(invoice.total.amount, float) and bool(invoice.total.currency),
        invoice.total,
    )
    return group


def check_projects(checks: Checks, api: sbg.Api, owner: str, group: Any) -> Any:
    suffix = uuid.uuid4().hex[:8]
    name = f"compat main {suffix}"
    project = api.projects.create(
        name=name,
        billing_group=group.id,
        description="made by the compatibility script",
        tags=["compat", "first"],
        settings={"use_interruptible_instances": False},
    )
    checks.equal("projects.create() keeps the name", project.name, name)
    checks.that("project id is owner/slug", project.id.startswith(owner + "/"), project.id)
    checks.equal("project billing group", project.billing_group, group.id)
    checks.equal("project tags", project.tags, ["compat", "first"])

    found = api.projects.query(name=name)
    checks.equal("projects.query(name=...) finds exactly it", [p.id for p in found], [project.id])

    fetched = api.projects.get(project.id)
    checks.equal("projects.get(id) returns it", fetched.id, project.id)
    checks.equal("projects.get(id) description", fetched.description, project.description)

    fetched.description = "changed by the compatibility script"
    fetched.tags = ["compat", "changed"]
    fetched.settings["use_interruptible_instances"] = True
    fetched.save()
    again = api.projects.get(project.id)
    checks.equal("save() stored the description", again.description, fetched.description)
    checks.equal("save() stored the tags", again.tags, ["compat", "changed"])
    checks.equal(
        "save() stored the changed setting", again.settings["use_interruptible_instances"], True
    )
    checks.raises(
        "save() without changes raises ResourceNotModified",
        sbg.ResourceNotModified,
        again.save,
    )
    return project


def check_breakdowns(checks: Checks, group: Any, project: Any) -> None:
    for kind in ("analysis", "egress"):
        breakdown = getattr(group, f"{kind}_breakdown")()
        checks.that(
            f"{kind}_breakdown() pages with a total",
            isinstance(breakdown.total, int) and len(breakdown) <= breakdown.total,
            f"total={breakdown.total!r}, items={len(breakdown)}",
        )
    storage = list(group.storage_breakdown().all())
    names = [row.project_name for row in storage]
    checks.that("storage_breakdown() has a row for the new project", project.name in names, names)


def check_paging(checks: Checks, api: sbg.Api, group: Any, main_project: Any) -> None:
    for number in range(PAGING_PROJECTS):
        api.projects.create(name=f"compat page {number}", billing_group=group.id)
    expected_total = PAGING_PROJECTS + 1  # the owner is a fresh user: only our projects exist
    first_page = api.projects.query(limit=PAGE_SIZE)
    checks.equal("projects.query(limit=2) returns one page", len(first_page), PAGE_SIZE)
    checks.equal("the page reports the total", first_page.total, expected_total)
    second_page = first_page.next_page()
    checks.that(
        "next_page() returns different projects",
        len(second_page) == PAGE_SIZE
        and not {p.id for p in second_page} & {p.id for p in first_page},
        second_page,
    )
    everything = [p.id for p in api.projects.query(limit=PAGE_SIZE).all()]
    checks.equal("all() walks every page", len(everything), expected_total)
    checks.equal("all() yields each project once", len(set(everything)), expected_total)
    checks.that("all() includes the main project", main_project.id in everything, everything)

    doomed = api.projects.get(next(i for i in everything if i != main_project.id))
    doomed.delete()
    checks.raises(
        "a deleted project is gone (NotFound)",
        NotFound,
        lambda: api.projects.get(doomed.id),
        status=404,
    )
    checks.equal("delete() lowers the total", api.projects.query(limit=1).total, expected_total - 1)


def check_members(
    checks: Checks,
    api: sbg.Api,
    member_api: sbg.Api,
    project: Any,
    member: str,
    outsider: str,
) -> None:
    read_only = {"read": True, "copy": False, "write": False, "execute": False, "admin": False}
    added = project.add_member(user=member, permissions=read_only)
    checks.equal("add_member() returns the member", added.username, member)
    checks.equal("add_member() keeps the permissions", added.permissions["write"], False)

    members = project.get_members()
    usernames = [m.username for m in members]
    checks.that("get_members() lists the new member", member in usernames, usernames)
    checks.equal("get_members() total matches the page", members.total, len(members))

    fetched = project.get_member(member)
    checks.equal("get_member(username)", fetched.username, member)
    checks.equal("get_member() read permission", fetched.permissions["read"], True)

    fetched.permissions["write"] = True
    fetched.save()
    changed = project.get_member(member)
    checks.equal("member.save() changed write", changed.permissions["write"], True)
    checks.equal("member.save() left admin alone", changed.permissions["admin"], False)

    seen = member_api.projects.get(project.id)
    checks.equal("the member can read the project", seen.id, project.id)
    member_ids = [p.id for p in member_api.projects.query().all()]
    checks.that("the member's project list includes it", project.id in member_ids, member_ids)

    checks.raises(
        "adding the same member twice is a Conflict",
        Conflict,
        lambda: project.add_member(user=member, permissions=read_only),
        status=409,
    )
    checks.raises(
        "a non-admin member cannot add members (Forbidden)",
        Forbidden,
        lambda: seen.add_member(user=outsider, permissions=read_only),
        status=403,
    )

    project.remove_member(member)
    checks.raises(
        "a removed member is gone (NotFound)",
        NotFound,
        lambda: project.get_member(member),
        status=404,
    )
    remaining = [m.username for m in project.get_members()]
    checks.that("get_members() no longer lists them", member not in remaining, remaining)


SMALL_FILE_BYTES = 4096
# 12 MiB in 5 MiB parts: three parts, the last one short, so the multipart path really runs.
MULTIPART_FILE_BYTES = 12 * 1024 * 1024
MULTIPART_PART_SIZE = 5 * 1024 * 1024


def _write_random_file(path: str, size: int) -> str:
    """Write ``size`` random bytes and return their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 1024 * 1024))
            digest.update(block)
            handle.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _upload(api: sbg.Api, path: str, project: Any, name: str, **options: Any) -> Any:
    upload = api.files.upload(path, project=project.id, file_name=name, wait=True, **options)
    return upload


def check_files(checks: Checks, api: sbg.Api, project: Any, group: Any) -> None:
    small_path = os.path.abspath("small input.txt")
    small_sum = _write_random_file(small_path, SMALL_FILE_BYTES)
    upload = _upload(api, small_path, project, "small input.txt")
    checks.equal("a single-part upload completes", str(upload.status), "COMPLETED")
    small = upload.result()
    checks.equal("the uploaded file keeps its name", small.name, "small input.txt")
    checks.equal("the uploaded file has the right size", small.size, SMALL_FILE_BYTES)

    big_path = os.path.abspath("multipart.bin")
    big_sum = _write_random_file(big_path, MULTIPART_FILE_BYTES)
    upload = _upload(api, big_path, project, "multipart.bin", part_size=MULTIPART_PART_SIZE)
    checks.equal("a multipart upload completes", str(upload.status), "COMPLETED")
    big = upload.result()
    checks.equal("the multipart file has the right size", big.size, MULTIPART_FILE_BYTES)

    again = _upload(api, small_path, project, "small input.txt")
    checks.that("uploading over an existing name fails", again.result() is None, again.status)
    replaced = _upload(api, small_path, project, "small input.txt", overwrite=True)
    checks.equal("overwrite=True replaces the file", str(replaced.status), "COMPLETED")
    small = replaced.result()

    found = api.files.query(project=project.id, names=["multipart.bin"])
    checks.equal("files.query(names=...) finds the file", [f.id for f in found], [big.id])

    small.metadata["sample_id"] = "S-001"
    small.tags = ["compat"]
    small.save()
    stored = api.files.get(small.id)
    checks.equal("metadata saved", stored.metadata["sample_id"], "S-001")
    checks.equal("tags saved", stored.tags, ["compat"])
    by_metadata = api.files.query(project=project.id, metadata={"sample_id": "S-001"})
    checks.equal("files.query(metadata=...) finds it", [f.id for f in by_metadata], [small.id])

    target = api.projects.create(
        name=f"compat files copy {uuid.uuid4().hex[:6]}", billing_group=group.id
    )
    copied = big.copy(project=target.id, name="copied.bin")
    checks.equal("copy() lands in the other project", copied.project, target.id)
    checks.equal("copy() keeps the size", copied.size, MULTIPART_FILE_BYTES)

    small_out = os.path.abspath("small-downloaded.txt")
    small.download(path=small_out)
    checks.equal("download of the small file matches", _sha256_of(small_out), small_sum)
    big_out = os.path.abspath("copied-downloaded.bin")
    copied.download(path=big_out)
    checks.equal("download of the multipart copy matches", _sha256_of(big_out), big_sum)


# A line counter whose int output is computed by a JavaScript expression (cwltool runs Node.js).
COUNT_LINES_APP: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Count lines",
    "requirements": {"InlineJavascriptRequirement": {}},
    "baseCommand": ["wc", "-l"],
    "stdin": "$(inputs.input_file.path)",
    "stdout": "$(inputs.input_file.nameroot).lines.txt",
    "inputs": {"input_file": {"type": "File"}},
    "outputs": {
        "line_count": {"type": "stdout"},
        "lines": {
            "type": "int",
            "outputBinding": {
                "glob": "*.lines.txt",
                "loadContents": True,
                "outputEval": "$(parseInt(self[0].contents.trim()))",
            },
        },
    },
}
SLEEP_APP: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Sleep",
    "baseCommand": ["sleep"],
    "inputs": {"seconds": {"type": "int", "inputBinding": {"position": 1}}},
    "outputs": {},
}
PUBLIC_LINE_COUNT = "admin/public-apps/line-count"
TASK_POLL_SECONDS = 0.5
TASK_TIMEOUT_SECONDS = 150
# name -> number of lines; the batch runs one child per file.
BATCH_FILES = {"batch a.txt": 1, "batch b.txt": 2, "batch c.txt": 4}


def _write_lines(path: str, count: int) -> None:
    with open(path, "w") as handle:
        handle.write("".join(f"line {number}\n" for number in range(count)))


def _await_status(task: Any, wanted: str) -> str:
    """Reload until the task reaches ``wanted`` or a final state; returns the status seen."""
    deadline = time.monotonic() + TASK_TIMEOUT_SECONDS
    while True:
        task.reload()
        if task.status == wanted or task.status in ("COMPLETED", "FAILED", "ABORTED"):
            return task.status
        if time.monotonic() > deadline:
            return task.status
        time.sleep(TASK_POLL_SECONDS)


def check_apps_and_tasks(checks: Checks, api: sbg.Api, project: Any) -> None:
    app = api.apps.install_app(id=f"{project.id}/count-lines", raw=COUNT_LINES_APP)
    checks.equal("install_app() returns the app", app.id, f"{project.id}/count-lines")
    checks.equal("a new app is at revision 0", app.revision, 0)
    public_ids = [a.id for a in api.apps.query(visibility="public").all()]
    checks.that("the public apps are listed", PUBLIC_LINE_COUNT in public_ids, public_ids)

    path = os.path.abspath("five lines.txt")
    _write_lines(path, 5)
    text = _upload(api, path, project, "five lines.txt").result()

    task = api.tasks.create(
        name="compat count",
        project=project.id,
        app=app.id,
        inputs={"input_file": text},
        run=True,
    )
    checks.that(
        "tasks.create(run=True) starts the task",
        task.status in ("CREATING", "QUEUED", "RUNNING", "COMPLETED"),
        task.status,
    )
    task.wait(period=TASK_POLL_SECONDS)
    checks.equal("task.wait() returns once the task completed", task.status, "COMPLETED")
    checks.equal("an int output computed with JavaScript", task.outputs["lines"], 5)
    counted = task.outputs["line_count"]
    checks.that("file outputs are File objects", isinstance(counted, sbg.File), counted)
    output_path = os.path.abspath("counted.txt")
    counted.download(path=output_path)
    with open(output_path) as handle:
        checks.equal("the output file holds the count", handle.read().strip(), "5")
    checks.equal("the output's origin is the task", api.files.get(counted.id).origin.task, task.id)
    checks.equal("inputs read back as File objects", task.inputs["input_file"].id, text.id)

    details = task.get_execution_details()
    statuses = [job.status for job in details.jobs]
    checks.that("execution details list a completed job", "COMPLETED" in statuses, statuses)
    logs = [log for job in details.jobs for _, log in job.logs.items() if log is not None]
    checks.that("job logs are File objects", logs and isinstance(logs[0], sbg.File), logs)

    fetched = api.tasks.get(task.id)
    checks.equal("tasks.get(id) returns the task", (fetched.id, fetched.name), (task.id, task.name))
    listed = [t.id for t in api.tasks.query(project=project.id, status="COMPLETED").all()]
    checks.equal("tasks.query(status=...) finds it", listed, [task.id])

    failure = checks.raises(
        "run=True with a missing input raises TaskValidationError",
        sbg.TaskValidationError,
        lambda: api.tasks.create(name="compat invalid", project=project.id, app=app.id, run=True),
    )
    invalid = failure.task
    checks.equal("the invalid task stays a draft", invalid.status, "DRAFT")
    invalid.name = "compat invalid, renamed"
    invalid.save()
    checks.equal("a draft can be renamed", api.tasks.get(invalid.id).name, invalid.name)
    invalid.delete()
    checks.raises(
        "a deleted draft is gone (NotFound)",
        NotFound,
        lambda: api.tasks.get(invalid.id),
        status=404,
    )

    sleeper = api.apps.install_app(id=f"{project.id}/sleep", raw=SLEEP_APP)
    napping = api.tasks.create(
        name="compat nap", project=project.id, app=sleeper.id, inputs={"seconds": 600}, run=True
    )
    checks.equal("a long task reaches RUNNING", _await_status(napping, "RUNNING"), "RUNNING")
    napping.abort()
    napping.wait(period=TASK_POLL_SECONDS)
    checks.equal("abort() stops a running task", napping.status, "ABORTED")

    batch_files = []
    for name, count in BATCH_FILES.items():
        batch_path = os.path.abspath(name)
        _write_lines(batch_path, count)
        batch_files.append(_upload(api, batch_path, project, name).result())
    batch = api.tasks.create(
        name="compat batch",
        project=project.id,
        app=app.id,
        inputs={"input_file": batch_files},
        batch_input="input_file",
        batch_by={"type": "item"},
        run=True,
    )
    batch.wait(period=TASK_POLL_SECONDS)
    checks.equal("the batch task completes", batch.status, "COMPLETED")
    children = list(batch.get_batch_children().all())
    counts = sorted(child.outputs["lines"] for child in children)
    checks.equal("one child per file, each counting its file", counts, sorted(BATCH_FILES.values()))
    checks.equal(
        "the parent counts its completed children",
        batch.execution_status.completed,
        len(BATCH_FILES),
    )

    records = api.tasks.bulk_get([task.id, batch.id])
    checks.equal(
        "tasks.bulk_get() returns each task",
        [record.resource.id for record in records if record.valid],
        [task.id, batch.id],
    )


# An sbg:draft-2 tool (the dialect of the platform's older apps): '#' ids, a JavaScript
# expression object on $job, stdout and a glob output read back with outputEval.
DRAFT2_APP: dict[str, Any] = {
    "cwlVersion": "sbg:draft-2",
    "class": "CommandLineTool",
    "label": "Draft-2 word count",
    "requirements": [{"class": "ExpressionEngineRequirement", "id": "#cwl-js-engine"}],
    "hints": [{"class": "sbg:CPURequirement", "value": 1}],
    "baseCommand": ["wc", "-w"],
    "inputs": [
        {"id": "#text", "type": ["File"], "inputBinding": {"position": 1, "sbg:cmdInclude": True}}
    ],
    "stdout": "words.txt",
    "outputs": [
        {
            "id": "#words",
            "type": ["null", "int"],
            "outputBinding": {
                "glob": "words.txt",
                "loadContents": True,
                "outputEval": {
                    "class": "Expression",
                    "engine": "#cwl-js-engine",
                    "script": "parseInt($self[0].contents.trim().split(' ')[0], 10)",
                },
            },
        }
    ],
}


def check_draft2_apps(checks: Checks, api: sbg.Api, project: Any) -> None:
    app = api.apps.install_app(id=f"{project.id}/draft2-words", raw=DRAFT2_APP)
    raw = api.apps.get(app.id).raw
    checks.equal("a draft-2 app's raw comes back as installed", raw["inputs"], DRAFT2_APP["inputs"])
    checks.equal("the draft-2 raw keeps its version", raw["cwlVersion"], "sbg:draft-2")
    path = os.path.abspath("seven words.txt")
    with open(path, "w") as handle:
        handle.write("one two three\nfour five six seven\n")
    text = _upload(api, path, project, "seven words.txt").result()
    task = api.tasks.create(
        name="compat draft-2", project=project.id, app=app.id, inputs={"text": text}, run=True
    )
    task.wait(period=TASK_POLL_SECONDS)
    checks.equal("a draft-2 task completes", task.status, "COMPLETED")
    checks.equal("its JavaScript output is computed", task.outputs.get("words"), 7)
    checks.raises(
        "an untranslatable draft-2 app is refused (400/6013)",
        BadRequest,
        lambda: api.apps.install_app(
            id=f"{project.id}/draft2-bad", raw={**DRAFT2_APP, "hints": [{"class": "Nope"}]}
        ),
        status=400,
    )


def check_volumes(checks: Checks, api: sbg.Api, member_api: sbg.Api, member: str) -> None:
    bucket = _env("SBG_COMPAT_S3_BUCKET")
    key_id, secret = _env("SBG_COMPAT_S3_KEY_ID"), _env("SBG_COMPAT_S3_SECRET")
    name = f"compat_{uuid.uuid4().hex[:8]}"
    volume = api.volumes.create_s3_volume(
        name=name,
        bucket=bucket,
        access_key_id=key_id,
        secret_access_key=secret,
        access_mode="RO",
    )
    checks.equal("create_s3_volume() names the volume", volume.name, name)
    checks.equal("the volume's service type is S3", volume.service["type"], "S3")
    checks.equal(
        "only the public part of the credentials comes back",
        volume.service["credentials"],
        {"access_key_id": key_id},
    )
    listed = [v.id for v in api.volumes.query().all()]
    checks.that("volumes.query() lists the new volume", volume.id in listed, listed)
    fetched = api.volumes.get(volume.id)
    checks.equal("volumes.get(id) returns it", fetched.id, volume.id)
    checks.equal("volumes.get() keeps the access mode", fetched.access_mode, "RO")

    top = fetched.list()
    checks.equal("volume.list() has the top-level objects", [o.location for o in top], ["top.txt"])
    checks.equal("volume.list() has the folders", [p.prefix for p in top.prefixes], ["compat/"])
    first = fetched.list(prefix="compat/", limit=1)
    checks.equal(
        "volume.list(limit=1) gives one object", [o.location for o in first], ["compat/a.txt"]
    )
    second = first.next_page()
    checks.equal("next_page() continues", [o.location for o in second], ["compat/b.txt"])
    everything = [o.location for o in first.all()]
    checks.equal("all() walks every page", everything, ["compat/a.txt", "compat/b.txt"])

    info = fetched.get_volume_object_info("compat/b.txt")
    checks.equal("get_volume_object_info() locates the object", info.location, "compat/b.txt")
    checks.equal("object info has the size", info.metadata["size"], "5")
    checks.raises(
        "object info of a missing location is NotFound",
        NotFound,
        lambda: fetched.get_volume_object_info("compat/none.txt"),
        status=404,
    )

    fetched.description = "compatibility"
    fetched.save()
    checks.equal(
        "volume.save() stores the description",
        api.volumes.get(volume.id).description,
        "compatibility",
    )
    added = fetched.add_member(
        member, {"read": True, "copy": False, "write": False, "admin": False}
    )
    checks.equal("volume.add_member() returns the member", added.username, member)
    seen = member_api.volumes.get(volume.id).list()
    checks.equal("a volume member lists its objects", [o.location for o in seen], ["top.txt"])
    checks.raises(
        "a wrong secret key is refused (BadRequest)",
        BadRequest,
        lambda: api.volumes.create_s3_volume(
            name=f"{name}_bad",
            bucket=bucket,
            access_key_id=key_id,
            secret_access_key="not-the-secret",
            access_mode="RO",
        ),
        status=400,
    )


JOB_POLL_SECONDS = 60


def _finished(job: Any) -> Any:
    """Reload an import or export until it is COMPLETED or FAILED (or the wait runs out)."""
    deadline = time.monotonic() + JOB_POLL_SECONDS
    while job.state not in ("COMPLETED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.reload()
    return job


def check_imports_exports(checks: Checks, api: sbg.Api, project: Any) -> None:
    """An RW S3 volume: imports of an object and of a prefix, the alias downloaded, exports
    written to the bucket, lists, bulk calls and the volume's own job lists."""
    bucket = _env("SBG_COMPAT_S3_BUCKET")
    key_id, secret = _env("SBG_COMPAT_S3_KEY_ID"), _env("SBG_COMPAT_S3_SECRET")
    text = _env("SBG_COMPAT_EXPORT_TEXT").encode()
    volume = api.volumes.create_s3_volume(
        name=f"compat_rw_{uuid.uuid4().hex[:8]}",
        bucket=bucket,
        access_key_id=key_id,
        secret_access_key=secret,
        access_mode="RW",
    )
    checks.equal("an RW S3 volume is created", volume.access_mode, "RW")

    single = _finished(api.imports.submit_import(volume, "top.txt", project=project))
    checks.equal("imports.submit_import() of an object completes", single.state, "COMPLETED")
    alias = single.result
    checks.equal("the import's result is the named file", alias.name, "top.txt")
    alias_path = os.path.abspath("alias top.txt")
    api.files.get(alias.id).download(path=alias_path)
    with open(alias_path, "rb") as downloaded:
        checks.equal("the alias downloads the object's bytes", downloaded.read(), b"hello")

    folder = _finished(
        api.imports.submit_import(volume, "compat/", project=project, name="imported dir")
    )
    checks.equal("a prefix import completes", folder.state, "COMPLETED")
    checks.equal("a prefix import makes a folder", folder.result.type, "folder")
    inside = sorted(item.name for item in api.files.get(folder.result.id).list_files())
    checks.equal("the folder holds the prefix's objects", inside, ["a.txt", "b.txt"])
    listed = {job.id for job in api.imports.query(volume=volume).all()}
    checks.that("imports.query(volume=) lists both", {single.id, folder.id} <= listed, listed)
    done = {job.id for job in api.imports.query(project=project, state="COMPLETED").all()}
    checks.that("imports.query(project=, state=) filters", single.id in done, done)

    source_path = os.path.abspath("export me.txt")
    with open(source_path, "wb") as out:
        out.write(text)
    source = _upload(api, source_path, project, "export me.txt").result()
    location = f"exported/{uuid.uuid4().hex[:8]}.txt"
    export = _finished(api.exports.submit_export(source, volume, location, copy_only=True))
    checks.equal("exports.submit_export() completes", export.state, "COMPLETED")
    info = volume.get_volume_object_info(location)
    checks.equal("the exported object is in the bucket", info.metadata["size"], str(len(text)))
    back = _finished(api.imports.submit_import(volume, location, project=project, name="back.txt"))
    back_path = os.path.abspath("export back.txt")
    api.files.get(back.result.id).download(path=back_path)
    with open(back_path, "rb") as downloaded:
        checks.equal("the exported object reads back byte for byte", downloaded.read(), text)
    exported = {job.id for job in api.exports.query(volume=volume).all()}
    checks.that("exports.query(volume=) lists the export", export.id in exported, exported)

    records = api.imports.bulk_submit(
        [
            {"volume": volume, "location": "compat/a.txt", "project": project, "name": "bulk.txt"},
            {"volume": volume, "location": "compat/none.txt", "project": project},
        ]
    )
    checks.equal(
        "imports.bulk_submit() answers per item", [r.valid for r in records], [True, False]
    )
    imported = _finished(records[0].resource)
    again = api.imports.bulk_get([imported.id])
    checks.equal("imports.bulk_get() returns the job", again[0].resource.state, "COMPLETED")
    exports = api.exports.bulk_submit(
        [{"file": source, "volume": volume, "location": f"exported/bulk-{uuid.uuid4().hex[:8]}"}],
        copy_only=True,
    )
    checks.that("exports.bulk_submit() starts the export", exports[0].valid, exports[0])
    bulk_export = _finished(exports[0].resource)
    fetched = api.exports.bulk_get([bulk_export.id])
    checks.equal("exports.bulk_get() sees it complete", fetched[0].resource.state, "COMPLETED")

    own_imports = {job.id for job in volume.get_imports().all()}
    checks.that("volume.get_imports() lists its imports", single.id in own_imports, own_imports)
    own_exports = {job.id for job in volume.get_exports().all()}
    checks.that(
        "volume.get_exports() lists its exports",
        {export.id, bulk_export.id} <= own_exports,
        own_exports,
    )
    checks.raises(
        "an import of a missing object is NotFound",
        NotFound,
        lambda: api.imports.submit_import(volume, "compat/none.txt", project=project),
        status=404,
    )
    checks.raises(
        "an export to a location taken is Conflict",
        Conflict,
        lambda: api.exports.submit_export(source, volume, location),
        status=409,
    )


DRS_CONTENT = b"drs compat bytes\n"
DRS_POLL_SECONDS = 60


def check_drs_imports(checks: Checks, api: sbg.Api, url: str, project: Any) -> None:
    """A DRS bulk import of one of the platform's own files (drs://host:port/id) plus a
    malformed URI that must fail on its own."""
    path = os.path.abspath("drs source.txt")
    with open(path, "wb") as out:
        out.write(DRS_CONTENT)
    source = _upload(api, path, project, "drs source.txt").result()
    uri = f"drs://{urlsplit(url).netloc}/{source.id}"
    job = api.drs_imports.bulk_submit(
        [
            {"drs_uri": uri, "project": project, "name": "drs copy.txt"},
            {"drs_uri": "drs://", "project": project.id},
        ],
        tags=["drs"],
        conflict_resolution="AUTORENAME",
    )
    checks.that("drs_imports.bulk_submit() starts a job", bool(job.id), job)
    deadline = time.monotonic() + DRS_POLL_SECONDS
    while job.state != "FINISHED" and time.monotonic() < deadline:
        time.sleep(0.3)
        job = api.drs_imports.bulk_get(job.id)
    checks.equal("drs_imports.bulk_get() sees the job finish", job.state, "FINISHED")
    imported = job.result[0].resource
    checks.equal("the DRS import creates the named file", imported.name, "drs copy.txt")
    fetched = api.files.get(imported.id)
    checks.equal("the imported file carries the job's tags", list(fetched.tags), ["drs"])
    out_path = os.path.abspath("drs copy.txt")
    fetched.download(path=out_path)
    with open(out_path, "rb") as downloaded:
        checks.equal("the imported file has the object's bytes", downloaded.read(), DRS_CONTENT)
    error = job.result[1].error
    checks.that(
        "a malformed drs:// URI fails its item with 400",
        error is not None and error.status == 400,
        job.result[1],
    )
    records = job.result_files or []
    checks.equal(
        "result_files lists the imported file", [r.resource.id for r in records], [imported.id]
    )


def check_teams_and_divisions(
    checks: Checks, api: sbg.Api, member_api: sbg.Api, member: str, group: Any
) -> None:
    slug = _env("SBG_COMPAT_DIVISION")
    checks.equal(
        "divisions.query() lists the caller's division",
        [d.id for d in api.divisions.query()],
        [slug],
    )
    division = api.divisions.get(slug)
    checks.equal("divisions.get() returns it", division.id, slug)
    name = f"compat team {uuid.uuid4().hex[:6]}"
    team = api.teams.create(name=name, division=division)
    checks.equal("teams.create() names the team", team.name, name)
    checks.that(
        "division.get_teams() lists the new team",
        team.id in [t.id for t in division.get_teams()],
        division.get_teams(),
    )
    added = team.add_member(member)
    checks.equal("team.add_member() returns the member", added.username, member)
    checks.that(
        "team.get_members() lists the member",
        member in [m.username for m in team.get_members()],
        team.get_members(),
    )

    project = api.projects.create(
        name=f"compat team {uuid.uuid4().hex[:6]}", billing_group=group.id
    )
    checks.raises(
        "a project is hidden from a non-member",
        NotFound,
        lambda: member_api.projects.get(project.id),
        status=404,
    )
    granted = project.add_member_team(team, permissions={"read": True, "write": False})
    checks.equal("add_member_team() adds a TEAM member", str(granted.type).upper(), "TEAM")
    checks.equal(
        "a team member reads the project through the team",
        member_api.projects.get(project.id).id,
        project.id,
    )
    team.remove_member(member)
    checks.that(
        "team.remove_member() drops the member",
        member not in [m.username for m in team.get_members()],
        team.get_members(),
    )
    checks.raises(
        "leaving the team takes the access away",
        NotFound,
        lambda: member_api.projects.get(project.id),
        status=404,
    )
    checks.raises(
        "an unknown team is NotFound",
        NotFound,
        lambda: api.teams.get("no-such-team"),
        status=404,
    )


def check_datasets(checks: Checks, api: sbg.Api, member_api: sbg.Api, member: str) -> None:
    dataset_id = _env("SBG_COMPAT_DATASET")
    listed = [d.id for d in api.datasets.query()]
    checks.that("datasets.query() lists the owner's dataset", dataset_id in listed, listed)
    dataset = api.datasets.get(dataset_id)
    checks.equal("datasets.get() returns it", dataset.id, dataset_id)
    dataset.description = "changed by the compatibility script"
    dataset.save()
    checks.equal(
        "dataset.save() stores the description",
        api.datasets.get(dataset_id).description,
        "changed by the compatibility script",
    )
    files = api.files.query(dataset=dataset_id)
    checks.equal(
        "files.query(dataset=...) lists its files", [f.name for f in files], ["cohort.txt"]
    )
    checks.raises(
        "a private dataset is hidden from a non-member",
        NotFound,
        lambda: member_api.datasets.get(dataset_id),
        status=404,
    )
    # The official Dataset's member methods use the class-level Api (the one bound last, here
    # member_api's): pass the owner's explicitly.
    added = dataset.add_member(member, {"read": True, "copy": False}, api=api)
    checks.equal("dataset.add_member() returns the member", added.username, member)
    checks.that(
        "dataset.get_members() lists the member",
        member in [m.username for m in dataset.get_members(api=api)],
        dataset.get_members(api=api),
    )
    checks.equal(
        "a dataset member lists its files",
        [f.name for f in member_api.files.query(dataset=dataset_id)],
        ["cohort.txt"],
    )
    dataset.remove_member(member, api=api)
    checks.raises(
        "a removed dataset member loses it",
        NotFound,
        lambda: member_api.datasets.get(dataset_id),
        status=404,
    )


def _bgzf_block(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = packer.compress(data) + packer.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H", 6)
    header += b"BC" + struct.pack("<HH", 2, 18 + len(deflated) + 8 - 1)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data))


def _bam_bytes(references: dict[str, int]) -> bytes:
    """A BAM file with a header only (no reads), as BGZF blocks plus the end-of-file block."""
    text = b"@HD\tVN:1.6\n"
    raw = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(references))
    for name, length in references.items():
        encoded = name.encode() + b"\x00"
        raw += struct.pack("<i", len(encoded)) + encoded + struct.pack("<i", length)
    return _bgzf_block(raw) + _bgzf_block(b"")


def check_markers_and_actions(checks: Checks, api: sbg.Api, project: Any, group: Any) -> None:
    path = os.path.abspath("compat sample.bam")
    with open(path, "wb") as handle:
        handle.write(_bam_bytes({"chr1": 248_956_422, "chr17": 83_257_441}))
    bam = _upload(api, path, project, "compat sample.bam").result()
    marker = api.markers.create(
        file=bam, name="TP53", position={"start": 7_668_402, "end": 7_687_550}, chromosome="chr17"
    )
    checks.equal("markers.create() keeps the chromosome", marker.chromosome, "chr17")
    checks.equal(
        "markers.query(file=...) finds it", [m.id for m in api.markers.query(file=bam)], [marker.id]
    )
    marker.name = "TP53 gene"
    marker.save()
    checks.equal("marker.save() stores the name", api.markers.get(marker.id).name, "TP53 gene")
    checks.raises(
        "a marker on an unknown chromosome is BadRequest",
        BadRequest,
        lambda: api.markers.create(bam, "x", {"start": 1, "end": 2}, "chrUn"),
        status=400,
    )
    marker.delete()
    checks.equal("marker.delete() removes it", api.markers.query(file=bam).total, 0)

    sent = api.actions.send_feedback(type="THOUGHT", text="sent by the compatibility script")
    checks.that("actions.send_feedback() is accepted (returns None)", sent is None, sent)
    checks.raises(
        "feedback of an unknown type is BadRequest",
        BadRequest,
        lambda: api.actions.send_feedback(type="COMPLAINT", text="x"),
        status=400,
    )
    target = api.projects.create(name=f"compat bulk {uuid.uuid4().hex[:6]}", billing_group=group.id)
    result = api.actions.bulk_copy_files([bam.id], target.id)
    checks.equal("actions.bulk_copy_files() reports OK", result[bam.id]["status"], "OK")
    checks.equal(
        "the copy lands in the target project",
        [f.name for f in api.files.query(project=target.id)],
        ["compat sample.bam"],
    )


def check_errors(checks: Checks, api: sbg.Api, url: str, owner: str) -> None:
    missing = checks.raises(
        "an unknown project is NotFound",
        NotFound,
        lambda: api.projects.get(f"{owner}/no-such-project-{uuid.uuid4().hex[:6]}"),
        status=404,
    )
    checks.that("NotFound carries a platform code", isinstance(missing.code, int), missing.code)
    checks.raises(
        "a bad token is Unauthorized",
        Unauthorized,
        lambda: _client(url, "0" * 32).users.me(),
        status=401,
    )
    # Both clients refuse plain http to a remote host unless debug=True (ours allows loopback).
    # Constructing the Api sends nothing, so the made-up host is never contacted.
    checks.raises(
        "plain http to a remote host needs debug=True",
        SbgError,
        lambda: sbg.Api(url="http://platform.example.invalid/v2", token="0" * 32),
    )


AUTOMATION_CODE = """
import json, os
import sevenbridges as sbg
api = sbg.Api(debug=True)
inputs = json.load(open(os.environ["SB_AUTOMATION_INPUTS"]))
names = sorted(project.id for project in api.projects.query().all())
json.dump({"projects": names, "n": inputs["n"]}, open(os.environ["SB_AUTOMATION_STATE"], "w"))
print("saw", len(names), "projects")
"""


def _await_run(run: Any, wanted: tuple[str, ...]) -> str:
    deadline = time.monotonic() + TASK_TIMEOUT_SECONDS
    while True:
        run.reload()
        if run.status in wanted or time.monotonic() > deadline:
            return run.status
        time.sleep(TASK_POLL_SECONDS)


def check_automations(checks: Checks, api: sbg.Api, project: Any, member: str) -> None:
    """An automation driven end to end: package upload, a run that calls the API, stop, rerun."""
    import tempfile
    import zipfile

    automation = api.automations.create(name=f"compat {uuid.uuid4().hex[:6]}", memory_limit=1024)
    checks.that("automation created", bool(automation.id) and automation.archived is False)
    checks.equal("automation get", api.automations.get(automation.id).name, automation.name)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "package.zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("main.py", AUTOMATION_CODE)
        schema = {"inputs": {"n": {"type": "integer", "required": True}}}
        package = automation.add_package("1.0", path, schema)
    checks.equal("package version", package.version, "1.0")
    checks.equal("packages listed", [p.id for p in automation.get_packages().all()], [package.id])
    member_row = automation.add_member(member, {"read": True, "execute": False})
    checks.equal("automation member", member_row.username, member)
    member_row.permissions["execute"] = True
    member_row.save()
    checks.that("member saved", automation.get_member(member).permissions["execute"] is True)
    checks.raises(
        "inputs against the schema",
        BadRequest,
        lambda: api.automation_runs.create(package, inputs={"n": "three"}),
    )
    run = api.automation_runs.create(package, inputs={"n": 3}, name="compat run")
    status = _await_run(run, ("FINISHED", "FAILED", "ABORTED"))
    checks.equal("run finished", status, "FINISHED")
    state = run.get_state()
    checks.that("run listed projects", project.id in state.get("projects", []), state)
    checks.equal("run state", state.get("n"), 3)
    log = run.get_log_file()
    checks.that("run log", log is not None and "saw" in log.content())
    again = api.automation_runs.rerun(run.id)
    checks.equal("rerun inputs", again.inputs, {"n": 3})
    again.stop()
    checks.equal("stopped rerun", _await_run(again, ("ABORTED", "FINISHED")), "ABORTED")
    names = {r.id for r in automation.get_runs().all()}
    checks.equal("runs listed", names, {run.id, again.id})
    automation.archive()
    checks.that("automation archived", automation.archived is True)
    automation.restore()
    checks.that("automation restored", automation.archived is False)


def run(checks: Checks) -> None:
    url = _env("SBG_COMPAT_URL").rstrip("/")
    owner, member, outsider = (
        _env("SBG_COMPAT_OWNER"),
        _env("SBG_COMPAT_MEMBER"),
        _env("SBG_COMPAT_OUTSIDER"),
    )
    api = _client(url, _env("SBG_COMPAT_OWNER_TOKEN"))
    member_api = _client(url, _env("SBG_COMPAT_MEMBER_TOKEN"))

    check_users_and_endpoints(checks, api, url, owner, member)
    check_rate_limit(checks, api)
    group = check_billing(checks, api)
    project = check_projects(checks, api, owner, group)
    check_breakdowns(checks, group, project)
    check_paging(checks, api, group, project)
    check_members(checks, api, member_api, project, member, outsider)
    check_files(checks, api, project, group)
    check_apps_and_tasks(checks, api, project)
    check_draft2_apps(checks, api, project)
    check_volumes(checks, api, member_api, member)
    check_imports_exports(checks, api, project)
    check_drs_imports(checks, api, url, project)
    check_teams_and_divisions(checks, api, member_api, member, group)
    check_datasets(checks, api, member_api, member)
    check_markers_and_actions(checks, api, project, group)
    check_automations(checks, api, project, member)
    check_errors(checks, api, url, owner)


def main() -> int:
    version = getattr(sbg, "__version__", "unknown")
    print(f"CLIENT sevenbridges {version} {os.path.dirname(os.path.abspath(sbg.__file__))}")
    checks = Checks()
    try:
        run(checks)
    except CheckFailed as failure:
        print(f"FAIL {failure}", flush=True)
        return 1
    except Exception:
        print("FAIL unexpected error after check", checks.passed, flush=True)
        traceback.print_exc(file=sys.stdout)
        return 2
    print(f"DONE {checks.passed} checks", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

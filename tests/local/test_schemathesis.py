"""Property-based fuzzing of every operation in the platform's own OpenAPI document (issue 7).

Schemathesis reads ``GET /openapi.json`` from a private live platform and, for each operation,
Hypothesis sends generated requests, valid and invalid for the document, as an ordinary user
(``/_local/*`` as the admin). Two properties hold for every answer: no 5xx, and every 4xx is the
platform's JSON error body with its own status in it.

A hook gives parameters and body keys real values part of the time (the user's project, folder,
file, app, task, upload, async job, billing group...), so requests get past "not found", and
hostile values part of the time (unpaired surrogates, dates at the ends of the calendar, long
repeated filters, wildcards, NUL...), which a schema-driven generator would not produce.

The run is bounded and reproducible for ``make test`` (a few examples per operation, fixed seed,
no shrinking). Search harder (e.g. before a release) with more examples and other seeds::

    SBG_FUZZ_EXAMPLES=300 SBG_FUZZ_SEED=7 .venv/bin/pytest -q tests/local/test_schemathesis.py

``SBG_FUZZ_STATS=1`` (with ``-s``) prints how often each operation answered each status;
``SBG_FUZZ_ONLY=<text>`` fuzzes only the operations whose label ("POST /v2/tasks") holds it.
"""

from __future__ import annotations

import os
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from cloud_fixtures import free_port
from files_support import seed_file
from hypothesis import strategies as st
from local_helpers import TOKEN_HEADER, Caller
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from test_tasks_support import CAT_TOOL, install_app

from sevenbridges_local.embedded import EmbeddedServer

EXAMPLES = int(os.environ.get("SBG_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("SBG_FUZZ_SEED", "20240607"))
FUZZ_USER = "fuzzer"
MEMBER = "fuzzmate"
PROJECT_SLUG = "fuzz-project"
PROJECT = f"{FUZZ_USER}/{PROJECT_SLUG}"
# What PUT /_local/faults is put back to after each call, so one fuzzed switch (maintenance,
# a rate limit of 1, dropped transfers) cannot turn every later answer into a 503 or 429.
CALM_FAULTS = {
    "maintenance": False,
    "rate_limit": 1_000_000,
    "rate_limit_window": 300,
    "drop_transfers": 0,
    "corrupt_parts": 0,
    "transfer_delay_ms": 0,
}
ERROR_KEYS = {"status", "code", "message", "more_info"}
DRS_ERROR_KEYS = {"msg", "status_code"}

# Values no schema suggests, the kind that breaks servers: text with an unpaired
# surrogate (JSON can escape one; a URL cannot carry one), dates whose UTC time leaves the
# calendar, SQL wildcards and escapes, NUL, path tricks, huge numbers as text, long text.
HOSTILE_TEXT = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "12-31-9999",
    "%",
    "_",
    "\\",
    "*",
    "\x00",
    " ",
    "",
    "../../etc/passwd",
    "1e999",
    "-9223372036854775809",
)
LONG_TEXT = "x" * 20_000
HOSTILE_JSON_TEXT = ("a\ud800b", "\udfff")
HOSTILE_QUERIES = (  # the file search language, with the literals above in its places
    f'IN "{PROJECT}" WHERE created_on > "0001-01-01T00:00:00+14:00"',
    'WHERE modified_on <= "9999-12-31T23:59:59-14:00" LIMIT 1',
    'WHERE name LIKE "\\ud800*" OR metadata.k IN ("\\udfff", 1, true)',
    f'IN "{PROJECT}" WHERE size > 9223372036854775807 AND NOT (tag = "raw")',
    'WHERE project IN ("a/b", 5) TOKEN "eyJhZnRlcl9pZCI6ICJcdWQ4MDAifQ"',
)
# How many values a repeated query parameter gets when it is made long.
LONG_REPEAT = 1_100

# One draw decides, for each key of a container: a real value (most likely, and what Hypothesis
# simplifies towards), the fuzzed value, or a hostile one.
REAL, KEEP, HOSTILE = range(3)
_choice = st.tuples(st.sampled_from([REAL, REAL, KEEP, HOSTILE]), st.integers(0, 1_000))
CHOICES = st.lists(_choice, min_size=1, max_size=6)

STATS: Counter = Counter()


class World:
    """Real resources of the fuzzing user; recreated when a fuzzed request deleted them."""

    def __init__(self, server: EmbeddedServer, http: requests.Session) -> None:
        self.server = server
        self.user = Caller(http, server.url, server.token(FUZZ_USER), FUZZ_USER)
        self.admin = Caller(http, server.url, server.token("admin"), "admin")
        server.token(MEMBER)
        self.values: dict[str, dict[str, list[Any]]] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Make sure every resource exists; remember their ids."""
        user = self.user
        if user.get(f"/projects/{PROJECT}").status_code == 404:
            user.create_project("fuzz project")
        root = user.get("/files", params={"project": PROJECT}).json()["items"]
        folders = [item["id"] for item in root if item["type"] == "folder"]
        files = [item["id"] for item in root if item["type"] == "file"]
        if not folders:
            made = user.post("/files", json={"name": "inbox", "project": PROJECT, "type": "folder"})
            folders = [made.json()["id"]]
        if not files:
            files = [seed_file(self.server, project=PROJECT, name="reads.txt", tags=["raw"])]
        user.post(f"/projects/{PROJECT}/members", json={"username": MEMBER})
        app = f"{PROJECT}/cat"
        if user.get(f"/apps/{app}").status_code == 404:
            install_app(user, PROJECT, "cat", CAT_TOOL)
        listed = user.get("/tasks", params={"project": PROJECT}).json()["items"]
        tasks = [task["id"] for task in listed]
        if not tasks:
            inputs = {"files": [{"class": "File", "path": files[0]}]}
            made = user.post("/tasks", json={"project": PROJECT, "app": app, "inputs": inputs})
            tasks = [made.json()["id"]]
        upload = user.post(
            "/upload/multipart", json={"project": PROJECT, "name": "part.bin", "size": 10}
        ).json()["upload_id"]
        job = user.post(
            "/async/files/copy", json={"items": [{"file": files[0], "project": PROJECT}]}
        ).json()["id"]
        groups = [group["id"] for group in user.get("/billing/groups").json()["items"]]
        invoices = [invoice["id"] for invoice in user.get("/billing/invoices").json()["items"]]
        # Query parameters and body keys by name.
        ids = {
            "project": [PROJECT],
            "app": [app],
            "file": files,
            "parent": folders,
            "id": files,
            "file_ids": [files],
            "task_ids": [tasks],
            "billing_group": groups,
            "username": [MEMBER],
            "query": [f'IN "{PROJECT}" WHERE name = "reads.txt"', 'WHERE tag IN ("raw")'],
        }
        # Path parameters by name; the apps routes name the project's and the app's slugs.
        in_path = {
            "owner": [FUZZ_USER],
            "username": [FUZZ_USER, MEMBER],
            "slug": [PROJECT_SLUG],
            "project": [PROJECT_SLUG],
            "app": ["cat"],
            "revision": ["0"],
            "file_id": files + folders,
            "task_id": tasks,
            "upload_id": [upload],
            "job_id": [job],
            "kind": ["copy", "move", "delete"],
            "group_id": groups,
            "invoice_id": invoices or ["none"],
            "part_number": ["1"],
        }
        self.values = {"path_parameters": in_path, "query": ids, "body": ids}
        file_ref = {"class": "File", "path": files[0]}
        ids["inputs"] = [{"files": [file_ref], "note": "n"}]
        ids["files"] = [[file_ref]]
        # Whole bodies the operation accepts, for the fuzzed keys to be laid over: requests that
        # pass the first checks reach the deeper ones (CWL checks, task inputs, copies, uploads).
        self.bodies = {
            "POST /v2/projects": {"name": "fuzzed"},
            "POST /v2/tasks": {"project": PROJECT, "app": app, "inputs": ids["inputs"][0]},
            "PATCH /v2/tasks/{task_id}": {"inputs": ids["inputs"][0]},
            "POST /v2/files": {"name": "folder", "project": PROJECT, "type": "folder"},
            "POST /v2/upload/multipart": {"project": PROJECT, "name": "part.bin", "size": 10},
            "POST /v2/async/files/{kind}": {"items": [{"file": files[0], "project": PROJECT}]},
            "POST /v2/files/{file_id}/actions/copy": {"project": PROJECT, "name": "copy.txt"},
            "POST /v2/files/{file_id}/actions/move": {"parent": folders[0]},
            "POST /v2/projects/{owner}/{slug}/members": {"username": MEMBER},
            "POST /v2/apps/{owner}/{project}/{app}/raw": CAT_TOOL,
            "POST /v2/apps/{owner}/{project}/{app}/{revision}/raw": CAT_TOOL,
            "POST /v2/apps/{owner}/{project}/{app}/actions/copy": {"project": PROJECT},
        }

    @staticmethod
    def _hostile(part: str, key: Any, value: Any, index: int, documented: frozenset[str]) -> Any:
        """A hostile value for ``key``; ``part`` is "json" for a body only sent as JSON.

        Only documented query parameters get long lists: a thousand values of an unknown key
        (any text, percent-encoded) can pass the HTTP server's limit on the request head (about
        128 KiB), which uvicorn answers with a plain-text 400 before the API sees the request.
        """
        if key == "query" and part == "json":
            return HOSTILE_QUERIES[index % len(HOSTILE_QUERIES)]
        if isinstance(value, list) and part == "query" and key in documented:
            return [f"{key}{number}" for number in range(LONG_REPEAT)]
        if isinstance(value, str) or value is None:
            text = HOSTILE_TEXT
            if part != "path_parameters":  # a URL path stays short
                text += (LONG_TEXT,)
            if part == "json":  # only JSON escapes can carry these (not UTF-8, YAML, URLs)
                text += HOSTILE_JSON_TEXT
            return text[index % len(text)]
        return value

    def swap(
        self,
        part: str,
        value: Any,
        choices: list[tuple[int, int]],
        documented: frozenset[str] = frozenset(),
        depth: int = 0,
        app_document: bool = False,
    ) -> Any:
        """``value`` with its keys (also in lists of objects, as in bulk ``items``) given real,
        kept or hostile values as ``choices`` say; ``part`` as in the hook names, or "json";
        ``documented``: the operation's query parameters."""
        if depth > 2:
            return value
        if isinstance(value, list):
            return [
                self.swap(part, item, choices, documented, depth + 1, app_document)
                for item in value
            ]
        if not isinstance(value, dict):
            return value
        known = self.values["body" if part == "json" else part]
        if app_document:  # a CWL document's keys (inputs, class, id) are not our ids
            known = {}
        swapped = dict(value)
        for position, key in enumerate(sorted(swapped, key=str)):
            mode, index = choices[position % len(choices)]
            real = known.get(key) if isinstance(key, str) else None
            if mode == REAL and real:
                swapped[key] = real[index % len(real)]
            elif mode == HOSTILE:
                swapped[key] = self._hostile(part, key, swapped[key], index, documented)
            elif isinstance(swapped[key], list | dict):
                swapped[key] = self.swap(
                    part, swapped[key], choices, documented, depth + 1, app_document
                )
        return swapped


def _over_a_real_body(world: World, label: str, body: Any, choices: list[tuple[int, int]]) -> Any:
    """Half of the time, the fuzzed keys of ``body`` laid over a body ``label`` accepts."""
    base = world.bodies.get(label)
    if base is None or choices[0][1] % 2 or not isinstance(body, dict | None):
        return body
    return {**base, **(body or {})}


def _with_world_values(world: World, part: str) -> Any:
    """A ``flatmap_*`` hook: each key keeps its fuzzed value or gets a real or hostile one."""

    def flatmap(context: schemathesis.HookContext, container: Any) -> Any:
        kind = part
        operation = context.operation
        documented: frozenset[str] = frozenset()
        if operation is not None:
            documented = frozenset(parameter.name for parameter in operation.query)
            media_types = {alternative.media_type for alternative in operation.body}
            if part == "body" and media_types == {"application/json"}:
                kind = "json"
        label = operation.label if operation is not None else ""

        def apply(choices: list[tuple[int, int]]) -> Any:
            value = container
            if part == "body":
                value = _over_a_real_body(world, label, value, choices)
            app_document = part == "body" and label.endswith("/raw")
            return world.swap(kind, value, choices, documented, app_document=app_document)

        return CHOICES.map(apply)

    return flatmap


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A private platform: fuzzing deletes, locks and floods; no other test shares it."""
    closed = f"http://127.0.0.1:{free_port()}"
    server = EmbeddedServer(
        tmp_path_factory.mktemp("fuzz-platform"),
        rate_limit=1_000_000,
        # Volume bodies the fuzzer gets right must not reach a real cloud: every S3/STS/GCS call
        # goes to a loopback port where nothing listens (refused at once, 400/9000).
        settings={
            "task_workers": 1,
            "s3_endpoint_url": closed,
            "gcs_endpoint_url": closed,
            "volume_timeout": 0.5,
            # DRS imports the fuzzer submits may name any host: only loopback may be contacted.
            "drs_allowed_hosts": '["127.0.0.1", "localhost", "::1"]',
            "drs_timeout": 0.5,
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def world(fuzz_platform: EmbeddedServer, http: requests.Session) -> World:
    return World(fuzz_platform, http)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_platform: EmbeddedServer, world: World) -> schemathesis.BaseSchema:
    origin = fuzz_platform.url.removesuffix("/v2")
    schema = schemathesis.openapi.from_url(f"{origin}/openapi.json")
    schema.config.update(base_url=origin, request_timeout=60)
    for part in ("path_parameters", "query", "body"):
        schema.hook(f"flatmap_{part}")(_with_world_values(world, part))
    return schema


def platform_error_shape(ctx: schemathesis.CheckContext, response: Any, case: Any) -> bool:
    """A schemathesis check: every 4xx is the platform's error body, with its own status."""
    if not 400 <= response.status_code < 500:
        return True
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} without a JSON body: {response.text[:300]!r} "
            f"(headers {dict(response.headers)})"
        ) from None
    if str(case.path).startswith("/ga4gh/"):  # DRS routes answer in DRS's own error shape
        assert isinstance(body, dict) and set(body) == DRS_ERROR_KEYS, body
        assert body["status_code"] == response.status_code, body
        assert isinstance(body["msg"], str) and body["msg"], body
        return True
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert body["status"] == response.status_code, body
    assert isinstance(body["code"], int) and isinstance(body["message"], str), body
    return True


def fuzz_operation(operation: Any, world: World, http: requests.Session) -> None:
    """Hypothesis over one operation: valid and invalid requests, fixed seed, no shrinking."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    admin_only = operation.path.startswith("/v2/_local/")
    changes_world = operation.method.upper() == "DELETE" or any(
        word in operation.path for word in ("delete", "move")
    )

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(strategy)
    def check(case: schemathesis.Case) -> None:
        token = world.admin.token if admin_only else world.user.token
        response = case.call_and_validate(
            session=http,
            # A new connection per request: a reused one can be closed by the server's
            # keep-alive timeout just as a request is sent, which is no finding.
            headers={TOKEN_HEADER: token, "Connection": "close"},
            checks=[not_a_server_error, platform_error_shape],
        )
        STATS[(operation.label, response.status_code)] += 1
        if admin_only and operation.method.upper() == "PUT":
            world.admin.put("/_local/faults", json=CALM_FAULTS)
        if changes_world and response.status_code < 300:
            world.refresh()

    check()


def _shortened(text: str, limit: int = 2_000) -> str:
    """A failure report fit for a terminal (a reproducing curl line can be 20 kB): its start and
    its end, where a traceback names the exception."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 2], text[-limit // 2 :]
    return f"{head}\n... ({len(text) - limit} characters left out) ...\n{tail}"


# The suite's 300 s per test would cut a hard run short; a hang still fails.
@pytest.mark.timeout(120 + 3 * EXAMPLES)
def test_no_operation_answers_5xx_or_an_odd_4xx(
    fuzz_schema: schemathesis.BaseSchema, world: World, http: requests.Session
) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) > 70  # every operation of the document, not a filtered few
    only = os.environ.get("SBG_FUZZ_ONLY")  # e.g. "POST /v2/tasks", to chase one finding
    if only:
        operations = [operation for operation in operations if only in operation.label]
    failures: list[str] = []
    for operation in operations:
        try:
            fuzz_operation(operation, world, http)
        # Report every operation that fails, not only the first; schemathesis raises its
        # findings as an exception group.
        except FailureGroup as exc:  # what the checks found, with a curl line to reproduce
            failures.append(f"{operation.label}: {_shortened(str(exc))}")
        except Exception as exc:  # anything else is a bug here or a broken answer: show where
            where = "".join(traceback.format_exception(exc, limit=-3))
            failures.append(f"{operation.label}: {_shortened(where)}")
    if os.environ.get("SBG_FUZZ_STATS"):
        for (label, status), count in sorted(STATS.items()):
            print(f"{label:70} {status} x{count}")
    assert not failures, "\n\n".join(failures)

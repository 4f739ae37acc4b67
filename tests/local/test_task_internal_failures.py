"""A task that fails for a reason inside the platform (here a real database error, provoked with
the ``work_faults`` point ``task.results:database`` while its results are recorded) tells its
user plain words and a reference; the SQL and the database's own wording go to the server log
only. The task worker goes on running tasks afterwards."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from local_helpers import Caller
from test_tasks_support import created, install_app, wait_for_status

pytestmark = pytest.mark.postgres

ECHO_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Echo",
    "baseCommand": ["echo", "hello"],
    "stdout": "out.txt",
    "inputs": {},
    "outputs": {"out": {"type": "stdout"}},
}
# What the database error says (either database), none of which a user should see.
LEAKS = ("injected_fault_missing_table", "UPDATE", "SQL", "secret", "sqlite", "psycopg", "Error")


def test_a_database_error_reaches_the_user_as_plain_words_with_a_reference(
    start_platform, http: requests.Session
) -> None:
    server = start_platform(settings={"work_faults": json.dumps({"task.results:database": 1})})
    alice = Caller(http, server.url, server.token("alice"), "alice")
    project = alice.create_project("internal")
    app = install_app(alice, project["id"], "echo", ECHO_TOOL)
    task = created(alice, run=True, name="first", project=project["id"], app=app, inputs={})
    done = wait_for_status(alice, task["id"])
    assert done["status"] == "FAILED"
    message = done["execution_status"]["message"]
    found = re.search(r"internal error of the platform \(reference ([0-9a-f]{12});", message)
    assert found, message
    details = alice.get(f"/tasks/{task['id']}/execution_details").json()
    shown = json.dumps(done) + json.dumps(details)
    for leak in LEAKS:
        assert leak not in shown, (leak, message)
    # The detail is in the server log, next to the reference the user was given.
    log = server.log_path.read_text(errors="replace")
    line = next(line for line in log.splitlines() if found.group(1) in line)
    assert "failed inside the platform" in line
    after = log[log.index(found.group(1)) :]
    assert "injected_fault_missing_table" in after
    # The fault is used up: the worker that met it runs the next task to the end.
    again = created(alice, run=True, name="second", project=project["id"], app=app, inputs={})
    assert wait_for_status(alice, again["id"])["status"] == "COMPLETED"

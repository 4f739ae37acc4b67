"""``sbg demo`` runs end to end against its own embedded platform."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sevenbridges.cli.demo import (
    COLLABORATOR,
    OWNER,
    PUBLIC_APP_ID,
    READ_LENGTH,
    SAMPLE_READS,
    format_table,
    main,
    progress_bar,
)

RUN_SBG = "import sys; from sevenbridges.cli import main; sys.exit(main())"


def section(output: str, title_start: str) -> str:
    """The body of the first ``== title`` section whose title starts with ``title_start``."""
    match = re.search(rf"^== {re.escape(title_start)}.*?\n(.*?)(?=^== |\Z)", output, re.M | re.S)
    assert match, f"no section starting with {title_start!r} in:\n{output}"
    return match.group(1)


def table_rows(body: str) -> list[list[str]]:
    lines = [line for line in body.splitlines() if line.strip()]
    return [line.split() for line in lines[2:]]  # skip header and dashes


def test_demo_creates_a_project_and_shares_it(capsys, tmp_path: Path) -> None:
    results_dir = tmp_path / "results"
    exit_code = main(["--data-dir", str(tmp_path / "data"), "--results", str(results_dir)])
    captured = capsys.readouterr()
    output = captured.out
    assert exit_code == 0, output + captured.err

    created = re.search(rf"^== Created project ({re.escape(OWNER)}/\S+)$", output, re.M)
    assert created, output
    project_id = created.group(1)

    me = dict((row[0], row[1:]) for row in table_rows(section(output, "Current user")))
    assert me["username"] == [OWNER]

    assert "permissions: read,copy" == section(output, f"Added member {COLLABORATOR}").strip()
    changed = section(output, f"Changed permissions of {COLLABORATOR}").strip()
    assert changed == "permissions: read,copy,write"

    # Both users see the project, and both see the collaborator with the changed permissions.
    for username in (OWNER, COLLABORATOR):
        projects = table_rows(section(output, f"Projects visible to {username}"))
        assert project_id in [row[0] for row in projects]
        members = table_rows(section(output, f"Members of {project_id}, as seen by {username}"))
        assert [COLLABORATOR, "USER", "read,copy,write"] in members

    assert "Invoices" in output

    # Apps and tasks: a public app installed into the project, reads uploaded, a batch task.
    public_apps = [row[0] for row in table_rows(section(output, "Public apps"))]
    assert PUBLIC_APP_ID in public_apps
    installed = re.search(rf"^== Installed app ({re.escape(project_id)}/\S+)$", output, re.M)
    assert installed, output
    uploaded = table_rows(section(output, "Uploaded reads"))
    assert sorted(row[2] for row in uploaded) == sorted(sample for sample, _ in SAMPLE_READS)

    progress = [line for line in section(output, "Batch task").splitlines() if line.strip()]
    assert progress[0].startswith(f"app {installed.group(1)}/"), progress
    statuses = [line.split()[1] for line in progress[1:]]
    assert statuses[-1] == "COMPLETED", progress
    states = [line.split(None, 1)[1] for line in progress[1:]]  # without the elapsed time
    assert all(states[i] != states[i + 1] for i in range(len(states) - 1)), progress
    assert f"{len(SAMPLE_READS)}/{len(SAMPLE_READS)} done" in progress[-1]

    children = table_rows(section(output, "Children of"))
    assert sorted(row[0] for row in children) == sorted(sample for sample, _ in SAMPLE_READS)
    assert {row[1] for row in children} == {"COMPLETED"}

    results = table_rows(section(output, "Results").split("\n\n")[0])  # the table only
    expected = sorted(
        [sample, str(reads), str(reads * READ_LENGTH), f"{float(READ_LENGTH)}"]
        for sample, reads in SAMPLE_READS
    )
    assert sorted(row[:4] for row in results) == expected
    assert all(0 < float(row[4]) < 100 for row in results)  # GC content, percent
    # The results it names are kept where it says.
    assert f"Results kept in {results_dir}" in output
    kept = sorted(path.name for path in results_dir.iterdir())
    assert kept == sorted(row[5] for row in results) and len(kept) == len(SAMPLE_READS)
    assert output.rstrip().endswith("Demo finished successfully.")
    # The platform was stopped: its data directory holds the database it wrote.
    assert any((tmp_path / "data").iterdir())


def test_demo_reports_failure_with_a_message(tmp_path: Path) -> None:
    """A data dir that is a file cannot host a platform: the demo says so and exits non-zero."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("occupied")
    result = subprocess.run(
        [sys.executable, "-c", RUN_SBG, "demo", "--data-dir", str(blocker)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "sbg demo failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_the_demo_and_its_platform_quietly(tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the whole process group: the demo and its platform."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SBG, "demo", "--results", str(tmp_path / "results")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    platform_url = None
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Platform ready at "):
            platform_url = line.split(" at ", 1)[1].strip()
        if line.startswith("== Uploaded reads") or line.startswith("== Installed app"):
            break
    assert platform_url, "".join(lines)
    os.killpg(process.pid, signal.SIGINT)
    rest, stderr = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 130, output + stderr
    assert "Traceback" not in stderr and "Traceback" not in output, stderr
    assert "Demo interrupted." in stderr and "Platform stopped." in output
    with pytest.raises(requests.ConnectionError):
        requests.get(platform_url, timeout=5)


def test_progress_bar() -> None:
    assert progress_bar(0, 4, width=8) == "[--------]"
    assert progress_bar(2, 4, width=8) == "[####----]"
    assert progress_bar(4, 4, width=8) == "[########]"
    assert progress_bar(0, 0, width=4) == "[----]"


def test_format_table_aligns_columns() -> None:
    table = format_table(("name", "n"), [("alpha", 1), ("b", None)])
    assert table.splitlines() == ["name   n", "-----  -", "alpha  1", "b"]
    assert format_table(("x",), []).splitlines()[-1] == "(none)"

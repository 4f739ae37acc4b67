"""Task isolation against a live platform: what a hostile tool can see and do from inside a task.

Every tool here is what an attacker with an account would install: a shell script that goes
looking for the platform's secrets, other users' files, the server's processes and the network.
The platform under test runs tasks in bubblewrap (``make test`` installs it): these tests fail,
not skip, when it is missing, so the isolated path is what CI checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from files_support import blob_store_for, seed_file
from local_helpers import Caller, run_sql
from test_tasks_support import created, download, install_app, wait_for_status

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.execution.sandbox import SandboxPolicy, detect_sandbox
from sevenbridges_local.services.task_outputs import _OutputImporter
from sevenbridges_local.status import read_status
from sevenbridges_local.storage.local import LocalBlobStore

# Runs its script with sh (followed by the path of ``data`` when given); what the script prints
# becomes the output file ``report.txt``.
SHELL_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Shell",
    "requirements": {"ShellCommandRequirement": {}},
    "arguments": [{"valueFrom": "$(inputs.script)", "shellQuote": False, "position": 0}],
    "inputs": {"script": "string", "data": {"type": "File?", "inputBinding": {"position": 1}}},
    "stdout": "report.txt",
    "outputs": {"report": {"type": "stdout"}},
}


@pytest.fixture
def project(alice: Caller) -> dict[str, Any]:
    return alice.create_project("sandboxed runs")


@pytest.fixture
def shell_app(alice: Caller, project: dict[str, Any]) -> str:
    return install_app(alice, project["id"], "shell", SHELL_TOOL)


@pytest.fixture
def run_script(
    alice: Caller, project: dict[str, Any], shell_app: str
) -> Callable[..., tuple[dict[str, Any], str]]:
    """Runs a shell script as alice's task; returns the ended task and what it printed."""

    def run(script: str, **inputs: Any) -> tuple[dict[str, Any], str]:
        task = created(
            alice,
            run=True,
            project=project["id"],
            app=shell_app,
            inputs={"script": script, **inputs},
        )
        ended = wait_for_status(alice, task["id"])
        report = ended["outputs"].get("report") if ended["status"] == "COMPLETED" else None
        text = download(alice, report["path"]).decode() if report else ""
        return ended, text

    return run


def test_the_test_platform_isolates_its_tasks(platform: EmbeddedServer) -> None:
    status = read_status(platform.data_dir)
    assert status is not None and status.running
    assert shutil.which("bwrap"), "bubblewrap is required here: `make test` installs it"
    assert status.tasks_isolated, status.task_isolation


def test_a_task_cannot_read_the_platforms_secrets_or_other_users_files(
    platform: EmbeddedServer,
    bob: Caller,
    run_script: Callable[..., tuple[dict[str, Any], str]],
) -> None:
    bobs_project = bob.create_project("bob's secrets")
    bobs_file = seed_file(
        platform, project=bobs_project["id"], name="diagnosis.txt", content=b"TOP SECRET\n"
    )
    ((blob_key,),) = run_sql(platform, "SELECT blob_key FROM files WHERE id = ?", (bobs_file,))
    bobs_blob = blob_store_for(platform).local_path(blob_key)
    assert bobs_blob is not None and bobs_blob.read_bytes() == b"TOP SECRET\n"
    data_dir = platform.data_dir
    targets = [
        data_dir / "secret.key",
        data_dir / "platform.db",
        data_dir / "server.log",
        bobs_blob,
    ]
    script = " ; ".join(
        f"if cat '{path}' >/dev/null 2>&1; then echo 'READ {path}'; else echo 'DENIED {path}'; fi"
        for path in targets
    )
    script += f" ; ls -a '{data_dir}' ; ls '{data_dir}/tasks' | wc -l"
    ended, report = run_script(script)
    assert ended["status"] == "COMPLETED", ended.get("execution_status")
    lines = report.splitlines()
    assert [line for line in lines if line.startswith("READ")] == []
    assert len([line for line in lines if line.startswith("DENIED")]) == len(targets)
    # The data directory is an empty file system holding only this task's work dir.
    listing = lines[len(targets) : -1]
    assert sorted(listing) == [".", "..", "tasks"], listing
    assert lines[-1].strip() == "1"


def test_a_task_reads_its_own_inputs(
    platform: EmbeddedServer,
    alice: Caller,
    project: dict[str, Any],
    run_script: Callable[..., tuple[dict[str, Any], str]],
) -> None:
    own = seed_file(platform, project=project["id"], name="reads.txt", content=b"ACGT\n")
    ended, report = run_script("cat", data={"class": "File", "path": own})
    assert ended["status"] == "COMPLETED", ended.get("execution_status")
    assert report == "ACGT\n"


def test_a_task_sees_only_its_own_processes_runs_unprivileged_and_has_no_network(
    platform: EmbeddedServer, run_script: Callable[..., tuple[dict[str, Any], str]]
) -> None:
    api_port = int(platform.url.rsplit(":", 1)[1].split("/")[0])
    python_probe = (
        "import socket\\n"
        "try:\\n"
        f"    socket.create_connection(('127.0.0.1', {api_port}), timeout=3)\\n"
        "    print('CONNECTED')\\n"
        "except OSError as exc:\\n"
        "    print('NO NETWORK', type(exc).__name__)\\n"
    )
    # The tool runs in cwltool's output folder, <work dir>/tmp/<random>.
    script = (
        'W=$(dirname "$(dirname "$PWD")") ; '
        "echo uid=$(id -u) ; grep CapEff /proc/self/status ; hostname ; cat /proc/1/comm ; "
        "ps -eo args= | grep -c '[s]evenbridges_local serve' ; "
        f'printf "{python_probe}" | /usr/bin/python3 - ; '
        'echo x > "$W/job.json" 2>/dev/null && echo WROTE-JOB || echo JOB-READ-ONLY ; '
        'echo x > "$W/cwltool.log" 2>/dev/null && echo WROTE-LOG || echo LOG-READ-ONLY ; '
        "touch /usr/bin/planted 2>/dev/null && echo WROTE-USR || echo USR-READ-ONLY ; "
        'echo x > "$W/out/written" && echo OUT-WRITABLE'
    )
    ended, report = run_script(script)
    assert ended["status"] == "COMPLETED", ended.get("execution_status")
    lines = report.splitlines()
    if os.getuid() == 0:
        assert lines[0] == "uid=65534"  # nobody, not root
    assert lines[1].split() == ["CapEff:", "0000000000000000"]
    assert lines[2] == "sbg-task"
    assert lines[3] == "bwrap"  # PID 1 is the sandbox's own init, not the machine's
    assert lines[4] == "0"  # the server's process is not there (grep -c counts no match)
    assert lines[5].startswith("NO NETWORK"), lines[5]
    assert lines[6:] == ["JOB-READ-ONLY", "LOG-READ-ONLY", "USR-READ-ONLY", "OUT-WRITABLE"]


def test_a_failure_message_shows_paths_inside_the_task_only(
    platform: EmbeddedServer, run_script: Callable[..., tuple[dict[str, Any], str]]
) -> None:
    ended, _ = run_script('cat "$PWD/missing-input.txt" ; exit 4')
    assert ended["status"] == "FAILED"
    message = ended["execution_status"]["message"]
    assert "missing-input.txt" in message
    assert str(platform.data_dir) not in message
    assert "tasks/" not in message


def test_a_platform_without_bubblewrap_says_tasks_are_not_isolated(
    start_platform: Callable[..., EmbeddedServer], http: Any
) -> None:
    server = start_platform(settings={"sandbox_bwrap": "/nonexistent/bwrap"})
    status = read_status(server.data_dir)
    assert status is not None and not status.tasks_isolated
    assert "NOT isolated" in status.task_isolation and "bubblewrap" in status.task_isolation
    log = server.log_path.read_text()
    assert "WARNING" in log and "tasks are NOT isolated" in log
    shown = subprocess.run(
        [sys.executable, "-m", "sevenbridges_local", "status", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "running at " + server.url in shown.stdout
    assert "NOT isolated" in shown.stdout


def test_required_isolation_refuses_to_start_without_bubblewrap(tmp_path: Path) -> None:
    server = EmbeddedServer(
        tmp_path / "strict",
        settings={"sandbox": "bwrap", "sandbox_bwrap": "/nonexistent/bwrap"},
    )
    with pytest.raises(RuntimeError) as refused:
        server.start()
    assert "Task isolation is required" in str(refused.value)
    assert "install bubblewrap" in str(refused.value)


def test_outputs_that_lead_outside_the_task_are_not_imported(tmp_path: Path) -> None:
    """What a task hands back is checked on the real file system, symlinks resolved."""
    secret = tmp_path / "secret.key"
    secret.write_text("key")
    staged_input = tmp_path / "blobs" / "ab" / "abcd"
    staged_input.parent.mkdir(parents=True)
    staged_input.write_text("input content")
    out = tmp_path / "task" / "out"
    (out / "folder" / "nested").mkdir(parents=True)
    (out / "result.txt").write_text("result")
    (out / "leak").symlink_to(secret)
    (out / "folder" / "leak").symlink_to(secret)
    (out / "folder" / "nested" / "loop").symlink_to(out / "folder")
    (out / "folder" / "kept.txt").write_text("kept")
    (out / "passed-through").symlink_to(staged_input)
    os.mkfifo(out / "pipe")
    store = LocalBlobStore(tmp_path / "storage")
    importer = _OutputImporter(store, out, {staged_input})

    def file_at(name: str) -> dict[str, str]:
        return {"class": "File", "path": str(out / name)}

    converted = importer.convert(
        {
            "result": file_at("result.txt"),
            "leak": file_at("leak"),
            "elsewhere": {"class": "File", "location": f"file://{secret}"},
            "pipe": file_at("pipe"),
            "passed": file_at("passed-through"),
            "folder": {"class": "Directory", "path": str(out / "folder")},
        }
    )
    assert converted["leak"] is None and converted["elsewhere"] is None
    assert converted["pipe"] is None
    assert store.open(converted["result"].key).read() == b"result"
    assert store.open(converted["passed"].key).read() == b"input content"
    folder = converted["folder"]
    names = sorted(entry.name for entry in folder.entries)
    assert names == ["kept.txt", "nested"]  # the leak is gone, the loop is not followed
    nested = next(entry for entry in folder.entries if entry.name == "nested")
    assert nested.entries == []
    stored = [store.open(key).read() for key in importer.keys]
    assert b"key" not in stored


def _run_as_nobody(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
            "-c",
            script,
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


_AS_NOBODY = """
import json, os, sys
from pathlib import Path
from sevenbridges_local.execution.sandbox import detect_sandbox
from sevenbridges_local.execution.namespaces import run_sandboxed

data_dir = Path(sys.argv[1])
work_dir = data_dir / "tasks" / "t1"
policy = detect_sandbox(mode="bwrap", data_dir=data_dir)
config = policy.task_config(work_dir, [work_dir / "out", work_dir / "tmp"], [])

def body():
    seen = {
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "secret_visible": os.path.exists(data_dir / "secret.key"),
        "caps": [line.split()[1] for line in open("/proc/self/status") if line.startswith("Cap")],
        "out_writable": os.access(work_dir / "out", os.W_OK),
        "work_dir_writable": os.access(work_dir, os.W_OK),
    }
    (work_dir / "out" / "seen.json").write_text(json.dumps(seen))
    return 0

read_end, write_end = os.pipe()
print(json.dumps({"description": policy.describe(), "code": run_sandboxed(config, body, read_end)}))
"""


def test_an_unprivileged_platform_isolates_tasks_in_a_user_namespace() -> None:
    """The same sandbox entered by a platform that does not run as root."""
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root to impersonate an unprivileged platform user")
    project_root = Path(__file__).resolve().parents[2]
    probe = _run_as_nobody("import sevenbridges_local.execution.namespaces")
    if probe.returncode != 0:
        pytest.skip(f"the checkout is not readable by an unprivileged user ({project_root})")
    data_dir = Path(tempfile.mkdtemp(prefix="sbg-unprivileged-"))
    try:
        work_dir = data_dir / "tasks" / "t1"
        for path in (work_dir / "out", work_dir / "tmp"):
            path.mkdir(parents=True)
        (data_dir / "secret.key").write_text("not for tasks")
        for root, directories, files in os.walk(data_dir):
            for name in [root, *(os.path.join(root, item) for item in directories + files)]:
                os.chown(name, 65534, 65534)
        os.chmod(data_dir, 0o700)
        result = _run_as_nobody(_AS_NOBODY, str(data_dir))
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome["code"] == 0, result.stderr
        assert "in a user namespace" in outcome["description"]
        seen = json.loads((work_dir / "out" / "seen.json").read_text())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert seen["uid"] == 65534
    assert seen["cwd"] == str(work_dir)
    assert seen["secret_visible"] is False
    assert set(seen["caps"]) == {"0000000000000000"}
    assert seen["out_writable"] is True and seen["work_dir_writable"] is False


def test_sandbox_policy_describes_what_it_gives() -> None:
    off = SandboxPolicy(problem="bubblewrap ('bwrap') is not installed")
    assert not off.enabled and "NOT isolated" in off.describe()
    assert off.task_config(Path("/w"), [], []) is None
    on = detect_sandbox(mode="auto", data_dir=Path(tempfile.gettempdir()) / "sbg-policy-probe")
    assert on.enabled, on.problem
    arguments = on.task_config(Path("/d/tasks/t"), [Path("/d/tasks/t/out")], [Path("/d/b/x")])
    assert arguments is not None
    listed = arguments["arguments"]
    assert "--unshare-net" in listed and "--unshare-pid" in listed
    # The data directory is hidden (an empty tmpfs) before the task's own paths are bound.
    hidden = listed.index(str(Path(tempfile.gettempdir()) / "sbg-policy-probe"))
    assert listed[hidden - 1] == "--tmpfs"
    work_bind = listed.index("/d/tasks/t")
    assert listed[work_bind - 1] == "--ro-bind" and work_bind > hidden
    out_bind = listed.index("/d/tasks/t/out")
    assert listed[out_bind - 1] == "--bind"
    assert listed[listed.index("/d/b/x") - 1] == "--ro-bind"


def test_an_extra_read_only_folder_is_shown_whole_even_when_it_holds_the_interpreter(
    tmp_path: Path,
) -> None:
    """``sandbox_paths`` may name a folder that contains a tree already shown (a Python
    installation under it, as with pyenv): the whole folder must be bound, not only the empty
    parent directories made for the inner tree."""
    outer = tmp_path / "tools"
    inner = outer / "versions" / "3.11"
    (outer / "shims").mkdir(parents=True)
    inner.mkdir(parents=True)
    policy = SandboxPolicy(
        bwrap="/usr/bin/bwrap", readonly_paths=(str(inner), str(outer)), hidden_paths=()
    )
    listed = policy._arguments("/d/tasks/t", [], [])
    bound = [listed[at + 1] for at, item in enumerate(listed) if item == "--ro-bind"]
    assert str(outer) in bound


def test_tasks_do_not_inherit_the_servers_environment(
    start_platform: Callable[..., EmbeddedServer], http: Any
) -> None:
    """Credentials in the server's environment (tokens, cloud keys) never reach a task."""
    server = start_platform(
        environment={"SB_AUTH_TOKEN": "leaked-token", "AWS_SECRET_ACCESS_KEY": "leaked-key"}
    )
    owner = Caller(http, server.url, server.token("owner"), "owner")
    project = owner.create_project("environment")
    # A JavaScript expression starts cwltool's node process, which stays up beside the tool.
    javascript_shell = {
        **SHELL_TOOL,
        "requirements": {"ShellCommandRequirement": {}, "InlineJavascriptRequirement": {}},
        "arguments": [{"valueFrom": "${ return inputs.script; }", "shellQuote": False}],
    }
    app = install_app(owner, project["id"], "shell", javascript_shell)
    script = "env ; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' ; echo END"
    task = created(owner, run=True, project=project["id"], app=app, inputs={"script": script})
    ended = wait_for_status(owner, task["id"])
    assert ended["status"] == "COMPLETED", ended.get("execution_status")
    report = download(owner, ended["outputs"]["report"]["path"]).decode()
    assert report.rstrip().endswith("END") and "PATH=" in report
    assert "leaked" not in report


# cwltool itself collects what the glob names: an expression can point it anywhere at run time,
# which no install-time check of the document can see.
GLOB_TOOL: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "label": "Glob anywhere",
    "baseCommand": ["true"],
    "inputs": {"pattern": "string"},
    "outputs": {"found": {"type": "File[]", "outputBinding": {"glob": "$(inputs.pattern)"}}},
}


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_an_output_glob_cannot_collect_the_platforms_files(
    platform: EmbeddedServer, alice: Caller, project: dict[str, Any], relative: bool
) -> None:
    app = install_app(alice, project["id"], "glob", GLOB_TOOL)
    secret = platform.data_dir / "secret.key"
    # The tool runs in <data dir>/tasks/<id>/tmp/<random>: four levels below the data dir.
    pattern = "../../../../secret.key" if relative else str(secret)
    task = created(alice, run=True, project=project["id"], app=app, inputs={"pattern": pattern})
    ended = wait_for_status(alice, task["id"])
    found = ended["outputs"].get("found") or []
    contents = [download(alice, item["path"]) for item in found if item]
    assert secret.read_bytes() not in contents
    assert not contents, ended

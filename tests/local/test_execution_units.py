"""The execution pieces on their own: cwltool's log reader, the task-process handle, the
executor without a fork server, and the checks of input values against CWL types."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Any

import pytest

from sevenbridges_local.execution.base import InputFile, TaskSpec
from sevenbridges_local.execution.cwl_log import CwlLogReader
from sevenbridges_local.execution.cwltool_executor import (
    CwltoolExecutor,
    ExecutionError,
    _ForkedTask,
    container_arguments,
)
from sevenbridges_local.execution.sandbox import detect_sandbox
from sevenbridges_local.services import task_inputs
from sevenbridges_local.storage import LocalBlobStore

LOG = """\
[2026-01-02T03:04:05.100Z] INFO [workflow ] start
[2026-01-02T03:04:05.200Z] INFO [step count] start
[2026-01-02T03:04:05.300Z] INFO [job count] /tmp/x$ wc \\
    -l \\
    /tmp/in.txt > /tmp/x/count.txt
[2026-01-02T03:04:06.400Z] INFO [job count] completed success
[2026-01-02T03:04:06.500Z] INFO [step count] completed success
[2026-01-02T03:04:06.600Z] INFO [step inner] completed success
[2026-01-02T03:04:06.700Z] INFO [job report] /tmp/y$ python3 report.py
[2026-01-02T03:04:07.000Z] WARNING [job report] exited with status: 2
[2026-01-02T03:04:07.100Z] INFO [job report] completed permanentFail
"""


def test_the_log_reader_finds_jobs_commands_and_steps(tmp_path: Path) -> None:
    log = tmp_path / "cwltool.log"
    reader = CwlLogReader(log, ["count", "report"])
    assert reader.poll() is False  # no log yet
    cut = LOG.index("    /tmp/in.txt")
    log.write_text(LOG[:cut])
    reader.poll()
    # The command's record may still grow: nothing is taken from it yet.
    assert reader.jobs == {}
    log.write_text(LOG)
    assert reader.poll(final=True) is True
    count, report = reader.job_list()
    assert (count.name, count.status) == ("count", "COMPLETED")
    assert count.command_line == "wc -l /tmp/in.txt > /tmp/x/count.txt"
    assert (count.end_time - count.start_time).total_seconds() == pytest.approx(1.1)
    assert (report.name, report.status) == ("report", "FAILED")
    # Steps of nested workflows do not count towards the top-level total.
    assert reader.completed_steps == {"count"}
    assert reader.problems == ["[job report] exited with status: 2"]


def test_an_exit_reported_with_the_pid_is_not_lost() -> None:
    """A quick task can report its exit in the same read as its pid."""
    ours, theirs = socket.socketpair()
    theirs.close()  # the task process is already gone
    handle = _ForkedTask(1234, ours, b"exit 0\n")
    assert handle.wait(5) == 0
    handle.close()

    ours, theirs = socket.socketpair()
    theirs.sendall(b"exi")
    handle = _ForkedTask(1234, ours, b"")
    assert handle.wait(0.05) is None  # still running: no exit line yet
    theirs.sendall(b"t 3\n")
    theirs.close()
    assert handle.wait(5) == 3
    handle.close()

    ours, theirs = socket.socketpair()
    theirs.close()  # ended without a word: killed
    assert _ForkedTask(1234, ours, b"").wait(5) < 0


def test_container_engines_map_to_cwltool_arguments() -> None:
    assert container_arguments(None) == ["--no-container"]
    assert container_arguments("docker") == []
    assert container_arguments("podman") == ["--podman"]
    assert container_arguments("singularity") == ["--singularity"]
    with pytest.raises(ExecutionError):
        container_arguments("lxc")


@pytest.mark.parametrize("isolated", [False, True], ids=["unisolated", "sandboxed"])
def test_the_executor_without_a_fork_server(tmp_path: Path, isolated: bool) -> None:
    """The fallback (a fresh interpreter per task) runs the same way, with staged inputs."""
    store = LocalBlobStore(tmp_path / "storage")
    key = secrets.token_hex(16)
    store.put_bytes(key, b"one\ntwo\n")
    document: dict[str, Any] = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "baseCommand": ["wc", "-l"],
        "inputs": {"text": {"type": "File", "inputBinding": {"position": 1}}},
        "stdout": "$(inputs.text.basename).count",
        "outputs": {"count": {"type": "stdout"}},
    }
    spec = TaskSpec(
        task_id="t1",
        document=document,
        document_name="count",
        job_order={"text": {"class": "File", "path": "f1"}},
        files={"f1": InputFile(file_id="f1", name="my notes.txt", blob_key=key)},
    )
    sandbox = detect_sandbox(mode="bwrap", data_dir=tmp_path) if isolated else None
    executor = CwltoolExecutor(store, use_fork_server=False, sandbox=sandbox)
    executor.start()
    try:
        prepared = executor.prepare(spec, tmp_path / "work")
        staged = prepared.work_dir / "inputs" / "f1" / "my notes.txt"
        assert staged.is_symlink() and staged.resolve() == store.local_path(key)
        running = executor.run(prepared)
        code = running.wait(120)
        running.close()
        result = executor.collect(prepared, code if code is not None else -1)
    finally:
        executor.stop()
    assert result.succeeded, result.message
    output = result.outputs["count"]
    assert output["basename"] == "my notes.txt.count"
    assert Path(output["path"]).read_text().split()[0] == "2"
    assert [job.name for job in result.jobs] == ["count"]
    assert set(result.logs) == {"cwltool.log"}  # empty logs are left out


def test_input_values_are_checked_against_cwl_types() -> None:
    document = {
        "inputs": [
            {"id": "#main/reads", "type": "File[]"},
            {"id": "threads", "type": "int?"},
            {"id": "mode", "type": {"type": "enum", "symbols": ["#main/mode/fast", "slow"]}},
            {"id": "ratio", "type": "float", "default": 0.5},
            {"id": "flag", "type": ["null", "boolean"]},
        ]
    }
    specs = task_inputs.app_inputs(document)
    assert list(specs) == ["reads", "threads", "mode", "ratio", "flag"]
    assert [spec.optional for spec in specs.values()] == [False, True, False, True, True]
    checker = task_inputs._Checker()
    assert checker.accepts(specs["reads"].type, [{"class": "File", "path": "a"}, "b"])
    assert not checker.accepts(specs["reads"].type, {"class": "Directory", "path": "c"})
    assert checker.accepts(specs["threads"].type, 4)
    assert not checker.accepts(specs["threads"].type, True)  # a bool is no int
    assert checker.accepts(specs["mode"].type, "fast")
    assert not checker.accepts(specs["mode"].type, "medium")
    assert checker.accepts(specs["ratio"].type, 2)
    assert not checker.accepts(specs["flag"].type, "yes")


def test_file_references_are_found_in_every_shape_of_value() -> None:
    def ids(value: Any, bare_ids: str | None = None) -> list[tuple[str | None, str]]:
        found = task_inputs.file_references(value, bare_ids)
        return [(ref.file_id, ref.cls) for ref in found]

    nested = {
        "a": [1, "text", {"class": "File", "path": "f1"}],
        "b": {"class": "directory", "location": "d1", "listing": [{"class": "File", "path": "f2"}]},
        "c": {"class": "File", "path": "f3", "secondaryFiles": ["f4", {"class": "File"}]},
    }
    assert ids(nested) == [
        ("f1", "File"),
        ("d1", "Directory"),
        ("f2", "File"),
        ("f3", "File"),
        ("f4", "File"),
        (None, "File"),
    ]
    # Bare strings are ids only where the input takes files and no text.
    assert ids(["f1", "f2"], "File") == [("f1", "File"), ("f2", "File")]
    assert ids(["f1", "f2"]) == []
    kinds = task_inputs.normalize_type
    assert task_inputs.id_kind_of(kinds("File[]")) == "File"
    assert task_inputs.id_kind_of(kinds("Directory?")) == "Directory"
    assert task_inputs.id_kind_of(kinds(["string", "File"])) is None
    assert task_inputs.id_kind_of(kinds("Any")) is None
    # No nesting depth exhausts the stack.
    deep: Any = {"class": "File", "path": "deep"}
    for _ in range(5000):
        deep = [deep]
    assert ids(deep) == [("deep", "File")]


def test_secondary_file_patterns() -> None:
    name = task_inputs._secondary_name
    assert name("ref.fa", ".fai") == "ref.fa.fai"
    assert name("reads.bam", "^.bai") == "reads.bai"
    assert name("x.tar.gz", "^^.idx") == "x.idx"
    assert name("reads.bam", "$(self.basename).bai") is None


@pytest.mark.skipif(not hasattr(socket, "SOCK_SEQPACKET"), reason="fork server needs SEQPACKET")
def test_a_dead_fork_server_is_replaced(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "storage")
    document: dict[str, Any] = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "baseCommand": ["echo", "hi"],
        "inputs": {},
        "stdout": "hi.txt",
        "outputs": {"said": {"type": "stdout"}},
    }
    executor = CwltoolExecutor(store, use_fork_server=True)

    def run_once(name: str) -> int:
        spec = TaskSpec(
            task_id=name, document=document, document_name="echo", job_order={}, files={}
        )
        prepared = executor.prepare(spec, tmp_path / name)
        running = executor.run(prepared)
        code = running.wait(120)
        running.close()
        result = executor.collect(prepared, -1 if code is None else code)
        assert result.succeeded, result.message
        return running.process_group or 0

    try:
        first_pid = run_once("first")
        fork_server = executor._fork_server
        assert fork_server is not None and fork_server._process is not None
        fork_server._process.kill()
        fork_server._process.wait()
        second_pid = run_once("second")
        assert second_pid != first_pid
    finally:
        executor.stop()

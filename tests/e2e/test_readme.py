"""The README's quickstart, run as written on a fresh machine (a fresh HOME and data directory).

The code blocks are read from README.md itself, from "Quickstart against the local platform" up
to its first subsection (or "The same code against the real platform"), and run in order: shell
blocks with bash in a working directory where ``.venv`` is this test run's virtualenv, Python
blocks with its Python.
Two things differ from a reader's machine, both forced by running beside other tests: the port
(``SBG_LOCAL_PORT`` and the literal ``8765`` in the Python blocks become a free port), and the
install block is not re-run (this virtualenv is that install). ``<token printed above>`` becomes
the last line the previous shell block printed, as a reader would paste it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)
DEFAULT_PORT = "8765"


def quickstart_blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Quickstart against the local platform")
    end = text.index("## The same code against the real platform")
    # The quickstart proper ends where its first subsection (automations, HTTPS, ...) begins.
    subsection = text.find("\n### ", start, end)
    return BLOCK.findall(text[start : end if subsection < 0 else subsection])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    kinds = [kind for kind, _code in blocks]
    # install, serve, (user + sample reads), main flow, token, URL + token, divisions
    assert kinds == ["sh", "sh", "sh", "python", "sh", "python", "sh"], kinds
    install, serve, *rest = blocks
    assert "pip install -e" in install[1]
    assert "sbg local serve" in serve[1]

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    port = str(_free_port())
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SBG_LOCAL_", "SB_API", "SB_AUTH"))
    }
    environment.update(HOME=str(home), SBG_LOCAL_PORT=port)

    server = subprocess.Popen(
        ["bash", "-ec", serve[1]],
        cwd=work,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    outputs: list[str] = []
    try:
        credentials = home / ".sevenbridges" / "credentials"
        deadline = time.monotonic() + 120
        while "[local]" not in (credentials.read_text() if credentials.exists() else ""):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the platform did not start"
            time.sleep(0.1)
        last_line = ""
        for kind, code in rest:
            if kind == "sh":
                result = subprocess.run(
                    ["bash", "-ec", code],
                    cwd=work,
                    env=environment,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                lines = result.stdout.strip().splitlines()
                last_line = lines[-1] if lines else ""
            else:
                code = code.replace("<token printed above>", last_line)
                code = code.replace(f"127.0.0.1:{DEFAULT_PORT}", f"127.0.0.1:{port}")
                result = subprocess.run(
                    [sys.executable, "-c", code],
                    cwd=work,
                    env=environment,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            assert result.returncode == 0, f"{code}\n--- stdout\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr, result.stderr
            outputs.append(result.stdout)
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert health.json()["status"] == "ready"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/v2" in stdout and "/docs" in stdout

    # What the reader sees: the main Python block's answers, and files where it said.
    main_output = outputs[1].splitlines()
    assert main_output[0] == "admin"
    assert any(line.endswith(" my first project") for line in main_output)
    assert main_output[-1] == "COMPLETED 24"  # the sample has 24 reads
    assert (work / "copy-of-reads.fastq").read_bytes() == (work / "reads.fastq").read_bytes()
    # The token block printed alice's token, and the URL-and-token block used it.
    assert outputs[3].strip() == "alice"
    # The divisions block made one, gave alice a role in it and listed it.
    assert "alice is now admin of division genomics." in outputs[4]
    assert "genomics" in outputs[4] and "Genomics Lab" in outputs[4]

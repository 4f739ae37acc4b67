"""The README's quickstart, run as written on a fresh machine (a fresh HOME and data directory).

The blocks are read and run by ``readme_support.py``. Two things differ from a reader's machine,
both forced by running beside other tests: the port (``SBG_LOCAL_PORT`` and the literal ``8765``
in the Python blocks become a free port), and the install block is not re-run (this virtualenv
is that install).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests
from readme_support import (
    BLOCK_KINDS,
    check_reader_sees,
    free_port,
    make_workdir,
    quickstart_blocks,
    run_blocks,
)


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    kinds = [kind for kind, _code in blocks]
    assert kinds == BLOCK_KINDS, kinds
    install, serve, *rest = blocks
    assert "pip install -e" in install[1]
    assert "sbg local serve" in serve[1]

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    make_workdir(work)
    port = str(free_port())
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
    try:
        credentials = home / ".sevenbridges" / "credentials"
        deadline = time.monotonic() + 120
        while "[local]" not in (credentials.read_text() if credentials.exists() else ""):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the platform did not start"
            time.sleep(0.1)
        outputs = run_blocks(rest, work, environment, port)
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert health.json()["status"] == "ready"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/v2" in stdout and "/docs" in stdout
    # The embedded defaults, named at start-up.
    assert "  database:       sqlite:///" in stdout
    assert f"  file storage:   {home}/.sevenbridges/local/storage" in stdout
    assert "  task executor:  cwltool" in stdout
    check_reader_sees(outputs, work)

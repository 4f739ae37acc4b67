"""The README's quickstart as a reader runs it: its code blocks, run in order, and what the
reader should see afterwards. Used by ``test_readme.py`` (against the platform its own serve
block starts) and ``test_scaled_backends.py`` (against a platform on the scaled backends).

The code blocks are read from README.md itself, from "Quickstart against the local platform" up
to its first subsection (or "The same code against the real platform"). Shell blocks run with
bash in a working directory where ``.venv`` is this test run's virtualenv, Python blocks with its
Python. ``<token printed above>`` becomes the last line the previous shell block printed, as a
reader would paste it, and the literal default port in the Python blocks becomes the port the
platform under test listens on.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)
DEFAULT_PORT = "8765"
# install, serve, (user + sample reads), main flow, token, URL + token, divisions
BLOCK_KINDS = ["sh", "sh", "sh", "python", "sh", "python", "sh"]


def quickstart_blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Quickstart against the local platform")
    end = text.index("## The same code against the real platform")
    # The quickstart proper ends where its first subsection (automations, HTTPS, ...) begins.
    subsection = text.find("\n### ", start, end)
    return BLOCK.findall(text[start : end if subsection < 0 else subsection])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_workdir(work: Path) -> None:
    """A reader's working directory: ``.venv`` is this test run's virtualenv (the install)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)


def run_blocks(
    blocks: list[tuple[str, str]], work: Path, environment: Mapping[str, str], port: int | str
) -> list[str]:
    """Run the blocks after install and serve, in order; returns each one's standard output.
    A block that fails (or prints a traceback) fails the test with its output."""
    outputs: list[str] = []
    last_line = ""
    for kind, code in blocks:
        if kind == "sh":
            result = subprocess.run(
                ["bash", "-ec", code],
                cwd=work,
                env=dict(environment),
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
                env=dict(environment),
                capture_output=True,
                text=True,
                timeout=600,
            )
        assert result.returncode == 0, f"{code}\n--- stdout\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        outputs.append(result.stdout)
    return outputs


def check_reader_sees(outputs: list[str], work: Path) -> None:
    """What the reader sees: the main Python block's answers, and files where it said."""
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

"""Existing tools, unchanged, against ``sbg local serve --tls``.

The server runs as a user would start it (``--tls --write-profile local``, in a subprocess with
its own HOME); the tools get nothing but that profile (no ``debug``) and the
``REQUESTS_CA_BUNDLE`` the start-up lines print: the official client, then sbpack and sbpull
(installed by ``make test`` in ``.venv-sbpack``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from test_official_client import official_python

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("tls_official_script.py")
WORKFLOW = Path(__file__).with_name("tls_workflow")
SBPACK_BIN = REPO_ROOT / ".venv-sbpack" / "bin"
PROFILE = "local"
START_TIMEOUT_SECONDS = 60
TOOL_TIMEOUT_SECONDS = 180
_BUNDLE_LINE = re.compile(r"export REQUESTS_CA_BUNDLE=(\S+)")


@dataclass
class ServedPlatform:
    home: Path
    url: str
    token: str
    bundle: Path
    stdout: list[str]

    def environment(self) -> dict[str, str]:
        """What a user's shell has after the printed export: nothing else of ours."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SB_", "SBG_", "REQUESTS_CA_BUNDLE", "SSL_CERT", "CURL_CA"))
        }
        environment.update(HOME=str(self.home), REQUESTS_CA_BUNDLE=str(self.bundle))
        return environment


def _profile(home: Path) -> dict[str, str] | None:
    path = home / ".sevenbridges" / "credentials"
    if not path.exists():
        return None
    section: dict[str, str] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.strip().startswith("["):
            current = line.strip()[1:-1].strip()
        elif current == PROFILE and "=" in line:
            key, value = line.split("=", 1)
            section[key.strip()] = value.strip()
    return section or None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlatform]:
    home = tmp_path_factory.mktemp("tls-home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    environment["HOME"] = str(home)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed when the module ends
    process = subprocess.Popen(
        [sys.executable, "-m", "sevenbridges_local", "serve", "--tls", "--port", str(port)]
        + ["--data-dir", str(home / "data"), "--write-profile", PROFILE],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        env=environment,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {(home / 'server.log').read_text()[-3000:]}")
            bundle = next((m[1] for line in lines if (m := _BUNDLE_LINE.search(line))), None)
            profile = _profile(home)
            if bundle and profile:
                try:
                    with requests.Session() as session:
                        session.trust_env = False
                        session.get(profile["api_endpoint"] + "/", verify=bundle, timeout=2)
                    break
                except requests.ConnectionError:
                    pass
            if time.monotonic() > deadline:
                pytest.fail(f"no TLS server within {START_TIMEOUT_SECONDS} s: {lines}")
            time.sleep(0.2)
        yield ServedPlatform(
            home=home,
            url=profile["api_endpoint"],
            token=profile["auth_token"],
            bundle=Path(bundle),
            stdout=lines,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_start_up_lines_and_profile_name_https(served: ServedPlatform) -> None:
    assert served.url == served.url.strip() and served.url.startswith("https://127.0.0.1:")
    assert served.url.endswith("/v2")
    assert served.bundle == served.home / "data" / "tls" / "ca-bundle.pem"
    assert any(served.url in line for line in served.stdout), served.stdout
    assert "debug" not in (served.home / ".sevenbridges" / "credentials").read_text()


def test_official_client_from_a_profile_without_debug(served: ServedPlatform) -> None:
    interpreter = official_python()
    result = subprocess.run(
        [interpreter, "-I", str(SCRIPT)],
        env={**served.environment(), "SBG_TLS_PROFILE": PROFILE, "SBG_TLS_PROJECT": "tls-official"},
        cwd=served.home,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["version"] == "2.11.2"
    assert seen["url"] == served.url
    assert seen["username"] == "admin"
    assert seen["project"] == "admin/tls-official"
    assert seen["project_href"] == f"{served.url}/projects/admin/tls-official"
    assert seen["file_href"].startswith(f"{served.url}/files/")
    assert seen["download_url"].startswith("https://127.0.0.1:")
    assert seen["same_bytes"] is True and seen["size"] == 6 * 1024 * 1024 + 123
    # (Without the CA the official client fails with CERTIFICATE_VERIFY_FAILED, after a minute
    # of its own retries: tests/local/test_tls.py checks that refusal with requests and sbg.)


def _sbpack_tool(name: str) -> str:
    tool = SBPACK_BIN / name
    if tool.exists():
        return str(tool)
    message = f"{name} is not installed: run `make test` (it creates .venv-sbpack)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(served: ServedPlatform, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(command),
        env=served.environment(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result


def _app(served: ServedPlatform, app_id: str) -> dict:
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(
            f"{served.url}/apps/{app_id}",
            headers={"X-SBG-Auth-Token": served.token},
            verify=str(served.bundle),
        )
    assert response.status_code == 200, response.text
    return response.json()


def test_sbpack_installs_and_revises_and_sbpull_fetches_back(
    served: ServedPlatform, tmp_path: Path
) -> None:
    sbpack, sbpull = _sbpack_tool("sbpack"), _sbpack_tool("sbpull")
    with requests.Session() as session:
        session.trust_env = False
        headers = {"X-SBG-Auth-Token": served.token}
        groups = session.get(
            f"{served.url}/billing/groups", headers=headers, verify=str(served.bundle)
        ).json()["items"]
        created = session.post(
            f"{served.url}/projects",
            json={"name": "tls-apps", "billing_group": groups[0]["id"]},
            headers=headers,
            verify=str(served.bundle),
        )
        assert created.status_code in (200, 201), created.text
    app_id = "admin/tls-apps/shout"
    source = tmp_path / "workflow"
    shutil.copytree(WORKFLOW, source)

    _run(served, sbpack, PROFILE, app_id, "main.cwl", cwd=source)
    first = _app(served, app_id)
    assert first["revision"] == 0
    assert first["raw"]["label"] == "Shout a message"

    # A revision: a step file changes, the main file does not.
    upper = source / "tools" / "upper.cwl"
    upper.write_text(upper.read_text().replace("label: upper-case", "label: upper-case v2"))
    _run(served, sbpack, PROFILE, app_id, "main.cwl", cwd=source)
    second = _app(served, app_id)
    assert second["revision"] == 1
    assert _app(served, f"{app_id}/0")["raw"]["steps"] == first["raw"]["steps"]

    pulled = tmp_path / "pulled.cwl"
    _run(served, sbpull, PROFILE, app_id, str(pulled), cwd=tmp_path)
    document = yaml.safe_load(pulled.read_text())
    assert document["class"] == "Workflow"
    assert document["sbg:revision"] == 1
    steps = document["steps"]
    by_id = {
        step["id"].lstrip("#"): step for step in (steps if isinstance(steps, list) else [])
    } or steps
    assert by_id["shout"]["run"]["label"] == "upper-case v2"
    assert by_id["shout"]["run"]["baseCommand"] == ["tr", "a-z", "A-Z"]
    assert by_id["echo"]["run"]["baseCommand"] in ("echo", ["echo"])

    # The first revision is still there, as it was.
    old = tmp_path / "old.cwl"
    _run(served, sbpull, PROFILE, f"{app_id}/0", str(old), cwd=tmp_path)
    old_document = yaml.safe_load(old.read_text())
    assert old_document["sbg:revision"] == 0
    old_steps = old_document["steps"]
    old_by_id = {
        step["id"].lstrip("#"): step for step in (old_steps if isinstance(old_steps, list) else [])
    } or old_steps
    assert old_by_id["shout"]["run"]["label"] == "upper-case"

    # --unpack writes the steps back out as separate files.
    unpacked = tmp_path / "unpacked" / "shout.cwl"
    unpacked.parent.mkdir()
    _run(served, sbpull, "--unpack", PROFILE, app_id, str(unpacked), cwd=tmp_path)
    written = sorted(path.name for path in unpacked.parent.rglob("*.cwl"))
    assert len(written) >= 3, written

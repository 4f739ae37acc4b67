"""`sbg local serve` with a bad setting (flag or SBG_LOCAL_* variable): one line naming the
setting and what it allows, exit code 2, no traceback, never a password. `sbg local status` of
a stopped platform: executor, database and storage kinds (passwords masked), API processes (a
running one: test_processes_shared.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SBG = Path(sys.executable).with_name("sbg")
SECRET = "hunter2secret"


def _environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    environment["HOME"] = str(home)
    environment.update(extra)
    return environment


def _sbg_local(home: Path, arguments: list[str], extra: dict[str, str] | None = None):
    return subprocess.run(
        [str(SBG), "local", *arguments],
        env=_environment(home, extra or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )


# (flags, variables, what the one line must name, what it must say is allowed)
BAD_SETTINGS = [
    ([], {"SBG_LOCAL_TOIL_BATCH_SYSTEM": "bogus"}, "SBG_LOCAL_TOIL_BATCH_SYSTEM", "slurm"),
    (["--toil-batch-system", "bogus"], {}, "--toil-batch-system", "single_machine"),
    (["--database", f"mysql://root:{SECRET}@x/db"], {}, "--database", "postgresql://"),
    (
        [],
        {"SBG_LOCAL_DATABASE_URL": f"mysql://u:{SECRET}@x/db"},
        "SBG_LOCAL_DATABASE_URL",
        "sqlite",
    ),
    (["--storage", "ftp://x"], {}, "--storage", "s3://bucket"),
    (["--workers", "0"], {}, "--workers", "greater than or equal to 1"),
    ([], {"SBG_LOCAL_WORKERS": "many"}, "SBG_LOCAL_WORKERS", "integer"),
    (["--executor", "bogus"], {}, "--executor", "'cwltool', 'toil'"),
    ([], {"SBG_LOCAL_EXECUTOR": "bogus"}, "SBG_LOCAL_EXECUTOR", "'cwltool' or 'toil'"),
    ([], {"SBG_LOCAL_TRUSTED_PROXIES": "10.0.0.0/8"}, "SBG_LOCAL_TRUSTED_PROXIES", "JSON"),
    (["--port", "70000"], {}, "--port", "65535"),
]


def test_bad_settings_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    def attempt(number: int):
        flags, variables, _, _ = BAD_SETTINGS[number]
        data_dir = tmp_path / f"data-{number}"
        return _sbg_local(tmp_path, ["serve", "--data-dir", str(data_dir), *flags], variables)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(len(BAD_SETTINGS))))
    for number, (flags, variables, name, allowed) in enumerate(BAD_SETTINGS):
        result = results[number]
        where = f"{flags} {variables}"
        assert result.returncode == 2, (where, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (where, result.stderr)
        assert "Traceback" not in result.stderr and "pydantic" not in result.stderr.lower()
        assert name in lines[0] and allowed in lines[0], (where, lines[0])
        assert SECRET not in result.stderr + result.stdout
        assert result.stdout == ""
        assert not (tmp_path / f"data-{number}").exists(), "nothing created on a bad setting"


def test_status_of_a_stopped_platform_masks_passwords(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bob:{SECRET}@db.example:5432/sbg?sslmode=require"
    result = _sbg_local(
        tmp_path,
        ["status", "--data-dir", str(tmp_path / "data"), "--database", url, "--json"],
        {"SBG_LOCAL_EXECUTOR": "toil", "SBG_LOCAL_STORAGE": "s3://bucket/prefix"},
    )
    assert result.returncode == 3, result.stderr  # not running
    assert SECRET not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["executor"] == "toil"
    assert report["database_kind"] == "postgresql"
    assert report["database"] == "postgresql+psycopg://bob:***@db.example:5432/sbg?sslmode=require"
    assert (report["storage_kind"], report["storage"]) == ("s3", "s3://bucket/prefix")
    assert report["api_processes"] == 1

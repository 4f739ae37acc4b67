"""Helpers shared by the command-line tests."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)

"""The conformance runner (tools/conformance.py) on a small suite written here, against the live
platform (``--url``/``--token``) and with plain cwltool: the real suite lives outside the
repository, so this keeps the runner itself from rotting."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sevenbridges_local.embedded import EmbeddedServer

RUNNER = Path(__file__).resolve().parents[2] / "tools" / "conformance.py"

SUITE: dict[str, str] = {
    "conformance_tests.yaml": """
- id: wc_file
  tool: tests/wc.cwl
  job: tests/wc-job.yml
  output:
    count:
      class: File
      basename: count.txt
      size: 2
      checksum: sha1$d3964f9dad9f60363c81b688324d95b4ec7c8038
  tags: [required, command_line_tool]
- id: wrong_expectation
  tool: tests/wc.cwl
  job: tests/wc-job.yml
  output:
    count: {class: File, basename: count.txt, size: 99}
  tags: [command_line_tool]
- id: refused_value
  tool: tests/wc.cwl
  job: tests/bad-job.yml
  should_fail: true
  tags: [required]
- id: graph_entry_not_main
  tool: tests/pair.cwl#second
  output:
    out: {class: File, basename: out.txt, size: 7}
  tags: [required, workflow]
- id: floats_keep_their_form
  tool: tests/floats.cwl
  output:
    said: {class: File, basename: said.txt, size: 14}
  tags: [required, command_line_tool]
- $import: tests/more.yaml
""",
    "tests/more.yaml": """
- id: needs_docker
  tool: wc.cwl
  job: wc-job.yml
  output: {}
  tags: [docker]
""",
    "tests/wc.cwl": """
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [wc, -l]
stdin: $(inputs.text.path)
stdout: count.txt
inputs:
  text:
    type: File
    secondaryFiles: [.idx]
outputs:
  count: {type: stdout}
""",
    # The process to run is '#second'; the one called 'main' is a step it runs.
    "tests/pair.cwl": """
cwlVersion: v1.2
$graph:
- id: main
  class: CommandLineTool
  baseCommand: echo
  stdout: out.txt
  inputs:
    text: {type: string, inputBinding: {}}
  outputs:
    out: {type: stdout}
- id: second
  class: Workflow
  inputs: []
  outputs:
    out: {type: File, outputSource: say/out}
  steps:
    say:
      run: "#main"
      in:
        text: {default: picked}
      out: [out]
""",
    # cwltool writes '0.00001 123000' (14 bytes); a float sent as 123000.0 would add two.
    "tests/floats.cwl": """
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [echo, -n]
stdout: said.txt
inputs:
  tiny: {type: float, default: 0.00001, inputBinding: {position: 1}}
  large: {type: float, default: 1.23e5, inputBinding: {position: 2}}
outputs:
  said: {type: stdout}
""",
    "tests/wc-job.yml": "text: {class: File, location: data/lines.txt}\n",
    "tests/bad-job.yml": "text: 42\n",
    "tests/data/lines.txt": "a\nb\nc\nd\ne\nf\ng\n",
    "tests/data/lines.txt.idx": "index\n",
}


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance_runner", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    for name, text in SUITE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def results(path: Path) -> dict[str, Any]:
    answer = json.loads(path.read_text())
    return {item["id"]: item for item in answer["results"]} | {"summary": answer["summary"]}


@pytest.mark.parametrize("engine", ["platform", "cwltool-direct"])
def test_the_runner_reports_each_test_and_a_summary_per_tag(
    engine: str, suite: Path, tmp_path: Path, platform: EmbeddedServer, new_username: Any
) -> None:
    runner = load_runner()
    out = tmp_path / "results.json"
    arguments = ["--suite", str(suite), "--json", str(out), "--engine", engine]
    if engine == "platform":
        arguments += ["--url", platform.url, "--token", platform.token(new_username("conf"))]
    status = runner.main(arguments)
    found = results(out)
    assert status == 1  # one test fails on purpose
    assert found["wc_file"]["status"] == "PASS", found["wc_file"]["reason"]
    assert found["refused_value"]["status"] == "PASS"
    assert found["wrong_expectation"]["status"] == "FAIL"
    assert "size" in found["wrong_expectation"]["reason"]
    assert found["needs_docker"]["status"] == "SKIP"  # no container engine: tag left out
    # A '$graph' file's named process runs (installed as '#main' by the runner).
    assert found["graph_entry_not_main"]["status"] == "PASS", found["graph_entry_not_main"]
    assert found["floats_keep_their_form"]["status"] == "PASS", found["floats_keep_their_form"]
    assert found["summary"]["required"] == {"PASS": 4, "FAIL": 0, "SKIP": 0}
    assert found["summary"]["(all)"] == {"PASS": 4, "FAIL": 1, "SKIP": 1}

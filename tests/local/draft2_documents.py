"""sbg:draft-2 apps written for the tests from the draft-2 description of the dialect.

Each function returns a fresh document, so a test may change its copy freely.
"""

from __future__ import annotations

from typing import Any

ENGINE = "#cwl-js-engine"


def js(script: str) -> dict[str, str]:
    """A draft-2 JavaScript expression object."""
    return {"class": "Expression", "engine": ENGINE, "script": script}


def _engine_requirement() -> dict[str, Any]:
    return {
        "class": "ExpressionEngineRequirement",
        "id": ENGINE,
        "requirements": [{"class": "DockerRequirement", "dockerPull": "rabix/js-engine"}],
    }


def counter_tool() -> dict[str, Any]:
    """``wc`` on one file: an argument computed from a boolean, stdout named by an expression,
    a File output found by glob and an int read from it with ``outputEval``."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "id": "https://platform.example/v2/apps/someone/tools/counter/3/raw/",
        "label": "Counter",
        "description": "Counts the lines (or words) of a text file.",
        "sbg:toolkit": "coreutils",
        "sbg:license": "GPL",
        "x": 10,
        "y": 20,
        "requirements": [_engine_requirement()],
        "hints": [
            {"class": "sbg:CPURequirement", "value": 1},
            {"class": "sbg:MemRequirement", "value": 200},
            {"class": "sbg:AWSInstanceType", "value": "c4.large;ebs-gp2;256"},
        ],
        "baseCommand": ["wc"],
        "arguments": [
            {
                "position": 0,
                "separate": True,
                "valueFrom": js("$job.inputs.words ? '-w' : '-l'"),
            }
        ],
        "inputs": [
            {
                "id": "#text",
                "type": ["File"],
                "label": "Text",
                "sbg:fileTypes": "TXT",
                "inputBinding": {"position": 1, "separate": True, "sbg:cmdInclude": True},
            },
            {
                "id": "#words",
                "type": ["null", "boolean"],
                "sbg:toolDefaultValue": "false",
                "sbg:category": "Options",
            },
        ],
        "stdin": "",
        "stdout": js("$job.inputs.text.path.split('/').pop() + '.count'"),
        "outputs": [
            {
                "id": "#count",
                "type": ["File"],
                "outputBinding": {
                    "glob": "*.count",
                    "sbg:inheritMetadataFrom": "#text",
                    "sbg:metadata": {"kind": "count"},
                },
            },
            {
                "id": "#number",
                "type": ["null", "int"],
                "outputBinding": {
                    "glob": {"class": "Expression", "engine": ENGINE, "script": "'*.count'"},
                    "loadContents": True,
                    "outputEval": js(
                        "{ var text = $self[0].contents.trim();"
                        " return parseInt(text.split(' ')[0], 10); }"
                    ),
                },
            },
        ],
        "successCodes": [],
        "temporaryFailCodes": [],
    }


def joiner_tool() -> dict[str, Any]:
    """``cat`` of a created header file and an array of files through a shell pipe chosen by an
    enum, redirected to a fixed stdout file, with the line count read back."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "label": "Joiner",
        "requirements": [
            _engine_requirement(),
            {
                "class": "CreateFileRequirement",
                "fileDef": [
                    {
                        "filename": "header.txt",
                        "fileContent": js("($job.inputs.header || 'none') + '\\n'"),
                    }
                ],
            },
        ],
        "hints": [
            {"class": "DockerRequirement", "dockerPull": "ubuntu:22.04", "dockerImageId": ""}
        ],
        "baseCommand": ["cat"],
        "arguments": [
            {"position": 1, "valueFrom": "header.txt"},
            {
                "position": 3,
                "valueFrom": js("$job.inputs.case == 'upper' ? '| tr a-z A-Z' : ''"),
            },
        ],
        "inputs": [
            {
                "id": "#files",
                "type": [{"type": "array", "items": "File"}],
                "inputBinding": {"position": 2, "sbg:cmdInclude": True},
            },
            {"id": "#header", "type": ["null", "string"]},
            {
                "id": "#case",
                "type": ["null", {"type": "enum", "name": "case", "symbols": ["upper", "keep"]}],
            },
        ],
        "stdout": "joined.txt",
        "outputs": [
            {"id": "#joined", "type": ["File"], "outputBinding": {"glob": "joined.txt"}},
            {
                "id": "#lines",
                "type": ["int"],
                "outputBinding": {
                    "glob": "joined.txt",
                    "loadContents": True,
                    "outputEval": js("$self[0].contents.split('\\n').length - 1"),
                },
            },
        ],
    }


def stager_tool() -> dict[str, Any]:
    """Lists its working directory: an input staged there with its secondary file (kept off the
    command line), a file created from an expression, an environment variable, a text that
    looks like a v1 parameter reference but is plain in draft-2, and the input's metadata."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "label": "Stager",
        "requirements": [
            _engine_requirement(),
            {
                "class": "EnvVarRequirement",
                "envDef": [{"envName": "GREETING", "envValue": js("'hello ' + $job.inputs.who")}],
            },
            {
                "class": "CreateFileRequirement",
                "fileDef": [
                    {"filename": js("$job.inputs.who + '.note'"), "fileContent": "price: $(5)\n"}
                ],
            },
        ],
        "baseCommand": ["ls"],
        "arguments": [
            {"position": 1, "valueFrom": "&& echo $GREETING && cat *.note"},
            {
                "position": 2,
                "valueFrom": js("'&& echo sample ' + $job.inputs.bam.metadata.sample_id"),
            },
        ],
        "inputs": [
            {
                "id": "#bam",
                "type": ["File"],
                "sbg:stageInput": "link",
                "inputBinding": {"sbg:cmdInclude": False, "secondaryFiles": [".bai"]},
            },
            {"id": "#who", "type": ["string"]},
        ],
        "stdout": "listing.txt",
        "outputs": [{"id": "#listing", "type": ["File"], "outputBinding": {"glob": "listing.txt"}}],
    }


def count_and_join_workflow() -> dict[str, Any]:
    """Counts every file (a scattered step) and joins the counts under a header."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "Workflow",
        "label": "Count and join",
        "sbg:canvas_zoom": 1,
        "sbg:canvas_x": 0,
        "sbg:canvas_y": 0,
        "inputs": [
            {
                "id": "#texts",
                "type": [{"type": "array", "items": "File"}],
                "sbg:x": 50,
                "sbg:y": 100,
            },
            {"id": "#title", "type": ["null", "string"], "sbg:x": 50, "sbg:y": 200},
        ],
        "outputs": [
            {
                "id": "#numbers",
                "type": [{"type": "array", "items": ["null", "int"]}],
                "source": ["#count.number"],
                "sbg:x": 600,
                "sbg:y": 100,
            },
            {
                "id": "#report",
                "type": ["File"],
                "source": "#join.joined",
                "required": True,
                "sbg:x": 600,
            },
        ],
        "steps": [
            {
                "id": "#count",
                "run": counter_tool(),
                "inputs": [{"id": "#count.text", "source": ["#texts"]}, {"id": "#count.words"}],
                "outputs": [{"id": "#count.count"}, {"id": "#count.number"}],
                "scatter": "#count.text",
                "sbg:x": 200,
                "sbg:y": 100,
            },
            {
                "id": "#join",
                "run": joiner_tool(),
                "inputs": [
                    {"id": "#join.files", "source": ["#count.count"]},
                    {"id": "#join.header", "source": ["#title"]},
                    {"id": "#join.case", "default": "keep"},
                ],
                "outputs": [{"id": "#join.joined"}, {"id": "#join.lines"}],
                "sbg:x": 400,
                "sbg:y": 100,
            },
        ],
    }


def labeller_tool() -> dict[str, Any]:
    """Output metadata: ``#copy`` inherits from ``#reads`` and sets ``sbg:metadata`` keys
    (a constant and expressions on ``$job`` and ``$self``); ``#merged`` inherits from the list
    ``#others`` (the keys all its files share) and overrides one key."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "id": "labeller",
        "requirements": [_engine_requirement()],
        "baseCommand": ["cat"],
        "arguments": [
            {"position": 3, "valueFrom": "> copy.txt && cat"},
            {"position": 5, "valueFrom": "> merged.txt"},
        ],
        "inputs": [
            {"id": "#reads", "type": ["File"], "inputBinding": {"position": 1}},
            {"id": "#label", "type": ["string"]},
            {
                "id": "#others",
                "type": [{"type": "array", "items": "File"}],
                "inputBinding": {"position": 4},
            },
        ],
        "outputs": [
            {
                "id": "#copy",
                "type": ["File"],
                "outputBinding": {
                    "glob": "copy.txt",
                    "sbg:inheritMetadataFrom": "#reads",
                    "sbg:metadata": {
                        "label": js("$job.inputs.label + ':' + $self.basename"),
                        "origin": js("$job.inputs.reads.metadata.sample_id + '/copied'"),
                        "pipeline": "labeller",
                        "platform": js("null"),
                    },
                },
            },
            {
                "id": "#merged",
                "type": [{"type": "array", "items": "File"}],
                "outputBinding": {
                    "glob": "merged.txt",
                    "outputEval": js("$self"),
                    "sbg:inheritMetadataFrom": "#others",
                    "sbg:metadata": {"batch": js("$job.inputs.others.length")},
                },
            },
        ],
    }


def tagger_tool() -> dict[str, Any]:
    """Copies ``#f`` to ``<name>.tag`` (stdout), keeping its metadata plus ``seen``: the
    ``label`` key of the input's own metadata."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "requirements": [_engine_requirement()],
        "baseCommand": ["cat"],
        "stdout": js("$job.inputs.f.path.split('/').pop() + '.tag'"),
        "inputs": [{"id": "#f", "type": ["File"], "inputBinding": {"position": 1}}],
        "outputs": [
            {
                "id": "#tagged",
                "type": ["File"],
                "outputBinding": {
                    "glob": "*.tag",
                    "sbg:inheritMetadataFrom": "#f",
                    "sbg:metadata": {"seen": js("$job.inputs.f.metadata.label || 'none'")},
                },
            }
        ],
    }


def label_then_tag_workflow() -> dict[str, Any]:
    """The labeller's copy (with metadata set by the platform rules) goes on to the tagger:
    a file made by an earlier step carries its metadata into the next one."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "Workflow",
        "inputs": [
            {"id": "#reads", "type": ["File"]},
            {"id": "#others", "type": [{"type": "array", "items": "File"}]},
        ],
        "outputs": [{"id": "#tagged", "type": ["File"], "source": ["#tag.tagged"]}],
        "steps": [
            {
                "id": "#label",
                "run": labeller_tool(),
                "inputs": [
                    {"id": "#label.reads", "source": ["#reads"]},
                    {"id": "#label.label", "default": "W"},
                    {"id": "#label.others", "source": ["#others"]},
                ],
                "outputs": [{"id": "#label.copy"}, {"id": "#label.merged"}],
            },
            {
                "id": "#tag",
                "run": tagger_tool(),
                "inputs": [{"id": "#tag.f", "source": ["#label.copy"]}],
                "outputs": [{"id": "#tag.tagged"}],
            },
        ],
    }


def appender_tool() -> dict[str, Any]:
    """Appends a line to its staged input (``sbg:stageInput: copy``: a copy it may change)
    and hands the result back."""
    return {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "requirements": [_engine_requirement()],
        "baseCommand": [],
        "arguments": [
            {
                "position": 0,
                "valueFrom": js(
                    "{ var name = $job.inputs.f.path.split('/').pop();"
                    " return 'test ! -L ' + name + ' && echo more >> ' + name"
                    " + ' && cat ' + name + ' > out.txt'; }"
                ),
            }
        ],
        "inputs": [{"id": "#f", "type": ["File"], "sbg:stageInput": "copy"}],
        "outputs": [{"id": "#out", "type": ["File"], "outputBinding": {"glob": "out.txt"}}],
    }

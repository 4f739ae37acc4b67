"""Unit tests of the sbg:draft-2 -> CWL v1.0 translation (``sevenbridges_local.cwl_draft2``),
one construct at a time; every translated document is also loaded by cwltool's loader."""

from __future__ import annotations

import copy
from typing import Any

import draft2_documents as docs
import pytest
from cwl_utils.expression import interpolate

from sevenbridges_local.cwl_draft2 import Draft2Error, is_draft2, runnable, translate
from sevenbridges_local.cwl_draft2.expressions import (
    METADATA_LIBRARY,
    OUTPUT_METADATA_LIBRARY,
    literal,
    script_to_v1,
)
from sevenbridges_local.services import cwl

js = docs.js


def tool(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "cwlVersion": "sbg:draft-2",
        "class": "CommandLineTool",
        "baseCommand": ["echo"],
        "inputs": [],
        "outputs": [],
    }
    document.update(changes)
    return document


def refused(document: dict[str, Any]) -> Draft2Error:
    with pytest.raises(Draft2Error) as caught:
        translate(document)
    return caught.value


def one_input(**item: Any) -> dict[str, Any]:
    (translated,) = translate(tool(inputs=[{"id": "#x", **item}]))["inputs"]
    return translated


def classes(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["class"] for entry in entries]


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    "make", [docs.counter_tool, docs.joiner_tool, docs.stager_tool, docs.count_and_join_workflow]
)
def test_sample_apps_translate_to_documents_cwltool_loads(make):
    translated = translate(make())

    assert translated["cwlVersion"] == "v1.0"
    checked = cwl.validate(translated)
    assert checked.process_class == make()["class"]


def test_platform_fields_ids_and_editor_positions_are_dropped():
    translated = translate(docs.counter_tool())

    assert "id" not in translated and "x" not in translated
    assert not [key for key in translated if key.startswith("sbg:")]
    assert translated["label"] == "Counter"
    assert translated["doc"] == "Counts the lines (or words) of a text file."
    assert [item["id"] for item in translated["inputs"]] == ["text", "words"]
    assert [item["id"] for item in translated["outputs"]] == ["count", "number"]


def test_is_draft2_and_runnable_leave_other_documents_alone():
    v1 = {"cwlVersion": "v1.2", "class": "CommandLineTool", "inputs": {}, "outputs": {}}
    assert not is_draft2(v1) and runnable(v1) is v1
    assert is_draft2(tool()) and runnable(tool())["cwlVersion"] == "v1.0"
    assert not is_draft2(["sbg:draft-2"])


def test_errors_name_the_construct_and_where_it_is():
    error = refused(tool(inputs=[{"id": "#x", "type": "File", "inputBinding": {"bogus": 1}}]))
    assert error.path == "inputs[#x].inputBinding.bogus"
    assert "'bogus'" in error.message and error.message.startswith("sbg:draft-2 construct at")

    assert refused(tool(unknownField=1)).path == "unknownField"
    assert refused(tool(**{"class": "Operation"})).path == "class"
    assert refused(["not", "an", "object"]).path == "the document"


# --------------------------------------------------------------------------- types


def test_types_arrays_enums_records_and_unions():
    translated = one_input(
        type=[
            "null",
            {
                "type": "array",
                "items": "File",
                "inputBinding": {"prefix": "-f", "itemSeparator": ","},
            },
        ]
    )
    assert translated["type"] == [
        "null",
        {
            "type": "array",
            "items": "File",
            "inputBinding": {"prefix": "-f", "itemSeparator": ","},
        },
    ]

    enum = one_input(type={"type": "enum", "name": "mode", "symbols": ["fast", "slow"]})
    assert enum["type"] == {"type": "enum", "symbols": ["fast", "slow"]}

    record = one_input(
        type={
            "type": "record",
            "name": "pair",
            "fields": [
                {"name": "#left", "type": "File", "inputBinding": {"position": 1}},
                {"name": "right", "type": ["null", "int"]},
            ],
        }
    )
    assert record["type"] == {
        "type": "record",
        "fields": [
            {
                "name": "left",
                "type": "File",
                "inputBinding": {"position": 1},
            },
            {"name": "right", "type": ["null", "int"]},
        ],
    }


@pytest.mark.parametrize(
    ("bad_type", "path"),
    [
        ("Fiel", "inputs[#x].type"),
        (["null", "map"], "inputs[#x].type[1]"),
        ({"type": "array"}, "inputs[#x].type"),
        ({"type": "enum", "symbols": []}, "inputs[#x].type.symbols"),
        ({"type": "union"}, "inputs[#x].type.type"),
        ("#SchemaDefined", "inputs[#x].type"),
    ],
)
def test_unknown_types_are_refused(bad_type, path):
    assert refused(tool(inputs=[{"id": "#x", "type": bad_type}])).path == path


# --------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("$job.inputs.reads.path", "$(inputs.reads.path)"),
        ("$self.path.split('/').pop();", "$(self.path.split('/').pop())"),
        ("{ return $self + 1; }", "${ return self + 1; }"),
        ("$job.allocatedResources.cpu * 2", "$(runtime.cores * 2)"),
        ("$job.allocatedResources.mem", "$(runtime.ram)"),
        ("$jobs.length + a$self", "$($jobs.length + a$self)"),
        (
            "$job.allocatedResources",
            '$(({"cpu": runtime.cores, "mem": runtime.ram}))',
        ),
        (
            "JSON.stringify($job)",
            '$(JSON.stringify(({"inputs": inputs, "allocatedResources": '
            '{"cpu": runtime.cores, "mem": runtime.ram}})))',
        ),
    ],
)
def test_scripts_become_v1_expressions(script, expected):
    assert script_to_v1(script, "here") == expected


def test_expression_objects_and_engines():
    binding = one_input(type="int", inputBinding={"valueFrom": js("$self * 2")})["inputBinding"]
    assert binding["valueFrom"] == "$(self * 2)"

    short = one_input(type="int", inputBinding={"valueFrom": {"$expression": "$self"}})
    assert short["inputBinding"]["valueFrom"] == "$(self)"

    error = refused(tool(stdout={"class": "Expression", "engine": "#python", "script": "1"}))
    assert error.path == "stdout.engine" and "'#python'" in error.problem
    assert refused(tool(stdout=js("  "))).path == "stdout.script"


def test_engines_named_by_the_documents_engine_requirement_and_json_pointers():
    own_engine = tool(
        requirements=[{"class": "ExpressionEngineRequirement", "id": "#node"}],
        stdout={"engine": "#node", "script": "$job.inputs.name + '.txt'"},
    )
    assert translate(own_engine)["stdout"] == "$(inputs.name + '.txt')"
    assert refused(tool(stdout={"engine": "#node", "script": "1"})).path == "stdout.engine"

    pointer = one_input(
        type="File",
        inputBinding={"valueFrom": {"engine": "cwl:JsonPointer", "script": "/job/inputs/a b/0"}},
    )
    assert pointer["inputBinding"]["valueFrom"] == '$(inputs["a b"][0])'
    context = one_input(
        type="File", inputBinding={"valueFrom": {"engine": "cwl:JsonPointer", "script": "context"}}
    )
    assert context["inputBinding"]["valueFrom"] == "$(self)"
    bad = {"engine": "cwl:JsonPointer", "script": "/outputs/x"}
    assert refused(tool(stdout=bad)).path == "stdout.script"


def test_file_metadata_of_a_run_reaches_expressions():
    document = docs.stager_tool()
    plain = translate(document)
    assert "expressionLib" not in plain["requirements"][0]

    translated = translate(document, for_run=True)

    javascript = translated["requirements"][0]
    assert javascript["class"] == "InlineJavascriptRequirement"
    assert javascript["expressionLib"] == [METADATA_LIBRARY]
    value = translated["arguments"][-1]["valueFrom"]
    assert value.startswith("${ _sbgAttachMetadata(inputs, self); return (")
    assert "inputs.bam.metadata.sample_id" in value
    assert cwl.validate(translated).process_class == "CommandLineTool"


def test_inline_javascript_is_required_only_when_a_script_is_used():
    plain = translate(tool(stdout="out.txt"))
    assert "InlineJavascriptRequirement" not in classes(plain["requirements"])
    scripted = translate(tool(stdout=js("'out.txt'")))
    assert classes(scripted["requirements"])[0] == "InlineJavascriptRequirement"


@pytest.mark.parametrize("text", ["plain", "cost $(5)", "a ${b} \\ c", "\\$(x)"])
def test_plain_text_stays_plain_text_for_cwltool(text):
    escaped = literal(text)
    # cwltool's own interpolation with the v1.0 escaping rules gives the draft-2 text back.
    assert interpolate(escaped, {}, escaping_behavior=1) == text


# --------------------------------------------------------------------------- command line


def test_input_bindings_keep_their_fields_unquoted():
    translated = one_input(
        type="string",
        inputBinding={
            "position": 3,
            "prefix": "--name",
            "separate": False,
            "valueFrom": "fixed",
            "sbg:cmdInclude": True,
        },
    )
    assert translated["inputBinding"] == {
        "position": 3,
        "prefix": "--name",
        "separate": False,
        "valueFrom": "fixed",
        "shellQuote": False,
    }
    requirements = translate(tool())["requirements"]
    assert "ShellCommandRequirement" in classes(requirements)


def test_plain_values_are_quoted_computed_words_are_not():
    plain = one_input(type="File", inputBinding={"position": 1})["inputBinding"]
    assert plain == {"position": 1}  # cwltool's default: quoted
    computed = one_input(type="File", inputBinding={"valueFrom": js("$self.path + ' | wc'")})
    assert computed["inputBinding"]["shellQuote"] is False
    chosen = one_input(type="string", inputBinding={"valueFrom": "x", "shellQuote": True})
    assert chosen["inputBinding"]["shellQuote"] is True


def test_cmd_include_false_keeps_only_the_secondary_files():
    translated = one_input(
        type="File",
        inputBinding={"position": 1, "sbg:cmdInclude": False, "secondaryFiles": [".bai"]},
    )
    assert "inputBinding" not in translated
    assert translated["secondaryFiles"] == [".bai"]

    expression = one_input(
        type="File", inputBinding={"secondaryFiles": [js("$self.path + '.idx'")]}
    )
    assert expression["secondaryFiles"] == ["$(self.path + '.idx')"]


def test_bad_binding_values_are_refused():
    error = refused(tool(inputs=[{"id": "#x", "type": "int", "inputBinding": {"position": "1"}}]))
    assert error.path == "inputs[#x].inputBinding.position"
    error = refused(tool(inputs=[{"id": "#x", "type": "int", "inputBinding": {"separate": "no"}}]))
    assert error.path == "inputs[#x].inputBinding.separate"


def test_stage_input_puts_the_file_in_the_working_directory():
    translated = translate(
        tool(inputs=[{"id": "#bam", "type": ["null", "File"], "sbg:stageInput": "copy"}])
    )
    (work_dir,) = [
        e for e in translated["requirements"] if e["class"] == "InitialWorkDirRequirement"
    ]
    (entry,) = work_dir["listing"]
    assert 'inputs["bam"]' in entry and entry.startswith("${")
    assert "f.writable = true" in entry  # copy: a writable copy, not a link
    linked = translate(tool(inputs=[{"id": "#bam", "type": "File", "sbg:stageInput": "link"}]))
    assert "writable" not in str(linked["requirements"])
    assert "InlineJavascriptRequirement" in classes(translated["requirements"])
    error = refused(tool(inputs=[{"id": "#bam", "type": "File", "sbg:stageInput": "move"}]))
    assert error.path == "inputs[#bam].sbg:stageInput"


def test_base_command_words_and_arguments():
    assert translate(tool(baseCommand=["", "wc", "-l"]))["baseCommand"] == ["wc", "-l"]

    shell = translate(
        tool(
            baseCommand=["echo hi &&", js("'cat'")],
            arguments=[{"position": -2, "valueFrom": "x"}, "| sort"],
        )
    )
    assert "baseCommand" not in shell
    assert shell["arguments"][:2] == [
        {"position": -5, "valueFrom": "echo hi &&", "shellQuote": False},
        {"position": -4, "valueFrom": "$('cat')", "shellQuote": False},
    ]
    assert shell["arguments"][2:] == [
        {"position": -2, "valueFrom": "x", "shellQuote": False},
        {"valueFrom": "| sort", "shellQuote": False},
    ]

    assert "no command" in refused(tool(baseCommand=[""])).problem
    assert refused(tool(arguments=[{"position": 1}])).path == "arguments[0]"


def test_stdin_stdout_and_exit_codes():
    translated = translate(
        tool(stdin=js("$job.inputs.x.path"), stdout="", successCodes=[0, 3], temporaryFailCodes=[])
    )
    assert translated["stdin"] == "$(inputs.x.path)"
    assert "stdout" not in translated and "temporaryFailCodes" not in translated
    assert translated["successCodes"] == [0, 3]
    assert refused(tool(successCodes=["0"])).path == "successCodes"


def test_outputs_glob_eval_secondary_files_and_metadata():
    (output,) = translate(
        tool(
            outputs=[
                {
                    "id": "#bam",
                    "type": ["null", "File"],
                    "outputBinding": {
                        "glob": ["*.bam", ""],
                        "loadContents": False,
                        "outputEval": js("$self[0]"),
                        "secondaryFiles": ".bai",
                    },
                }
            ]
        )
    )["outputs"]
    assert output == {
        "id": "bam",
        "type": ["null", "File"],
        "outputBinding": {"glob": ["*.bam"], "outputEval": "$(self[0])", "loadContents": False},
        "secondaryFiles": [".bai"],
    }
    (computed,) = translate(
        tool(outputs=[{"id": "#o", "type": "File", "outputBinding": {"glob": js("'a' + '.txt'")}}])
    )["outputs"]
    assert computed["outputBinding"]["glob"] == "$('a' + '.txt')"


def test_output_metadata_becomes_an_output_eval():
    document = docs.labeller_tool()
    translated = translate(document)
    copy_out, merged = translated["outputs"]
    value = copy_out["outputBinding"]["outputEval"]
    assert value.startswith('${ return _sbgOutputMetadata(self, inputs["reads"], {')
    assert '"pipeline": function () { return "labeller"; }' in value
    assert "inputs.label + ':' + self.basename" in value
    # The tool's own outputEval is evaluated first, then the metadata set on its result.
    assert merged["outputBinding"]["outputEval"].startswith(
        "${ return _sbgOutputMetadata((function (self) { return (self); })(self), "
    )
    (javascript,) = [
        e for e in translated["requirements"] if e["class"] == "InlineJavascriptRequirement"
    ]
    assert javascript["expressionLib"] == [OUTPUT_METADATA_LIBRARY]
    assert cwl.validate(translated).process_class == "CommandLineTool"
    # For a run, one attach call first, then the same.
    run = translate(document, for_run=True)
    assert run["outputs"][0]["outputBinding"]["outputEval"].startswith(
        "${ _sbgAttachMetadata(inputs, self); return _sbgOutputMetadata(self, "
    )
    assert len(classes(run["requirements"])) == len(classes(translated["requirements"]))


@pytest.mark.parametrize(
    ("binding", "path"),
    [
        ({"sbg:inheritMetadataFrom": ["#a"]}, "sbg:inheritMetadataFrom"),
        ({"sbg:metadata": ["a"]}, "sbg:metadata"),
        ({"sbg:metadata": {"a": {"b": 1}}}, "sbg:metadata.a"),
        ({"sbg:metadata": {"": "x"}}, "sbg:metadata."),
    ],
)
def test_bad_output_metadata_is_refused(binding, path):
    outputs = [{"id": "#o", "type": "File", "outputBinding": {"glob": "o", **binding}}]
    assert refused(tool(outputs=outputs)).path == f"outputs[#o].outputBinding.{path}"


# --------------------------------------------------------------------------- requirements


def test_requirements_and_hints_that_matter_for_running():
    translated = translate(
        tool(
            requirements=[
                {"class": "ExpressionEngineRequirement", "id": "#cwl-js-engine"},
                {
                    "class": "CreateFileRequirement",
                    "fileDef": [{"filename": "conf.ini", "fileContent": "a=$(b)"}],
                },
                {"class": "EnvVarRequirement", "envDef": [{"envName": "N", "envValue": js("1")}]},
            ],
            hints=[
                {"class": "DockerRequirement", "dockerPull": "alpine", "dockerImageId": ""},
                {"class": "sbg:CPURequirement", "value": 4},
                {"class": "sbg:MemRequirement", "value": js("$job.inputs.n * 100")},
                {"class": "sbg:AWSInstanceType", "value": "c4.2xlarge"},
            ],
        )
    )
    requirements = {entry["class"]: entry for entry in translated["requirements"]}
    assert set(requirements) == {
        "InlineJavascriptRequirement",
        "ShellCommandRequirement",
        "EnvVarRequirement",
        "InitialWorkDirRequirement",
    }
    assert requirements["InitialWorkDirRequirement"]["listing"] == [
        {"entryname": "conf.ini", "entry": "a=\\$(b)"}
    ]
    assert requirements["EnvVarRequirement"]["envDef"] == [{"envName": "N", "envValue": "$(1)"}]
    assert translated["hints"] == [
        {"class": "DockerRequirement", "dockerPull": "alpine"},
        {"class": "ResourceRequirement", "coresMin": 4, "ramMin": "$(inputs.n * 100)"},
    ]


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"class": "SchemaDefRequirement", "types": []}, "hints[SchemaDefRequirement]"),
        (
            {"class": "DockerRequirement", "dockerFile": "FROM x"},
            "hints[DockerRequirement].dockerFile",
        ),
        ({"class": "sbg:CPURequirement", "value": 0}, "hints[sbg:CPURequirement].value"),
    ],
)
def test_unsupported_requirements_are_refused(entry, path):
    assert refused(tool(hints=[entry])).path == path


def test_an_empty_docker_hint_is_dropped_an_empty_requirement_refused():
    empty = {"class": "DockerRequirement", "dockerPull": "", "dockerImageId": ""}
    assert "hints" not in translate(tool(hints=[empty]))
    assert refused(tool(requirements=[empty])).path == "requirements[DockerRequirement]"


def test_expression_tool():
    translated = translate(
        {
            "cwlVersion": "sbg:draft-2",
            "class": "ExpressionTool",
            "inputs": [{"id": "#n", "type": "int"}],
            "outputs": [{"id": "#twice", "type": "int"}],
            "expression": js("{ return {'twice': $job.inputs.n * 2}; }"),
        }
    )
    assert translated["expression"] == "${ return {'twice': inputs.n * 2}; }"
    assert cwl.validate(translated).process_class == "ExpressionTool"


# --------------------------------------------------------------------------- workflows


def test_workflow_steps_links_and_scatter():
    translated = translate(docs.count_and_join_workflow())
    count, join = translated["steps"]

    assert count["id"] == "count"
    # '#count.words' has nothing feeding it: the tool's own default applies.
    assert count["in"] == [{"id": "text", "source": "texts"}]
    assert count["out"] == ["count", "number"]
    assert count["scatter"] == "text"
    assert count["run"]["class"] == "CommandLineTool" and "cwlVersion" not in count["run"]
    assert join["in"] == [
        {"id": "files", "source": "count/count"},
        {"id": "header", "source": "title"},
        {"id": "case", "default": "keep"},
    ]
    assert [(o["id"], o["outputSource"]) for o in translated["outputs"]] == [
        ("numbers", "count/number"),
        ("report", "join/joined"),
    ]
    assert classes(translated["requirements"]) == ["ScatterFeatureRequirement"]


def test_workflow_features_declare_their_requirements():
    workflow = docs.count_and_join_workflow()
    workflow["steps"][1]["inputs"][0]["source"] = ["#count.count", "#texts"]
    workflow["steps"][1]["inputs"][0]["linkMerge"] = "merge_flattened"
    workflow["steps"][1]["inputs"][1]["valueFrom"] = js("$self.toUpperCase()")
    workflow["steps"][0]["scatter"] = ["#count.text", "#count.words"]
    workflow["steps"][0]["inputs"][1]["source"] = "#texts"
    workflow["steps"][0]["outputs"] = []
    inner = docs.count_and_join_workflow()
    workflow["steps"].append({"id": "#again", "run": inner, "inputs": [], "outputs": []})

    translated = translate(workflow)

    assert classes(translated["requirements"]) == [
        "InlineJavascriptRequirement",
        "ScatterFeatureRequirement",
        "MultipleInputFeatureRequirement",
        "StepInputExpressionRequirement",
        "SubworkflowFeatureRequirement",
    ]
    count, join, again = translated["steps"]
    assert count["scatter"] == ["text", "words"] and count["scatterMethod"] == "dotproduct"
    assert count["out"] == ["count", "number"]  # from the embedded tool
    assert join["in"][0] == {
        "id": "files",
        "source": ["count/count", "texts"],
        "linkMerge": "merge_flattened",
    }
    assert join["in"][1]["valueFrom"] == "$(self.toUpperCase())"
    assert again["run"]["class"] == "Workflow"
    assert again["out"] == ["numbers", "report"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda w: w["steps"][0].update(run="counter.cwl"), "steps[#count].run"),
        (
            lambda w: w["steps"][0]["run"].update(cwlVersion="v1.0"),
            "steps[#count].run.cwlVersion",
        ),
        (
            lambda w: w["steps"][1]["inputs"][0].update(source="#count.missing"),
            "steps[#join].inputs[#join.files].source[0]",
        ),
        (
            lambda w: w["steps"][1]["inputs"][0].update(id="#count.files"),
            "steps[#join].inputs[#count.files]",
        ),
        (lambda w: w["steps"][0].update(scatter="#count.nothing"), "steps[#count].scatter[0]"),
        (lambda w: w["steps"][0].update(scatterMethod="zip"), "steps[#count].scatterMethod"),
        (lambda w: w["outputs"][0].update(source=[]), "outputs[#numbers].source"),
        (lambda w: w.update(steps=[]), "steps"),
        (
            lambda w: w["steps"][0]["run"]["inputs"][0].update(type="Blob"),
            "steps[#count].run.inputs[#text].type",
        ),
    ],
)
def test_workflow_problems_are_refused_by_path(change, path):
    workflow = docs.count_and_join_workflow()
    change(workflow)
    assert refused(workflow).path == path


# --------------------------------------------------------------------------- robustness


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in children:
        found.extend(_paths(child, (*prefix, key)))
    return found


@pytest.mark.parametrize(
    "make", [docs.counter_tool, docs.joiner_tool, docs.stager_tool, docs.count_and_join_workflow]
)
def test_any_value_anywhere_translates_or_is_refused_by_name(make):
    """Found this way: a list as a requirement class or an engine crashed the translation
    (TypeError, a 500 for the client) instead of being refused."""
    base = make()
    for path in _paths(base):
        for odd in (None, 7, "", [], {}, [{}]):
            document = copy.deepcopy(base)
            node = document
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(odd)
            try:
                translate(document)
            except Draft2Error as exc:
                assert exc.path and exc.problem

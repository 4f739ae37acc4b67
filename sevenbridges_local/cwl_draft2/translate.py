"""``sbg:draft-2`` documents translated to CWL v1.0 documents that cwltool runs.

Pure functions over plain JSON-like data: no I/O, no cwltool. The translation keeps what
changes how a tool runs and drops what only the platform's editor or catalogue uses (``sbg:``
layout, licence, toolkit fields, instance hints). Anything it does not know is
refused with :class:`Draft2Error` naming where it is (``inputs[#reads].inputBinding.foo``), so an
app never runs with part of its description silently ignored.

Semantics carried over from the draft-2 platform (see ``docs/draft2.md``):
- the command line is run by a shell (``ShellCommandRequirement``): arguments, ``valueFrom``
  words and shell-unsafe ``baseCommand`` words go in unquoted (``&&`` and ``|`` work as on the
  platform), plain input values are quoted;
- an ``inputBinding`` with ``sbg:cmdInclude: false`` puts nothing on the command line;
- ``sbg:CPURequirement``/``sbg:MemRequirement`` (MiB) become ``ResourceRequirement``;
- ``sbg:stageInput`` (``link`` or ``copy``) stages the input in the working directory
  (``copy``: a writable copy);
- an output's ``sbg:inheritMetadataFrom`` and ``sbg:metadata`` become an ``outputEval`` that
  sets ``metadata`` on its File objects (stored by the platform with the output files).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sevenbridges_local.cwl_draft2 import expressions
from sevenbridges_local.cwl_draft2.errors import Draft2Error

DRAFT2_VERSIONS = frozenset({"sbg:draft-2"})
TARGET_VERSION = "v1.0"
PROCESS_CLASSES = ("CommandLineTool", "Workflow", "ExpressionTool")

_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "string", "File", "Directory"}
)
# Keys of a process that mean nothing for running it (editor positions, links to the app).
_IGNORED = frozenset({"x", "y", "appUrl", "$namespaces", "cwlVersion", "id"})
_DOC_KEYS = ("label", "description", "doc")
# Editor flags on parameters; the type already says whether a value is optional.
_PARAMETER_EXTRAS = ("required",)
_TOOL_KEYS = frozenset(
    {
        "class",
        "inputs",
        "outputs",
        "requirements",
        "hints",
        "baseCommand",
        "arguments",
        "stdin",
        "stdout",
        "successCodes",
        "temporaryFailCodes",
        "permanentFailCodes",
        *_DOC_KEYS,
    }
)
_EXPRESSION_TOOL_KEYS = frozenset(
    {"class", "inputs", "outputs", "requirements", "hints", "expression", *_DOC_KEYS}
)
_WORKFLOW_KEYS = frozenset(
    {"class", "inputs", "outputs", "steps", "requirements", "hints", *_DOC_KEYS}
)
_INPUT_KEYS = frozenset(
    {
        "id",
        "type",
        "inputBinding",
        "default",
        "streamable",
        "format",
        "secondaryFiles",
        *_DOC_KEYS,
        *_PARAMETER_EXTRAS,
    }
)
_OUTPUT_KEYS = frozenset(
    {
        "id",
        "type",
        "outputBinding",
        "streamable",
        "format",
        "secondaryFiles",
        *_DOC_KEYS,
        *_PARAMETER_EXTRAS,
    }
)
_WORKFLOW_OUTPUT_KEYS = frozenset(
    {"id", "type", "source", "linkMerge", "format", *_DOC_KEYS, *_PARAMETER_EXTRAS}
)
_BINDING_KEYS = frozenset(
    {
        "position",
        "prefix",
        "separate",
        "itemSeparator",
        "valueFrom",
        "secondaryFiles",
        "loadContents",
        "shellQuote",
    }
)
_OUTPUT_BINDING_KEYS = frozenset({"glob", "outputEval", "loadContents", "secondaryFiles"})
_STEP_KEYS = frozenset(
    {
        "id",
        "run",
        "inputs",
        "outputs",
        "scatter",
        "scatterMethod",
        "requirements",
        "hints",
        *_DOC_KEYS,
    }
)
_STEP_INPUT_KEYS = frozenset({"id", "source", "default", "valueFrom", "linkMerge", *_DOC_KEYS})
_SCATTER_METHODS = frozenset({"dotproduct", "nested_crossproduct", "flat_crossproduct"})
_LINK_MERGE = frozenset({"merge_nested", "merge_flattened"})
# Requirement classes of the platform that only choose cloud instances or UI behaviour.
_DROPPED_CLASSES = frozenset({"ExpressionEngineRequirement"})
# baseCommand words that quoting would leave unchanged, so they can stay a plain baseCommand.
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9_./=:,+@%-]+$")
_STAGE_MODES = frozenset({"link", "copy"})


def _one_of(value: Any, options: frozenset[str]) -> bool:
    """``value in options`` for any JSON value (lists and objects are not hashable)."""
    return isinstance(value, str) and value in options


def is_draft2(document: Any) -> bool:
    """Whether ``document`` declares the ``sbg:draft-2`` dialect."""
    return isinstance(document, Mapping) and _one_of(document.get("cwlVersion"), DRAFT2_VERSIONS)


def translate(document: Any, *, for_run: bool = False) -> dict[str, Any]:
    """The CWL v1.0 equivalent of a draft-2 tool, expression tool or workflow.

    ``for_run`` (a task runs it, its job's input File objects carry their platform
    ``metadata``): every expression first gives any File object without ``metadata`` an empty
    one, so ``$job.inputs.<file>.metadata`` and ``$self.metadata`` are always readable, as on the
    platform. Without it (when an app is installed) expressions are left as they are.
    """
    if not isinstance(document, Mapping):
        raise Draft2Error("the app must be an object", "")
    engines = _ENGINES.set(_engine_ids(document))
    running = _FOR_RUN.set(for_run)
    try:
        translated = _process(document, "")
    finally:
        _ENGINES.reset(engines)
        _FOR_RUN.reset(running)
    return {"cwlVersion": TARGET_VERSION, **translated}


# The ids of the document's ExpressionEngineRequirement entries: expressions name their engine
# by such an id. Set for the duration of one translate() call.
_ENGINES: ContextVar[frozenset[str]] = ContextVar("draft2_engines", default=frozenset())
# Whether the translation is for a task's run (expressions then attach metadata to File objects).
_FOR_RUN: ContextVar[bool] = ContextVar("draft2_for_run", default=False)


def _engine_ids(document: Mapping[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            if node.get("class") == "ExpressionEngineRequirement" and isinstance(
                node.get("id"), str
            ):
                found.add(node["id"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return frozenset(found)


# ---------------------------------------------------------------------------------------------
# Helpers shared by every process


@dataclass
class _Needs:
    """What a translated process uses, so it can declare the matching requirements."""

    js: bool = False
    scatter: bool = False
    multiple_sources: bool = False
    step_expressions: bool = False
    subworkflow: bool = False
    output_metadata: bool = False
    staged: list[dict[str, Any] | str] = field(default_factory=list)


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _item_path(path: str, index: int, item: Any) -> str:
    """``inputs[#reads]`` when the item has an id, else ``inputs[0]``."""
    if isinstance(item, Mapping):
        ident = item.get("id", item.get("name"))
        if isinstance(ident, str) and ident:
            return f"{path}[{ident}]"
    return f"{path}[{index}]"


def _check_keys(value: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in value:
        if not isinstance(key, str):
            raise Draft2Error(f"the key {key!r} is not a string", path)
        if key in allowed or key.startswith("sbg:") or key in _IGNORED:
            continue
        raise Draft2Error(f"the field {key!r} is not supported", _at(path, key))


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Draft2Error("an object is expected here", path)
    return value


def _items(value: Any, path: str) -> list[Any]:
    """A draft-2 list field (``None`` is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Draft2Error("a list is expected here", path)
    return value


def _local_id(value: Any, path: str) -> str:
    """``#reads`` -> ``reads``."""
    if not isinstance(value, str) or not value.strip("#"):
        raise Draft2Error("an 'id' string is required", _at(path, "id"))
    return value.lstrip("#")


def _value(needs: _Needs, value: Any, path: str) -> Any:
    """A draft-2 value of a field v1.0 evaluates (expression, escaped text or a constant)."""
    if expressions.is_expression(value):
        needs.js = True
        return expressions.expression(value, path, _ENGINES.get(), attach_metadata=_FOR_RUN.get())
    if isinstance(value, str):
        return expressions.literal(value)
    if isinstance(value, (Mapping, list)):
        raise Draft2Error("an expression or a plain value is expected here", path)
    return value


def _docs(source: Mapping[str, Any], target: dict[str, Any], path: str) -> None:
    label = source.get("label")
    if isinstance(label, str):
        target["label"] = label
    text = source.get("doc", source.get("description"))
    if isinstance(text, str):
        target["doc"] = text


def _process(document: Mapping[str, Any], path: str) -> dict[str, Any]:
    kind = document.get("class")
    if kind == "CommandLineTool":
        return _tool(document, path)
    if kind == "Workflow":
        return _workflow(document, path)
    if kind == "ExpressionTool":
        return _expression_tool(document, path)
    raise Draft2Error(
        f"the class {kind!r} is not supported (use one of {', '.join(PROCESS_CLASSES)})",
        _at(path, "class"),
    )


# ---------------------------------------------------------------------------------------------
# Types


def _type(needs: _Needs, value: Any, path: str, direction: str) -> Any:
    """A draft-2 type; ``direction`` is ``in`` (tool input), ``out`` or ``plain`` (no bindings)."""
    if isinstance(value, str):
        if value not in _PRIMITIVES:
            raise Draft2Error(f"the type {value!r} is not supported", path)
        return value
    if isinstance(value, list):
        if not value:
            raise Draft2Error("an empty type list", path)
        return [
            _type(needs, member, _at(path, index), direction) for index, member in enumerate(value)
        ]
    if not isinstance(value, Mapping):
        raise Draft2Error("a type name, list or object is expected here", path)
    kind = value.get("type")
    if kind == "array":
        _check_keys(value, frozenset({"type", "items", "inputBinding", "name", "label"}), path)
        if "items" not in value:
            raise Draft2Error("an array type needs 'items'", path)
        result: dict[str, Any] = {
            "type": "array",
            "items": _type(needs, value["items"], _at(path, "items"), direction),
        }
    elif kind == "enum":
        _check_keys(value, frozenset({"type", "symbols", "inputBinding", "name", "label"}), path)
        symbols = value.get("symbols")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(symbol, str) for symbol in symbols)
        ):
            raise Draft2Error("an enum type needs a list of string 'symbols'", _at(path, "symbols"))
        result = {"type": "enum", "symbols": list(symbols)}
    elif kind == "record":
        _check_keys(value, frozenset({"type", "fields", "inputBinding", "name", "label"}), path)
        fields_path = _at(path, "fields")
        result = {
            "type": "record",
            "fields": [
                _record_field(needs, entry, _item_path(fields_path, index, entry), direction)
                for index, entry in enumerate(_items(value.get("fields"), fields_path))
            ],
        }
    else:
        raise Draft2Error(f"the type {kind!r} is not supported", _at(path, "type"))
    binding = value.get("inputBinding")
    if binding is not None and direction == "in":
        translated, _secondary = _input_binding(needs, binding, _at(path, "inputBinding"))
        if translated is not None:
            result["inputBinding"] = translated
    return result


def _record_field(needs: _Needs, entry: Any, path: str, direction: str) -> dict[str, Any]:
    entry = _mapping(entry, path)
    _check_keys(
        entry, frozenset({"name", "type", "inputBinding", "outputBinding", *_DOC_KEYS}), path
    )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip("#"):
        raise Draft2Error("a record field needs a 'name'", _at(path, "name"))
    result: dict[str, Any] = {
        "name": name.lstrip("#"),
        "type": _type(needs, entry.get("type"), _at(path, "type"), direction),
    }
    _docs(entry, result, path)
    if direction == "in" and entry.get("inputBinding") is not None:
        translated, _secondary = _input_binding(
            needs, entry["inputBinding"], _at(path, "inputBinding")
        )
        if translated is not None:
            result["inputBinding"] = translated
    if direction == "out" and entry.get("outputBinding") is not None:
        translated, _secondary = _output_binding(
            needs, entry["outputBinding"], _at(path, "outputBinding")
        )
        result["outputBinding"] = translated
    return result


# ---------------------------------------------------------------------------------------------
# Command line tools


def _secondary_files(needs: _Needs, value: Any, path: str) -> list[Any]:
    entries = value if isinstance(value, list) else [value]
    return [_value(needs, entry, _at(path, index)) for index, entry in enumerate(entries)]


def _position(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Draft2Error("'position' must be an integer", path)
    return value


def _input_binding(
    needs: _Needs, binding: Any, path: str
) -> tuple[dict[str, Any] | None, list[Any]]:
    """The v1.0 binding (None when ``sbg:cmdInclude`` is false) and the secondary files."""
    binding = _mapping(binding, path)
    _check_keys(binding, _BINDING_KEYS, path)
    secondary = []
    if binding.get("secondaryFiles") is not None:
        secondary = _secondary_files(needs, binding["secondaryFiles"], _at(path, "secondaryFiles"))
    if binding.get("sbg:cmdInclude") is False:
        return None, secondary
    result: dict[str, Any] = {}
    if "position" in binding:
        result["position"] = _position(binding["position"], _at(path, "position"))
    for key in ("prefix", "itemSeparator"):
        if key in binding and binding[key] is not None:
            if not isinstance(binding[key], str):
                raise Draft2Error(f"'{key}' must be a string", _at(path, key))
            if binding[key] != "" or key == "itemSeparator":
                result[key] = binding[key]
    for key in ("separate", "loadContents"):
        if key in binding and binding[key] is not None:
            if not isinstance(binding[key], bool):
                raise Draft2Error(f"'{key}' must be true or false", _at(path, key))
            result[key] = binding[key]
    if binding.get("valueFrom") is not None:
        result["valueFrom"] = _value(needs, binding["valueFrom"], _at(path, "valueFrom"))
        # The platform ran draft-2 command lines through a shell: computed words may carry
        # shell syntax ('&&', '|', '>'), so they go in unquoted. Plain values (file paths,
        # strings) stay quoted, so a space in a file name cannot split them.
        result["shellQuote"] = False
    if binding.get("shellQuote") is not None:
        if not isinstance(binding["shellQuote"], bool):
            raise Draft2Error("'shellQuote' must be true or false", _at(path, "shellQuote"))
        result["shellQuote"] = binding["shellQuote"]
    return result, secondary


def _tool_input(needs: _Needs, item: Any, path: str, direction: str) -> dict[str, Any]:
    item = _mapping(item, path)
    _check_keys(item, _INPUT_KEYS, path)
    name = _local_id(item.get("id"), path)
    if "type" not in item:
        raise Draft2Error("an input needs a 'type'", path)
    result: dict[str, Any] = {
        "id": name,
        "type": _type(needs, item["type"], _at(path, "type"), direction),
    }
    _docs(item, result, path)
    if "default" in item:
        result["default"] = copy.deepcopy(item["default"])
    secondary: list[Any] = []
    if item.get("secondaryFiles") is not None:
        secondary = _secondary_files(needs, item["secondaryFiles"], _at(path, "secondaryFiles"))
    binding = item.get("inputBinding")
    if binding is not None and direction == "in":
        translated, from_binding = _input_binding(needs, binding, _at(path, "inputBinding"))
        secondary.extend(from_binding)
        if translated is not None:
            result["inputBinding"] = translated
    if secondary:
        result["secondaryFiles"] = secondary
    stage = item.get("sbg:stageInput")
    if stage is not None and direction == "in":
        if not _one_of(stage, _STAGE_MODES):
            raise Draft2Error(
                f"'sbg:stageInput' must be 'link' or 'copy', not {stage!r}",
                _at(path, "sbg:stageInput"),
            )
        needs.js = True
        # 'copy' marks the entries writable: cwltool then stages a real copy the tool may
        # change, never the stored file itself.
        writable = ".map(function (f) { f.writable = true; return f; })" if stage == "copy" else ""
        needs.staged.append(
            "${ var v = inputs[" + _js_string(name) + "]; "
            f"return v === null || v === undefined ? [] : [].concat(v){writable}; }}"
        )
    return result


def _js_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _js_literal(value: str | int | float | bool) -> str:
    """A JSON scalar as JavaScript source (ASCII only: safe in any expression text)."""
    return json.dumps(value, ensure_ascii=True)


def _output_binding(needs: _Needs, binding: Any, path: str) -> tuple[dict[str, Any], list[Any]]:
    binding = _mapping(binding, path)
    _check_keys(binding, _OUTPUT_BINDING_KEYS, path)
    result: dict[str, Any] = {}
    glob = binding.get("glob")
    if isinstance(glob, list):
        globs = [
            _value(needs, entry, _at(_at(path, "glob"), index)) for index, entry in enumerate(glob)
        ]
        globs = [entry for entry in globs if entry != ""]
        if globs:
            result["glob"] = globs
    elif glob is not None and glob != "":
        result["glob"] = _value(needs, glob, _at(path, "glob"))
    if binding.get("outputEval") is not None:
        result["outputEval"] = _value(needs, binding["outputEval"], _at(path, "outputEval"))
    if binding.get("loadContents") is not None:
        if not isinstance(binding["loadContents"], bool):
            raise Draft2Error("'loadContents' must be true or false", _at(path, "loadContents"))
        result["loadContents"] = binding["loadContents"]
    secondary = []
    if binding.get("secondaryFiles") is not None:
        secondary = _secondary_files(needs, binding["secondaryFiles"], _at(path, "secondaryFiles"))
    _output_metadata(needs, binding, result, path)
    return result, secondary


def _script(needs: _Needs, value: Any, path: str) -> str:
    """The v1 text of a draft-2 expression, without the metadata attach call (for composing)."""
    needs.js = True
    return expressions.expression(value, path, _ENGINES.get())


def _output_metadata(
    needs: _Needs, binding: Mapping[str, Any], result: dict[str, Any], path: str
) -> None:
    """``sbg:inheritMetadataFrom`` (``#input``) and ``sbg:metadata`` (``{key: value or
    expression}``) as an ``outputEval`` that sets ``metadata`` on the output's File objects."""
    source_at = _at(path, "sbg:inheritMetadataFrom")
    source = binding.get("sbg:inheritMetadataFrom")
    if source is not None and not isinstance(source, str):
        raise Draft2Error("'sbg:inheritMetadataFrom' must be an input id ('#input')", source_at)
    source = (source or "").lstrip("#")
    metadata_at = _at(path, "sbg:metadata")
    given = binding.get("sbg:metadata")
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise Draft2Error("'sbg:metadata' must be an object of metadata keys", metadata_at)
    setters = []
    for key, value in given.items():
        where = _at(metadata_at, str(key))
        if not isinstance(key, str) or not key.strip():
            raise Draft2Error("a metadata key must be a non-empty string", where)
        if expressions.is_expression(value):
            computed = expressions.as_call(_script(needs, value, where), "file")
            setters.append(f"{_js_literal(key)}: function (file) {{ return {computed}; }}")
        elif isinstance(value, (str, int, float, bool)):
            setters.append(f"{_js_literal(key)}: function () {{ return {_js_literal(value)}; }}")
        elif value is not None:
            raise Draft2Error(
                "a metadata value must be a string, number, boolean or expression", where
            )
    if not source and not setters:
        return
    needs.js = True
    needs.output_metadata = True
    evaluated = "self"
    raw_eval = binding.get("outputEval")
    if expressions.is_expression(raw_eval):
        # Translated again without the attach call: the composed expression attaches once.
        evaluated = expressions.as_call(_script(needs, raw_eval, _at(path, "outputEval")))
    elif raw_eval is not None:
        evaluated = _js_literal(raw_eval)
    inherited = f"inputs[{_js_literal(source)}]" if source else "null"
    text = (
        "${ return "
        + expressions.OUTPUT_METADATA
        + f"({evaluated}, {inherited}, {{"
        + ", ".join(setters)
        + "}); }"
    )
    result["outputEval"] = expressions.with_metadata(text) if _FOR_RUN.get() else text


def _tool_output(needs: _Needs, item: Any, path: str) -> dict[str, Any]:
    item = _mapping(item, path)
    _check_keys(item, _OUTPUT_KEYS, path)
    result: dict[str, Any] = {
        "id": _local_id(item.get("id"), path),
        "type": _type(needs, item.get("type"), _at(path, "type"), "out"),
    }
    _docs(item, result, path)
    secondary: list[Any] = []
    if item.get("secondaryFiles") is not None:
        secondary = _secondary_files(needs, item["secondaryFiles"], _at(path, "secondaryFiles"))
    if item.get("outputBinding") is not None:
        binding, from_binding = _output_binding(
            needs, item["outputBinding"], _at(path, "outputBinding")
        )
        secondary.extend(from_binding)
        if binding:
            result["outputBinding"] = binding
    if secondary:
        result["secondaryFiles"] = secondary
    return result


def _argument(needs: _Needs, item: Any, path: str) -> dict[str, Any]:
    if isinstance(item, str) or expressions.is_expression(item):
        return {"valueFrom": _value(needs, item, path), "shellQuote": False}
    binding = _mapping(item, path)
    translated, secondary = _input_binding(needs, binding, path)
    if secondary:
        raise Draft2Error("an argument cannot have 'secondaryFiles'", _at(path, "secondaryFiles"))
    if translated is None:
        return {}
    if "valueFrom" not in translated:
        raise Draft2Error("an argument needs 'valueFrom'", path)
    return translated


def _base_command(
    needs: _Needs, value: Any, path: str, lowest: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """``baseCommand`` words, or the same words as arguments placed before everything else
    when one of them is an expression or needs the shell (quoting would change it)."""
    words = value if isinstance(value, list) else [value]
    words = [word for word in words if word not in ("", None)]
    if all(isinstance(word, str) and _SHELL_SAFE.match(word) for word in words):
        return list(words), []
    start = lowest - len(words) - 1
    arguments = []
    for index, word in enumerate(words):
        where = _at(path, index)
        if not isinstance(word, str) and not expressions.is_expression(word):
            raise Draft2Error("a command word must be a string or an expression", where)
        arguments.append(
            {
                "position": start + index,
                "valueFrom": _value(needs, word, where),
                "shellQuote": False,
            }
        )
    return [], arguments


def _tool(document: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(document, _TOOL_KEYS, path)
    needs = _Needs()
    result: dict[str, Any] = {"class": "CommandLineTool"}
    _docs(document, result, path)
    inputs_path = _at(path, "inputs")
    inputs = [
        _tool_input(needs, item, _item_path(inputs_path, index, item), "in")
        for index, item in enumerate(_items(document.get("inputs"), inputs_path))
    ]
    outputs_path = _at(path, "outputs")
    outputs = [
        _tool_output(needs, item, _item_path(outputs_path, index, item))
        for index, item in enumerate(_items(document.get("outputs"), outputs_path))
    ]
    arguments_path = _at(path, "arguments")
    arguments = [
        _argument(needs, item, _at(arguments_path, index))
        for index, item in enumerate(_items(document.get("arguments"), arguments_path))
    ]
    arguments = [argument for argument in arguments if argument]
    positions = [binding["position"] for binding in arguments if "position" in binding]
    positions += [
        item["inputBinding"]["position"]
        for item in inputs
        if "position" in item.get("inputBinding", {})
    ]
    base, leading = _base_command(
        needs, document.get("baseCommand", []), _at(path, "baseCommand"), min([0, *positions])
    )
    if not base and not leading and not arguments:
        raise Draft2Error("the tool has no command ('baseCommand' or 'arguments')", path)
    requirements, hints = _requirements_of(needs, document, path)
    if base:
        result["baseCommand"] = base
    if leading or arguments:
        result["arguments"] = leading + arguments
    for key in ("stdin", "stdout"):
        value = document.get(key)
        if value not in (None, ""):
            result[key] = _value(needs, value, _at(path, key))
    for key in ("successCodes", "temporaryFailCodes", "permanentFailCodes"):
        codes = document.get(key)
        if codes:
            if not isinstance(codes, list) or not all(
                isinstance(code, int) and not isinstance(code, bool) for code in codes
            ):
                raise Draft2Error(f"'{key}' must be a list of integers", _at(path, key))
            result[key] = list(codes)
    result["inputs"] = inputs
    result["outputs"] = outputs
    requirements.append({"class": "ShellCommandRequirement"})
    result["requirements"] = _finish_requirements(needs, requirements)
    if hints:
        result["hints"] = hints
    return result


# ---------------------------------------------------------------------------------------------
# Requirements and hints


def _requirements_of(
    needs: _Needs, document: Mapping[str, Any], path: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    requirements = _requirement_list(needs, document.get("requirements"), _at(path, "requirements"))
    hints = _requirement_list(needs, document.get("hints"), _at(path, "hints"), hints=True)
    return requirements, hints


def _requirement_list(
    needs: _Needs, value: Any, path: str, *, hints: bool = False
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    resources: dict[str, Any] = {}
    for index, entry in enumerate(_items(value, path)):
        where = _at(path, index)
        entry = _mapping(entry, where)
        kind = entry.get("class")
        if not isinstance(kind, str) or not kind:
            raise Draft2Error("a requirement needs a 'class' name", _at(where, "class"))
        where = f"{path}[{kind}]"
        if kind in _DROPPED_CLASSES:
            continue
        if kind == "sbg:CPURequirement":
            resources["coresMin"] = _resource(needs, entry, where)
        elif kind == "sbg:MemRequirement":
            resources["ramMin"] = _resource(needs, entry, where)
        elif kind.startswith("sbg:"):
            continue  # instance types and other platform scheduling hints
        elif kind == "DockerRequirement":
            docker = _docker(entry, where)
            if len(docker) > 1:
                result.append(docker)
            elif not hints:
                raise Draft2Error("a DockerRequirement needs 'dockerPull'", where)
            # an empty Docker hint (the editor's placeholder) asks for nothing
        elif kind == "CreateFileRequirement":
            result.append(_create_files(needs, entry, where))
        elif kind == "EnvVarRequirement":
            result.append(_env_vars(needs, entry, where))
        elif kind == "ShellCommandRequirement":
            continue  # added to every translated tool
        elif kind == "InlineJavascriptRequirement":
            needs.js = True
        else:
            raise Draft2Error(f"the requirement class {kind!r} is not supported", where)
    if resources:
        result.append({"class": "ResourceRequirement", **resources})
    return result


def _resource(needs: _Needs, entry: Mapping[str, Any], path: str) -> Any:
    _check_keys(entry, frozenset({"class", "value"}), path)
    value = entry.get("value")
    if expressions.is_expression(value):
        return _value(needs, value, _at(path, "value"))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise Draft2Error("'value' must be a positive number or an expression", _at(path, "value"))
    return value


def _docker(entry: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(entry, frozenset({"class", "dockerPull", "dockerImageId"}), path)
    result: dict[str, Any] = {"class": "DockerRequirement"}
    for key in ("dockerPull", "dockerImageId"):
        value = entry.get(key)
        if value not in (None, ""):
            if not isinstance(value, str):
                raise Draft2Error(f"'{key}' must be a string", _at(path, key))
            result[key] = value
    return result


def _create_files(needs: _Needs, entry: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(entry, frozenset({"class", "fileDef"}), path)
    listing = []
    defs_path = _at(path, "fileDef")
    for index, item in enumerate(_items(entry.get("fileDef"), defs_path)):
        where = _at(defs_path, index)
        item = _mapping(item, where)
        _check_keys(item, frozenset({"filename", "fileContent"}), where)
        if item.get("filename") in (None, ""):
            raise Draft2Error("a file definition needs a 'filename'", _at(where, "filename"))
        listing.append(
            {
                "entryname": _value(needs, item["filename"], _at(where, "filename")),
                "entry": _value(needs, item.get("fileContent", ""), _at(where, "fileContent")),
            }
        )
    return {"class": "InitialWorkDirRequirement", "listing": listing}


def _env_vars(needs: _Needs, entry: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(entry, frozenset({"class", "envDef"}), path)
    definitions = []
    defs_path = _at(path, "envDef")
    for index, item in enumerate(_items(entry.get("envDef"), defs_path)):
        where = _at(defs_path, index)
        item = _mapping(item, where)
        _check_keys(item, frozenset({"envName", "envValue"}), where)
        name = item.get("envName")
        if not isinstance(name, str) or not name:
            raise Draft2Error("an environment variable needs an 'envName'", _at(where, "envName"))
        definitions.append(
            {
                "envName": name,
                "envValue": _value(needs, item.get("envValue", ""), _at(where, "envValue")),
            }
        )
    return {"class": "EnvVarRequirement", "envDef": definitions}


def _finish_requirements(needs: _Needs, requirements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge staged inputs into one InitialWorkDirRequirement; add what the process uses."""
    work_dirs = [entry for entry in requirements if entry["class"] == "InitialWorkDirRequirement"]
    others = [entry for entry in requirements if entry["class"] != "InitialWorkDirRequirement"]
    listing: list[Any] = [item for entry in work_dirs for item in entry["listing"]]
    listing.extend(needs.staged)
    if listing:
        others.append({"class": "InitialWorkDirRequirement", "listing": listing})
    javascript: list[dict[str, Any]] = []
    if needs.js:
        javascript.append({"class": "InlineJavascriptRequirement"})
        library = [expressions.METADATA_LIBRARY] if _FOR_RUN.get() else []
        if needs.output_metadata:
            library.append(expressions.OUTPUT_METADATA_LIBRARY)
        if library:
            javascript[0]["expressionLib"] = library
    wanted = [
        (needs.scatter, "ScatterFeatureRequirement"),
        (needs.multiple_sources, "MultipleInputFeatureRequirement"),
        (needs.step_expressions, "StepInputExpressionRequirement"),
        (needs.subworkflow, "SubworkflowFeatureRequirement"),
    ]
    return javascript + [{"class": name} for used, name in wanted if used] + others


# ---------------------------------------------------------------------------------------------
# Expression tools


def _expression_tool(document: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(document, _EXPRESSION_TOOL_KEYS, path)
    needs = _Needs()
    result: dict[str, Any] = {"class": "ExpressionTool"}
    _docs(document, result, path)
    inputs_path = _at(path, "inputs")
    result["inputs"] = [
        _tool_input(needs, item, _item_path(inputs_path, index, item), "plain")
        for index, item in enumerate(_items(document.get("inputs"), inputs_path))
    ]
    outputs_path = _at(path, "outputs")
    outputs = []
    for index, item in enumerate(_items(document.get("outputs"), outputs_path)):
        where = _item_path(outputs_path, index, item)
        item = _mapping(item, where)
        _check_keys(item, _OUTPUT_KEYS - {"outputBinding"}, where)
        output = {
            "id": _local_id(item.get("id"), where),
            "type": _type(needs, item.get("type"), _at(where, "type"), "plain"),
        }
        _docs(item, output, where)
        outputs.append(output)
    result["outputs"] = outputs
    script = document.get("expression")
    if not expressions.is_expression(script):
        raise Draft2Error("an ExpressionTool needs an 'expression'", _at(path, "expression"))
    result["expression"] = _value(needs, script, _at(path, "expression"))
    requirements, hints = _requirements_of(needs, document, path)
    result["requirements"] = _finish_requirements(needs, requirements)
    if hints:
        result["hints"] = hints
    return result


# ---------------------------------------------------------------------------------------------
# Workflows


@dataclass
class _Links:
    """The ids a workflow's ``source`` fields may name."""

    inputs: set[str]
    steps: dict[str, set[str]]

    def source(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip("#"):
            raise Draft2Error("a source must be an id such as '#input' or '#step.output'", path)
        name = value.lstrip("#")
        if name in self.inputs:
            return name
        step, _dot, output = name.rpartition(".")
        if step in self.steps and output:
            if self.steps[step] and output not in self.steps[step]:
                raise Draft2Error(f"step '{step}' has no output '{output}'", path)
            return f"{step}/{output}"
        raise Draft2Error(f"the source {value!r} names no workflow input or step output", path)

    def sources(self, needs: _Needs, value: Any, path: str) -> str | list[str] | None:
        entries = value if isinstance(value, list) else [value]
        links = [self.source(entry, _at(path, index)) for index, entry in enumerate(entries)]
        if not links:
            return None
        if len(links) > 1:
            needs.multiple_sources = True
            return links
        return links[0]


def _step_id(step: Any, path: str) -> str:
    return _local_id(_mapping(step, path).get("id"), path)


def _step_local(name: Any, step: str, path: str) -> str:
    """``#step.input`` -> ``input`` (a bare ``#input`` is accepted too)."""
    text = _local_id(name, path)
    prefix = step + "."
    if text.startswith(prefix):
        return text[len(prefix) :]
    if "." in text:
        raise Draft2Error(f"the id {name!r} does not belong to step '{step}'", path)
    return text


def _step_outputs(step: Mapping[str, Any], name: str, path: str) -> list[str]:
    listed = [
        _step_local(
            _mapping(item, _at(_at(path, "outputs"), index)).get("id"),
            name,
            _at(_at(path, "outputs"), index),
        )
        for index, item in enumerate(_items(step.get("outputs"), _at(path, "outputs")))
    ]
    if listed:
        return listed
    run = step.get("run")
    if isinstance(run, Mapping):
        return [
            item["id"].lstrip("#")
            for item in _items(run.get("outputs"), _at(path, "run.outputs"))
            if isinstance(item, Mapping) and isinstance(item.get("id"), str)
        ]
    return []


def _workflow(document: Mapping[str, Any], path: str) -> dict[str, Any]:
    _check_keys(document, _WORKFLOW_KEYS, path)
    needs = _Needs()
    result: dict[str, Any] = {"class": "Workflow"}
    _docs(document, result, path)
    inputs_path = _at(path, "inputs")
    inputs = [
        _tool_input(needs, item, _item_path(inputs_path, index, item), "plain")
        for index, item in enumerate(_items(document.get("inputs"), inputs_path))
    ]
    steps_path = _at(path, "steps")
    raw_steps = _items(document.get("steps"), steps_path)
    if not raw_steps:
        raise Draft2Error("a workflow needs at least one step", steps_path)
    step_paths = [_item_path(steps_path, index, step) for index, step in enumerate(raw_steps)]
    names = [_step_id(step, where) for step, where in zip(raw_steps, step_paths, strict=True)]
    links = _Links(
        inputs={item["id"] for item in inputs},
        steps={
            name: set(_step_outputs(step, name, where))
            for step, name, where in zip(raw_steps, names, step_paths, strict=True)
        },
    )
    steps = [
        _step(needs, links, step, name, where)
        for step, name, where in zip(raw_steps, names, step_paths, strict=True)
    ]
    outputs_path = _at(path, "outputs")
    outputs = []
    for index, item in enumerate(_items(document.get("outputs"), outputs_path)):
        where = _item_path(outputs_path, index, item)
        item = _mapping(item, where)
        _check_keys(item, _WORKFLOW_OUTPUT_KEYS, where)
        output: dict[str, Any] = {
            "id": _local_id(item.get("id"), where),
            "type": _type(needs, item.get("type"), _at(where, "type"), "plain"),
        }
        _docs(item, output, where)
        source = links.sources(needs, item.get("source"), _at(where, "source"))
        if source is None:
            raise Draft2Error("a workflow output needs a 'source'", _at(where, "source"))
        output["outputSource"] = source
        _link_merge(item, output, where)
        outputs.append(output)
    result["inputs"] = inputs
    result["outputs"] = outputs
    result["steps"] = steps
    requirements, hints = _requirements_of(needs, document, path)
    result["requirements"] = _finish_requirements(needs, requirements)
    if hints:
        result["hints"] = hints
    return result


def _link_merge(item: Mapping[str, Any], target: dict[str, Any], path: str) -> None:
    merge = item.get("linkMerge")
    if merge is None:
        return
    if not _one_of(merge, _LINK_MERGE):
        raise Draft2Error(f"'linkMerge' {merge!r} is not supported", _at(path, "linkMerge"))
    target["linkMerge"] = merge


def _step(
    needs: _Needs, links: _Links, step: Mapping[str, Any], name: str, path: str
) -> dict[str, Any]:
    _check_keys(step, _STEP_KEYS, path)
    run = step.get("run")
    if not isinstance(run, Mapping):
        raise Draft2Error(
            "a step must embed the process it runs ('run' as an object)", _at(path, "run")
        )
    version = run.get("cwlVersion")
    if version is not None and not _one_of(version, DRAFT2_VERSIONS):
        # Mixing dialects would need a packed document; the platform never produced one.
        raise Draft2Error(
            f"an embedded process must be sbg:draft-2 too, not {version!r}",
            _at(_at(path, "run"), "cwlVersion"),
        )
    process = _process(run, _at(path, "run"))
    if process["class"] == "Workflow":
        needs.subworkflow = True
    result: dict[str, Any] = {"id": name}
    _docs(step, result, path)
    inputs_path = _at(path, "inputs")
    bindings = []
    for index, item in enumerate(_items(step.get("inputs"), inputs_path)):
        where = _item_path(inputs_path, index, item)
        item = _mapping(item, where)
        _check_keys(item, _STEP_INPUT_KEYS, where)
        binding: dict[str, Any] = {"id": _step_local(item.get("id"), name, where)}
        if item.get("source") not in (None, [], ""):
            binding["source"] = links.sources(needs, item["source"], _at(where, "source"))
        if "default" in item:
            binding["default"] = copy.deepcopy(item["default"])
        if item.get("valueFrom") is not None:
            needs.step_expressions = True
            binding["valueFrom"] = _value(needs, item["valueFrom"], _at(where, "valueFrom"))
        _link_merge(item, binding, where)
        # A v1.0 step input with nothing feeding it is an error even when the tool's input is
        # optional; draft-2 lists such inputs only to show them in the editor.
        if len(binding) > 1:
            bindings.append(binding)
    result["in"] = bindings
    result["out"] = sorted(links.steps[name]) if links.steps[name] else []
    scatter = step.get("scatter")
    if scatter not in (None, [], ""):
        needs.scatter = True
        targets = scatter if isinstance(scatter, list) else [scatter]
        names = [
            _step_local(target, name, _at(_at(path, "scatter"), index))
            for index, target in enumerate(targets)
        ]
        known = {binding["id"] for binding in bindings}
        for index, target in enumerate(names):
            if target not in known:
                raise Draft2Error(
                    f"the scattered input '{target}' is not an input of the step",
                    _at(_at(path, "scatter"), index),
                )
        result["scatter"] = names[0] if len(names) == 1 else names
        method = step.get("scatterMethod")
        if method is not None:
            if not _one_of(method, _SCATTER_METHODS):
                raise Draft2Error(
                    f"'scatterMethod' {method!r} is not supported", _at(path, "scatterMethod")
                )
            result["scatterMethod"] = method
        elif len(names) > 1:
            result["scatterMethod"] = "dotproduct"
    requirements, hints = _requirements_of(needs, step, path)
    if requirements:
        result["requirements"] = _finish_requirements(_Needs(), requirements)
    if hints:
        result["hints"] = hints
    result["run"] = process
    return result

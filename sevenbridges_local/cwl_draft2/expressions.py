"""Draft-2 values that may hold JavaScript, rewritten as CWL v1.0 expressions.

In ``sbg:draft-2`` an expression is an object, ``{"class": "Expression", "engine":
"#cwl-js-engine", "script": "..."}`` (``class`` may be missing; ``{"$expression": "..."}`` is
accepted as the same thing). A script that starts with ``{`` is a function body (it ``return``s
its value); any other script is a single JavaScript expression. Scripts see the job as ``$job``
(``$job.inputs``, ``$job.allocatedResources.cpu``/``.mem``) and the bound value as ``$self``.

CWL v1.0 writes the same as ``${...}`` (a body) or ``$(...)`` (an expression) with ``inputs``,
``runtime`` (``cores``, ``ram``) and ``self`` in scope. Every other string is plain text in
draft-2 but may hold ``$(`` or ``${`` that v1.0 would evaluate; :func:`literal` escapes those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sevenbridges_local.cwl_draft2.errors import Draft2Error

# The engines a draft-2 expression may name; both mean JavaScript on the platform.
JS_ENGINES = frozenset({"#cwl-js-engine", "cwl-js-engine", "cwl:JsEngine"})
# CWL draft-2's other engine: a JSON pointer into the job (or ``context``, the bound value).
JSON_POINTER = "cwl:JsonPointer"

# Replacements applied to a script, most specific first. ``$`` is an identifier character in
# JavaScript, so a name only matches when no identifier character touches it on either side.
_NAME_START = r"(?<![\w$])"
_NAME_END = r"(?![\w$])"
_RESOURCES = '{"cpu": runtime.cores, "mem": runtime.ram}'
_REWRITES = (
    (re.compile(_NAME_START + r"\$job\.allocatedResources\.cpu" + _NAME_END), "runtime.cores"),
    (re.compile(_NAME_START + r"\$job\.allocatedResources\.mem" + _NAME_END), "runtime.ram"),
    (re.compile(_NAME_START + r"\$job\.allocatedResources" + _NAME_END), f"({_RESOURCES})"),
    (re.compile(_NAME_START + r"\$job\.inputs" + _NAME_END), "inputs"),
    (
        re.compile(_NAME_START + r"\$job" + _NAME_END),
        f'({{"inputs": inputs, "allocatedResources": {_RESOURCES}}})',
    ),
    (re.compile(_NAME_START + r"\$self" + _NAME_END), "self"),
)


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a draft-2 expression object."""
    if not isinstance(value, Mapping):
        return False
    if "$expression" in value:
        return True
    return value.get("class") == "Expression" or ("script" in value and "engine" in value)


def rewrite_script(script: str) -> str:
    """A draft-2 script with the draft-2 names replaced by their v1.0 equivalents."""
    for pattern, replacement in _REWRITES:
        script = pattern.sub(replacement, script)
    return script


def script_to_v1(script: str, path: str) -> str:
    """``${...}`` or ``$(...)`` text for a draft-2 script."""
    text = rewrite_script(script).strip()
    if not text:
        raise Draft2Error("an empty expression script", path)
    if text.startswith("{") and text.endswith("}"):
        return "$" + text
    # A trailing semicolon ends a statement; inside $(...) it would be a syntax error.
    text = text.rstrip(";").rstrip()
    return f"$({text})"


def expression(
    value: Mapping[str, Any],
    path: str,
    engines: frozenset[str] = frozenset(),
    attach_metadata: bool = False,
) -> str:
    """The v1.0 text of a draft-2 expression object; :class:`Draft2Error` when it cannot be.

    ``engines`` are further JavaScript engine ids: those of the document's own
    ``ExpressionEngineRequirement`` entries, which ``engine`` refers to by id. With
    ``attach_metadata`` the expression first gives File objects their platform metadata.
    """
    if "$expression" in value:
        script = value["$expression"]
        where = f"{path}.$expression"
        engine = None
    else:
        engine = value.get("engine")
        known = isinstance(engine, str) and (
            engine in JS_ENGINES or engine in engines or engine == JSON_POINTER
        )
        if not known:
            raise Draft2Error(
                f"expression engine {engine!r} is not supported "
                "(JavaScript engines and 'cwl:JsonPointer' are)",
                f"{path}.engine",
            )
        script = value.get("script")
        where = f"{path}.script"
    if not isinstance(script, str):
        raise Draft2Error("the expression script must be a string", where)
    if engine == JSON_POINTER:
        text = json_pointer_to_v1(script, where)
    else:
        text = script_to_v1(script, where)
    return with_metadata(text) if attach_metadata else text


# Name of the function (defined by METADATA_LIBRARY) that makes sure every File object of the
# job has ``metadata`` before an expression reads it.
_ATTACH = "_sbgAttachMetadata"


def with_metadata(text: str) -> str:
    """A v1 expression that first attaches file metadata to ``inputs`` and ``self``."""
    if text.startswith("${"):
        body = text[2:-1]
    else:
        body = f" return ({text[2:-1]}); "
    return "${ " + _ATTACH + "(inputs, self);" + body + "}"


# The attach function: the job's File objects carry their platform metadata (the task's input
# files get it in the job order, files made by earlier steps keep what their tool set); any
# other File (a glob's result, a secondary file, one made by a step that set none) gets {}, as
# every file has metadata on the platform.
METADATA_LIBRARY = (
    f"function {_ATTACH}() {{\n"
    "  var pending = Array.prototype.slice.call(arguments);\n"
    "  while (pending.length) {\n"
    "    var value = pending.pop();\n"
    "    if (value === null || typeof value !== 'object') { continue; }\n"
    "    if (value['class'] === 'File' && (value.metadata === undefined ||\n"
    "        value.metadata === null)) {\n"
    "      value.metadata = {};\n"
    "    }\n"
    "    for (var name in value) {\n"
    "      if (name !== 'metadata' && Object.prototype.hasOwnProperty.call(value, name)) {\n"
    "        pending.push(value[name]);\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}\n"
)


# Name of the function (defined by OUTPUT_METADATA_LIBRARY) that sets output file metadata.
OUTPUT_METADATA = "_sbgOutputMetadata"

# sbg:inheritMetadataFrom and sbg:metadata of an output, as cwltool runs them: the output's
# File objects get a ``metadata`` field, which cwltool keeps on the File (through workflow
# steps and in the final outputs) and the platform stores as the new file's metadata.
# Inherited: the metadata of the named input; of a list of files, the keys all of them share
# with equal values. On top: the file's own metadata (an outputEval may set it), then the
# sbg:metadata keys, each computed with ``self`` the output file (null or undefined removes it).
OUTPUT_METADATA_LIBRARY = (
    "function _sbgFilesIn(value, found) {\n"
    "  if (Array.isArray(value)) {\n"
    "    for (var i = 0; i < value.length; i++) { _sbgFilesIn(value[i], found); }\n"
    "  } else if (value !== null && typeof value === 'object' && value['class'] === 'File') {\n"
    "    found.push(value);\n"
    "  }\n"
    "  return found;\n"
    "}\n"
    f"function {OUTPUT_METADATA}(out, source, setters) {{\n"
    "  var sources = _sbgFilesIn(source, []);\n"
    "  var common = {};\n"
    "  for (var i = 0; i < sources.length; i++) {\n"
    "    var given = sources[i].metadata || {};\n"
    "    if (i === 0) {\n"
    "      for (var key in given) { common[key] = given[key]; }\n"
    "    } else {\n"
    "      for (var kept in common) {\n"
    "        if (!Object.prototype.hasOwnProperty.call(given, kept) ||\n"
    "            given[kept] !== common[kept]) { delete common[kept]; }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  var targets = _sbgFilesIn(out, []);\n"
    "  for (var t = 0; t < targets.length; t++) {\n"
    "    var file = targets[t];\n"
    "    var merged = {};\n"
    "    for (var c in common) { merged[c] = common[c]; }\n"
    "    var own = file.metadata || {};\n"
    "    for (var o in own) { merged[o] = own[o]; }\n"
    "    for (var name in setters) {\n"
    "      var value = setters[name](file);\n"
    "      if (value === null || value === undefined) { delete merged[name]; }\n"
    "      else { merged[name] = value; }\n"
    "    }\n"
    "    file.metadata = merged;\n"
    "  }\n"
    "  return out;\n"
    "}\n"
)


def as_call(text: str, self_value: str = "self") -> str:
    """A v1 expression text (``$(...)`` or ``${...}``) as a JavaScript expression that
    evaluates it with ``self`` bound to ``self_value``."""
    if text.startswith("${"):
        body = text[2:-1]
    else:
        body = f" return ({text[2:-1]}); "
    return f"(function (self) {{{body}}})({self_value})"


def json_pointer_to_v1(pointer: str, path: str) -> str:
    """A ``cwl:JsonPointer`` script (``/job/inputs/reads``, ``context``) as ``$(...)``."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.strip("/").split("/")]
    head, rest = parts[0], parts[1:]
    if head == "context":
        text = "self"
    elif head == "job" and rest[:1] == ["inputs"]:
        text, rest = "inputs", rest[1:]
    elif head == "job" and rest[:1] == ["allocatedResources"]:
        text, rest = f"({_RESOURCES})", rest[1:]
    else:
        raise Draft2Error(
            f"the JSON pointer {pointer!r} must start with 'job/inputs', "
            "'job/allocatedResources' or 'context'",
            path,
        )
    for part in rest:
        text += f"[{part}]" if part.isdigit() else "[" + json.dumps(part) + "]"
    return f"$({text})"


def literal(text: str) -> str:
    """Plain draft-2 text made safe for a v1.0 field that evaluates ``$(...)``/``${...}``.

    cwltool (v1.0 rules) only interprets a string that contains ``$(`` or ``${``; in such a
    string a backslash takes the next character literally.
    """
    if "$(" not in text and "${" not in text:
        return text
    return text.replace("\\", "\\\\").replace("$(", "\\$(").replace("${", "\\${")

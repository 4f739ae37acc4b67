"""Task inputs checked against the app's CWL inputs, and resolved for a run.

Inputs arrive as the client serialises them: files as ``{"class": "File", "path": "<file id>"}``
(folders as ``Directory``), or a bare file id where the app expects a file; primitives, arrays
and records as plain JSON. :func:`check_inputs` turns them into the stored form (file objects
with their names) and lists what stops the task from running:

* ``errors`` (code 7012) -- a required input has no value;
* ``errors`` (code 7024) -- a value does not fit the input's type, or a file does not exist or
  cannot be read by the caller;
* ``warnings`` -- values for ids the app does not have (they are kept but not passed on).

An input is optional when its type admits ``null`` (``File?``, ``["null", ...]``) or it has a
default. Types the checker cannot judge (named schema types, expressions) accept any value;
cwltool has the last word when the task runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import ProjectMember
from sevenbridges_local.execution.base import InputFile

MISSING_INPUT = 7012
INVALID_INPUT = 7024

_PRIMITIVES = {"string", "int", "long", "float", "double", "boolean", "null", "Any"}
_FILE_CLASSES = {"file": "File", "directory": "Directory"}
_SQL_CHUNK = 500


# ---------------------------------------------------------------------------------------------
# The app's inputs


@dataclass(frozen=True)
class SecondaryPattern:
    pattern: str
    required: bool


@dataclass(frozen=True)
class InputSpec:
    id: str
    type: Any
    optional: bool
    secondary_files: tuple[SecondaryPattern, ...] = ()


def short_id(raw: str) -> str:
    """``#main/reads``, ``file:///app.cwl#reads`` and ``reads`` all name input ``reads``."""
    return raw.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def normalize_type(raw: Any) -> Any:
    """CWL's shorthand (``File?``, ``File[]``) spelled out as unions and array schemas."""
    if isinstance(raw, str):
        if raw.endswith("?"):
            return ["null", normalize_type(raw[:-1])]
        if raw.endswith("[]"):
            return {"type": "array", "items": normalize_type(raw[:-2])}
        return raw
    if isinstance(raw, list):
        return [normalize_type(member) for member in raw]
    if isinstance(raw, Mapping):
        kind = raw.get("type")
        if kind == "array":
            return {"type": "array", "items": normalize_type(raw.get("items", "Any"))}
        if kind in ("enum", "record"):
            return dict(raw)
        return normalize_type(kind)
    return "Any"


def _admits_null(kind: Any) -> bool:
    if kind == "null":
        return True
    return isinstance(kind, list) and any(_admits_null(member) for member in kind)


def _secondary_patterns(raw: Any) -> tuple[SecondaryPattern, ...]:
    entries = raw if isinstance(raw, list) else [raw] if raw else []
    patterns = []
    for entry in entries:
        if isinstance(entry, str):
            required = not entry.endswith("?")
            patterns.append(SecondaryPattern(entry.rstrip("?"), required))
        elif isinstance(entry, Mapping) and isinstance(entry.get("pattern"), str):
            required = entry.get("required")
            pattern = entry["pattern"]
            patterns.append(
                SecondaryPattern(
                    pattern.rstrip("?"),
                    bool(required) if required is not None else not pattern.endswith("?"),
                )
            )
    return tuple(patterns)


def app_inputs(document: Mapping[str, Any]) -> dict[str, InputSpec]:
    """The inputs of a CWL process by short id, in document order."""
    raw_inputs = document.get("inputs") or []
    entries: list[tuple[str, Any]] = []
    if isinstance(raw_inputs, Mapping):
        entries = [(str(key), value) for key, value in raw_inputs.items()]
    elif isinstance(raw_inputs, list):
        entries = [
            (str(entry.get("id", "")), entry) for entry in raw_inputs if isinstance(entry, Mapping)
        ]
    specs: dict[str, InputSpec] = {}
    for raw_id, definition in entries:
        if not raw_id:
            continue
        if isinstance(definition, Mapping) and "type" in definition:
            kind = normalize_type(definition.get("type"))
            has_default = definition.get("default") is not None
            secondary = _secondary_patterns(definition.get("secondaryFiles"))
        else:  # the map form's shorthand: ``reads: File``
            kind = normalize_type(definition)
            has_default = False
            secondary = ()
        input_id = short_id(raw_id)
        specs[input_id] = InputSpec(
            id=input_id,
            type=kind,
            optional=has_default or _admits_null(kind),
            secondary_files=secondary,
        )
    return specs


def step_names(document: Mapping[str, Any]) -> list[str]:
    """Top-level step ids of a workflow (empty for a tool)."""
    if document.get("class") != "Workflow":
        return []
    steps = document.get("steps") or []
    if isinstance(steps, Mapping):
        return [short_id(str(name)) for name in steps]
    return [short_id(str(step.get("id", ""))) for step in steps if isinstance(step, Mapping)]


# ---------------------------------------------------------------------------------------------
# Checking values


def is_file_object(value: Any) -> bool:
    return isinstance(value, Mapping) and str(value.get("class", "")).lower() in _FILE_CLASSES


def _type_label(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return " or ".join(_type_label(member) for member in kind)
    if isinstance(kind, Mapping):
        if kind.get("type") == "array":
            return f"array of {_type_label(kind.get('items'))}"
        return str(kind.get("type", "value"))
    return "value"


@dataclass
class _Checker:
    """Walks values against types; collects the file ids it meets and the problems it finds."""

    file_ids: list[str] = field(default_factory=list)

    def accepts(self, kind: Any, value: Any) -> bool:
        """Whether ``value`` fits ``kind``; file references are only collected here."""
        if isinstance(kind, list):
            return any(self.accepts(member, value) for member in kind)
        if isinstance(kind, Mapping):
            shape = kind.get("type")
            if shape == "array":
                return isinstance(value, list) and all(
                    self.accepts(kind.get("items", "Any"), item) for item in value
                )
            if shape == "enum":
                symbols = [short_id(str(symbol)) for symbol in kind.get("symbols") or []]
                return isinstance(value, str) and short_id(value) in symbols
            if shape == "record":
                return isinstance(value, Mapping)
            return True
        if kind == "null":
            return value is None
        if kind == "Any":
            return value is not None
        if kind in ("File", "Directory"):
            if is_file_object(value):
                wanted = _FILE_CLASSES[str(value.get("class")).lower()]
                path = value.get("path") or value.get("location")
                if wanted != kind or not isinstance(path, str) or not path:
                    return False
                self.file_ids.append(path)
                return True
            if isinstance(value, str) and value:
                self.file_ids.append(value)
                return True
            return False
        if kind == "string":
            return isinstance(value, str)
        if kind in ("int", "long"):
            return isinstance(value, int) and not isinstance(value, bool)
        if kind in ("float", "double"):
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool)
        return True  # a named schema type or something newer: leave it to cwltool


def file_kind_of(kind: Any) -> str | None:
    """``File``/``Directory`` when ``kind`` (or its array items) is a file type."""
    if isinstance(kind, list):
        for member in kind:
            found = file_kind_of(member)
            if found:
                return found
        return None
    if isinstance(kind, Mapping) and kind.get("type") == "array":
        return file_kind_of(kind.get("items"))
    return kind if kind in ("File", "Directory") else None


def _readable_project_ids(session: Session, user_id: int) -> set[int]:
    return set(
        session.scalars(
            select(ProjectMember.project_id).where(
                ProjectMember.user_id == user_id, ProjectMember.read.is_(True)
            )
        )
    )


def load_files(session: Session, file_ids: Iterable[str]) -> dict[str, File]:
    wanted = sorted(set(file_ids))
    found: dict[str, File] = {}
    for start in range(0, len(wanted), _SQL_CHUNK):
        chunk = wanted[start : start + _SQL_CHUNK]
        for record in session.scalars(select(File).where(File.id.in_(chunk))):
            found[record.id] = record
    return found


def _stored_value(value: Any, records: Mapping[str, File], expect: str | None) -> Any:
    """The value as the task keeps it: every file reference as a file object with its name."""
    if is_file_object(value) or (expect and isinstance(value, str)):
        file_id = (
            str(value.get("path") or value.get("location")) if isinstance(value, Mapping) else value
        )
        record = records.get(file_id)
        cls = "Directory" if record is not None and record.is_folder else "File"
        stored: dict[str, Any] = {"class": cls, "path": file_id}
        if record is not None:
            stored["name"] = record.name
            if not record.is_folder:
                stored["size"] = record.size
        return stored
    if isinstance(value, list):
        return [_stored_value(item, records, expect) for item in value]
    if isinstance(value, Mapping):
        return {key: _stored_value(item, records, None) for key, item in value.items()}
    return value


@dataclass
class CheckedInputs:
    inputs: dict[str, Any]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    # Every file or folder id that the inputs name (existing and readable ones only).
    file_ids: list[str]


def _problem(code: int | None, input_id: str, message: str) -> dict[str, Any]:
    problem: dict[str, Any] = {"message": message, "input": input_id}
    if code is not None:
        problem["code"] = code
    return problem


def check_inputs(
    session: Session,
    user_id: int,
    specs: Mapping[str, InputSpec],
    raw_inputs: Mapping[str, Any],
    *,
    batch_input: str | None = None,
) -> CheckedInputs:
    """Check ``raw_inputs`` against the app's inputs for a run by ``user_id``.

    With ``batch_input``, that input may hold a list of files even when the app takes one file
    (each batch child gets one file or one group of files).
    """
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    checker = _Checker()
    per_input_files: dict[str, list[str]] = {}
    for input_id, spec in specs.items():
        value = raw_inputs.get(input_id)
        if value is None:
            if not spec.optional:
                errors.append(
                    _problem(MISSING_INPUT, input_id, f"Required input '{input_id}' is not set.")
                )
            continue
        kind = spec.type
        if input_id == batch_input and file_kind_of(kind):
            # Batching splits a list of files over the children: check the elements.
            kind = {"type": "array", "items": file_kind_of(kind)}
            if not isinstance(value, list):
                value = [value]
            if not value:
                errors.append(
                    _problem(INVALID_INPUT, input_id, f"Batch input '{input_id}' holds no files.")
                )
                continue
        before = len(checker.file_ids)
        if not checker.accepts(kind, value):
            errors.append(
                _problem(
                    INVALID_INPUT,
                    input_id,
                    f"Input '{input_id}' expects {_type_label(spec.type)}; "
                    f"the value given does not fit.",
                )
            )
            del checker.file_ids[before:]
            continue
        per_input_files[input_id] = checker.file_ids[before:]
    for input_id in raw_inputs:
        if input_id not in specs:
            warnings.append(
                _problem(
                    None,
                    input_id,
                    f"'{input_id}' is not an input of the app; its value is ignored.",
                )
            )

    records = load_files(session, checker.file_ids)
    readable = _readable_project_ids(session, user_id) if records else set()
    usable: list[str] = []
    for input_id, file_ids in per_input_files.items():
        for file_id in file_ids:
            record = records.get(file_id)
            if record is None or record.project_id not in readable:
                errors.append(
                    _problem(
                        INVALID_INPUT,
                        input_id,
                        f"Input '{input_id}': file '{file_id}' does not exist or cannot be read.",
                    )
                )
                continue
            wanted = file_kind_of(specs[input_id].type)
            if wanted == "File" and record.is_folder:
                errors.append(
                    _problem(
                        INVALID_INPUT,
                        input_id,
                        f"Input '{input_id}' expects a file; '{record.name}' is a folder.",
                    )
                )
            elif wanted == "Directory" and not record.is_folder:
                errors.append(
                    _problem(
                        INVALID_INPUT,
                        input_id,
                        f"Input '{input_id}' expects a folder; '{record.name}' is a file.",
                    )
                )
            else:
                usable.append(file_id)

    stored: dict[str, Any] = {}
    for input_id, value in raw_inputs.items():
        spec = specs.get(input_id)
        expect = file_kind_of(spec.type) if spec is not None else None
        stored[input_id] = _stored_value(value, records, expect)
    return CheckedInputs(inputs=stored, errors=errors, warnings=warnings, file_ids=usable)


# ---------------------------------------------------------------------------------------------
# Resolving for a run


def _secondary_name(primary: str, pattern: str) -> str | None:
    if "$(" in pattern or "${" in pattern:
        return None  # an expression: only cwltool can evaluate it
    name = primary
    while pattern.startswith("^"):
        pattern = pattern[1:]
        stem, dot, _extension = name.rpartition(".")
        if dot:
            name = stem
    return name + pattern


def _folder_children(session: Session, folder: File, depth: int = 0) -> list[InputFile]:
    if depth > 64:
        return []  # a cycle cannot exist, but never recurse without bound
    items = []
    for child in session.scalars(select(File).where(File.parent_id == folder.id)):
        items.append(_input_file(session, child, depth + 1))
    return items


def _input_file(session: Session, record: File, depth: int = 0) -> InputFile:
    if record.is_folder:
        return InputFile(
            file_id=record.id,
            name=record.name,
            is_folder=True,
            children=_folder_children(session, record, depth),
        )
    return InputFile(file_id=record.id, name=record.name, blob_key=record.blob_key)


def resolve_files(
    session: Session,
    specs: Mapping[str, InputSpec],
    inputs: Mapping[str, Any],
) -> dict[str, InputFile]:
    """Every file the inputs name, ready for staging, with secondary files found by pattern
    next to their primary file (same folder)."""
    found: dict[str, InputFile] = {}

    def walk(value: Any, spec: InputSpec | None) -> None:
        if is_file_object(value):
            file_id = str(value.get("path"))
            if file_id in found:
                return
            record = session.get(File, file_id)
            if record is None:
                raise LookupError(f"Input file '{file_id}' no longer exists.")
            item = _input_file(session, record)
            if spec is not None and spec.secondary_files and not record.is_folder:
                item.secondary = _find_secondary(session, record, spec.secondary_files)
            found[file_id] = item
        elif isinstance(value, list):
            for element in value:
                walk(element, spec)
        elif isinstance(value, Mapping):
            for element in value.values():
                walk(element, None)

    for input_id, value in inputs.items():
        spec = specs.get(input_id)
        if spec is not None:
            walk(value, spec)
    return found


def _find_secondary(
    session: Session, primary: File, patterns: Sequence[SecondaryPattern]
) -> list[InputFile]:
    names = [
        name for pattern in patterns if (name := _secondary_name(primary.name, pattern.pattern))
    ]
    if not names:
        return []
    siblings = session.scalars(
        select(File).where(
            File.project_id == primary.project_id,
            File.parent_id == primary.parent_id,
            File.name.in_(names),
        )
    )
    by_name = {record.name: record for record in siblings}
    return [_input_file(session, by_name[name]) for name in names if name in by_name]


def job_order(specs: Mapping[str, InputSpec], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs cwltool gets: only the app's own ids; files as ``{"class", "path": id}``."""

    def plain(value: Any) -> Any:
        if is_file_object(value):
            return {"class": value.get("class"), "path": value.get("path")}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        return value

    return {
        key: plain(value) for key, value in inputs.items() if key in specs and value is not None
    }

"""Task inputs checked against the app's CWL inputs, and resolved for a run.

Inputs arrive as the client serialises them: files as ``{"class": "File", "path": "<file id>"}``
(folders as ``Directory``), or a bare file id where the app expects a file; primitives, arrays
and records as plain JSON. :func:`check_inputs` turns them into the stored form (file objects
with their names) and lists what stops the task from running:

* ``errors`` (code 7012) -- a required input has no value;
* ``errors`` (code 7024) -- a value does not fit the input's type, or it names a file the task
  may not use;
* ``warnings`` -- values for ids the app does not have (they are kept but not passed on).

Which files a task may use (:class:`FileAccess`): files and folders of the task's own project,
and public reference files (files of a PUBLIC project owned by a platform administrator). A file
of another project is refused even when the user can read it there: it has to be copied into
the task's project first, as on the platform. Every file reference in every value counts,
whatever the input's type (:func:`file_references`: records, maps, ``Any``, unions, arrays,
batch inputs, explicit ``secondaryFiles``, a folder's ``listing``). The same check runs again
when a worker starts the task (:func:`resolve_files`), for the user who ran it.

A file object without an id is a *literal* (CWL's file literal, ``{"class": "File", "basename":
"a.txt", "contents": "..."}``, or a folder literal with a ``listing``): cwltool creates it in the
task's work dir, so nothing is read from the project; what it lists is checked like any value.
The CWL fields a file object carries (``format``, ``contents``, ``checksum``, explicit
``secondaryFiles``) reach the job cwltool gets (:func:`job_order`); name and size always come
from the platform's file. Secondary files named by patterns are looked up next to their file
for the input's own ``secondaryFiles``, for the fields of a record input, and, in a workflow,
for the inputs of the steps (inline ``run``) that a workflow input feeds.

An input is optional when its type admits ``null`` (``File?``, ``["null", ...]``) or it has a
default. Types the checker cannot judge (named schema types, expressions) accept any value;
cwltool has the last word when the task runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.execution.base import InputFile
from sevenbridges_local.services import access
from sevenbridges_local.services.apps import is_public_project
from sevenbridges_local.services.files import NAME_MAX_BYTES

MISSING_INPUT = 7012
INVALID_INPUT = 7024

_PRIMITIVES = {"string", "int", "long", "float", "double", "boolean", "null", "Any"}
_FILE_CLASSES = {"file": "File", "directory": "Directory"}
_SQL_CHUNK = 500
# A file literal's ``contents`` (and contents given with a file) are kept in the task's inputs:
# bounded, larger content is uploaded as a file.
LITERAL_CONTENTS_MAX_BYTES = 1024 * 1024
# CWL fields of a file object passed on to cwltool as given.
_CARRIED_FILE_KEYS = ("format", "contents", "checksum")


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
            secondary_files=secondary + _step_patterns(document, input_id, secondary),
        )
    return specs


def _entries(raw: Any, key: str = "id") -> list[tuple[str, Any]]:
    """(short id, definition) of a CWL list-or-map field (``inputs``, ``steps``, ``in``)."""
    if isinstance(raw, Mapping):
        return [(short_id(str(name)), value) for name, value in raw.items()]
    if isinstance(raw, list):
        return [
            (short_id(str(entry.get(key, ""))), entry)
            for entry in raw
            if isinstance(entry, Mapping)
        ]
    return []


def _step_patterns(
    document: Mapping[str, Any], input_id: str, known: tuple[SecondaryPattern, ...]
) -> tuple[SecondaryPattern, ...]:
    """Secondary file patterns that the steps fed directly by workflow input ``input_id``
    declare on their own inputs (steps with an inline ``run``), so those files are staged even
    when the workflow input does not repeat the patterns. Found files are passed on as optional
    ones: only the step's own check decides whether one is required."""
    if document.get("class") != "Workflow":
        return ()
    found: list[SecondaryPattern] = []
    seen = {pattern.pattern for pattern in known}
    for _step_id, step in _entries(document.get("steps")):
        run = step.get("run") if isinstance(step, Mapping) else None
        if not isinstance(run, Mapping):
            continue
        tool_inputs = dict(_entries(run.get("inputs")))
        for in_id, link in _entries(step.get("in")):
            sources = link.get("source") if isinstance(link, Mapping) else link
            names = sources if isinstance(sources, list) else [sources]
            if input_id not in {short_id(str(name)) for name in names if name}:
                continue
            definition = tool_inputs.get(in_id)
            if not isinstance(definition, Mapping):
                continue
            for pattern in _secondary_patterns(definition.get("secondaryFiles")):
                if pattern.pattern not in seen:
                    seen.add(pattern.pattern)
                    found.append(SecondaryPattern(pattern.pattern, False))
    return tuple(found)


def step_names(document: Mapping[str, Any]) -> list[str]:
    """Top-level step ids of a workflow (empty for a tool)."""
    if document.get("class") != "Workflow":
        return []
    steps = document.get("steps") or []
    if isinstance(steps, Mapping):
        return [short_id(str(name)) for name in steps]
    return [short_id(str(step.get("id", ""))) for step in steps if isinstance(step, Mapping)]


# ---------------------------------------------------------------------------------------------
# Checking values against types


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


def _reference_id(value: Mapping[str, Any]) -> str | None:
    raw = value.get("path") or value.get("location")
    return raw if isinstance(raw, str) and raw.strip() else None


def is_literal(value: Any) -> bool:
    """A file object without an id that says what it holds: a File with ``contents``, a
    Directory with a ``listing`` (CWL's literals, created where the task runs)."""
    if not is_file_object(value) or value.get("path") or value.get("location"):
        return False
    if str(value.get("class")).lower() == "file":
        return isinstance(value.get("contents"), str)
    return isinstance(value.get("listing"), list)


def _contents_problem(value: Any) -> str | None:
    """Why a file object anywhere in ``value`` cannot be kept (None: they all can): its
    ``contents`` too large, a ``basename`` that is not a plain name (cwltool creates literals
    and renamed secondary files under it: it must not climb out of its folder), CWL fields of
    the wrong type."""
    pending = [value]
    while pending:
        item = pending.pop()
        if is_file_object(item):
            basename = item.get("basename")
            if basename is not None and (
                not isinstance(basename, str)
                or basename in ("", ".", "..")
                or "/" in basename
                or "\x00" in basename
            ):
                return "a file's 'basename' must be a plain name (no '/', not '.' or '..')"
            for key in ("format", "checksum"):
                if item.get(key) is not None and not isinstance(item[key], str):
                    return f"a file's '{key}' must be a string"
            contents = item.get("contents")
            if contents is not None and not isinstance(contents, str):
                return "a file's 'contents' must be a string"
            if isinstance(contents, str):
                if len(contents.encode("utf-8", "surrogatepass")) > LITERAL_CONTENTS_MAX_BYTES:
                    return (
                        f"a file's 'contents' may hold at most {LITERAL_CONTENTS_MAX_BYTES} "
                        "bytes; upload larger content as a file"
                    )
            for key in ("listing", "secondaryFiles"):
                nested = item.get(key)
                pending.extend(nested if isinstance(nested, list) else [])
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, Mapping):
            pending.extend(item.values())
    return None


class _Checker:
    """Whether values fit CWL types. It judges shapes only: which files a value names is the
    business of :func:`file_references`, whatever the type says."""

    def accepts(self, kind: Any, value: Any) -> bool:
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
                return wanted == kind and (_reference_id(value) is not None or is_literal(value))
            return isinstance(value, str) and bool(value)
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


def _takes_text(kind: Any) -> bool:
    if isinstance(kind, list):
        return any(_takes_text(member) for member in kind)
    if isinstance(kind, Mapping):
        if kind.get("type") == "array":
            return _takes_text(kind.get("items"))
        return kind.get("type") == "enum"
    return kind in ("string", "Any")


def id_kind_of(kind: Any) -> str | None:
    """What a bare string given to an input of type ``kind`` names: a file or folder id where
    the type takes files but no text (``File``, ``File[]``, ``File?``), otherwise None."""
    if _takes_text(kind):
        return None
    return file_kind_of(kind)


# ---------------------------------------------------------------------------------------------
# File references: one walker for every shape of value


@dataclass(frozen=True)
class FileReference:
    """A file or folder that a value names."""

    file_id: str | None  # None: a file object without an id
    cls: str  # "File" or "Directory", as the value names it


def file_references(value: Any, bare_ids: str | None = None) -> Iterator[FileReference]:
    """Every file reference in ``value``, whatever the input's declared type.

    A reference is a file object (``{"class": "File"|"Directory", "path": id}``) anywhere: in
    records and maps, in ``Any`` values, in arrays and unions, and inside another file object
    (its ``secondaryFiles``, a folder's ``listing``). A bare string is a reference only where
    ``bare_ids`` says the input takes file ids (see :func:`id_kind_of`) and in a file object's
    ``secondaryFiles``. Iterative, so no nesting depth can exhaust the stack.
    """
    pending: list[tuple[Any, str | None]] = [(value, bare_ids)]
    while pending:
        item, kind = pending.pop()
        if is_file_object(item):
            if not is_literal(item):  # a literal names no platform file, what it lists may
                yield FileReference(_reference_id(item), _FILE_CLASSES[str(item["class"]).lower()])
            for key, nested in item.items():
                if key not in ("class", "path", "location"):
                    pending.append((nested, "File" if key == "secondaryFiles" else None))
        elif isinstance(item, str):
            if kind is not None:
                yield FileReference(item.strip() or None, kind)
        elif isinstance(item, list):
            pending.extend((element, kind) for element in reversed(item))
        elif isinstance(item, Mapping):
            pending.extend((element, None) for element in reversed(list(item.values())))


class InputNotUsable(LookupError):
    """A task input names a file the task may not use (or the runner may no longer run it)."""


def load_files(session: Session, file_ids: Iterable[str]) -> dict[str, File]:
    wanted = sorted(set(file_ids))
    found: dict[str, File] = {}
    for start in range(0, len(wanted), _SQL_CHUNK):
        chunk = wanted[start : start + _SQL_CHUNK]
        for record in session.scalars(select(File).where(File.id.in_(chunk))):
            found[record.id] = record
    return found


def project_label(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


def is_public_reference(project: Project) -> bool:
    """Files every task may use: those of public projects (category PUBLIC, owned by a platform
    administrator), the same projects whose apps everyone sees."""
    return is_public_project(project)


class FileAccess:
    """Which files a task of project ``project_id`` may use, as seen by ``user_id``.

    A task uses files of its own project, and public reference files; nothing else, even when
    the user can read the file elsewhere (the platform's rule: copy it into the project first).
    The user only decides how a refusal is worded: a project the user is a member of is named,
    any other file "does not exist or cannot be read", so ids reveal nothing to strangers.
    """

    def __init__(self, session: Session, project_id: int, user_id: int | None) -> None:
        self.session = session
        self.project_id = project_id
        self.user_id = user_id

    @cached_property
    def member_of(self) -> set[int]:
        """The user's projects; only looked up when a file of another project turns up."""
        if self.user_id is None:
            return set()
        return set(self.session.scalars(access.project_ids(self.user_id)))

    def problem(self, ref: FileReference, record: File | None) -> str | None:
        """Why the task may not use ``ref`` (None: it may)."""
        what = "folder" if ref.cls == "Directory" else "file"
        if ref.file_id is None:
            return f"a {what} object needs the {what}'s id in 'path'"
        if record is None:
            return f"{what} '{ref.file_id}' does not exist or cannot be read"
        if record.project_id != self.project_id and not is_public_reference(record.project):
            if record.project_id not in self.member_of:
                return f"{what} '{ref.file_id}' does not exist or cannot be read"
            return (
                f"{what} '{ref.file_id}' is in project '{project_label(record.project)}'; "
                "a task can only use files of its own project (copy it first)"
            )
        if len(record.name.encode("utf-8")) > NAME_MAX_BYTES:  # stored before names were bounded
            return (
                f"{what} '{ref.file_id}' has a name longer than {NAME_MAX_BYTES} bytes, which no "
                "file system can stage; rename it first"
            )
        if ref.cls == "File" and record.is_folder:
            return f"'{record.name}' ({ref.file_id}) is a folder, not a file"
        if ref.cls == "Directory" and not record.is_folder:
            return f"'{record.name}' ({ref.file_id}) is a file, not a folder"
        return None


# Keys of a file object that the stored form sets itself.
_STORED_FILE_KEYS = frozenset({"class", "path", "location", "name", "size"})


def _stored_value(value: Any, records: Mapping[str, File], bare_ids: str | None) -> Any:
    """The value as the task keeps it: every file reference as a file object; name and size
    only for files the task may use (``records``), so refused ids reveal nothing.

    Whatever else a file object holds (``secondaryFiles``, a folder's ``listing``) is kept, so
    every later check sees the same references as the first one. Explicit secondary files are
    staged next to their file; a folder's content is always the platform folder's.
    """
    if is_file_object(value) or (bare_ids and isinstance(value, str)):
        if isinstance(value, Mapping):
            file_id = _reference_id(value)
            cls = _FILE_CLASSES[str(value.get("class")).lower()]
        else:
            file_id, cls = value.strip() or None, bare_ids
        stored: dict[str, Any] = {"class": cls}
        if file_id is not None or not is_literal(value):
            stored["path"] = file_id
        record = records.get(file_id) if file_id else None
        if record is not None:
            stored["name"] = record.name
            if not record.is_folder:
                stored["size"] = record.size
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key not in _STORED_FILE_KEYS:
                    extra_ids = "File" if key == "secondaryFiles" else None
                    stored[key] = _stored_value(item, records, extra_ids)
        return stored
    if isinstance(value, list):
        return [_stored_value(item, records, bare_ids) for item in value]
    if isinstance(value, Mapping):
        return {key: _stored_value(item, records, None) for key, item in value.items()}
    return value


@dataclass
class CheckedInputs:
    inputs: dict[str, Any]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    # Every file or folder id that the app's inputs name and the task may use.
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
    project_id: int,
    batch_input: str | None = None,
) -> CheckedInputs:
    """Check ``raw_inputs`` against the app's inputs for a task of project ``project_id``,
    created or run by ``user_id``.

    Every file reference in every value is checked with :class:`FileAccess`, whatever the
    input's type. With ``batch_input``, that input may hold a list of files even when the app
    takes one file (each batch child gets one file or one group of files).
    """
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    checker = _Checker()
    references: dict[str, list[FileReference]] = {}
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
        if not checker.accepts(kind, value):
            errors.append(
                _problem(
                    INVALID_INPUT,
                    input_id,
                    f"Input '{input_id}' expects {_type_label(spec.type)}; "
                    f"the value given does not fit.",
                )
            )
            continue
        contents_problem = _contents_problem(value)
        if contents_problem is not None:
            errors.append(
                _problem(INVALID_INPUT, input_id, f"Input '{input_id}': {contents_problem}.")
            )
            continue
        references[input_id] = list(file_references(value, id_kind_of(kind)))
    for input_id in raw_inputs:
        if input_id not in specs:
            warnings.append(
                _problem(
                    None,
                    input_id,
                    f"'{input_id}' is not an input of the app; its value is ignored.",
                )
            )

    records = load_files(
        session, (ref.file_id for refs in references.values() for ref in refs if ref.file_id)
    )
    access = FileAccess(session, project_id, user_id)
    usable: dict[str, File] = {}
    for input_id, refs in references.items():
        for ref in refs:
            record = records.get(ref.file_id) if ref.file_id else None
            reason = access.problem(ref, record)
            if reason is not None:
                errors.append(_problem(INVALID_INPUT, input_id, f"Input '{input_id}': {reason}."))
            elif record is not None:
                usable[record.id] = record

    stored: dict[str, Any] = {}
    for input_id, value in raw_inputs.items():
        spec = specs.get(input_id)
        bare_ids = id_kind_of(spec.type) if spec is not None else None
        stored[input_id] = _stored_value(value, usable, bare_ids)
    return CheckedInputs(inputs=stored, errors=errors, warnings=warnings, file_ids=list(usable))


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
    children = select(File).where(File.parent_id == folder.id, File.project_id == folder.project_id)
    for child in session.scalars(children):
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


def check_runner(session: Session, project_id: int, user_id: int | None) -> None:
    """The user who runs a task may still do so: an enabled account with the ``execute``
    permission on the task's project (:class:`InputNotUsable` otherwise)."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or user.disabled:
        raise InputNotUsable("The account of the user who ran the task is disabled or gone.")
    membership = access.project_access(session, project_id, user.id)
    if membership is None or not membership.execute:
        project = session.get(Project, project_id)
        label = project_label(project) if project is not None else str(project_id)
        raise InputNotUsable(
            f"{user.username} no longer has the 'execute' permission on project '{label}'."
        )


def resolve_files(
    session: Session,
    specs: Mapping[str, InputSpec],
    inputs: Mapping[str, Any],
    *,
    project_id: int,
    user_id: int | None,
) -> dict[str, InputFile]:
    """Every file the inputs name, ready for staging, for a task of ``project_id`` run by
    ``user_id``: secondary files given explicitly, or found by pattern next to their primary
    file (same folder, so same project).

    The inputs are checked again first, exactly as when the task was created: files and
    memberships may have changed since. A file that fails the check is never resolved;
    :class:`InputNotUsable` says why.
    """
    check_runner(session, project_id, user_id)
    used = {input_id: value for input_id, value in inputs.items() if input_id in specs}
    references = [
        (input_id, ref)
        for input_id, value in used.items()
        for ref in file_references(value, id_kind_of(specs[input_id].type))
    ]
    records = load_files(session, (ref.file_id for _, ref in references if ref.file_id))
    access = FileAccess(session, project_id, user_id)
    cleared: set[str] = set()
    for input_id, ref in references:
        record = records.get(ref.file_id) if ref.file_id else None
        reason = access.problem(ref, record)
        if reason is not None:
            raise InputNotUsable(f"Input '{input_id}': {reason}.")
        assert record is not None
        cleared.add(record.id)

    found: dict[str, InputFile] = {}

    def resolved(value: Mapping[str, Any]) -> File:
        file_id = _reference_id(value)
        if file_id not in cleared:  # the walkers above and here disagree: refuse, never guess
            raise InputNotUsable(f"Input file '{file_id}' was not checked; it is not used.")
        return records[file_id]

    def walk(value: Any, kind: Any, patterns: Sequence[SecondaryPattern]) -> None:
        if is_literal(value):
            # Created by cwltool; the platform files it lists are staged like any input.
            for key in ("listing", "secondaryFiles"):
                for nested in value.get(key) or []:
                    walk(nested, None, ())
            return
        if is_file_object(value):
            record = resolved(value)
            if record.id in found:
                return
            item = _input_file(session, record)
            if not record.is_folder:
                for extra in value.get("secondaryFiles") or []:
                    if is_file_object(extra) and not is_literal(extra):
                        item.secondary.append(_input_file(session, resolved(extra)))
                if patterns:
                    given = {extra.file_id for extra in item.secondary}
                    item.secondary.extend(
                        extra
                        for extra in _find_secondary(session, record, patterns)
                        if extra.file_id not in given
                    )
            found[record.id] = item
        elif isinstance(value, list):
            items = _array_items(kind)
            for element in value:
                walk(element, items, patterns)
        elif isinstance(value, Mapping):
            fields = _record_fields(kind)
            for key, element in value.items():
                field_kind, field_patterns = fields.get(key, (None, ()))
                walk(element, field_kind, field_patterns)

    for input_id, value in used.items():
        spec = specs[input_id]
        walk(value, spec.type, spec.secondary_files)
    return found


def _array_items(kind: Any) -> Any:
    """The item type of the array type in ``kind`` (a union may hold one), else None."""
    if isinstance(kind, list):
        for member in kind:
            found = _array_items(member)
            if found is not None:
                return found
        return None
    if isinstance(kind, Mapping) and kind.get("type") == "array":
        return kind.get("items")
    return None


def _record_fields(kind: Any) -> dict[str, tuple[Any, tuple[SecondaryPattern, ...]]]:
    """Field name -> (type, secondary file patterns) of the record type in ``kind``."""
    if isinstance(kind, list):
        for member in kind:
            found = _record_fields(member)
            if found:
                return found
        return {}
    if not isinstance(kind, Mapping) or kind.get("type") != "record":
        return {}
    fields: dict[str, tuple[Any, tuple[SecondaryPattern, ...]]] = {}
    for name, definition in _entries(kind.get("fields"), key="name"):
        if isinstance(definition, Mapping) and "type" in definition:
            fields[name] = (
                normalize_type(definition.get("type")),
                _secondary_patterns(definition.get("secondaryFiles")),
            )
        else:
            fields[name] = (normalize_type(definition), ())
    return fields


def _find_secondary(
    session: Session, primary: File, patterns: Sequence[SecondaryPattern]
) -> list[InputFile]:
    """Files next to ``primary`` named by the patterns; only ever from its own folder, so from
    the project the task may use."""
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
    """The inputs cwltool gets: only the app's own ids; files as ``{"class", "path": id}`` with
    the CWL fields they carry (``format``, ``contents``, ``checksum``); literals whole, with
    what they list. Secondary files with ids reach cwltool through the staged files
    (:class:`InputFile.secondary`); the explicit ones are listed here too, for their
    ``basename`` and for literals."""

    def secondary(value: Mapping[str, Any]) -> Any:
        """An explicit secondary file: a literal whole; one with an id keeps the ``basename``
        it is to be staged under (a folder ``testdir`` given as ``xtestdir``)."""
        result = plain(value)
        if not is_literal(value) and isinstance(value.get("basename"), str):
            result["basename"] = value["basename"]
        return result

    def plain(value: Any) -> Any:
        if is_file_object(value):
            cls = _FILE_CLASSES[str(value.get("class")).lower()]
            result: dict[str, Any] = {"class": cls}
            literal = is_literal(value)
            if not literal:
                result["path"] = value.get("path")
            elif isinstance(value.get("basename"), str):
                result["basename"] = value["basename"]
            for key in _CARRIED_FILE_KEYS:
                if value.get(key) is not None:
                    result[key] = value[key]
            extras = [item for item in value.get("secondaryFiles") or [] if is_file_object(item)]
            if extras:
                result["secondaryFiles"] = [secondary(item) for item in extras]
            if literal and cls == "Directory":
                result["listing"] = [plain(item) for item in value.get("listing") or []]
            return result
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        return value

    return {
        key: plain(value) for key, value in inputs.items() if key in specs and value is not None
    }

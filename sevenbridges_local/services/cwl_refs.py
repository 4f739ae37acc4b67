"""Finding what an app document names outside itself: files, URLs, other documents.

An installed app runs on the platform's machine, and both cwltool's loader and cwltool itself
follow what a CWL document names: ``$include``/``$import`` targets are read, ``run: tool.cwl``
is loaded, a ``File`` literal's ``location`` is staged for the tool, and every link the loader
cannot resolve inside the document is checked with a file-system lookup or an HTTP ``HEAD``.
So a document could read the server's files (``DATA_DIR/secret.key``, ``platform.db``), write
outside the task's directory, or make the server send requests. This module walks the plain
document, before any loader sees it, and lists every such reference with a JSON-pointer-like
path (``inputs.reference.default.location``, ``steps.align.run``, ``inputs[2].default``).

Refused, anywhere in the document (inline step processes included):

- loader directives: ``$include``, ``$import``, ``$mixin``, ``$base``, ``$profile``,
  ``$schemas``; ``$namespaces`` values that are not ``http(s)``/``urn`` URIs;
- ``location`` and ``path`` (File and Directory literals: defaults, step defaults,
  ``InitialWorkDirRequirement`` listings, ``secondaryFiles`` and ``listing`` of literals), and
  literal names (``basename``, ``entryname``) that climb out of their folder;
- ``run`` given as a string (a file name, a path or a URL); inline ``run`` objects are walked,
  and a fragment (``run: '#tool'``, a process of the same packed ``$graph``) stays inside;
- ``class`` names that resolve to a URL outside the known CWL extension namespaces (cwltool
  checks unknown classes with a ``HEAD`` request), also through an identifier (``id``,
  ``name``) that is such a URL, since names below an identifier resolve against it;
- ``secondaryFiles`` patterns with a ``/``, output ``glob`` and ``stdin``/``stdout``/``stderr``
  paths that are absolute or contain ``..``, ``DockerRequirement.dockerLoad``/``dockerImport``.

Under extension fields (``sbg:suggestedValue`` and the like, which cwltool never stages) only
references that point outside are refused, so plain file ids there stay acceptable.

Not checked: expressions (``$(...)``, ``${...}``) compute values at run time; a tool's command
runs on the machine in any case. Both are the task sandbox's business, not the document's.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Fields the loader accepts in map form ({key: value}); their keys are ids, not field names.
# ``hints`` and ``requirements`` are keyed by class.
_ID_MAPS = frozenset(
    {"inputs", "outputs", "steps", "in", "fields", "envDef", "packages", "hints", "requirements"}
)
_CLASS_MAPS = frozenset({"hints", "requirements"})
_DIRECTIVES = ("$include", "$import", "$mixin")
_BASE_DIRECTIVES = ("$base", "$profile")
_LITERAL_CLASSES = frozenset({"File", "Directory"})
_CWL_PREFIXES = ("cwl:", "https://w3id.org/cwl/cwl#")
# Hosts of the namespaces whose extension classes cwltool may look up; a document must not
# choose the host the runner sends requests to.
_KNOWN_HOSTS = (
    "w3id.org",
    "commonwl.org",
    "sevenbridges.com",
    "sbgenomics.com",
    "arvados.org",
    "schema.org",
    "edamontology.org",
)
# The classes a CWL v1.0-v1.2 document may name without a prefix (resolved by the loader's
# vocabulary, never looked up).
CWL_CLASSES = frozenset(
    {
        "CommandLineTool",
        "Workflow",
        "ExpressionTool",
        "Operation",
        "File",
        "Directory",
        "Dirent",
        "InlineJavascriptRequirement",
        "SchemaDefRequirement",
        "DockerRequirement",
        "SoftwareRequirement",
        "InitialWorkDirRequirement",
        "EnvVarRequirement",
        "ShellCommandRequirement",
        "ResourceRequirement",
        "SubworkflowFeatureRequirement",
        "ScatterFeatureRequirement",
        "MultipleInputFeatureRequirement",
        "StepInputExpressionRequirement",
        "LoadListingRequirement",
        "InplaceUpdateRequirement",
        "ToolTimeLimit",
        "WorkReuse",
        "NetworkAccess",
    }
)
# Schemes of places the loader or cwltool would read from (beyond http and https).
_PLACE_SCHEMES = frozenset({"file", "ftp", "ftps", "sftp", "s3", "gs", "data", "keep"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_SEPARATORS = re.compile(r"[\\/]")
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_-]*")
_PLAIN_KEY = re.compile(r"[^.\[\]\s\"']+")
_TARGET_MAX = 200
_MESSAGE_MAX = 1500

_FILES_ADVICE = "files must be given as task inputs or as literals with 'contents'."
_RUN_ADVICE = (
    "embed the step's tool or workflow in 'run' as an object (pack the workflow, for "
    "example with sbpack)."
)
_INCLUDE_ADVICE = "put the content in the document itself (no $include, $import or $mixin)."
_BASE_ADVICE = "remove it: references must resolve inside the app document."
_SCHEMAS_ADVICE = "the platform does not load ontologies: remove '$schemas'."
_NAMESPACE_ADVICE = "a namespace must be an http(s) or urn URI that only names things."
_CLASS_ADVICE = (
    "cwltool would look it up over the network; use a CWL class or an extension class of a "
    "known namespace (sbg, cwltool, arv)."
)
_ID_ADVICE = (
    "names below an identifier resolve against it: use a relative identifier such as 'main' "
    "or '#step1', or a known class."
)
_PATTERN_ADVICE = "a secondary file pattern is a name suffix such as '.bai' or '^.bai'."
_GLOB_ADVICE = "globs must be relative to the output directory, without '..'."
_STREAM_ADVICE = "use a file name relative to the task's working directory, without '..'."
_DOCKER_ADVICE = "the platform does not load images from files or URLs: use dockerPull."
_NAME_ADVICE = "names of literal files and directories must not contain '/' or be '.' or '..'."
_ENTRYNAME_ADVICE = "an entry name must stay inside the task's working directory (no '..')."


@dataclass(frozen=True)
class OutsideReference:
    """One reference to something outside the document."""

    field: str  # JSON-pointer-like path, e.g. inputs.reference.default.location
    target: str  # what it names, shortened for messages
    verb: str  # "points outside the app document", ...
    advice: str

    @property
    def message(self) -> str:
        return f"App refused: {self.field} {self.verb} ({self.target}); {self.advice}"


def find_outside_references(document: Any) -> list[OutsideReference]:
    """Every reference of ``document`` to something outside it, in document order."""
    return _Walker(_all_namespaces(document)).walk(document)


def problem(document: Any) -> str | None:
    """The message refusing ``document``, or None when it is self-contained."""
    found = find_outside_references(document)
    if not found:
        return None
    message = found[0].message
    if len(found) > 1:
        others = ", ".join(item.field for item in found[1:4])
        more = "" if len(found) <= 4 else f" and {len(found) - 4} more"
        message += f" Other references outside the app: {others}{more}."
    if len(message) > _MESSAGE_MAX:  # field names can be as long as a document's keys
        message = message[: _MESSAGE_MAX - 3] + "..."
    return message


def without_foreign_hints(document: Any) -> tuple[Any, list[str]]:
    """``document`` without the hints whose class lies outside the known namespaces, and the
    dropped classes (``ex:FakeRequirement``).

    cwltool ignores a hint it does not know, but its loader first sends a ``HEAD`` request to
    the class's URL; dropped before the loader sees the document, such a hint costs nothing.
    The same class under ``requirements`` stays refused (cwltool would fail on it anyway).
    The document is copied only when something is dropped; the stored app keeps its hints.
    """
    walker = _Walker(_all_namespaces(document))
    dropped = _drop_foreign_hints(walker, document, mutate=False)
    if not dropped:
        return document, []
    copied = copy.deepcopy(document)
    _drop_foreign_hints(walker, copied, mutate=True)
    return copied, dropped


def _drop_foreign_hints(walker: _Walker, document: Any, *, mutate: bool) -> list[str]:
    def foreign(kind: Any) -> bool:
        return (
            isinstance(kind, str)
            and bool(_SCHEME.match(kind))
            and (walker._outside_url(kind) is not None)
        )

    dropped: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        hints = node.get("hints")
        if isinstance(hints, list):
            gone = [h for h in hints if isinstance(h, Mapping) and foreign(h.get("class"))]
            dropped.extend(str(h["class"]) for h in gone)
            if mutate and gone:
                node["hints"] = [h for h in hints if not any(h is g for g in gone)]
        elif isinstance(hints, dict):
            gone_keys = [key for key in hints if foreign(key)]
            dropped.extend(str(key) for key in gone_keys)
            if mutate:
                for key in gone_keys:
                    del hints[key]
        # Extension fields (``sbg:...``) are metadata cwltool never loads as processes.
        stack.extend(value for key, value in node.items() if ":" not in str(key))
    return dropped


# ---------------------------------------------------------------------------------------------
# Helpers


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > _TARGET_MAX:
        text = text[: _TARGET_MAX - 3] + "..."
    return repr(text)


def _field_path(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(document)"


def _is_expression(value: str) -> bool:
    return "$(" in value or "${" in value


def _segments(value: str) -> list[str]:
    return _SEPARATORS.split(value)


def _climbs(value: str) -> bool:
    """Absolute, home-relative or with a '..' segment: a path that leaves its folder."""
    return (
        value.startswith(("/", "\\", "~"))
        or bool(_WINDOWS_DRIVE.match(value))
        or ".." in _segments(value)
    )


def _escapes(value: str) -> bool:
    """A link value that reaches outside the document: a URL, a prefixed name, a climbing path."""
    return _climbs(value) or _SCHEME.match(value) is not None


def _scheme_of(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    match = _SCHEME.match(value)
    return match.group(0)[:-1].lower() if match else ""


def _all_namespaces(document: Any) -> dict[str, set[str]]:
    """Every ``$namespaces`` prefix of the document (the loader honours nested ones too)."""
    found: dict[str, set[str]] = {}
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            declared = node.get("$namespaces")
            if isinstance(declared, Mapping):
                for prefix, uri in declared.items():
                    if isinstance(uri, str):
                        found.setdefault(str(prefix), set()).add(uri)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _known_place(url: str) -> bool:
    """An http(s) URL on one of the known namespace hosts."""
    try:
        split = urllib.parse.urlsplit(url)
        host = (split.hostname or "").lower()
    except ValueError:  # malformed authority (bad port, bracket): never trusted
        return False
    if split.scheme.lower() not in ("http", "https"):
        return False
    return any(host == known or host.endswith("." + known) for known in _KNOWN_HOSTS)


def _names_only(url: str) -> bool:
    """True when the loader can only treat ``url`` as a name, never as a place to look up."""
    if _known_place(url):
        return True
    scheme = _scheme_of(url)
    if scheme in ("http", "https") or scheme in _PLACE_SCHEMES:
        return False
    # Other schemes (urn:, an undeclared prefix): cwltool reports an unsupported scheme rather
    # than looking them up, unless they carry an authority ('x://host/...').
    return not url[len(scheme) + 1 :].startswith("//")


def _literal_class(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    for prefix in _CWL_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix) :]
    return value if value in _LITERAL_CLASSES else None


@dataclass(frozen=True)
class _Place:
    node: Any
    path: tuple[str | int, ...]
    extension: bool  # below an extension field (``sbg:...``): metadata cwltool never stages
    outside_base: str | None  # an enclosing identifier that resolves outside the document
    top: bool = False


class _Walker:
    """Walks the document with an explicit stack (documents can nest deeper than Python can)."""

    def __init__(self, namespaces: dict[str, set[str]]) -> None:
        self.namespaces = namespaces

    def walk(self, document: Any) -> list[OutsideReference]:
        found: list[OutsideReference] = []
        stack = [_Place(document, (), extension=False, outside_base=None, top=True)]
        while stack:
            place = stack.pop()
            if isinstance(place.node, list):
                children = [
                    _Place(item, place.path + (index,), place.extension, place.outside_base)
                    for index, item in enumerate(place.node)
                ]
            elif isinstance(place.node, Mapping):
                children = self._mapping(place, found)
            else:
                continue
            stack.extend(reversed(children))
        return found

    # --- what a name resolves to ---------------------------------------------------------------
    def _outside_url(self, value: str) -> str | None:
        """What ``value`` resolves to when that is a place not on a known host, else None."""
        if not _SCHEME.match(value) or _WINDOWS_DRIVE.match(value):
            return None
        prefix, _, rest = value.partition(":")
        if prefix not in self.namespaces:
            return None if _names_only(value) else value
        for namespace in sorted(self.namespaces[prefix]):
            # A known namespace may end with its host name ('https://sevenbridges.com'): a
            # plain local name then only lengthens that host's top-level label.
            if _known_place(namespace) and _LOCAL_NAME.fullmatch(rest):
                continue
            if not _names_only(namespace + rest):
                return namespace + rest
        return None

    # --- one mapping ---------------------------------------------------------------------------
    def _mapping(self, place: _Place, found: list[OutsideReference]) -> list[_Place]:
        node: Mapping[Any, Any] = place.node
        path, extension, outside_base = place.path, place.extension, place.outside_base

        def ref(keys: tuple[str | int, ...], value: Any, verb: str, advice: str) -> None:
            found.append(OutsideReference(_field_path(path + keys), _show(value), verb, advice))

        outside = "points outside the app document"
        for key in _DIRECTIVES:
            if key in node:
                ref((key,), node[key], outside, _INCLUDE_ADVICE)
        for key in _BASE_DIRECTIVES:
            if key in node:
                ref((key,), node[key], "moves the document's base", _BASE_ADVICE)
        if node.get("$schemas"):
            ref(("$schemas",), node["$schemas"], outside, _SCHEMAS_ADVICE)
        declared = node.get("$namespaces")
        if isinstance(declared, Mapping):
            for prefix, uri in declared.items():
                if _scheme_of(uri) not in ("http", "https", "urn"):
                    keys = ("$namespaces", str(prefix))
                    ref(keys, uri, "is not a namespace URI", _NAMESPACE_ADVICE)

        # An identifier is the base URL of the references below it. The document's own id is
        # replaced while validating and dropped when the app runs.
        for key in ("name",) if place.top else ("id", "name"):
            value = node.get(key)
            if isinstance(value, str) and outside_base is None:
                outside_base = value if _climbs(value) else self._outside_url(value)

        kind = node.get("class")
        # Under an extension field (``dct:creator: {class: foaf:Person}``) a class is an
        # annotation's RDF type: the loader neither validates nor looks it up.
        if isinstance(kind, str) and not extension:
            self._class(kind, path + ("class",), outside_base, found)

        # Under extension fields only what leaves the document counts (cwltool never stages
        # those files); everywhere else any location, path or run file name is refused.
        for key in ("location", "path", "run"):
            if key not in node:
                continue
            value = node[key]
            if key == "run" and not isinstance(value, str):
                continue  # an inline process, walked below
            if key == "run" and value.startswith("#") and not outside_base:
                continue  # another process of the same (packed) document
            relaxed = extension and isinstance(value, str)
            if not relaxed or _escapes(value) or outside_base:
                ref((key,), value, outside, _RUN_ADVICE if key == "run" else _FILES_ADVICE)

        if _literal_class(kind) is not None:
            for key in ("basename", "nameroot", "nameext"):
                value = node.get(key)
                if isinstance(value, str) and not _is_expression(value):
                    if value in (".", "..") or _SEPARATORS.search(value):
                        ref((key,), value, "is not a plain name", _NAME_ADVICE)
        if not extension:
            self._runtime_paths(node, ref)

        children = []
        for raw_key, value in node.items():
            key = str(raw_key)
            inner = extension or (":" in key and not key.startswith("$"))
            if key in _ID_MAPS and isinstance(value, Mapping):
                for entry_id, entry in value.items():
                    entry_path = path + (key, str(entry_id))
                    if key in _CLASS_MAPS and not inner:
                        self._class(str(entry_id), entry_path, outside_base, found)
                    children.append(_Place(entry, entry_path, inner, outside_base))
            else:
                children.append(_Place(value, path + (key,), inner, outside_base))
        return children

    def _class(
        self,
        value: str,
        path: tuple[str | int, ...],
        outside_base: str | None,
        found: list[OutsideReference],
    ) -> None:
        if _SCHEME.match(value):
            target = self._outside_url(value)
        elif value in CWL_CLASSES:
            target = None
        else:
            target = outside_base  # an unknown plain name resolves against the identifier
        if target is None:
            return
        advice = _CLASS_ADVICE
        if target is outside_base:
            shown, advice = f"{_show(value)} under the identifier {_show(target)}", _ID_ADVICE
        elif target != value:
            shown = f"{_show(value)}, that is {_show(target)}"
        else:
            shown = _show(value)
        verb = "names a class outside the app"
        found.append(OutsideReference(_field_path(path), shown, verb, advice))

    @staticmethod
    def _runtime_paths(node: Mapping[Any, Any], ref: Callable[..., None]) -> None:
        """Paths cwltool follows when it runs the tool (CWL fields, not extensions)."""
        patterns = node.get("secondaryFiles")
        entries = patterns if isinstance(patterns, list) else [patterns]
        for index, entry in enumerate(entries):
            keys: tuple[str | int, ...] = ("secondaryFiles",)
            if isinstance(patterns, list):
                keys += (index,)
            if isinstance(entry, Mapping) and "class" not in entry:
                entry, keys = entry.get("pattern"), keys + ("pattern",)
            if isinstance(entry, str) and not _is_expression(entry) and _SEPARATORS.search(entry):
                ref(keys, entry, "reaches outside the file's folder", _PATTERN_ADVICE)

        globs = node.get("glob")
        for index, value in enumerate(globs if isinstance(globs, list) else [globs]):
            if isinstance(value, str) and not _is_expression(value) and _climbs(value):
                keys = ("glob", index) if isinstance(globs, list) else ("glob",)
                ref(keys, value, "points outside the output directory", _GLOB_ADVICE)

        for key in ("stdin", "stdout", "stderr"):
            value = node.get(key)
            if isinstance(value, str) and not _is_expression(value) and _climbs(value):
                ref((key,), value, "points outside the working directory", _STREAM_ADVICE)

        entryname = node.get("entryname")
        if isinstance(entryname, str) and not _is_expression(entryname):
            if ".." in _segments(entryname):
                verb = "points outside the working directory"
                ref(("entryname",), entryname, verb, _ENTRYNAME_ADVICE)

        for key in ("dockerLoad", "dockerImport"):
            if key in node:
                ref((key,), node[key], "points outside the app document", _DOCKER_ADVICE)

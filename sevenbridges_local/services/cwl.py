"""Reading and validating CWL documents with the reference implementation's loader (cwltool).

Apps are validated the way ``cwltool --validate`` would, with restrictions that suit a server:
documents must be self-contained, and nothing is ever fetched while validating. Every reference
to something outside the document (``$include``, ``$import``, ``run: tool.cwl``, a File
``location``, ...) is refused by :mod:`cwl_refs` before the loader sees the document; the loader
itself is configured so it could not follow one anyway (its fetcher serves only what is in
memory, no tool resolver, no document cache on disk, ``$schemas`` never downloaded), and no
container image is ever pulled. cwltool is imported on first use and its loading context (the
parsed CWL schemas) is built once and reused, so after the first call validating a small tool
takes a few milliseconds.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sevenbridges_local import json_numbers
from sevenbridges_local.services import cwl_refs, cwl_schemas

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("v1.0", "v1.1", "v1.2")
PROCESS_CLASSES = ("CommandLineTool", "Workflow", "ExpressionTool")
# The id of the process a packed (``$graph``) document runs.
GRAPH_MAIN = "main"
SBG_NAMESPACE = "https://sevenbridges.com"

# Longest error message handed back to a client; loader messages can list whole schemas.
MAX_MESSAGE_LENGTH = 1500
# Guards against YAML alias bombs: a document this large is not a plausible app.
MAX_DOCUMENT_NODES = 500_000

# The in-memory document gets this URI while it is validated; it never exists on disk.
_VALIDATION_BASE = "file:///sbg-local-app/"
_VALIDATION_URI = _VALIDATION_BASE + "app.cwl"

# Only plain CWL draft-2 gets here: sbg:draft-2 apps are translated first (services.apps).
_DRAFT2_ADVICE = (
    "cwlVersion 'draft-2' is not supported (Seven Bridges apps declare 'sbg:draft-2', which is): "
    "upgrade the app to CWL v1.x first, for example with sbg_cwl_upgrader "
    "(pip install sevenbridges-cwl-draft2-upgrader) or sbpack, then install the upgraded document."
)
_PRE_V1_ADVICE = (
    "cwlVersion {version!r} is not supported: upgrade the document to CWL v1.x first, for "
    "example with cwl-upgrader (pip install cwl-upgrader), then install the upgraded document."
)


class CwlError(ValueError):
    """A document that is not a valid app; ``message`` says what is wrong, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedDocument:
    version: str
    process_class: str


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_text(text: str) -> Any:
    """A YAML or JSON text (JSON is YAML 1.2) as plain Python data."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _number_keeping_constructor()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        problem = clean_message(str(exc))
        raise CwlError(f"The app description is neither valid JSON nor valid YAML: {problem}")
    except ValueError as exc:  # e.g. duplicate keys are reported as ValueError subclasses
        raise CwlError(f"The app description could not be parsed: {clean_message(str(exc))}")
    except RecursionError:  # block-style YAML nests by indentation, which no bracket count sees
        raise CwlError("The app description is nested too deeply.")
    _check_size(document)
    return document


_constructor: type | None = None


def _number_keeping_constructor() -> type:
    """ruamel's safe constructor, but floats keep their written form (:mod:`json_numbers`)."""
    global _constructor
    if _constructor is None:
        from ruamel.yaml.constructor import SafeConstructor

        class NumberKeepingConstructor(SafeConstructor):
            def construct_yaml_float(self, node: Any) -> Any:
                number = super().construct_yaml_float(node)
                text = json_numbers.json_form(str(node.value))
                if text is None or not math.isfinite(number) or float(text) != number:
                    return number
                return json_numbers.JsonFloat(text)

        NumberKeepingConstructor.add_constructor(
            "tag:yaml.org,2002:float", NumberKeepingConstructor.construct_yaml_float
        )
        _constructor = NumberKeepingConstructor
    return _constructor


def to_yaml(document: Mapping[str, Any]) -> str:
    """Block-style YAML of a JSON-like document, keys in their stored order."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the document's own key order
    yaml.width = 4096  # no folding of long lines: commands and expressions stay readable
    yaml.representer.add_representer(str, _represent_text)
    yaml.representer.add_representer(json_numbers.JsonFloat, _represent_number)
    buffer = io.StringIO()
    yaml.dump(_plain(document), buffer)
    return buffer.getvalue()


def _represent_text(representer: Any, text: str) -> Any:
    # Multi-line text (scripts, docs) as literal blocks rather than one escaped line.
    style = "|" if "\n" in text else None
    return representer.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_number(representer: Any, number: json_numbers.JsonFloat) -> Any:
    # Every JSON number is a YAML 1.2 float as written; a text without '.' or exponent would
    # read back as an integer, which a float is not.
    text = number.text if any(mark in number.text for mark in ".eE") else number.text + ".0"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _check_size(document: Any) -> None:
    """Count nodes with an early exit: shared (aliased) subtrees count every time they appear."""
    budget = MAX_DOCUMENT_NODES
    pending = [document]
    while pending:
        node = pending.pop()
        budget -= 1
        if budget < 0:
            raise CwlError("The app description is too large.")
        if isinstance(node, Mapping):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


# ---------------------------------------------------------------------------------------------
# Shape checks that need no loader (and give the clearest messages)


def check_shape(document: Any) -> CheckedDocument:
    """``cwlVersion`` and ``class`` of a document (of its ``#main`` process when it is a packed
    ``$graph``), or :class:`CwlError`."""
    if not isinstance(document, Mapping):
        raise CwlError("The app description must be a CWL document (a JSON or YAML object).")
    process = main_process(document)
    version = document.get("cwlVersion", process.get("cwlVersion"))
    if version is None:
        raise CwlError(
            "The app has no 'cwlVersion'; supported versions are " + ", ".join(SUPPORTED_VERSIONS)
        )
    if not isinstance(version, str):
        raise CwlError("'cwlVersion' must be a string such as 'v1.2'.")
    if version in ("sbg:draft-2", "draft-2"):
        raise CwlError(_DRAFT2_ADVICE)
    if version.startswith("draft-"):
        raise CwlError(_PRE_V1_ADVICE.format(version=version))
    if version not in SUPPORTED_VERSIONS:
        raise CwlError(
            f"cwlVersion {version!r} is not supported; use one of "
            + ", ".join(SUPPORTED_VERSIONS)
            + "."
        )
    process_class = process.get("class")
    if process_class is None:
        raise CwlError(
            "The app has no 'class'; it must be one of " + ", ".join(PROCESS_CLASSES) + "."
        )
    if process_class not in PROCESS_CLASSES:
        raise CwlError(
            f"Unsupported class {process_class!r}; an app must be one of "
            + ", ".join(PROCESS_CLASSES)
            + "."
        )
    return CheckedDocument(version=version, process_class=str(process_class))


def _graph_id(entry: Mapping[str, Any]) -> str:
    value = entry.get("id")
    return value if isinstance(value, str) else ""


def main_process(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The process an app runs: the document itself, or the ``#main`` entry of a packed
    ``$graph`` document (what ``cwltool --pack`` and sbpack write), which is what cwltool
    runs when it is given the document without a fragment. :class:`CwlError` when a
    ``$graph`` has no such entry or several."""
    if "$graph" not in document:
        return document
    graph = document["$graph"]
    if not isinstance(graph, list) or not graph:
        raise CwlError("'$graph' must be a non-empty list of processes.")
    if not all(isinstance(entry, Mapping) for entry in graph):
        raise CwlError("Every entry of '$graph' must be an object (a process).")
    mains = [entry for entry in graph if _graph_id(entry).lstrip("#") == GRAPH_MAIN]
    if len(mains) == 1:
        return mains[0]
    if mains:
        raise CwlError(
            f"'$graph' has {len(mains)} processes with the id '#main'; exactly one must have it."
        )
    named = [_graph_id(entry) or "(no id)" for entry in graph]
    shown = ", ".join(repr(name) for name in named[:10]) + (", ..." if len(named) > 10 else "")
    raise CwlError(
        f"'$graph' has no process with the id '#main' (found {shown}): the platform runs the "
        "'#main' process of a packed document, so give the one to run that id."
    )


# ---------------------------------------------------------------------------------------------
# Full validation with cwltool


class _Loader:
    """cwltool's loading machinery, prepared once per process (thread-safe use via a lock)."""

    def __init__(self) -> None:
        from cwltool.context import LoadingContext
        from cwltool.errors import WorkflowException
        from cwltool.load_tool import fetch_document, make_tool, resolve_and_validate_document
        from cwltool.workflow import default_make_tool
        from schema_salad.exceptions import ValidationException
        from schema_salad.fetcher import DefaultFetcher

        class SelfContainedFetcher(DefaultFetcher):
            """Serves only what is already in memory: no files, no URLs."""

            def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
                cached = self.cache.get(url)
                if isinstance(cached, str):
                    return cached
                shown = url[len(_VALIDATION_BASE) :] if url.startswith(_VALIDATION_BASE) else url
                raise ValidationException(
                    f"'{shown}' cannot be loaded: an app must be self-contained "
                    "(embed the steps' 'run' documents, no $import or $include)."
                )

            def check_exists(self, url: str) -> bool:
                return url in self.cache

        context = LoadingContext()
        context.construct_tool_object = default_make_tool
        context.fetcher_constructor = SelfContainedFetcher
        # Tool names that are not URLs would otherwise be looked up on the local disk and in
        # a GA4GH tool registry over the network.
        context.resolver = _resolve_nothing
        context.doc_cache = False  # no HTTP cache directory under $HOME
        context.strict = True
        context.do_validate = True
        context.skip_schemas = True  # never download ontologies named in $schemas
        context.disable_js_validation = True  # jshint only warns; it would cost a Node start
        self._context = context
        self._fetch_document = fetch_document
        self._resolve = resolve_and_validate_document
        self._make_tool = make_tool
        self.errors: tuple[type[Exception], ...] = (ValidationException, WorkflowException)
        self._lock = threading.Lock()

    def load(self, document: Mapping[str, Any]) -> None:
        context = self._context.copy()
        context.loader = None  # a fresh document index: earlier apps must not leak into this one
        with self._lock:
            context, workflow, uri = self._fetch_document(dict(document), context)
            context, uri = self._resolve(context, workflow, uri)
            self._make_tool(uri, context)


def _resolve_nothing(document_loader: Any, uri: str) -> str | None:
    """A tool resolver that resolves nothing (references are refused, never looked up)."""
    return None


_loader: _Loader | None = None
_loader_guard = threading.Lock()


def _shared_loader() -> _Loader:
    global _loader
    if _loader is None:
        with _loader_guard:
            if _loader is None:
                _loader = _Loader()
    return _loader


def runnable(document: Any) -> Any:
    """``document`` as cwltool gets it: hints whose class is in an unknown namespace are
    dropped (cwltool ignores them, but its loader would look the class up over the network)."""
    kept, dropped = cwl_refs.without_foreign_hints(document)
    if dropped:
        logger.info("Hints of unknown classes left out of the document cwltool sees: %s", dropped)
    return kept


def without_schemas(document: Any) -> Any:
    """``document`` without its top-level ``$schemas`` (resolved by :mod:`cwl_schemas`)."""
    if isinstance(document, Mapping) and "$schemas" in document:
        return {key: value for key, value in document.items() if key != "$schemas"}
    return document


def self_contained_problem(document: Any) -> str | None:
    """Why ``document`` may not be loaded or run (it names something outside itself), or None.

    Top-level ``$schemas`` entries must name files of the operator's folder of ontologies;
    hints of unknown namespaces are not looked at (they never reach cwltool)."""
    schemas = document.get("$schemas") if isinstance(document, Mapping) else None
    rest = without_schemas(runnable(document))
    try:
        cwl_schemas.resolve(schemas)
    except cwl_schemas.SchemasError as exc:
        others = [item.field for item in cwl_refs.find_outside_references(rest)]
        if not others:
            return exc.message
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        return f"{exc.message} Other references outside the app: {', '.join(others[:3])}{more}."
    return cwl_refs.problem(rest)


def check_self_contained(document: Any) -> None:
    """:class:`CwlError` naming the first field that refers to something outside ``document``."""
    problem = self_contained_problem(document)
    if problem is not None:
        raise CwlError(problem)


def validate(document: Any) -> CheckedDocument:
    """Check ``document`` fully; raises :class:`CwlError` with the loader's message, trimmed."""
    checked = check_shape(document)
    # Before the loader: it must never be handed a document that names files or URLs.
    check_self_contained(document)
    # What runs is the document without hints of unknown namespaces (see runnable()); the
    # loader checks it without its ontologies (they only matter for formats, when it runs).
    candidate = copy.deepcopy(dict(without_schemas(runnable(document))))
    # The document's own id would become its base URI (and could point anywhere): replace it.
    candidate["id"] = _VALIDATION_URI
    namespaces = candidate.get("$namespaces")
    if isinstance(namespaces, Mapping) and "sbg" not in namespaces:
        candidate["$namespaces"] = {**namespaces, "sbg": SBG_NAMESPACE}
    elif namespaces is None:
        candidate["$namespaces"] = {"sbg": SBG_NAMESPACE}
    loader = _shared_loader()
    try:
        loader.load(candidate)
    except loader.errors as exc:
        raise CwlError("Invalid app: " + clean_message(str(exc)))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # The loader trips over some malformed shapes instead of reporting them (an empty key
        # in an object it validates is an IndexError in schema-salad, for one).
        logger.info("cwltool failed on a malformed document: %r", exc)
        hint = _empty_key(document)
        raise CwlError(
            f"Invalid app: the document could not be loaded ({type(exc).__name__})"
            + (f"; it has an empty key in {hint}." if hint else ".")
        )
    return checked


def _empty_key(document: Any) -> str | None:
    """Where the first object with an empty key is (``inputs.x``), or None."""
    stack: list[tuple[Any, str]] = [(document, "the document")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, Mapping):
            if "" in item:
                return where
            stack.extend(
                (child, key if where == "the document" else f"{where}.{key}")
                for key, child in item.items()
            )
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


_POSITION = re.compile(r"file:///sbg-local-app/app\.cwl:\d+:\d+:\s*")
_RELATIVE_URI = re.compile(r"(?:\.\./)+sbg-local-app/app\.cwl")
# The loader tags nested messages with its object id and the document URI in parentheses.
_LOADER_TAGS = re.compile(r"\(\d{6,}\)\s*|\(file:///sbg-local-app/app\.cwl\)\s*")


def clean_message(message: str) -> str:
    """The loader's message without our placeholder URIs, positions or line wrapping."""
    text = _LOADER_TAGS.sub("", message)
    text = _POSITION.sub("", text)
    text = _RELATIVE_URI.sub("app.cwl", text)
    text = text.replace(_VALIDATION_URI, "app.cwl").replace(_VALIDATION_BASE, "")
    text = text.replace("app.cwl#", "#")
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 3].rstrip() + "..."
    return text or "the CWL loader rejected the document."

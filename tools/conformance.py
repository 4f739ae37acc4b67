"""CWL conformance tests run through the platform's REST API, or with plain cwltool.

Run by hand or with ``make conformance`` (never from pytest), from the repository root:

    .venv/bin/python tools/conformance.py --suite ../shared/cwl-v1.2 --tags required
    .venv/bin/python tools/conformance.py --tags required --engine cwltool-direct
    .venv/bin/python tools/conformance.py --ids cat1,cat3 -j 2 --json results.json

Engines:

* ``platform`` (default): each test as a platform user would run it, through ``sevenbridges.Api``:
  the tool (packed into one document, steps inline, as the platform's packers make it) is
  installed as an app in a project of its own, the job's files and folders are uploaded into that
  project (mirroring their local folders, so secondary files found by pattern sit next to their
  primary file), a task runs with the job's values, file objects pointing at the uploaded ids,
  and the task's outputs are downloaded and compared with the expected ones. Without ``--url``
  an embedded local platform is started in a temporary directory (``--keep DIR`` keeps it).
* ``cwltool-direct``: ``cwltool --no-container`` on the same files, the reference figure for this
  machine.

Outputs are compared with cwltest's own comparison (``cwltest.compare``) when it is installed
(``pip install -e '.[conformance]'``), otherwise with a smaller built-in one that checks the same
things (class, basename, size, checksum, contents, listing, other values). ``should_fail`` tests
pass when the app is refused, the task is refused or the task fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = REPO_ROOT.parent / "shared" / "cwl-v1.2"
# Tags whose tests need a container engine or the network: left out unless one is configured.
CONTAINER_TAGS = ("docker", "networkaccess")
TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
UNLIMITED_RATE = 1_000_000_000
REASON_MAX_CHARS = 600
JOB_REQUIREMENTS = "cwl:requirements"

log = logging.getLogger("tools.conformance")


# ---------------------------------------------------------------------------------------------
# The suite


@dataclass
class ConformanceTest:
    id: str
    tool: str  # path relative to the suite, possibly with a #fragment
    job: str | None
    output: Any
    should_fail: bool
    tags: list[str]
    doc: str = ""


@dataclass
class Result:
    id: str
    status: str  # PASS, FAIL or SKIP
    seconds: float
    reason: str = ""
    tags: list[str] = field(default_factory=list)


def load_suite(suite: Path) -> list[ConformanceTest]:
    import yaml

    def entries(index: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
        """Entries with the folder their paths are relative to; ``$import`` followed."""
        for entry in yaml.safe_load(index.read_text()) or []:
            if "$import" in entry:
                yield from entries(index.parent / entry["$import"])
            else:
                yield index.parent, entry

    def relative(base: Path, path: str | None) -> str | None:
        if not path:
            return None
        return os.path.relpath(base / path, suite)

    tests = []
    for number, (base, entry) in enumerate(entries(suite / "conformance_tests.yaml"), 1):
        tests.append(
            ConformanceTest(
                id=str(entry.get("id") or f"test-{number}"),
                tool=str(relative(base, entry["tool"])),
                job=relative(base, entry.get("job")),
                output=entry.get("output", {}),
                should_fail=bool(entry.get("should_fail", False)),
                tags=list(entry.get("tags") or []),
                doc=str(entry.get("doc", "")),
            )
        )
    return tests


def select_tests(
    tests: Iterable[ConformanceTest],
    tags: Sequence[str],
    ids: Sequence[str],
    exclude_tags: Sequence[str],
) -> tuple[list[ConformanceTest], list[ConformanceTest]]:
    """(tests to run, tests skipped for an excluded tag), in suite order."""
    chosen, skipped = [], []
    for test in tests:
        if ids and test.id not in ids:
            continue
        if tags and not set(tags) & set(test.tags):
            continue
        if set(exclude_tags) & set(test.tags):
            skipped.append(test)
        else:
            chosen.append(test)
    return chosen, skipped


# ---------------------------------------------------------------------------------------------
# Comparing outputs


class Mismatch(Exception):
    """Actual outputs differ from the expected ones."""


def _sha1(path: str) -> str:
    digest = hashlib.sha1()  # noqa: S324 - CWL's checksum is SHA-1
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha1$" + digest.hexdigest()


def _builtin_compare(expected: Any, actual: Any) -> None:
    """What cwltest checks, for when it is not installed."""
    if expected == "Any":
        return
    if expected is not None and actual is None:
        raise Mismatch(f"expected {json.dumps(expected)}, got nothing")
    if isinstance(expected, dict) and expected.get("class") in ("File", "Directory"):
        if not isinstance(actual, dict) or actual.get("class") != expected["class"]:
            raise Mismatch(f"expected a {expected['class']}, got {json.dumps(actual)}")
        path = actual.get("path") or ""
        wanted = expected.get("path", expected.get("location"))
        if wanted not in (None, "Any") and not path.rstrip("/").endswith("/" + wanted):
            raise Mismatch(f"{path} does not end with {wanted}")
        if expected["class"] == "File":
            if "checksum" in expected and _sha1(path) != expected["checksum"]:
                raise Mismatch(f"checksum of {path} is not {expected['checksum']}")
            if "size" in expected and os.path.getsize(path) != expected["size"]:
                raise Mismatch(f"size of {path} is not {expected['size']}")
            if "contents" in expected and Path(path).read_text() != expected["contents"]:
                raise Mismatch(f"contents of {path} differ")
        for item in expected.get("listing") or []:
            for candidate in actual.get("listing") or []:
                try:
                    _builtin_compare(item, candidate)
                    break
                except Mismatch:
                    continue
            else:
                raise Mismatch(f"{json.dumps(item)} not found in the listing of {path}")
        skip = {"path", "location", "listing", "contents", "checksum", "size"}
        for key in set(expected) - skip:
            _builtin_compare(expected[key], actual.get(key))
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise Mismatch(f"expected {json.dumps(expected)}, got {json.dumps(actual)}")
        for key in expected:
            _builtin_compare(expected[key], actual.get(key))
        extra = [key for key in actual if key not in expected and actual[key] is not None]
        if extra:
            raise Mismatch(f"unexpected output {extra[0]!r}")
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise Mismatch(f"expected {json.dumps(expected)}, got {json.dumps(actual)}")
        for want, got in zip(expected, actual, strict=True):
            _builtin_compare(want, got)
        return
    if expected != actual:
        raise Mismatch(f"expected {json.dumps(expected)}, got {json.dumps(actual)}")


def compare_outputs(expected: Any, actual: Any) -> str | None:
    """None when ``actual`` matches ``expected``, else why not."""
    try:
        from cwltest.compare import CompareFail, compare
    except ImportError:
        try:
            _builtin_compare(expected, actual)
        except Mismatch as error:
            return str(error)
        return None
    try:
        compare(expected, actual)
    except CompareFail as error:
        return str(error)
    return None


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Engines


_PACK_LOCK = threading.Lock()
_CWLTOOL_MAIN = "import sys; from cwltool.main import main; sys.exit(main())"


class CwltoolEngine:
    """Plain ``cwltool`` on the test's files: the reference figure."""

    name = "cwltool-direct"

    def __init__(self, suite: Path, workdir: Path, timeout: float, container: bool) -> None:
        self.suite = suite
        self.workdir = workdir
        self.timeout = timeout
        self.container = container

    def run(self, test: ConformanceTest, slot: str) -> tuple[bool, Any, str]:
        """(succeeded, outputs, reason)."""
        outdir = self.workdir / slot / "out"
        outdir.mkdir(parents=True)
        # Not ``-m cwltool``: its __main__ drops the exit status, so failures look like success.
        command = [sys.executable, "-c", _CWLTOOL_MAIN, "--quiet", "--outdir", str(outdir)]
        command += ["--tmpdir-prefix", str(self.workdir / slot / "tmp") + "/"]
        if not self.container:
            command.append("--no-container")
        command.append(str(self.suite / test.tool))
        if test.job:
            command.append(str(self.suite / test.job))
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return False, None, f"cwltool ran longer than {self.timeout:.0f} s"
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-3:]
            return False, None, f"cwltool exited {done.returncode}: " + " | ".join(tail)
        try:
            return True, json.loads(done.stdout), ""
        except json.JSONDecodeError:
            return False, None, "cwltool printed no JSON outputs"


class PlatformEngine:
    """The test through the REST API with ``sevenbridges.Api``."""

    name = "platform"

    def __init__(self, api: Any, suite: Path, workdir: Path, timeout: float, poll: float) -> None:
        self.api = api
        self.suite = suite
        self.workdir = workdir
        self.timeout = timeout
        self.poll = poll

    # -- the app

    def app_document(self, test: ConformanceTest) -> dict[str, Any]:
        """The tool as one self-contained document (steps, imports and schemas inline)."""
        path = test.tool.partition("#")[0]
        from cwl_utils import utils as cwl_utils_files
        from cwl_utils.pack import pack

        logging.getLogger("cwl_utils").setLevel(logging.ERROR)
        with _PACK_LOCK:  # cwl_utils' YAML parser is shared and not thread-safe
            # Its parser makes 1.23e5 a plain float (sent as 123000.0); ours keeps the text.
            shared, cwl_utils_files.fast_yaml = cwl_utils_files.fast_yaml, _form_keeping_yaml()
            try:
                document = pack(str(self.suite / path))
            except SystemExit as exit_:  # it exits on a malformed file
                raise RuntimeError(f"cwl_utils could not pack {path} (exit {exit_.code})")
            finally:
                cwl_utils_files.fast_yaml = shared
        _, _, entry = test.tool.partition("#")
        if entry and isinstance(document.get("$graph"), list):
            document = select_graph_entry(document, entry)
        return _inline_local_files(document, (self.suite / path).parent)

    # -- the job's files

    def _folder_for(self, project: Any, local_dir: Path, cache: dict[Path, Any]) -> Any:
        """The project folder mirroring ``local_dir`` (relative to the suite when inside it)."""
        local_dir = local_dir.resolve()
        if local_dir in cache:
            return cache[local_dir]
        try:
            parts = local_dir.relative_to(self.suite.resolve()).parts
        except ValueError:
            parts = ("external", *local_dir.parts[1:])
        parent = None
        built = Path()
        for part in parts:
            built = built / part
            key = self.suite.resolve() / built
            if key in cache:
                parent = cache[key]
                continue
            folder = self.api.files.create_folder(
                name=part, parent=parent, project=None if parent else project
            )
            cache[key] = parent = folder
        if parent is None:
            cache[local_dir] = None
        return parent

    def _upload(self, project: Any, path: Path, folders: dict[Path, Any], done: dict) -> str:
        path = path.resolve()
        if path in done:
            return done[path]
        folder = self._folder_for(project, path.parent, folders)
        if path.is_dir():
            created = self.api.files.create_folder(
                name=path.name, parent=folder, project=None if folder else project
            )
            folders[path] = created
            for child in sorted(path.iterdir()):
                self._upload(project, child, folders, done)
            done[path] = created.id
            return created.id
        handle = self.api.files.upload(
            str(path), parent=folder, project=None if folder else project, wait=True
        )
        uploaded = handle.result()
        if uploaded is None:
            raise RuntimeError(f"upload of {path} ended {handle.status}")
        done[path] = uploaded.id
        # Files that share the name's stem travel along: secondary files found by pattern
        # (reads.bam -> reads.bai, reads.bam.bai) must sit next to their primary file.
        stem = path.name.split(".", 1)[0]
        if stem and path.is_file():
            for sibling in sorted(path.parent.glob(f"{glob_escape(stem)}.*")):
                if sibling.is_file() and sibling.resolve() not in done:
                    self._upload(project, sibling, folders, done)
        return uploaded.id

    def job_inputs(self, project: Any, test: ConformanceTest) -> dict[str, Any]:
        """The job's values with every local file or folder replaced by the uploaded one."""
        if not test.job:
            return {}
        import yaml

        job_path = self.suite / test.job
        job = yaml.safe_load(job_path.read_text()) or {}
        base = job_path.parent
        folders: dict[Path, Any] = {}
        done: dict[Path, str] = {}

        def convert(value: Any) -> Any:
            if isinstance(value, dict) and value.get("class") in ("File", "Directory"):
                result = {key: convert(item) for key, item in value.items()}
                where = value.get("location") or value.get("path")
                result.pop("location", None)
                result.pop("path", None)
                if where:
                    # A location is a URI reference (``A%3AB`` names ``A:B``); a path is not.
                    if "location" in value:
                        local = urllib.parse.unquote(urllib.parse.urlparse(where).path)
                    else:
                        local = where
                    result["path"] = self._upload(project, base / local, folders, done)
                return result
            if isinstance(value, list):
                return [convert(item) for item in value]
            if isinstance(value, dict):
                return {key: convert(item) for key, item in value.items()}
            return value

        # Requirements given with the job are part of the app on the platform (see run()).
        return {key: convert(value) for key, value in job.items() if key != JOB_REQUIREMENTS}

    def job_requirements(self, test: ConformanceTest) -> list[Any]:
        if not test.job:
            return []
        import yaml

        job = yaml.safe_load((self.suite / test.job).read_text()) or {}
        found = job.get(JOB_REQUIREMENTS) if isinstance(job, dict) else None
        return list(found) if isinstance(found, list) else []

    # -- the outputs

    def _download(self, value: Any, target: Path) -> Any:
        """Output values with platform files downloaded under ``target``."""
        if isinstance(value, dict) and value.get("class") in ("File", "Directory"):
            record = self.api.files.get(id=value["path"])
            name = value.get("name") or record.name
            home = target / f"{len(list(target.iterdir())) if target.exists() else 0}"
            home.mkdir(parents=True, exist_ok=True)
            local = home / name
            result = {key: item for key, item in value.items() if key not in ("path", "name")}
            result["basename"] = name
            if value["class"] == "File":
                record.download(str(local))
                result["size"] = local.stat().st_size
                root, dot, ext = name.rpartition(".")
                result["nameroot"], result["nameext"] = (root, dot + ext) if root else (name, "")
                if "secondaryFiles" in value:
                    result["secondaryFiles"] = [
                        self._download(extra, target) for extra in value["secondaryFiles"]
                    ]
            else:
                local.mkdir()
                result["listing"] = self._folder_listing(record, local)
            result["location"] = local.as_uri()
            result["path"] = str(local)
            return result
        if isinstance(value, list):
            return [self._download(item, target) for item in value]
        if isinstance(value, dict):
            return {key: self._download(item, target) for key, item in value.items()}
        return value

    def _folder_listing(self, folder: Any, local: Path) -> list[dict[str, Any]]:
        listing = []
        for child in self.api.files.query(parent=folder).all():
            path = local / child.name
            if child.is_folder():
                path.mkdir()
                entry = {"class": "Directory", "listing": self._folder_listing(child, path)}
            else:
                child.download(str(path))
                entry = {"class": "File", "size": path.stat().st_size}
            entry.update(basename=child.name, location=path.as_uri(), path=str(path))
            listing.append(entry)
        return listing

    def run(self, test: ConformanceTest, slot: str) -> tuple[bool, Any, str]:
        from sevenbridges.errors import SbgError

        slug = re.sub(r"[^a-z0-9]+", "-", test.id.lower()).strip("-")[:60] or "test"
        try:
            project = self.api.projects.create(name=f"conformance {slug} {slot}")
        except SbgError as error:
            return False, None, f"project not created: {error}"
        try:
            document = self.app_document(test)
        except Exception as error:  # the packer's own failure: the suite's file, not the API
            return False, None, f"packing failed: {error}"
        _add_job_requirements(document, self.job_requirements(test))
        try:
            raw, raw_format = app_body(document)
            app = self.api.apps.install_app(
                id=f"{project.id}/{slug}", raw=raw, raw_format=raw_format
            )
        except SbgError as error:
            return False, None, f"app refused: {getattr(error, 'message', None) or error}"
        try:
            inputs = self.job_inputs(project, test)
        except (SbgError, RuntimeError, OSError) as error:
            return False, None, f"inputs not uploaded: {error}"
        try:
            task = self.api.tasks.create(
                name=slug, project=project, app=app, inputs=inputs, run=True
            )
        except SbgError as error:
            return False, None, f"task refused: {getattr(error, 'message', None) or error}"
        deadline = time.monotonic() + self.timeout
        while task.status not in TERMINAL:
            if time.monotonic() > deadline:
                task.abort()
                return False, None, f"task ran longer than {self.timeout:.0f} s"
            time.sleep(self.poll)
            task.reload()
        if task.status != "COMPLETED":
            status = task.execution_status
            message = getattr(status, "message", None) if status is not None else None
            return False, None, f"task {task.status}: {message or 'no message'}"
        # The raw answer: compare what the platform says, not how the client wraps it.
        raw = self.api.get(url=f"/tasks/{task.id}").json()
        outputs = raw.get("outputs") or {}
        return True, self._download(outputs, self.workdir / slot / "out"), ""


def _add_job_requirements(document: dict[str, Any], requirements: list[Any]) -> None:
    """A job's ``cwl:requirements`` put into the app, replacing the app's own of the same class
    (cwltool gives the job's precedence); a task's inputs cannot carry requirements."""
    if not requirements:
        return
    own = document.get("requirements") or []
    if isinstance(own, dict):
        own = [{"class": name, **(body or {})} for name, body in own.items()]
    classes = {item.get("class") for item in requirements if isinstance(item, dict)}
    kept = [item for item in own if not (isinstance(item, dict) and item.get("class") in classes)]
    document["requirements"] = kept + requirements


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class KeptFloat(float):
    """A float from the tool's file with the JSON text of its written form (``1.23e5``):
    cwltool writes a float on the command line as it was written, so the app must carry it so."""

    text: str

    def __new__(cls, value: float, text: str) -> KeptFloat:
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (KeptFloat, (float(self), self.text))


def _json_number_text(written: str) -> str | None:
    """The JSON form of a YAML float's text (``+.5`` is ``0.5``, ``1.`` is ``1.0``), or None."""
    text = written.strip().lstrip("+")
    sign = "-" if text.startswith("-") else ""
    mantissa, marker, exponent = text[len(sign) :].partition("e" if "e" in text else "E")
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    if mantissa.endswith("."):
        mantissa += "0"
    result = sign + mantissa + marker + exponent
    return result if _JSON_NUMBER.fullmatch(result) else None


def _form_keeping_yaml() -> Any:
    """A ruamel safe loader whose floats are :class:`KeptFloat`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import SafeConstructor

    class Constructor(SafeConstructor):
        def construct_yaml_float(self, node: Any) -> Any:
            value = super().construct_yaml_float(node)
            text = _json_number_text(str(node.value))
            return KeptFloat(value, text) if text is not None and value == value else value

    Constructor.add_constructor("tag:yaml.org,2002:float", Constructor.construct_yaml_float)
    loader = YAML(typ="safe", pure=True)
    loader.Constructor = Constructor
    return loader


def _holds_kept_float(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, KeptFloat):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def app_body(document: dict[str, Any]) -> tuple[Any, str | None]:
    """What to send to install ``document``: the dict itself, or, when it holds floats whose
    written form matters, JSON text (as YAML, a superset) with those floats in that form."""
    if not _holds_kept_float(document):
        return document, None
    marks: list[str] = []

    def marked(value: Any) -> Any:
        if isinstance(value, KeptFloat):
            marks.append(value.text)
            return f"\x00kept-float-{len(marks) - 1}\x00"
        if isinstance(value, dict):
            return {key: marked(item) for key, item in value.items()}
        if isinstance(value, list):
            return [marked(item) for item in value]
        return value

    # Raw characters: the YAML reader would read an escaped surrogate pair as two halves.
    text = json.dumps(marked(document), ensure_ascii=False)
    text = re.sub(r'"\\u0000kept-float-(\d+)\\u0000"', lambda m: marks[int(m.group(1))], text)
    return text, "yaml"


ONTOLOGY_SUFFIXES = (".owl", ".rdf", ".ttl")


def stage_ontologies(suite: Path, folder: Path) -> Path | None:
    """The suite's ontology files (``tests/EDAM.owl``...) copied into ``folder``, the embedded
    platform's ``cwl_schemas_dir``: apps name them in ``$schemas`` and the platform resolves
    them there by file name (None when the suite has none)."""
    found = [
        path
        for path in sorted((suite / "tests").glob("*"))
        if path.suffix in ONTOLOGY_SUFFIXES and path.is_file()
    ]
    if not found:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.copyfile(path, folder / path.name)
    return folder


def _renamed_reference(text: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if text == old or text.startswith(old + "/"):
            return new + text[len(old) :]
    return text


def _rename_references(value: Any, renames: dict[str, str], bare: dict[str, str]) -> Any:
    """``value`` with references (``#old``, ``#old/...``) renamed; ids also in bare form."""
    if isinstance(value, dict):
        return {
            key: _renamed_reference(item, {**renames, **bare})
            if key == "id" and isinstance(item, str)
            else _rename_references(item, renames, bare)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rename_references(item, renames, bare) for item in value]
    if isinstance(value, str):
        return _renamed_reference(value, renames)
    return value


def select_graph_entry(document: dict[str, Any], entry: str) -> dict[str, Any]:
    """A packed document whose process to run is ``entry`` (``file.cwl#entry``), rewritten so
    that process is ``#main``, as a packer does: the platform runs the ``#main`` of a ``$graph``.

    A process already called ``main`` is renamed out of the way; every reference (``#entry``,
    ``#entry/...``) and id (also ``entry``, ``entry/...``) follows its process's new name.
    """
    graph = document["$graph"]
    ids = {str(item.get("id", "")).lstrip("#") for item in graph if isinstance(item, dict)}
    entry = entry.lstrip("#")
    if entry not in ids:
        raise RuntimeError(f"$graph has no process {entry!r} (found {sorted(ids)})")
    if entry == "main":
        return document
    renames, bare = {f"#{entry}": "#main"}, {entry: "main"}
    if "main" in ids:
        spare = next(f"main_{n}" for n in range(1, len(ids) + 2) if f"main_{n}" not in ids)
        renames["#main"], bare["main"] = f"#{spare}", spare
    return {
        key: _rename_references(value, renames, bare) if key == "$graph" else value
        for key, value in document.items()
    }


def _local_literal(value: dict[str, Any], base: Path) -> dict[str, Any] | None:
    """A File or Directory object that names a local file or folder, as a literal."""
    where = value.get("location") or value.get("path")
    if not isinstance(where, str) or "://" in where or "$(" in where:
        return None
    local = base / urllib.parse.unquote(where)
    literal = {key: item for key, item in value.items() if key not in ("location", "path")}
    literal.setdefault("basename", local.name)
    if value.get("class") == "File" and local.is_file():
        text = local.read_text()
        literal.update(contents=text, size=len(text.encode()))
    elif value.get("class") == "Directory" and local.is_dir():
        literal["listing"] = [
            _local_literal(
                {"class": "Directory" if child.is_dir() else "File", "location": str(child)}, base
            )
            for child in sorted(local.iterdir())
        ]
    else:
        return None
    if isinstance(value.get("secondaryFiles"), list):
        literal["secondaryFiles"] = [
            _inline_local_files(extra, base) for extra in value["secondaryFiles"]
        ]
    return literal


def _pattern_names(name: str, patterns: Any) -> list[str]:
    """Names of the secondary files plain patterns (``.bai``, ``^.bai``) give for ``name``."""
    names = []
    for entry in patterns if isinstance(patterns, list) else [patterns]:
        pattern = entry.get("pattern") if isinstance(entry, dict) else entry
        if not isinstance(pattern, str) or "$" in pattern:
            continue
        pattern, stem = pattern.rstrip("?"), name
        while pattern.startswith("^"):
            pattern, stem = pattern[1:], stem.rsplit(".", 1)[0]
        names.append(stem + pattern)
    return names


def _inline_local_files(document: Any, base: Path) -> Any:
    """Files and folders next to the tool that it names (defaults, initial work dir listings)
    become literals: an app is one document, it cannot point at files on the machine that
    installed it. A default's secondary files found by the input's patterns come along."""
    if isinstance(document, dict):
        if document.get("class") in ("File", "Directory") and "contents" not in document:
            literal = _local_literal(document, base)
            if literal is not None:
                return literal
        result = {key: _inline_local_files(value, base) for key, value in document.items()}
        default = result.get("default")
        original = document.get("default")
        if (
            isinstance(default, dict)
            and isinstance(original, dict)
            and "contents" in default
            and "secondaryFiles" not in default
            and "secondaryFiles" in document
        ):
            where = base / str(original.get("location") or original.get("path"))
            extras = [
                _local_literal({"class": "File", "location": str(where.parent / name)}, base)
                for name in _pattern_names(where.name, document["secondaryFiles"])
            ]
            if any(extras):
                default["secondaryFiles"] = [extra for extra in extras if extra]
        return result
    if isinstance(document, list):
        return [_inline_local_files(item, base) for item in document]
    return document


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# ---------------------------------------------------------------------------------------------
# Running


def run_one(engine: Any, test: ConformanceTest, workdir: Path) -> Result:
    slot = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.id)
    started = time.monotonic()
    try:
        succeeded, outputs, reason = engine.run(test, slot)
    except Exception as error:  # a runner bug must not stop the whole suite
        log.debug("test %s raised", test.id, exc_info=True)
        succeeded, outputs, reason = False, None, f"runner error: {type(error).__name__}: {error}"
    seconds = time.monotonic() - started
    if test.should_fail:
        if succeeded:
            return Result(
                test.id, "FAIL", seconds, "expected a failure, the run succeeded", test.tags
            )
        return Result(test.id, "PASS", seconds, "", test.tags)
    if not succeeded:
        return Result(test.id, "FAIL", seconds, _short(reason), test.tags)
    difference = compare_outputs(test.output, outputs)
    if difference is not None:
        return Result(test.id, "FAIL", seconds, _short("outputs differ: " + difference), test.tags)
    shutil.rmtree(workdir / slot, ignore_errors=True)
    return Result(test.id, "PASS", seconds, "", test.tags)


def summarize(results: Sequence[Result]) -> dict[str, dict[str, int]]:
    by_tag: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        by_tag["(all)"][result.status] += 1
        for tag in result.tags:
            by_tag[tag][result.status] += 1
    return {
        tag: {status: counts.get(status, 0) for status in ("PASS", "FAIL", "SKIP")}
        for tag, counts in sorted(by_tag.items())
    }


def run_all(
    engine: Any,
    tests: Sequence[ConformanceTest],
    workdir: Path,
    jobs: int,
    report: Callable[[Result], None],
) -> list[Result]:
    results: dict[str, Result] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_one, engine, test, workdir): test for test in tests}
        for future in as_completed(futures):
            result = future.result()
            results[result.id] = result
            report(result)
    return [results[test.id] for test in tests]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="the suite's folder")
    parser.add_argument("--tags", default="", help="comma-separated tags to run (default: all)")
    parser.add_argument("--ids", default="", help="comma-separated test ids to run")
    parser.add_argument(
        "--exclude-tags",
        default=None,
        help=f"comma-separated tags to skip (default: {','.join(CONTAINER_TAGS)} "
        "unless a container engine is configured)",
    )
    parser.add_argument("--engine", choices=("platform", "cwltool-direct"), default="platform")
    parser.add_argument("--url", help="API URL of a running platform (default: start one)")
    parser.add_argument("--token", help="token for --url")
    parser.add_argument(
        "--container-engine",
        choices=("none", "docker", "podman", "singularity"),
        default="none",
        help="container engine of the embedded platform / of cwltool-direct",
    )
    parser.add_argument(
        "--sandbox-path",
        action="append",
        default=[],
        help="a read-only folder the embedded platform's tasks may see (repeatable), e.g. where "
        "the 'python' that the tests' tools call is installed",
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="tests run at once")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test")
    parser.add_argument("--poll", type=float, default=0.3, help="seconds between task polls")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--keep", type=Path, help="keep the work (and platform data) here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.url and not args.token:
        parser.error("--url needs --token")
    return args


def _split(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    for noisy in ("sevenbridges", "cwltool", "cwl_utils", "salad", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.path.insert(0, str(REPO_ROOT))
    suite = args.suite.resolve()
    if not (suite / "conformance_tests.yaml").is_file():
        log.error("no conformance_tests.yaml in %s", suite)
        return 2
    exclude = _split(args.exclude_tags)
    if args.exclude_tags is None and args.container_engine == "none":
        exclude = list(CONTAINER_TAGS)
    chosen, skipped = select_tests(load_suite(suite), _split(args.tags), _split(args.ids), exclude)
    if not chosen and not skipped:
        log.error("no test matches the selection")
        return 2

    lock = threading.Lock()

    def report(result: Result) -> None:
        with lock:
            line = f"{result.id:<55} {result.status:<4} {result.seconds:6.1f}s"
            print(f"{line}  {result.reason}" if result.reason else line, flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="sbg-conformance-")) if not args.keep else args.keep
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = scratch / "work"
    workdir.mkdir(exist_ok=True)
    started = time.monotonic()
    try:
        if args.engine == "cwltool-direct":
            engine: Any = CwltoolEngine(
                suite, workdir, args.timeout, container=args.container_engine != "none"
            )
            results = run_all(engine, chosen, workdir, args.jobs, report)
        elif args.url:
            import sevenbridges as sbg

            api = sbg.Api(url=args.url, token=args.token)
            engine = PlatformEngine(api, suite, workdir, args.timeout, args.poll)
            results = run_all(engine, chosen, workdir, args.jobs, report)
        else:
            import sevenbridges as sbg
            from sevenbridges_local.embedded import EmbeddedServer

            settings: dict[str, object] = {}
            if args.container_engine != "none":
                settings["container_engine"] = args.container_engine
            if args.sandbox_path:
                settings["sandbox_paths"] = json.dumps(args.sandbox_path)
            ontologies = stage_ontologies(suite, scratch / "ontologies")
            if ontologies is not None:
                settings["cwl_schemas_dir"] = str(ontologies)
            with EmbeddedServer(
                scratch / "platform", rate_limit=UNLIMITED_RATE, settings=settings
            ) as server:
                api = sbg.Api(url=server.url, token=server.token("conformance"))
                engine = PlatformEngine(api, suite, workdir, args.timeout, args.poll)
                results = run_all(engine, chosen, workdir, args.jobs, report)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    for test in skipped:
        result = Result(test.id, "SKIP", 0.0, "excluded tag", test.tags)
        results.append(result)
    elapsed = time.monotonic() - started
    summary = summarize(results)
    print(f"\n{'tag':<28} {'pass':>5} {'fail':>5} {'skip':>5}   (engine: {args.engine})")
    for tag, counts in summary.items():
        print(f"{tag:<28} {counts['PASS']:>5} {counts['FAIL']:>5} {counts['SKIP']:>5}")
    print(f"{len(chosen)} tests run in {elapsed:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "engine": args.engine,
                    "suite": str(suite),
                    "seconds": round(elapsed, 1),
                    "summary": summary,
                    "results": [asdict(result) for result in results],
                },
                indent=2,
            )
        )
    return 0 if all(result.status != "FAIL" for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

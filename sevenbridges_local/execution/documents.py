"""The CWL document a task's engine runs, written into the task's work dir.

Shared by the executors (cwltool, Toil) so that both see the same document:

- ``$schemas``: the operator's ontology files (resolved by the service layer) are copied next
  to the document and the entries point at the copies, so nothing is fetched or read elsewhere.
- File and folder literals (``contents``, ``listing``) in ``default`` values, at any depth of a
  record or an array, are written out as real files under the work dir and the default points
  at them. An app cannot name a file on the installing machine, so its file defaults are
  literals; cwltool stages a literal in a scratch folder that it removes after the step, and a
  tool that passes such an input through to an output (``outputEval: $(inputs.rec.file)``)
  then fails with "No such file or directory". A real file lives as long as the task.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from sevenbridges_local import json_numbers
from sevenbridges_local.execution.base import TaskSpec

logger = logging.getLogger(__name__)

SCHEMAS_DIR = "schemas"
DEFAULTS_DIR = "defaults"


def _class_of(value: Any) -> str:
    return str(value.get("class", "")) if isinstance(value, dict) else ""


def _safe_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def is_pure_literal(value: Any) -> bool:
    """A File with ``contents`` or a Directory with a ``listing`` of such, naming nothing on
    disk (no ``location``/``path``) and with a plain file name: what can be written out."""
    kind = _class_of(value)
    if kind not in ("File", "Directory") or value.get("location") or value.get("path"):
        return False
    if not _safe_name(value.get("basename")):
        return False
    extras = value.get("secondaryFiles")
    if extras is not None and not (
        isinstance(extras, list) and all(is_pure_literal(item) for item in extras)
    ):
        return False
    if kind == "File":
        return isinstance(value.get("contents"), str)
    listing = value.get("listing", [])
    return isinstance(listing, list) and all(is_pure_literal(item) for item in listing)


class _LiteralWriter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def _write(self, literal: dict[str, Any], target: Path) -> None:
        if _class_of(literal) == "Directory":
            target.mkdir(parents=True, exist_ok=True)
            for child in literal.get("listing", []):
                self._write(child, target / child["basename"])
        else:
            target.write_text(literal["contents"], encoding="utf-8")

    def _place(self, literal: dict[str, Any], home: Path) -> dict[str, Any]:
        target = home / literal["basename"]
        self._write(literal, target)
        placed: dict[str, Any] = {
            key: item
            for key, item in literal.items()
            if key not in ("listing", "basename", "secondaryFiles")
        }
        placed["location"] = target.absolute().as_uri()
        if literal.get("secondaryFiles"):
            # Next to their primary file, where tools look for them.
            placed["secondaryFiles"] = [
                self._place(extra, home) for extra in literal["secondaryFiles"]
            ]
        return placed

    def value(self, value: Any) -> Any:
        """``value`` (a default) with its pure literals written out, each in its own folder."""
        if is_pure_literal(value):
            self.count += 1
            home = self.folder / str(self.count)
            home.mkdir(parents=True)
            return self._place(value, home)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict) and not _class_of(value):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def document(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.document(item) for item in node]
        if isinstance(node, dict):
            return {
                key: self.value(item) if key == "default" else self.document(item)
                for key, item in node.items()
            }
        return node


def with_default_literals_written(document: Any, folder: Path) -> Any:
    """``document`` with the File/Directory literals of its defaults written under ``folder``
    (created when there is one) and pointed at by absolute ``file://`` locations."""
    writer = _LiteralWriter(folder)
    result = writer.document(document)
    if writer.count:
        logger.debug("wrote %d literal default(s) under %s", writer.count, folder)
    return result


def write_document(spec: TaskSpec, work_dir: Path) -> Path:
    """Writes the document the engine runs as ``<document_name>.cwl`` in ``work_dir``: local
    copies of its ``$schemas`` and real files for its literal defaults. Returns its path."""
    document: Any = with_default_literals_written(spec.document, work_dir / DEFAULTS_DIR)
    if spec.schemas:
        # Copies next to the document: the engine reads them relative to it, never elsewhere.
        names = []
        for index, source in enumerate(spec.schemas):
            name = f"{SCHEMAS_DIR}/{index}-{source.name}"
            (work_dir / SCHEMAS_DIR).mkdir(exist_ok=True)
            shutil.copyfile(source, work_dir / name)
            names.append(name)
        document = {**document, "$schemas": names}
    path = work_dir / f"{spec.document_name}.cwl"
    # Raw UTF-8, not \u escapes: cwltool's YAML reader splits an escaped surrogate pair.
    path.write_text(json_numbers.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path

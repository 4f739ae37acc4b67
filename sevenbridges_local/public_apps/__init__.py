"""The public apps every local platform installs on first start.

Each ``<slug>.cwl`` file beside this module is one app (CWL v1.2, runnable by ``cwltool`` without
containers). A workflow may name a sibling file in a step's ``run``; :func:`load_public_apps`
embeds that document, because installed apps must be self-contained.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Installed as ``admin/public-apps/<slug>``, in this order.
PUBLIC_APP_SLUGS = ("line-count", "checksum", "fastq-stats", "fastq-summary")
PUBLIC_PROJECT_SLUG = "public-apps"
PUBLIC_PROJECT_NAME = "Public apps"

# Keys that only make sense at the top of a document, dropped from embedded step processes.
_TOP_LEVEL_ONLY = ("cwlVersion", "$namespaces", "$schemas")


@dataclass(frozen=True)
class PublicApp:
    slug: str
    document: dict[str, Any]


def _read(file_name: str) -> dict[str, Any]:
    from sevenbridges_local.services.cwl import parse_text

    text = resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")
    document = parse_text(text)
    if not isinstance(document, dict):
        raise ValueError(f"{file_name} is not a CWL document")
    return document


def _embed_steps(document: dict[str, Any], loaded: dict[str, dict[str, Any]]) -> dict[str, Any]:
    steps = document.get("steps")
    if not isinstance(steps, dict):
        return document
    for step in steps.values():
        run = step.get("run")
        if isinstance(run, str):
            embedded = copy.deepcopy(loaded.get(run) or _read(run))
            for key in _TOP_LEVEL_ONLY:
                embedded.pop(key, None)
            step["run"] = _embed_steps(embedded, loaded)
    return document


def load_public_apps() -> list[PublicApp]:
    """The shipped apps as self-contained documents, ready to install."""
    loaded = {f"{slug}.cwl": _read(f"{slug}.cwl") for slug in PUBLIC_APP_SLUGS}
    return [
        PublicApp(slug=slug, document=_embed_steps(copy.deepcopy(loaded[f"{slug}.cwl"]), loaded))
        for slug in PUBLIC_APP_SLUGS
    ]

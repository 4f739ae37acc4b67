"""Which containers an app asks for, and whether this platform can give it one.

cwltool decides per tool at run time; by then its error ("--no-container, but this
CommandLineTool has DockerRequirement under 'requirements'") tells a platform user nothing about
what to do. The platform checks the whole document before a task starts instead:

* ``DockerRequirement`` under ``requirements`` (of the app, a step or an embedded tool) needs a
  container: without a container engine, or with one whose program is missing, the task fails at
  once with a message naming the image and how to turn an engine on.
* Under ``hints`` it is optional: without an engine the tool runs on this machine (the image's
  programs must be installed here); with an engine whose program is missing the task fails, since
  cwltool would try that engine for hints too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CONTAINER_ENGINES = ("docker", "podman", "singularity")
# The programs each engine runs (cwltool takes either name for Singularity/Apptainer).
ENGINE_PROGRAMS: dict[str, tuple[str, ...]] = {
    "docker": ("docker",),
    "podman": ("podman",),
    "singularity": ("singularity", "apptainer"),
}
ENGINE_HINT = (
    "start the platform with a container engine: sbg local serve --container-engine docker "
    "(or podman, singularity; also SBG_LOCAL_CONTAINER_ENGINE)"
)


@dataclass(frozen=True)
class ContainerNeed:
    """One DockerRequirement found in an app."""

    image: str
    required: bool


def _image(entry: dict[str, Any]) -> str:
    for key in ("dockerPull", "dockerImageId"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if entry.get("dockerFile"):
        return "an image built from its dockerFile"
    if entry.get("dockerLoad"):
        return "an image loaded from its dockerLoad"
    return "an unnamed image"


def _entries(value: Any) -> Iterator[dict[str, Any]]:
    """Requirement entries in either CWL form: a list of objects, or a map keyed by class."""
    if isinstance(value, list):
        yield from (entry for entry in value if isinstance(entry, dict))
    elif isinstance(value, dict):
        for key, entry in value.items():
            if isinstance(entry, dict):
                yield {"class": key, **entry}


def container_needs(document: Any) -> list[ContainerNeed]:
    """Every DockerRequirement in ``document``, embedded tools and steps included."""
    found: list[ContainerNeed] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for section, required in (("requirements", True), ("hints", False)):
                for entry in _entries(node.get(section)):
                    if str(entry.get("class", "")).split("#")[-1] == "DockerRequirement":
                        found.append(ContainerNeed(_image(entry), required))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def engine_program(engine: str) -> str | None:
    """The engine's program on this machine's PATH, or None."""
    for name in ENGINE_PROGRAMS.get(engine, (engine,)):
        found = shutil.which(name)
        if found:
            return found
    return None


def container_problem(document: Any, engine: str | None) -> str | None:
    """Why the app cannot run with ``engine`` (None: no containers), in the user's words;
    None when it can."""
    needs = container_needs(document)
    if not needs:
        return None
    required = [need for need in needs if need.required]
    if not engine:
        if not required:
            return None  # hints only: the tools run on this machine
        images = ", ".join(dict.fromkeys(f"'{need.image}'" for need in required))
        return (
            f"This app requires a container ({images} in its DockerRequirement) but the local "
            f"platform runs tools without containers; {ENGINE_HINT}."
        )
    if engine_program(engine) is None:
        names = " or ".join(f"'{name}'" for name in ENGINE_PROGRAMS.get(engine, (engine,)))
        images = ", ".join(dict.fromkeys(f"'{need.image}'" for need in needs))
        return (
            f"This app runs in a container ({images}) with the configured container engine "
            f"'{engine}', but its program ({names}) is not installed or not on the PATH of the "
            f"platform's server; install it, or choose another engine with sbg local serve "
            f"--container-engine."
        )
    return None


def hinted_images(document: Any) -> list[str]:
    """Images the app names only as hints (run without a container when there is no engine)."""
    return list(dict.fromkeys(need.image for need in container_needs(document)))

"""Resource hints of an app turned into limits on its task's processes.

What an app declares, in ``requirements`` or ``hints``, of the app or of any step or embedded
tool (a workflow's steps run one after the other in the task's process, so the largest value
counts):

* ``ResourceRequirement``: memory ``ramMax``, else ``ramMin`` (MiB); CPUs ``coresMax``, else
  ``coresMin``. Values given as expressions are left to cwltool and not enforced here.
* ``sbg:MemRequirement`` (``value`` in MiB) and ``sbg:CPURequirement`` (``value``: CPUs), as the
  Seven Bridges platform writes them.

How they are enforced, on tools that run on this machine (not in a container, whose engine has
its own limits):

* memory: each tool process starts under ``prlimit --data=BYTES`` (``RLIMIT_DATA``: heap and
  private writable mappings, what a process allocates; shared libraries and reserved but unused
  address space do not count). A tool that tries to go beyond it gets allocation failures
  (``MemoryError``, ``Cannot allocate memory``, ``std::bad_alloc``) and the task fails with a
  message that names the limit.
* CPUs: the task's process (cwltool and every tool it starts) is bound to that many of the CPUs
  the platform may use (``sched_setaffinity``), chosen in turn so that tasks spread over them.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import threading
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
# Below this a tool cannot even start (the dynamic loader, libc, an interpreter's heap).
MIN_MEMORY_MIB = 16


@dataclass(frozen=True)
class ResourceLimits:
    """What a task may use; None: no limit declared."""

    memory_mib: int | None = None
    cpus: int | None = None
    # Where each value came from, for messages: e.g. "ramMax", "sbg:MemRequirement".
    memory_source: str = ""
    cpus_source: str = ""

    @property
    def empty(self) -> bool:
        return self.memory_mib is None and self.cpus is None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None  # an expression: cwltool evaluates it, we do not enforce it
        return number if number > 0 else None
    return None


def _entries(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, dict)]
    if isinstance(value, dict):
        return [{"class": key, **entry} for key, entry in value.items() if isinstance(entry, dict)]
    return []


def _class_name(entry: dict[str, Any]) -> str:
    name = str(entry.get("class", ""))
    # A namespaced class may come expanded (https://sevenbridges.com#MemRequirement).
    if name.startswith(("http://", "https://")) and "sevenbridges" in name:
        return "sbg:" + name.rsplit("#", 1)[-1]
    return name.split("#")[-1] if name.startswith("#") else name


def resource_limits(document: Any) -> ResourceLimits:
    """The limits ``document`` declares (see the module docstring)."""
    memory: tuple[float, str] | None = None
    cpus: tuple[float, str] | None = None

    def consider(current: tuple[float, str] | None, value: float | None, source: str):
        if value is None:
            return current
        return (value, source) if current is None or value > current[0] else current

    def walk(node: Any) -> None:
        nonlocal memory, cpus
        if isinstance(node, dict):
            for section in ("requirements", "hints"):
                for entry in _entries(node.get(section)):
                    kind = _class_name(entry)
                    if kind == "ResourceRequirement":
                        ram = _number(entry.get("ramMax"))
                        memory = consider(memory, ram, "ramMax")
                        if ram is None:
                            memory = consider(memory, _number(entry.get("ramMin")), "ramMin")
                        cores = _number(entry.get("coresMax"))
                        cpus = consider(cpus, cores, "coresMax")
                        if cores is None:
                            cpus = consider(cpus, _number(entry.get("coresMin")), "coresMin")
                    elif kind == "sbg:MemRequirement":
                        memory = consider(memory, _number(entry.get("value")), kind)
                    elif kind == "sbg:CPURequirement":
                        cpus = consider(cpus, _number(entry.get("value")), kind)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return ResourceLimits(
        memory_mib=max(math.ceil(memory[0]), MIN_MEMORY_MIB) if memory else None,
        cpus=max(math.ceil(cpus[0]), 1) if cpus else None,
        memory_source=memory[1] if memory else "",
        cpus_source=cpus[1] if cpus else "",
    )


_turn = itertools.count()
_turn_lock = threading.Lock()


def choose_cpus(count: int) -> list[int] | None:
    """``count`` of the CPUs this process may use, a different set each call; None when the
    count covers them all (nothing to restrict) or affinity is not supported here."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    available = sorted(os.sched_getaffinity(0))
    if count >= len(available):
        return None
    with _turn_lock:
        start = next(_turn) * count
    return [available[(start + offset) % len(available)] for offset in range(count)]


def task_limits_config(limits: ResourceLimits, containers: bool) -> dict[str, Any] | None:
    """What the task's process applies (see ``runner.apply_limits``); None: nothing."""
    if limits.empty:
        return None
    config: dict[str, Any] = {}
    if limits.memory_mib is not None and not containers:
        config["memory_bytes"] = limits.memory_mib * MIB
        config["prlimit"] = shutil.which("prlimit")
    if limits.cpus is not None:
        cpus = choose_cpus(limits.cpus)
        if cpus is not None:
            config["cpus"] = cpus
    return config or None

"""The message a failed task shows first (``execution_status.message``).

What a user needs to act comes first, in plain words and bounded in size: which tool failed
with which exit code and the last lines of its standard error; or the one problem cwltool found
(an invalid job input, an expression that failed), without cwltool's framing; or that the tool
ran out of the memory the app allows it. The full logs stay in the task's log files
(``job.err.log``, ``cwltool.log``) listed in its execution details.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable

from sevenbridges_local.execution.base import EXIT_UNKNOWN
from sevenbridges_local.execution.containers import ENGINE_HINT
from sevenbridges_local.execution.resources import ResourceLimits

# The end of the tools' stderr shown in the message.
TAIL_LINES = 5
TAIL_CHARS = 800
REASON_CHARS = 600
MESSAGE_CHARS = 1800
LOGS_NOTE = "Full logs: job.err.log and cwltool.log in the task's execution details."

_EXITED = re.compile(r"^\[job (?P<name>[^\]]+)\] exited with status: (?P<code>-?\d+)")
_WORKFLOW_ERROR = re.compile(r"^Workflow error, try again with --debug[^\n]*\n?")
_INPUT_RECORD = re.compile(r"^Invalid job input record:\s*", re.M)
# Positions cwltool prefixes its findings with: "job.json:1:2: " or "file:///x/app.cwl:3:5: ".
_POSITION = re.compile(r"(?m)^\s*\S+?:\d+:\d+:\s*")
_UNSUPPORTED = re.compile(r"^Workflow or tool uses unsupported feature:\s*")
# cwltool's account of an image its engine could not fetch.
_PULL_FAILED = re.compile(
    r"Docker is required to run this tool: Command '\['(?P<engine>[^']+)', 'pull', "
    r"'(?P<image>[^']+)'\]' returned non-zero exit status (?P<code>-?\d+)"
)
_MEMORY_SIGNS = (
    "memoryerror",
    "cannot allocate memory",
    "out of memory",
    "bad_alloc",
    "memory exhausted",
    "failed to allocate",
    "unable to allocate",
    "malloc",
)
# A tool at its memory limit may also just crash.
_CRASH_CODES = {-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGKILL, -signal.SIGBUS}
# "command not found" from a shell, and exec's own failure.
_NOT_FOUND_CODES = {126, 127}


def _job_name(raw: str) -> str:
    return raw[:-4] if raw.endswith(".cwl") else raw


def plain(reason: str) -> str:
    """cwltool's account of a problem without its framing, on one line."""
    text = _UNSUPPORTED.sub("", _WORKFLOW_ERROR.sub("", reason.strip()))
    pulled = _PULL_FAILED.search(text)
    if pulled:
        return (
            f"The container image '{pulled.group('image')}' could not be pulled with "
            f"{pulled.group('engine')} (exit code {pulled.group('code')})."
        )
    invalid_input = bool(_INPUT_RECORD.search(text))
    text = _INPUT_RECORD.sub("", text)
    text = _POSITION.sub("", text)
    text = " ".join(text.split())
    text = text.replace("\"'", "'").replace("'\"", "'")  # cwltool quotes values twice
    if invalid_input:
        text = f"Invalid job input: {text}"
    return text[:REASON_CHARS]


def _tail(stderr_tail: str) -> str:
    lines: list[str] = []
    for line in stderr_tail.splitlines():
        if line.strip() and (not lines or lines[-1] != line):  # a repeated line once
            lines.append(line)
    return "\n".join(lines[-TAIL_LINES:])[-TAIL_CHARS:]


def failure_message(
    exit_code: int,
    problems: Iterable[str],
    stderr_tail: str,
    *,
    limits: ResourceLimits | None = None,
    hinted_images: Iterable[str] = (),
    engine: str | None = None,
) -> str:
    """The message for a run that ended with ``exit_code`` (see the module docstring).

    ``problems``: the warnings and errors cwltool logged, oldest first; ``stderr_tail``: the end
    of the tools' standard error; ``limits``: what the task was held to; ``hinted_images``:
    images the app names as hints only (it ran without them when ``engine`` is None).
    """
    if exit_code == EXIT_UNKNOWN:
        return "The task process ended without reporting how (its fork server stopped)."
    if exit_code < 0:
        return f"The task process was killed (signal {-exit_code})."
    reasons = [text for text in problems if not text.startswith("Final process status")]
    tail = _tail(stderr_tail)
    failed_job: tuple[str, int] | None = None
    for reason in reasons:
        found = _EXITED.match(reason)
        if found:
            failed_job = (_job_name(found.group("name")), int(found.group("code")))
    parts: list[str] = []
    if failed_job is not None:
        name, code = failed_job
        lowered = tail.lower()
        memory = limits.memory_mib if limits is not None else None
        if memory is not None and (
            code in _CRASH_CODES or any(sign in lowered for sign in _MEMORY_SIGNS)
        ):
            parts.append(
                f"The tool '{name}' ran out of memory: the app allows it {memory} MiB "
                f"({limits.memory_source if limits else ''}) and it needed more "
                f"(exit code {code}). Raise the app's memory requirement to give it more."
            )
        elif code < 0:
            parts.append(f"The tool '{name}' was killed (signal {-code}).")
        else:
            parts.append(f"The tool '{name}' exited with code {code}.")
        images = list(hinted_images)
        if code in _NOT_FOUND_CODES and images and not engine:
            parts.append(
                f"It ran on this machine without its container ({', '.join(images)}), whose "
                f"programs may not be installed here; to run it in the container, "
                f"{ENGINE_HINT}."
            )
        parts.append(
            f"Last lines of its standard error:\n{tail}"
            if tail
            else "It wrote nothing to its standard error."
        )
    else:
        errors = [plain(text) for text in reasons]
        errors = [text for text in errors if text]
        if errors:
            parts.append(errors[-1])
        else:
            parts.append(f"cwltool exited with code {exit_code}.")
        if tail:
            parts.append(f"Last lines of the standard error:\n{tail}")
    parts.append(LOGS_NOTE)
    return "\n".join(parts)[:MESSAGE_CHARS]

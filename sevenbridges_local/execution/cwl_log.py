"""Reading cwltool's log as it grows: jobs, their command lines and times, finished steps.

The runner writes cwltool's log with one header per record, ``[<UTC time>] LEVEL message``;
lines that do not start with such a header continue the previous record (cwltool breaks long
command lines over several lines ending in a backslash). The records this module understands::

    [job NAME] WORKDIR$ COMMAND ...        a tool job started
    [job NAME] completed success           ... and ended (or permanentFail, temporaryFail, ...)
    [step NAME] completed success          a workflow step ended

Anything logged at WARNING or ERROR level is kept as a possible failure reason.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from sevenbridges_local.execution.base import JOB_COMPLETED, JOB_FAILED, JOB_RUNNING, JobRecord

RECORD_FORMAT = "[%(asctime)s] %(levelname)s %(message)s"

_HEADER = re.compile(
    r"^\[(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\] (?P<level>[A-Z]+) (?P<message>.*)$"
)
_JOB_COMMAND = re.compile(r"^\[job (?P<name>[^\]]+)\] (?P<workdir>\S.*?)\$ (?P<command>.*)$", re.S)
_JOB_DONE = re.compile(r"^\[job (?P<name>[^\]]+)\] completed (?P<status>\w+)")
_STEP_DONE = re.compile(r"^\[step (?P<name>[^\]]+)\] completed (?P<status>\w+)")
_CONTINUATION = re.compile(r"\s*\\\n\s*")
# Keep the reasons short: the last few warnings and errors are what explain a failure.
_MAX_PROBLEMS = 20


class UtcFormatter(logging.Formatter):
    """Record times in UTC with milliseconds, in the shape :data:`_HEADER` expects."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class UtcLogFileHandler(logging.FileHandler):
    """A file handler whose format cwltool cannot replace (it sets its own on the handler)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, mode="a", encoding="utf-8")
        super().setFormatter(UtcFormatter(RECORD_FORMAT))

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802
        """Ignored on purpose: the progress parser depends on our format."""


def _job_name(raw: str) -> str:
    # A single tool's job is named after its document file; show the app's name instead.
    return raw[:-4] if raw.endswith(".cwl") else raw


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _one_line(command: str) -> str:
    return _CONTINUATION.sub(" ", command).strip()


class CwlLogReader:
    """Follows one log file; :meth:`poll` reads what was appended since the last call."""

    def __init__(self, path: Path, step_names: list[str] | None = None) -> None:
        self.path = path
        self.step_names = set(step_names or [])
        self.jobs: dict[str, JobRecord] = {}
        self.completed_steps: set[str] = set()
        self.problems: list[str] = []
        self._offset = 0
        self._pending = ""  # text of a record that may still grow

    def poll(self, *, final: bool = False) -> bool:
        """Read new text; returns True when something visible changed. ``final`` also
        processes the last record (it cannot grow any more once the run has stopped)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as log:
                log.seek(self._offset)
                added = log.read()
                self._offset = log.tell()
        except FileNotFoundError:
            added = ""
        text = self._pending + added
        changed = False
        records = self._split(text)
        if not final and records:
            # The last record may be cut in the middle; keep it until more arrives.
            *complete, self._pending = records
        else:
            complete, self._pending = records, ""
        for record in complete:
            changed = self._apply(record) or changed
        return changed

    @staticmethod
    def _split(text: str) -> list[str]:
        records: list[str] = []
        current: list[str] = []
        for line in text.splitlines(keepends=True):
            if _HEADER.match(line.rstrip("\n")) and current:
                records.append("".join(current))
                current = []
            current.append(line)
        if current:
            records.append("".join(current))
        return records

    def _apply(self, record: str) -> bool:
        first, _, rest = record.partition("\n")
        header = _HEADER.match(first)
        if header is None:
            return False
        moment = _parse_time(header.group("time"))
        level = header.group("level")
        message = header.group("message") + ("\n" + rest.rstrip("\n") if rest.strip() else "")
        started = _JOB_COMMAND.match(message)
        if started:
            name = _job_name(started.group("name"))
            self.jobs[name] = JobRecord(
                name=name,
                status=JOB_RUNNING,
                start_time=moment,
                command_line=_one_line(started.group("command")),
            )
            return True
        done = _JOB_DONE.match(message)
        if done:
            name = _job_name(done.group("name"))
            job = self.jobs.get(name)
            if job is None:  # e.g. expression tools: no command line is logged
                job = self.jobs[name] = JobRecord(name=name, status=JOB_RUNNING, start_time=moment)
            job.status = JOB_COMPLETED if done.group("status") == "success" else JOB_FAILED
            job.end_time = moment
            return True
        step = _STEP_DONE.match(message)
        if step and step.group("status") == "success":
            name = step.group("name")
            if not self.step_names or name in self.step_names:
                self.completed_steps.add(name)
                return True
            return False
        if level in ("WARNING", "ERROR", "CRITICAL"):
            self.problems.append(message.strip())
            del self.problems[:-_MAX_PROBLEMS]
        return False

    def job_list(self) -> list[JobRecord]:
        return list(self.jobs.values())

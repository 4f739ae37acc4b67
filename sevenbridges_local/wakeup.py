"""Waking idle worker threads as soon as work is queued, with polling only as a back-up."""

from __future__ import annotations

import threading


class Wakeups:
    """Counts wake-ups, so one sent while every worker was busy is not lost."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending = 0

    def send(self, count: int = 1) -> None:
        """Wake up to ``count`` idle workers (new work was queued)."""
        with self._condition:
            self._pending += max(count, 1)
            self._condition.notify(max(count, 1))

    def wake_all(self) -> None:
        """Wake every waiting worker (e.g. to see that the pool stops)."""
        with self._condition:
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        """Return at once for a pending wake-up, otherwise after one or after ``timeout``."""
        with self._condition:
            if self._pending:
                self._pending -= 1
                return
            self._condition.wait(timeout)
            if self._pending:
                self._pending -= 1

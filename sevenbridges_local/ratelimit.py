"""Per-user fixed-window rate limiting, in memory (counters need not survive a restart)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sevenbridges_local.faults import FaultState, FaultSwitches


@dataclass(frozen=True)
class RateStatus:
    limit: int
    remaining: int
    reset: int  # epoch seconds, an integer as clients expect
    exceeded: bool = False

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """Counts requests per key in windows that start with the key's first request."""

    def __init__(self, switches: FaultSwitches, clock: Callable[[], float] = time.time) -> None:
        self._switches = switches
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[object, tuple[float, int]] = {}  # key -> (window start, count)
        switches.on_change(self._settings_changed)

    def _settings_changed(self, _state: FaultState) -> None:
        # New limits start fresh, so a test or a user sees them apply right away.
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _current(self, key: object, now: float, window: int) -> tuple[float, int]:
        start, count = self._windows.get(key, (now, 0))
        if now >= start + window:
            start, count = now, 0
        return start, count

    def hit(self, key: object) -> RateStatus:
        """Count one request for ``key``; ``exceeded`` tells whether it must be refused."""
        state = self._switches.state
        now = self._clock()
        with self._lock:
            start, count = self._current(key, now, state.rate_limit_window)
            exceeded = count >= state.rate_limit
            if not exceeded:
                count += 1
            self._windows[key] = (start, count)
        return RateStatus(
            limit=state.rate_limit,
            remaining=max(state.rate_limit - count, 0),
            reset=math.ceil(start + state.rate_limit_window),
            exceeded=exceeded,
        )

    def peek(self, key: object | None) -> RateStatus:
        """The status of ``key`` without counting a request (None: an anonymous caller)."""
        state = self._switches.state
        now = self._clock()
        with self._lock:
            start, count = (
                self._current(key, now, state.rate_limit_window) if key is not None else (now, 0)
            )
        return RateStatus(
            limit=state.rate_limit,
            remaining=max(state.rate_limit - count, 0),
            reset=math.ceil(start + state.rate_limit_window),
        )

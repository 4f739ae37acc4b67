"""Runtime switches for fault injection: maintenance mode and the rate limit.

They start from the settings and can be changed while the server runs through
``GET``/``PUT {root}/_local/faults`` (platform admins only; see api/local.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from sevenbridges_local.settings import Settings


@dataclass(frozen=True)
class FaultState:
    maintenance: bool
    rate_limit: int
    rate_limit_window: int

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class FaultSwitches:
    """Thread-safe holder of the current :class:`FaultState`; notifies listeners on change."""

    def __init__(self, state: FaultState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._listeners: list[Callable[[FaultState], None]] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> FaultSwitches:
        return cls(
            FaultState(
                maintenance=settings.maintenance,
                rate_limit=settings.rate_limit,
                rate_limit_window=settings.rate_limit_window,
            )
        )

    @property
    def state(self) -> FaultState:
        return self._state

    def on_change(self, listener: Callable[[FaultState], None]) -> None:
        self._listeners.append(listener)

    def update(
        self,
        *,
        maintenance: bool | None = None,
        rate_limit: int | None = None,
        rate_limit_window: int | None = None,
    ) -> FaultState:
        changes = {
            key: value
            for key, value in (
                ("maintenance", maintenance),
                ("rate_limit", rate_limit),
                ("rate_limit_window", rate_limit_window),
            )
            if value is not None
        }
        with self._lock:
            self._state = replace(self._state, **changes)
            state = self._state
        for listener in self._listeners:
            listener(state)
        return state

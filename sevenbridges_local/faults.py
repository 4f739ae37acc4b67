"""Runtime switches for fault injection: maintenance mode, the rate limit and transfer faults.

They start from the settings and can be changed while the server runs through
``GET``/``PUT {root}/_local/faults`` (platform admins only; see api/local.py). The transfer switches
are read by the data plane (dataplane.py), which shares this object with the API in one process:

- ``signed_url_ttl``: seconds newly signed transfer URLs stay valid (0: born expired);
- ``drop_transfers``: the next N data-plane requests are cut off mid-body;
- ``corrupt_parts``: the next N stored upload parts get one byte flipped before being stored;
- ``transfer_delay_ms``: a pause before each data-plane request is handled;
- ``wan_latency_ms``, ``wan_bandwidth_mbps``: WAN emulation (settings of the same names give the
  start values): a delay before each data-plane request is answered, and a cap on each
  connection's transfer rate in megabits per second (0: off), applied to part bodies received
  and object bytes sent. Changes apply from the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from sevenbridges_local.settings import Settings

_COUNTDOWN_SWITCHES = frozenset({"drop_transfers", "corrupt_parts"})


@dataclass(frozen=True)
class FaultState:
    maintenance: bool
    rate_limit: int
    rate_limit_window: int
    signed_url_ttl: int = 3600
    drop_transfers: int = 0
    corrupt_parts: int = 0
    transfer_delay_ms: int = 0
    wan_latency_ms: int = 0
    wan_bandwidth_mbps: int = 0

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
                signed_url_ttl=settings.signed_url_ttl,
                wan_latency_ms=settings.wan_latency_ms,
                wan_bandwidth_mbps=settings.wan_bandwidth_mbps,
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
        signed_url_ttl: int | None = None,
        drop_transfers: int | None = None,
        corrupt_parts: int | None = None,
        transfer_delay_ms: int | None = None,
        wan_latency_ms: int | None = None,
        wan_bandwidth_mbps: int | None = None,
    ) -> FaultState:
        changes = {
            key: value
            for key, value in (
                ("maintenance", maintenance),
                ("rate_limit", rate_limit),
                ("rate_limit_window", rate_limit_window),
                ("signed_url_ttl", signed_url_ttl),
                ("drop_transfers", drop_transfers),
                ("corrupt_parts", corrupt_parts),
                ("transfer_delay_ms", transfer_delay_ms),
                ("wan_latency_ms", wan_latency_ms),
                ("wan_bandwidth_mbps", wan_bandwidth_mbps),
            )
            if value is not None
        }
        with self._lock:
            self._state = replace(self._state, **changes)
            state = self._state
        for listener in self._listeners:
            listener(state)
        return state

    def consume(self, counter: str) -> bool:
        """Use up one unit of a countdown switch (``drop_transfers``, ``corrupt_parts``).

        True when the switch was on; decrementing under the lock makes N mean exactly N.
        Listeners are not told: only the rate limiter listens, and it ignores these switches.
        """
        if counter not in _COUNTDOWN_SWITCHES:
            raise ValueError(f"{counter} is not a countdown switch")
        with self._lock:
            remaining = getattr(self._state, counter)
            if remaining <= 0:
                return False
            self._state = replace(self._state, **{counter: remaining - 1})
            return True

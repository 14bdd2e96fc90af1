"""The one call budget of the process: every provider call waits here first.

Calls are spaced evenly (one every ``1/rate`` seconds, a small burst allowed), so the provider
sees a steady rate instead of bursts that trip its per-second limit. The rate can change at run
time: each replica takes its share of the app-wide budget, recomputed on every rebalance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """An async limiter that hands out call slots at ``rate`` per second."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            msg = "rate must be positive"
            raise ValueError(msg)
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._next_free = clock()
        self.waited_seconds = 0.0

    @property
    def rate(self) -> float:
        """Calls per second this limiter allows now."""
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the rate (after a rebalance); slots already handed out keep their time."""
        if rate <= 0:
            msg = "rate must be positive"
            raise ValueError(msg)
        self._rate = rate

    def penalise(self, seconds: float) -> None:
        """Hand out no slot for ``seconds`` (after the provider said the limit was hit)."""
        self._next_free = max(self._next_free, self._clock() + seconds)

    def reserve(self) -> float:
        """Reserve the next slot and return how long to wait for it."""
        now = self._clock()
        earliest = now - (self._burst - 1) / self._rate
        slot = max(self._next_free, earliest)
        self._next_free = slot + 1 / self._rate
        return max(0.0, slot - now)

    async def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            self.waited_seconds += delay
            await asyncio.sleep(delay)
        return delay


class ApiBudgets:
    """One limiter for all APIs (the safe reading), or one per API when configured so."""

    def __init__(self, rate: float, *, per_api: bool = False) -> None:
        self._rate = rate
        self._per_api = per_api
        self._shared = RateLimiter(rate)
        self._by_api: dict[str, RateLimiter] = {}

    def for_api(self, api: str) -> RateLimiter:
        """The limiter a call to ``api`` waits on."""
        if not self._per_api:
            return self._shared
        if api not in self._by_api:
            self._by_api[api] = RateLimiter(self._rate)
        return self._by_api[api]

    def set_rate(self, rate: float) -> None:
        """Change every limiter's rate."""
        self._rate = rate
        self._shared.set_rate(rate)
        for limiter in self._by_api.values():
            limiter.set_rate(rate)

    @property
    def rate(self) -> float:
        """The current rate of each budget."""
        return self._rate

    @property
    def waited_seconds(self) -> float:
        """Total seconds calls spent waiting for a slot."""
        return self._shared.waited_seconds + sum(x.waited_seconds for x in self._by_api.values())

# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The one call budget of the process: every provider call waits here first.

Calls are spaced evenly (one every ``1/rate`` seconds), so the provider sees a steady rate
instead of bursts that trip its per-second limit. Spacing alone is not enough: when the event
loop is late, calls whose slots have passed leave together. So a call also waits until fewer
than ``rate`` calls have left in the last second, the rule the provider counts by. The rate can
change at run time: each replica takes its share of the app-wide budget on every rebalance.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 1.0


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
        self._released: deque[float] = deque()
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

    @property
    def capacity(self) -> int:
        """Calls allowed in any window of ``WINDOW_SECONDS``."""
        return max(1, math.floor(self._rate * WINDOW_SECONDS))

    def window_delay(self) -> float:
        """How long until another call fits in the sliding window (0: now)."""
        now = self._clock()
        released = self._released
        while released and released[0] <= now - WINDOW_SECONDS:
            released.popleft()
        if len(released) < self.capacity:
            return 0.0
        return released[len(released) - self.capacity] + WINDOW_SECONDS - now

    def release(self) -> None:
        """Record that a call leaves now."""
        self._released.append(self._clock())

    async def acquire(self) -> float:
        """Wait for a slot and a place in the window; returns the seconds waited."""
        started = self._clock()
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        while (wait := self.window_delay()) > 0:  # noqa: ASYNC110 - the window moves with time, not an event
            await asyncio.sleep(wait)
        self.release()
        waited = self._clock() - started
        self.waited_seconds += waited
        return waited


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


def replica_rate(app_rate: float, held_partitions: int, total_partitions: int) -> float | None:
    """The replica's share of the app-wide rate: proportional to the input partitions it holds.

    None when there is nothing to share yet (no partitions known or held).
    """
    if total_partitions <= 0 or held_partitions <= 0:
        return None
    return app_rate * min(held_partitions, total_partitions) / total_partitions

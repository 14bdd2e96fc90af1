# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The provider's call budget: at most N calls in any sliding window, app-wide or per API."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class SlidingWindowLimiter:
    """Admits a call when fewer than ``capacity`` calls were admitted in the last window.

    For a whole number of calls per second the window is one second and the capacity that
    number; a fractional rate keeps the same average (``capacity / window == calls_per_second``).
    Refused calls do not count against the budget.
    """

    def __init__(
        self, calls_per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if calls_per_second <= 0:
            msg = "calls_per_second must be positive"
            raise ValueError(msg)
        self.capacity = max(1, math.floor(calls_per_second))
        self.window_seconds = self.capacity / calls_per_second
        self._clock = clock
        self._admitted: deque[float] = deque()

    def would_admit(self) -> bool:
        """True when a call now would be admitted (nothing is counted)."""
        horizon = self._clock() - self.window_seconds
        admitted = self._admitted
        while admitted and admitted[0] <= horizon:
            admitted.popleft()
        return len(admitted) < self.capacity

    def try_acquire(self) -> bool:
        """Admit one call now, or say it is over the limit."""
        if not self.would_admit():
            return False
        self._admitted.append(self._clock())
        return True


class CallBudget:
    """One limiter shared by every API, or one per API; plus an API's own lower limit.

    ``api_limits``: APIs documented with a lower limit than the budget (Tencent
    ``multiaccount_import`` 100 calls/s): a call needs room in both.
    """

    def __init__(
        self,
        calls_per_second: float,
        *,
        per_api: bool = False,
        api_limits: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls_per_second = calls_per_second
        self._per_api = per_api
        self._clock = clock
        self._shared = SlidingWindowLimiter(calls_per_second, clock=clock)
        self._by_api: dict[str, SlidingWindowLimiter] = {}
        self._caps = {
            api: SlidingWindowLimiter(limit, clock=clock)
            for api, limit in (api_limits or {}).items()
        }

    def _main(self, api: str) -> SlidingWindowLimiter:
        if not self._per_api:
            return self._shared
        limiter = self._by_api.get(api)
        if limiter is None:
            limiter = SlidingWindowLimiter(self._calls_per_second, clock=self._clock)
            self._by_api[api] = limiter
        return limiter

    def try_acquire(self, api: str) -> bool:
        """Admit one call to ``api`` now, or say it is over the limit."""
        main = self._main(api)
        cap = self._caps.get(api)
        if cap is None:
            return main.try_acquire()
        if not (cap.would_admit() and main.would_admit()):
            return False
        return cap.try_acquire() and main.try_acquire()

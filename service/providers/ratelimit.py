# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The one call budget of the process: every provider call waits here first.

Calls are spaced evenly (one every ``1/rate`` seconds), so the provider sees a steady rate
instead of bursts that trip its per-second limit. Spacing alone is not enough: when the event
loop is late, calls whose slots have passed leave together. So a call also waits until fewer
than ``rate`` calls have left in the last second, the rule the provider counts by. The rate can
change at run time: each replica takes its share of the app-wide budget on every rebalance
(``replica_share``). A rate of 0 closes the budget: a replica that holds no partition makes no
call, and calls that ask wait until it holds some again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from service.domain.budget_sharing import split_by_indices

WINDOW_SECONDS = 1.0
CATCH_UP_SLOTS = 2


class RateLimiter:
    """An async limiter that lets calls leave one by one at ``rate`` per second, in FIFO order.

    Slots are given when a call may actually leave, not reserved ahead: a late event loop then
    sends the next call a little later instead of a bunch of overdue calls at once (a bunch
    would repeat every second through the sliding window). One dispatcher task hands the slots
    to waiters in arrival order.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        _check_rate(rate)
        self._rate = rate
        self._clock = clock
        self._next_free = clock()
        self._released: deque[float] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._dispatcher: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()  # set when the rate becomes positive
        self.waited_seconds = 0.0

    @property
    def rate(self) -> float:
        """Calls per second this limiter allows now."""
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the rate (after a rebalance); 0 closes the budget until a positive rate."""
        _check_rate(rate)
        self._rate = rate
        if rate > 0:
            self._opened.set()

    def restamp(self) -> None:
        """The call granted last leaves only now: count it (and space the next) from now.

        For a narrower limiter taken before the shared one, by one acquirer at a time (a
        group's lane, the account batcher): without it, a call that waited long on the shared
        budget would leave closer to the next one than the narrower limit allows.
        """
        now = self._clock()
        if self._released and self._released[-1] < now:
            self._released[-1] = now
        if self._rate > 0:
            self._next_free = max(self._next_free, now + 1 / self._rate)

    def idle(self) -> bool:
        """True when nobody waits and its last call is out of the window (safe to forget)."""
        now = self._clock()
        return not self._waiters and (
            not self._released or self._released[-1] <= now - WINDOW_SECONDS
        )

    def penalise(self, seconds: float) -> None:
        """Give no slot for ``seconds`` (after the provider said the limit was hit)."""
        self._next_free = max(self._next_free, self._clock() + seconds)

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

    def delay(self) -> float:
        """How long until the next call may leave (0: now; infinite while the rate is 0)."""
        if self._rate == 0:
            return math.inf
        return max(0.0, self._next_free - self._clock(), self.window_delay())

    def grant(self) -> None:
        """A call leaves now: space the next one and count this one in the window.

        Only when ``delay()`` is 0, hence never while the rate is 0.
        """
        now = self._clock()
        interval = 1 / self._rate
        # A late event loop (busy reading a backlog) may catch up a few slots, never a bunch:
        # without it the rate sags whenever timers fire late; with more, bunches would recur.
        self._next_free = max(self._next_free, now - CATCH_UP_SLOTS * interval) + interval
        self._released.append(now)

    async def acquire(self) -> float:
        """Wait for this call's turn; returns the seconds waited."""
        started = self._clock()
        if not self._waiters and self.delay() <= 0:
            self.grant()
            return 0.0
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        await waiter
        waited = self._clock() - started
        self.waited_seconds += waited
        return waited

    async def _dispatch(self) -> None:
        while self._waiters:
            if self._rate == 0:
                self._opened.clear()
                await self._opened.wait()
                continue
            wait = self.delay()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            waiter = self._waiters.popleft()
            if waiter.done():  # its caller gave up (cancelled)
                continue
            self.grant()
            waiter.set_result(None)


def _check_rate(rate: float) -> None:
    if not math.isfinite(rate) or rate < 0:
        msg = f"rate must be 0 (no calls) or positive, not {rate}"
        raise ValueError(msg)


MAX_KEYED_LIMITERS = 10_000


class ApiBudgets:
    """One limiter for all APIs (the safe reading), or one per API when configured so.

    Besides, an API documented with a lower app-wide limit than the budget takes its share of it
    (``api_shares``: Tencent ``multiaccount_import`` 100 of 200 calls/s, so 0.5 of whatever
    share this replica holds), and an API limited per group has a limiter per group
    (``per_key``: calls per second, ZIM ``InviteUsersIntoGroup`` 1; a group is held by one
    replica, so this is not shared out). A call waits on the narrower limiters first, then on
    the budget, and counts on the narrower ones from the moment it leaves.
    """

    def __init__(
        self,
        rate: float,
        *,
        per_api: bool = False,
        api_shares: Mapping[str, float] | None = None,
        per_key: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_rate(rate)
        self._rate = rate
        self._per_api = per_api
        self._clock = clock
        self._shared = RateLimiter(rate, clock=clock)
        self._by_api: dict[str, RateLimiter] = {}
        self._shares = {api: min(1.0, max(0.0, share)) for api, share in (api_shares or {}).items()}
        self._caps = {
            api: RateLimiter(rate * share, clock=clock) for api, share in self._shares.items()
        }
        self._per_key = dict(per_key or {})
        self._keyed: OrderedDict[tuple[str, str], RateLimiter] = OrderedDict()

    def _narrower(self, api: str, key: str | None) -> list[RateLimiter]:
        narrower = [self._caps[api]] if api in self._caps else []
        if key is not None and api in self._per_key:
            slot = (api, key)
            limiter = self._keyed.get(slot)
            if limiter is None:
                limiter = self._keyed[slot] = RateLimiter(self._per_key[api], clock=self._clock)
                self._forget_idle()
            self._keyed.move_to_end(slot)
            narrower.append(limiter)
        return narrower

    def _forget_idle(self) -> None:
        if len(self._keyed) <= MAX_KEYED_LIMITERS:
            return
        for slot in [slot for slot, limiter in self._keyed.items() if limiter.idle()]:
            del self._keyed[slot]
            if len(self._keyed) <= MAX_KEYED_LIMITERS // 2:
                return

    def delay(self, api: str, key: str | None = None) -> float:
        """How long until a call to ``api`` (for ``key``) may leave (0: now)."""
        return max(limiter.delay() for limiter in (*self._narrower(api, key), self.for_api(api)))

    async def acquire(self, api: str, key: str | None = None) -> float:
        """Wait until a call to ``api`` (for ``key``, e.g. a group) may leave; seconds waited."""
        narrower = self._narrower(api, key)
        waited = 0.0
        for limiter in narrower:
            waited += await limiter.acquire()
        waited += await self.for_api(api).acquire()
        for limiter in narrower:
            limiter.restamp()
        return waited

    def for_api(self, api: str) -> RateLimiter:
        """The limiter a call to ``api`` waits on."""
        if not self._per_api:
            return self._shared
        if api not in self._by_api:
            self._by_api[api] = RateLimiter(self._rate, clock=self._clock)
        return self._by_api[api]

    def set_rate(self, rate: float) -> None:
        """Change every limiter's rate (the per-API caps keep their share of it)."""
        self._rate = rate
        self._shared.set_rate(rate)
        for limiter in self._by_api.values():
            limiter.set_rate(rate)
        for api, limiter in self._caps.items():
            limiter.set_rate(rate * self._shares[api])

    @property
    def rate(self) -> float:
        """The current rate of each budget."""
        return self._rate

    @property
    def waited_seconds(self) -> float:
        """Total seconds calls spent waiting for a slot."""
        narrower = [*self._caps.values(), *self._keyed.values()]
        return (
            self._shared.waited_seconds
            + sum(x.waited_seconds for x in self._by_api.values())
            + sum(x.waited_seconds for x in narrower)
        )


def replica_share(held: AbstractSet[int] | int, total_partitions: int, app_rate: float) -> float:
    """The replica's calls per second: ``app_rate`` * indices held / indices spread.

    ``held`` is the set of partition indices the replica holds (or their number) and
    ``total_partitions`` the number of indices the assignment spread. With co-partitioned
    assignment (``service.messaging.assignor``) an index is held by one replica, with all its
    topics' partitions, so the shares of all replicas add up to at most ``app_rate`` whatever
    the assignment. Each share is rounded down to a float, so even their float sum stays within
    the budget.

    A replica that holds nothing gets 0: no calls (``RateLimiter`` waits until it holds
    something again). Not a small floor: any floor above 0, times the spare replicas, would put
    the sum over the budget.

    Rebalances: aiokafka's protocol is eager. Each member revokes all it holds and only then
    rejoins; no member gets the new assignment before every member has rejoined. So set the
    share to ``replica_share(set(), ...)`` (0) at the end of the revocation, once the revoked
    partitions' in-flight calls have drained, and to the new holding's share when partitions
    are assigned. Every share in force is then the share of one generation's disjoint holding,
    and the sum stays within the budget during the rebalance too. The one exception is a member
    expelled while it still drains (its drain outlasted the rebalance timeout, or it missed
    heartbeats): the drain bound (``drain_seconds``) is kept well below the timeout for that.
    """
    _check_rate(app_rate)
    count = held if isinstance(held, int) else len(held)
    if total_partitions < 0 or not 0 <= count <= total_partitions:
        msg = f"{count} of {total_partitions} partitions cannot be held"
        raise ValueError(msg)
    if not isinstance(held, int) and not all(0 <= index < total_partitions for index in held):
        msg = f"partition indices {sorted(held)} are not all below {total_partitions}"
        raise ValueError(msg)
    return split_by_indices(count, total_partitions, app_rate)


def balanced_holdings(total_partitions: int, replicas: int) -> list[int]:
    """How many indices each replica holds when P are spread evenly over M (larger first)."""
    base, extra = divmod(total_partitions, replicas)
    return [base + 1 if n < extra else base for n in range(replicas)]


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One line of the share table: ``replicas`` replicas, each one's share, and their sum."""

    replicas: int
    shares: tuple[float, ...]

    @property
    def total(self) -> float:
        """The sum of the shares (exactly rounded)."""
        return math.fsum(self.shares)


def share_table(
    total_partitions: int = 12, app_rate: float = 196.0, max_replicas: int = 12
) -> list[ShareRow]:
    """Per-replica shares for 1..``max_replicas`` replicas over ``total_partitions`` indices.

    The default is the benchmark's setting: 12 partitions and 196 calls/s (200 less 2 %).
    """
    return [
        ShareRow(
            replicas,
            tuple(
                replica_share(held, total_partitions, app_rate)
                for held in balanced_holdings(total_partitions, replicas)
            ),
        )
        for replicas in range(1, max_replicas + 1)
    ]


def format_share_table(rows: list[ShareRow]) -> str:
    """The table as text, one line per replica count.

    For example ``5 replicas: 2 x 49.00 + 3 x 32.67 = 196.00``.
    """
    lines = []
    for row in rows:
        groups = (
            (share, row.shares.count(share)) for share in sorted(set(row.shares), reverse=True)
        )
        parts = " + ".join(f"{count} x {share:.2f}" for share, count in groups)
        lines.append(f"{row.replicas:>2} replicas: {parts} = {row.total:.2f}")
    return "\n".join(lines)

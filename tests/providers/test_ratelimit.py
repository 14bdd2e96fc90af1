# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import asyncio

from hypothesis import given
from hypothesis import strategies as st

from service.providers.ratelimit import RateLimiter, replica_rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_slots_are_spaced_evenly(self):
        """Reserving three slots at 10/s gives waits 0, 0.1 and 0.2 s."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        assert [0.0, 0.1, 0.2] == [round(limiter.reserve(), 6) for _ in range(3)]

    def test_window_holds_at_most_rate_calls(self):
        """After rate calls left at once (a late loop), the next waits for the window to move."""
        clock = FakeClock()
        limiter = RateLimiter(5, clock=clock)
        for _ in range(5):
            limiter.release()
        clock.now += 0.4
        assert 0.6 == round(limiter.window_delay(), 6)

    def test_rate_change_applies_to_new_slots(self):
        """After a rebalance the new share spaces the following slots."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        limiter.reserve()
        limiter.set_rate(5)
        limiter.reserve()
        assert 0.3 == round(limiter.reserve(), 6)

    @given(st.lists(st.floats(min_value=0, max_value=0.05), min_size=1, max_size=200))
    def test_no_window_exceeds_the_rate(self, lags):
        """Whatever the scheduling lag, no one-second window holds more than rate releases."""
        clock = FakeClock()
        limiter = RateLimiter(20, clock=clock)
        released = []
        for lag in lags:
            clock.now += lag
            wait = limiter.window_delay()
            clock.now += wait
            limiter.release()
            released.append(clock.now)
        for i, start in enumerate(released):
            in_window = [t for t in released[i:] if t < start + 1.0]
            assert len(in_window) <= 20

    async def test_acquire_paces_real_calls(self):
        """Concurrent callers at 50/s take about 0.1 s for 6 calls (first one immediate)."""
        limiter = RateLimiter(50)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(limiter.acquire() for _ in range(6)))
        assert 0.09 <= loop.time() - started


class TestReplicaRate:
    def test_share_is_proportional_to_partitions_held(self):
        """Three replicas over 24 input partitions at 196 calls/s: 8 partitions take a third."""
        assert round(196 / 3, 6) == round(replica_rate(196, 8, 24) or 0, 6)

    def test_all_partitions_take_the_whole_budget(self):
        """A single replica holding everything uses the whole app budget."""
        assert 196 == replica_rate(196, 24, 24)

    def test_nothing_held_changes_nothing(self):
        """Before an assignment there is no share to compute."""
        assert (None, None) == (replica_rate(196, 0, 24), replica_rate(196, 3, 0))

    @given(st.integers(min_value=1, max_value=64), st.integers(min_value=1, max_value=8))
    def test_shares_of_a_full_assignment_add_up_to_the_budget(self, partitions, replicas):
        """However partitions are split among replicas, their rates add up to the app budget."""
        sizes = [
            partitions // replicas + (1 if i < partitions % replicas else 0)
            for i in range(replicas)
        ]
        total = sum(replica_rate(200, size, partitions) or 0 for size in sizes)
        assert 200 == round(total, 6)

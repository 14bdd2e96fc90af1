# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.messaging.assignor import Claim, plan_indices
from service.providers.ratelimit import (
    ApiBudgets,
    RateLimiter,
    format_share_table,
    replica_share,
    share_table,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_slots_are_spaced_evenly(self):
        """After a call leaves at 10/s, the next may leave 0.1 s later."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        limiter.grant()
        assert 0.1 == round(limiter.delay(), 6)

    def test_a_late_loop_catches_up_two_slots_only(self):
        """Half a second late, three calls may leave at once, never more: no bunch."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        limiter.grant()
        clock.now += 0.5
        delays = []
        for _ in range(4):
            delays.append(round(limiter.delay(), 6))
            limiter.grant()
        assert [0.0, 0.0, 0.0, 0.1] == delays

    def test_window_holds_at_most_rate_calls(self):
        """After rate calls left at once (a late loop), the next waits for the window to move."""
        clock = FakeClock()
        limiter = RateLimiter(5, clock=clock)
        for _ in range(5):
            limiter._released.append(clock.now)
        clock.now += 0.4
        assert 0.6 == round(limiter.window_delay(), 6)

    def test_rate_change_applies_to_new_slots(self):
        """After a rebalance the new share spaces the following slots."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        limiter.set_rate(5)
        limiter.grant()
        assert 0.2 == round(limiter.delay(), 6)

    @given(st.lists(st.floats(min_value=0, max_value=0.05), min_size=1, max_size=200))
    def test_no_window_exceeds_the_rate(self, lags):
        """Whatever the scheduling lag, no one-second window holds more than rate releases."""
        clock = FakeClock()
        limiter = RateLimiter(20, clock=clock)
        released = []
        for lag in lags:
            clock.now += lag
            clock.now += limiter.delay()
            limiter.grant()
            released.append(clock.now)
        for i, start in enumerate(released):
            in_window = [t for t in released[i:] if t < start + 1.0]
            assert len(in_window) <= 20

    async def test_waiters_are_served_in_order(self):
        """Callers get their turn in the order they asked."""
        limiter = RateLimiter(200)
        order: list[int] = []

        async def call(n: int) -> None:
            await limiter.acquire()
            order.append(n)

        await asyncio.gather(*(call(n) for n in range(10)))
        assert list(range(10)) == order

    async def test_acquire_paces_real_calls(self):
        """Concurrent callers at 50/s take about 0.1 s for 6 calls (first one immediate)."""
        limiter = RateLimiter(50)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(limiter.acquire() for _ in range(6)))
        assert 0.09 <= loop.time() - started


class TestClosedBudget:
    def test_a_rate_of_zero_gives_no_slot(self):
        """At rate 0 (no partitions held) the next call's delay is unbounded."""
        limiter = RateLimiter(10, clock=FakeClock())
        limiter.set_rate(0)
        assert math.inf == limiter.delay()

    async def test_a_waiting_call_leaves_when_the_rate_is_positive_again(self):
        """A call that asks while the budget is closed waits, and leaves once a share is set."""
        limiter = RateLimiter(0)
        call = asyncio.create_task(limiter.acquire())
        await run_ready_tasks()  # the call queues, the dispatcher parks until the budget opens
        assert False is call.done()
        limiter.set_rate(50)
        await asyncio.wait_for(call, timeout=5)

    def test_closing_applies_to_every_api_budget(self):
        """With a budget per API, rate 0 closes each of them."""
        budgets = ApiBudgets(10, per_api=True)
        limiter = budgets.for_api("import_group_msg")
        budgets.set_rate(0)
        assert (0, math.inf, math.inf) == (
            budgets.rate,
            limiter.delay(),
            budgets.for_api("import_group").delay(),
        )

    @pytest.mark.parametrize("rate", [-1.0, math.nan, math.inf])
    def test_a_negative_or_non_finite_rate_is_refused(self, rate):
        """Only 0 (closed) and finite positive rates are rates."""
        with pytest.raises(ValueError, match="rate must be 0"):
            RateLimiter(10).set_rate(rate)


async def run_ready_tasks(turns: int = 10) -> None:
    """Let every task that can run take its turns (no time passes: a yield, not a sleep)."""
    for _ in range(turns):
        await asyncio.sleep(0)


@st.composite
def holdings(draw: st.DrawFn) -> tuple[int, list[set[int]]]:
    """P indices, each held by one of M replicas (some replicas may hold none)."""
    partitions = draw(st.integers(min_value=1, max_value=64))
    replicas = draw(st.integers(min_value=1, max_value=20))
    owners = draw(
        st.lists(
            st.integers(min_value=0, max_value=replicas - 1),
            min_size=partitions,
            max_size=partitions,
        )
    )
    held: list[set[int]] = [set() for _ in range(replicas)]
    for index, owner in enumerate(owners):
        held[owner].add(index)
    return partitions, held


rates = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


class TestReplicaShare:
    @given(holdings(), rates)
    def test_shares_never_add_up_to_more_than_the_budget(self, holding, app_rate):
        """However P indices are split among M replicas, the shares sum to at most the budget."""
        partitions, held = holding
        total = math.fsum(replica_share(h, partitions, app_rate) for h in held)
        assert total <= app_rate

    @given(holdings(), rates)
    def test_shares_of_a_whole_assignment_use_the_budget(self, holding, app_rate):
        """When every index is held the shares add up to the budget (less rounding)."""
        partitions, held = holding
        total = math.fsum(replica_share(h, partitions, app_rate) for h in held)
        assert app_rate == pytest.approx(total, rel=1e-12, abs=1e-300)

    def test_a_replica_holding_nothing_makes_no_calls(self):
        """No partition held: a share of 0, never the rate of an earlier assignment."""
        assert 0.0 == replica_share(set(), 12, 196)

    def test_the_share_follows_the_indices_held(self):
        """Three of 12 indices at 196 calls/s: 49 calls/s."""
        assert 49.0 == replica_share({0, 5, 7}, 12, 196)

    def test_a_count_is_as_good_as_the_indices(self):
        """Passing how many indices are held gives the same share as passing them."""
        assert replica_share({1, 2, 3, 4, 5}, 12, 196) == replica_share(5, 12, 196)

    def test_holding_every_index_takes_the_whole_budget(self):
        """A single replica takes all 196 calls/s."""
        assert 196.0 == replica_share(set(range(12)), 12, 196)

    def test_no_indices_spread_means_no_share(self):
        """An assignment that spread nothing (topics without metadata yet): no calls."""
        assert 0.0 == replica_share(set(), 0, 196)

    @pytest.mark.parametrize(
        ("held", "partitions"), [(13, 12), (-1, 12), ({12}, 12), ({0, -1}, 12), (0, -1)]
    )
    def test_an_impossible_holding_is_refused(self, held, partitions):
        """More indices than were spread, or an index outside them, is a bug: ValueError."""
        with pytest.raises(ValueError, match="partition"):
            replica_share(held, partitions, 196)


class TestShareTable:
    def test_every_replica_count_stays_within_the_budget(self):
        """For 1 to 12 replicas over 12 partitions at 196 calls/s, each sum is at most 196."""
        rows = share_table(12, 196.0)
        assert (list(range(1, 13)), True) == (
            [row.replicas for row in rows],
            all(row.total <= 196.0 for row in rows),
        )

    def test_rows_follow_the_assignors_spread(self):
        """Each row's shares are those of the indices the assignor gives fresh replicas."""
        expected = [
            sorted(
                (
                    replica_share(held, 12, 196.0)
                    for held in plan_indices(
                        dict.fromkeys(map(str, range(m)), Claim()), range(12)
                    ).values()
                ),
                reverse=True,
            )
            for m in range(1, 13)
        ]
        assert expected == [list(row.shares) for row in share_table(12, 196.0)]

    def test_text_groups_equal_shares(self):
        """Five replicas: two hold 3 indices (49 calls/s), three hold 2 (32.67 calls/s)."""
        lines = format_share_table(share_table(12, 196.0)).splitlines()
        assert " 5 replicas: 2 x 49.00 + 3 x 32.67 = 196.00" == lines[4]


class TestNarrowerLimits:
    async def test_an_api_with_a_lower_documented_limit_takes_its_share(self):
        """multiaccount_import at 100 of 200 calls/s: half of this replica's rate, always."""
        clock = FakeClock()
        budgets = ApiBudgets(196, api_shares={"multiaccount_import": 0.5}, clock=clock)
        await budgets.acquire("multiaccount_import")
        first = budgets.delay("multiaccount_import")
        other = budgets.delay("import_group_msg")
        budgets.set_rate(98)
        clock.now += 1
        await budgets.acquire("multiaccount_import")
        assert (round(1 / 98, 6), 0.0, round(1 / 49, 6)) == (
            round(first, 6),
            round(max(0.0, other - 1 / 196), 6),
            round(budgets.delay("multiaccount_import"), 6),
        )

    async def test_a_per_group_limit_spaces_one_groups_calls_and_not_the_others(self):
        """InviteUsersIntoGroup at 1 call/s per group: g1 waits a second, g2 may call now."""
        clock = FakeClock()
        budgets = ApiBudgets(1000, per_key={"InviteUsersIntoGroup": 1.0}, clock=clock)
        await budgets.acquire("InviteUsersIntoGroup", "g1")
        clock.now += 0.01
        assert (True, 0.0) == (
            0.98 < budgets.delay("InviteUsersIntoGroup", "g1") <= 1.0,
            budgets.delay("InviteUsersIntoGroup", "g2"),
        )

    async def test_a_per_group_limit_counts_from_when_the_call_leaves(self):
        """A call that waited on the shared budget counts on its group's limiter from leaving."""
        clock = FakeClock()
        keyed = RateLimiter(1.0, clock=clock)
        keyed.grant()
        clock.now += 0.6  # waited on the shared budget
        keyed.restamp()
        clock.now += 0.5
        assert round(keyed.delay(), 6) == 0.5

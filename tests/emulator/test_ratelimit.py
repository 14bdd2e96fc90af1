# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from service.emulator.ratelimit import CallBudget, SlidingWindowLimiter

from .helpers import FakeClock


class TestSlidingWindow:
    """At most N admitted calls in any window."""

    def test_admits_the_budget_then_refuses(self) -> None:
        """Within one second, calls beyond calls_per_second are refused."""
        limiter = SlidingWindowLimiter(5, clock=FakeClock())
        expected = [True] * 5 + [False] * 2
        assert expected == [limiter.try_acquire() for _ in range(7)]

    def test_window_slides(self) -> None:
        """A call admitted one second ago no longer counts."""
        clock = FakeClock()
        limiter = SlidingWindowLimiter(2, clock=clock)
        limiter.try_acquire()
        clock.advance(0.5)
        limiter.try_acquire()
        clock.advance(0.5)
        first_expired = limiter.try_acquire()
        second_still_counts = limiter.try_acquire()
        expected = (True, False)
        assert expected == (first_expired, second_still_counts)

    def test_refused_calls_do_not_use_the_budget(self) -> None:
        """Only admitted calls count: after a second the full budget is back."""
        clock = FakeClock()
        limiter = SlidingWindowLimiter(1, clock=clock)
        limiter.try_acquire()
        for _ in range(10):
            limiter.try_acquire()
        clock.advance(1.0)
        assert limiter.try_acquire()

    def test_fractional_rate_keeps_its_average(self) -> None:
        """0.5 calls per second admits one call per two seconds."""
        clock = FakeClock()
        limiter = SlidingWindowLimiter(0.5, clock=clock)
        results = [limiter.try_acquire()]
        clock.advance(1.5)
        results.append(limiter.try_acquire())
        clock.advance(0.5)
        results.append(limiter.try_acquire())
        expected = [True, False, True]
        assert expected == results


class TestCallBudget:
    """One budget for all APIs, or one each."""

    def test_one_budget_shared_by_all_apis(self) -> None:
        """By default every API draws on the same app-wide budget."""
        budget = CallBudget(2, clock=FakeClock())
        expected = [True, True, False]
        assert expected == [
            budget.try_acquire(api) for api in ("import_group", "import_group_msg", "x")
        ]

    def test_per_api_budgets(self) -> None:
        """With per_api each API has its own budget."""
        budget = CallBudget(1, per_api=True, clock=FakeClock())
        expected = [True, True, False]
        assert expected == [
            budget.try_acquire(api) for api in ("import_group", "import_group_msg", "import_group")
        ]

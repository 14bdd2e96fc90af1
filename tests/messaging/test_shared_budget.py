# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A replica's share of the call budget from the control topic, against a stand-in channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka.errors import KafkaConnectionError
from structlog.testing import capture_logs

from service.domain.budget_sharing import EFFECT_DELAY_SECONDS, Report
from service.messaging.assignor import Holding
from service.messaging.shared_budget import LATE_AFTER_SECONDS, SharedBudget
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets

BUDGET = 196.0
HOLDING = Holding(epoch=7, indices=frozenset({0, 1}), index_count=4)  # half: 98 calls/s


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class StandInChannel:
    """The control topic: what is sent comes back stamped (unless ``echo`` is off)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.sent: list[Report] = []
        self.inbox: asyncio.Queue[tuple[Report, float]] = asyncio.Queue()
        self.echo = True
        self.failure: Exception | None = None

    async def send(self, report: Report) -> None:
        self.sent.append(report)
        if self.echo:
            self.inbox.put_nowait((report, self._clock()))

    async def read(self, timeout_seconds: float) -> list[tuple[Report, float]]:
        if self.failure is not None:
            raise self.failure
        try:
            first = await asyncio.wait_for(self.inbox.get(), timeout_seconds)
        except TimeoutError:
            return []
        got = [first]
        while not self.inbox.empty():
            got.append(self.inbox.get_nowait())
        return got

    def other(
        self, backlog: float, *, epoch: int = 7, index_count: int = 4, group: str = "g"
    ) -> None:
        """The replica holding indices 2 and 3 reports ``backlog``."""
        report = Report("other", epoch, index_count, frozenset({2, 3}), backlog, 1, group)
        self.inbox.put_nowait((report, self._clock()))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain condition, polled with a deadline
            await asyncio.sleep(0.01)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def shared(clock: Clock) -> AsyncIterator[tuple[SharedBudget, ApiBudgets, StandInChannel]]:
    budgets = ApiBudgets(0.0)
    channel = StandInChannel(clock)
    shared = SharedBudget(
        budgets,
        Metrics(),
        BUDGET,
        channel,  # type: ignore[arg-type]
        group="g",
        clock=clock,
    )
    yield shared, budgets, channel
    await shared.stop()


def backlog_of(calls: float) -> Callable[[], asyncio.Future[float]]:
    async def measure() -> float:
        return calls

    return measure  # type: ignore[return-value]


async def test_an_assignment_starts_at_the_split_by_indices_and_reports_the_backlog(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel],
) -> None:
    budget, budgets, channel = shared
    budget.hold(HOLDING, backlog_of(120.0))
    assert budgets.rate == 98.0
    await until(lambda: bool(channel.sent))
    assert (channel.sent[0].epoch, channel.sent[0].indices, channel.sent[0].backlog) == (
        7,
        frozenset({0, 1}),
        120.0,
    )


async def test_a_busier_replica_takes_budget_from_this_one_after_the_delay(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel], clock: Clock
) -> None:
    budget, budgets, channel = shared
    budget.hold(HOLDING, backlog_of(0.0))
    await until(lambda: bool(channel.sent))
    channel.other(5_000.0)  # the first report of the epoch: no time for the shares to move
    clock.now += 5.0  # the shares move over a few of their half-second time constants
    channel.other(5_000.0)
    await until(channel.inbox.empty)
    assert budgets.rate == 98.0  # planned, not in effect yet
    clock.now += EFFECT_DELAY_SECONDS
    await until(lambda: budgets.rate < 10.0)
    assert budgets.rate == int(budgets.rate)  # whole calls


async def test_reports_of_another_epoch_index_count_or_group_change_nothing(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel], clock: Clock
) -> None:
    budget, budgets, channel = shared
    budget.hold(HOLDING, backlog_of(0.0))
    for _ in range(3):
        clock.now += 5.0
        channel.other(5_000.0, epoch=6)
        channel.other(5_000.0, index_count=8)
        channel.other(5_000.0, group="another-deployment")
        await until(channel.inbox.empty)
    clock.now += 5.0
    await asyncio.sleep(0.1)
    assert budgets.rate == 98.0


async def test_a_revocation_takes_the_whole_share_away(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel],
) -> None:
    budget, budgets, _ = shared
    budget.hold(HOLDING, backlog_of(10.0))
    budget.release()
    assert budgets.rate == 0.0


async def test_a_replica_that_reads_nothing_back_takes_no_budget_until_it_does(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel], clock: Clock
) -> None:
    budget, budgets, channel = shared
    channel.echo = False
    with capture_logs() as logs:
        budget.hold(HOLDING, backlog_of(10.0))
        await until(lambda: bool(channel.sent))
        clock.now += LATE_AFTER_SECONDS + 0.1
        await until(lambda: budgets.rate == 0.0)
        channel.echo = True
        clock.now += 1.0  # the next report goes out, and comes back
        await until(lambda: budgets.rate == 98.0)
    events = [entry["event"] for entry in logs]
    assert "reading the control topic late: no call budget until it catches up" in events
    assert "the control topic caught up: call budget shared again" in events


async def test_a_failing_control_topic_takes_the_budget_until_it_answers(
    shared: tuple[SharedBudget, ApiBudgets, StandInChannel],
) -> None:
    budget, budgets, channel = shared
    channel.failure = KafkaConnectionError()
    with capture_logs() as logs:
        budget.hold(HOLDING, backlog_of(10.0))
        await until(lambda: budgets.rate == 0.0)
        channel.failure = None
        await until(lambda: budgets.rate == 98.0, timeout=10)
    assert "the control topic failed: no call budget until it answers" in [
        entry["event"] for entry in logs
    ]


async def test_without_a_control_topic_the_share_is_the_split_by_indices() -> None:
    budgets = ApiBudgets(0.0)
    budget = SharedBudget(budgets, Metrics(), BUDGET, None)
    budget.hold(HOLDING, backlog_of(10.0))
    assert budgets.rate == 98.0
    budget.hold(None, backlog_of(0.0))
    assert budgets.rate == 0.0
    await budget.stop()


class SlowChannel(StandInChannel):
    """Sends wait for ``acknowledge`` while ``slow`` is set: a broker slow to answer."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.slow = False
        self.waiting = asyncio.Event()
        self.acknowledge = asyncio.Event()

    async def send(self, report: Report) -> None:
        if self.slow:
            self.waiting.set()
            await self.acknowledge.wait()
        await super().send(report)


async def test_a_lower_share_takes_effect_on_time_while_a_report_waits_for_its_ack(
    clock: Clock,
) -> None:
    """The others take what this replica gives up at the instant, slow broker or not."""
    budgets = ApiBudgets(0.0)
    channel = SlowChannel(clock)
    budget = SharedBudget(budgets, Metrics(), BUDGET, channel, group="g", clock=clock)  # type: ignore[arg-type]
    try:
        budget.hold(HOLDING, backlog_of(0.0))
        await until(lambda: bool(channel.sent))
        channel.slow = True
        channel.other(5_000.0)
        clock.now += 5.0  # read with the next one, then this replica reports: the send waits
        channel.other(5_000.0)
        await until(channel.waiting.is_set)
        assert budgets.rate == 98.0  # planned, not in effect yet
        clock.now += EFFECT_DELAY_SECONDS  # the other replica takes its larger share now
        await until(lambda: budgets.rate < 10.0, timeout=2.0)
    finally:
        channel.acknowledge.set()
        await budget.stop()


async def test_a_replica_whose_clock_runs_behind_the_brokers_lowers_its_share_in_time() -> None:
    """The broker stamps the reports; this pod's clock is a second behind the broker's.

    The other replica, its clock right, takes its larger share 0.3 s after the stamp. This one
    must have given up its own by then, or the two together exceed the budget.
    """
    broker = Clock()
    pod = Clock()
    pod.now = broker.now - 1.0
    budgets = ApiBudgets(0.0)
    channel = StandInChannel(broker)  # its own reports come back stamped by the broker too
    budget = SharedBudget(budgets, Metrics(), BUDGET, channel, group="g", clock=pod)  # type: ignore[arg-type]
    try:
        budget.hold(HOLDING, backlog_of(0.0))
        await until(lambda: bool(channel.sent))
        channel.other(5_000.0)
        for clock in (broker, pod):
            clock.now += 5.0
        channel.other(5_000.0)
        await until(channel.inbox.empty)
        for clock in (broker, pod):
            clock.now += EFFECT_DELAY_SECONDS + 0.1  # the other replica has switched
        await until(lambda: budgets.rate < 10.0, timeout=2.0)
    finally:
        await budget.stop()

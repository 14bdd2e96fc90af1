# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The consumer controller handing fetched batches to the engine around a rebalance."""

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.messaging.assignor import CopartitionedAssignor, Holding
from service.messaging.consumer_controller import ConsumerController
from service.messaging.shared_budget import SharedBudget
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine
from service.settings import PipelineSettings, Settings

from .fakes import FakeProvider, FakeSink
from .test_consumer_controller import TOPICS, StandInConsumer, both
from .test_engine import NOW, Feed, by_event

GROUPS = TopicPartition("groups", 0)
MESSAGES = TopicPartition("messages", 0)


class PositionedConsumer(StandInConsumer):
    """A stand-in whose fetch positions the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[TopicPartition, int] = {}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]


async def test_a_batch_fetched_before_the_current_assignment_is_left_to_its_fetch_again():
    """The partition came back; a batch fetched before is handed over late: nothing is lost."""
    consumer = PositionedConsumer()
    consumer.held = both(0)
    settings = Settings(topics=TOPICS, pipeline=PipelineSettings(drain_seconds=1))
    budgets = ApiBudgets(0.0)
    sink = FakeSink()
    engine = Engine(
        FakeProvider(),
        sink,
        policy=RetryPolicy(),
        rules=Rules(),
        max_in_flight_calls=4,
        metrics=Metrics(),
        budgets=budgets,
        clock=lambda: float(NOW),
    )
    assignor = CopartitionedAssignor()
    assignor.holding = Holding(1, frozenset({0}), 1)
    control = ConsumerController(
        consumer,
        assignor,
        engine,
        budgets,
        SharedBudget(budgets, Metrics(), settings.provider_calls_per_second, None),
        settings,
        Metrics(),
    )
    feed = Feed()
    group = feed.group("g1")
    messages = [feed.message("g1", n) for n in range(10)]
    await control.on_assigned(list(consumer.held))
    # The consumer starts again from the committed offsets: 2 of the messages were finished.
    consumer.positions = {GROUPS: 1, MESSAGES: 2}
    await control.on_batch([group, *messages[5:]])  # fetched before: past the position
    consumer.positions[MESSAGES] = 10
    await control.on_batch(messages[2:])  # the same records fetched again, from offset 2
    assert await engine.wait_idle(5)
    assert {"g:g1", *(f"m:g1:{n}" for n in range(2, 10))} == set(by_event(sink))
    assert {("groups", 0): 1, ("messages", 0): 10} == engine.committable()
    await control.stop()


class ResettingConsumer(StandInConsumer):
    """Like the real consumer: highwater asserts that the partition is assigned.

    A position being reset is waited for (here the first one, until the test lets it go).
    """

    def __init__(self) -> None:
        super().__init__()
        self.reset = asyncio.Event()
        self.waiting = asyncio.Event()
        self.ticks = 0

    def assignment(self) -> list[TopicPartition]:  # type: ignore[override]
        self.ticks += 1
        return sorted(self.held)

    def highwater(self, tp: TopicPartition) -> int | None:
        assert tp in self.held, "Partition is not assigned"  # as aiokafka does
        return None if tp.topic == "groups" else 10

    async def position(self, tp: TopicPartition) -> int:
        if not self.waiting.is_set():
            self.waiting.set()
            await self.reset.wait()
        if tp not in self.held:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return 0


async def test_a_rebalance_while_lag_is_read_leaves_the_flow_loop_running():
    """Partitions revoked while a lag read waits for a position: the loop goes on, alive."""
    consumer = ResettingConsumer()
    consumer.held = both(0, 1)
    settings = Settings(topics=TOPICS, pipeline=PipelineSettings(drain_seconds=1))
    budgets = ApiBudgets(0.0)
    engine = Engine(
        FakeProvider(),
        FakeSink(),
        policy=RetryPolicy(),
        rules=Rules(),
        max_in_flight_calls=4,
        metrics=Metrics(),
        budgets=budgets,
    )
    control = ConsumerController(
        consumer,
        CopartitionedAssignor(),
        engine,
        budgets,
        SharedBudget(budgets, Metrics(), settings.provider_calls_per_second, None),
        settings,
        Metrics(),
    )
    await control.on_assigned(list(consumer.held))
    await asyncio.wait_for(consumer.waiting.wait(), 5)  # the lag read waits on messages:0
    consumer.held = both(0)  # meanwhile partition 1 goes to another replica
    consumer.reset.set()
    ticks = consumer.ticks
    async with asyncio.timeout(5):
        while consumer.ticks < ticks + 3 and control.liveness()[0]:  # noqa: ASYNC110 - polled with a deadline
            await asyncio.sleep(0.01)
    assert (True, "ok") == control.liveness()
    await control.stop()

# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The consumer controller against a stand-in consumer: probes, rebalances, budget shares."""

import asyncio

from aiokafka import TopicPartition

from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.messaging.assignor import CopartitionedAssignor, Holding
from service.messaging.consumer_controller import ConsumerController
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine
from service.settings import PipelineSettings, Settings, TopicsSettings

from .fakes import FakeProvider, FakeSink

TOPICS = TopicsSettings(groups="groups", messages="messages")


class StandInConsumer:
    """The few consumer calls the controller makes, with an assignment set by the test."""

    def __init__(self, partitions: int = 4) -> None:
        self.held: set[TopicPartition] = set()
        self.partitions = partitions
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []
        self._closed = False

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None

    async def position(self, tp: TopicPartition) -> int:
        return 0

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def controller(consumer: StandInConsumer) -> tuple[ConsumerController, ApiBudgets]:
    settings = Settings(topics=TOPICS, pipeline=PipelineSettings(drain_seconds=1))
    budgets = ApiBudgets(settings.provider_calls_per_second)
    engine = Engine(
        FakeProvider(),
        FakeSink(),
        policy=RetryPolicy(),
        rules=Rules(),
        max_in_flight_calls=4,
        metrics=Metrics(),
        budgets=budgets,
    )
    assignor = CopartitionedAssignor()
    return ConsumerController(consumer, assignor, engine, budgets, settings, Metrics()), budgets


def both(*partitions: int) -> set[TopicPartition]:
    return {TopicPartition(t, p) for t in ("groups", "messages") for p in partitions}


class TestProbes:
    async def test_readiness_resets_while_partitions_are_revoked(self):
        """Ready when assigned, not ready between revocation and the next assignment (defect 9)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        consumer.held = both(0, 1)
        await control.on_assigned(list(consumer.held))
        assigned = control.readiness()
        await control.on_revoked(list(consumer.held))
        revoked = control.readiness()
        await control.on_assigned([])
        assert [True, False, True] == [assigned[0], revoked[0], control.readiness()[0]]
        assert "rebalancing" in revoked[1]
        await control.stop()

    async def test_liveness_fails_once_the_consumer_is_closed(self):
        """A consumer that died makes /healthz fail, so the pod is restarted (defect 9)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        alive = control.liveness()
        consumer._closed = True
        assert [True, False] == [alive[0], control.liveness()[0]]
        await control.stop()

    async def test_liveness_fails_once_the_flow_loop_stopped(self):
        """The loop that commits and pauses dying is a dead replica too."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        control._flow_task.cancel()
        await asyncio.gather(control._flow_task, return_exceptions=True)
        assert (False, "the flow-control loop stopped") == control.liveness()
        await control.stop()


class TestBudgetShare:
    async def test_the_share_follows_the_partitions_held_and_drops_when_none_are(self):
        """Half the partitions, half the budget; after revocation no old rate is kept (defect 5)."""
        consumer = StandInConsumer(partitions=4)
        control, budgets = controller(consumer)
        consumer.held = both(0, 1)
        control._assignor.holding = Holding(1, frozenset({0, 1}), 4)
        await control.on_assigned(list(consumer.held))
        half = budgets.rate
        revoked = list(consumer.held)
        consumer.held = set()
        await control.on_revoked(revoked)
        assert (98.0, 0.0) == (half, budgets.rate)
        await control.stop()


class TestStopping:
    async def test_a_stopping_replica_takes_no_partition_it_is_given(self):
        """Assigned while stopping, it pauses them and the engine reads none (defect 10)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        await control.stop()
        consumer.held = both(2)
        await control.on_assigned(list(consumer.held))
        assert (both(2), "shutting down") == (consumer.paused, control.readiness()[1])

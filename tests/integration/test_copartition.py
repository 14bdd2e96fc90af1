# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Real consumers in one group with the co-partitioned assignor, against the embedded broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from service.errors import CopartitioningError
from service.messaging.assignor import CopartitionedAssignor, ensure_copartitioned
from service.messaging.topics import ensure_topics
from service.settings import KafkaSettings, TopicsSettings

from .harness import wait_for

if TYPE_CHECKING:
    from service.embedded_broker import EmbeddedBroker

pytestmark = pytest.mark.kafka

PARTITIONS = 12
# Short enough that members notice a rebalance within a second.
GROUP_TIMINGS: dict[str, Any] = {"session_timeout_ms": 6_000, "heartbeat_interval_ms": 300}


@dataclass
class Member:
    """One consumer of the group and the assignor it joined with."""

    consumer: AIOKafkaConsumer
    assignor: CopartitionedAssignor

    def indices(self) -> dict[str, set[int]]:
        """Topic → partitions this consumer holds now."""
        held: dict[str, set[int]] = {}
        for tp in self.consumer.assignment():
            held.setdefault(tp.topic, set()).add(tp.partition)
        return held


def settings_for(bootstrap: str, run_id: str) -> tuple[KafkaSettings, TopicsSettings]:
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap,
        group_id=f"copartition-{run_id}",
        idempotent_producer=False,
        topic_partitions=PARTITIONS,
    )
    topics = TopicsSettings(
        groups=f"groups-{run_id}",
        messages=f"messages-{run_id}",
        outcomes=f"outcomes-{run_id}",
        dead_letter=f"dead-letter-{run_id}",
    )
    return kafka, topics


@asynccontextmanager
async def plain_member(kafka: KafkaSettings, topics: TopicsSettings) -> AsyncIterator[Member]:
    """An aiokafka consumer subscribed to both input topics with the assignor."""
    assignor = CopartitionedAssignor()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=kafka.group_id,
        enable_auto_commit=False,
        partition_assignment_strategy=(assignor,),
        **GROUP_TIMINGS,
    )
    consumer.subscribe([topics.groups, topics.messages])
    await consumer.start()
    try:
        yield Member(consumer, assignor)
    finally:
        await consumer.stop()  # leaves the group


@asynccontextmanager
async def faststream_member(kafka: KafkaSettings, topics: TopicsSettings) -> AsyncIterator[Member]:
    """The same through a FastStream subscriber, as the service builds its consumer."""
    assignor = CopartitionedAssignor()
    broker = KafkaBroker(kafka.bootstrap_servers, consumer_only=True)
    subscriber = broker.subscriber(
        topics.groups,
        topics.messages,
        group_id=kafka.group_id,
        batch=True,
        partition_assignment_strategy=(assignor,),
        **GROUP_TIMINGS,
    )

    subscriber(ignore)
    await broker.start()
    try:
        yield Member(subscriber.consumer, assignor)
    finally:
        await broker.stop()


async def ignore(body: Any) -> None:
    """The subscriber's handler: these tests look at assignments, nothing is produced."""
    del body


def copartitioned(members: list[Member], topics: TopicsSettings) -> bool:
    """One settled generation: every partition held once, by index, P/M each (within one)."""
    if len({m.assignor.holding.epoch if m.assignor.holding else None for m in members}) != 1:
        return False  # some member has not taken the newest assignment yet
    held = [m.indices() for m in members]
    names = (topics.groups, topics.messages)
    if any(set(h) - set(names) for h in held):
        return False
    by_member = [h.get(topics.groups, set()) for h in held]
    same_on_both = all(
        h.get(topics.messages, set()) == i for h, i in zip(held, by_member, strict=True)
    )
    every_once = sorted(p for indices in by_member for p in indices) == list(range(PARTITIONS))
    low, high = PARTITIONS // len(members), -(-PARTITIONS // len(members))
    balanced = all(low <= len(indices) <= high for indices in by_member)
    return same_on_both and every_once and balanced


async def settle(members: list[Member], topics: TopicsSettings) -> dict[int, set[int]]:
    """Wait until the group's assignment is co-partitioned; member position → indices."""

    async def check() -> bool:
        return copartitioned(members, topics)

    await wait_for(check, timeout=60, interval=0.1)
    return {n: m.indices().get(topics.groups, set()) for n, m in enumerate(members)}


class TestCopartitionedGroup:
    @pytest.mark.slow
    async def test_three_consumers_hold_both_topics_by_index_and_two_after_one_leaves(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ):
        """Three members on two 12-partition topics hold 4 indices each; one leaves, 6 each.

        The two that stay keep the indices they had (sticky). One member is a FastStream
        subscriber: the strategy given to ``broker.subscriber`` reaches its consumer.
        """
        kafka, topics = settings_for(kafka_broker.bootstrap_servers, run_id)
        await ensure_topics(kafka, topics)
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(plain_member(kafka, topics))
            second = await stack.enter_async_context(faststream_member(kafka, topics))
            async with plain_member(kafka, topics) as third:
                before = await settle([first, second, third], topics)
            after = await settle([first, second], topics)
            holdings = {
                m.assignor.holding.index_count for m in (first, second) if m.assignor.holding
            }
        assert ([4, 4, 4], [6, 6], True, True, {PARTITIONS}) == (
            [len(indices) for indices in before.values()],
            [len(indices) for indices in after.values()],
            before[0] <= after[0],
            before[1] <= after[1],
            holdings,
        )


class TestEnsureCopartitioned:
    async def test_topics_of_the_same_count_give_that_count(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ):
        """Both input topics created with 12 partitions: the check passes and returns 12."""
        kafka, topics = settings_for(kafka_broker.bootstrap_servers, run_id)
        await ensure_topics(kafka, topics)
        assert PARTITIONS == await ensure_copartitioned(kafka, topics)

    async def test_topics_of_different_counts_refuse_to_start(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ):
        """Groups with 12 partitions and messages with 8: the error names both counts."""
        kafka, topics = settings_for(kafka_broker.bootstrap_servers, run_id)
        await create({topics.groups: 12, topics.messages: 8}, kafka.bootstrap_servers)
        with pytest.raises(CopartitioningError) as raised:
            await ensure_copartitioned(kafka, topics)
        message = str(raised.value)
        assert (True, True) == (
            f"{topics.groups} has 12" in message,
            f"{topics.messages} has 8" in message,
        )

    async def test_a_missing_topic_refuses_to_start_at_the_deadline(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ):
        """Only the groups topic exists: after the wait the messages topic is named as missing."""
        kafka, topics = settings_for(kafka_broker.bootstrap_servers, run_id)
        await create({topics.groups: 12}, kafka.bootstrap_servers)
        with pytest.raises(CopartitioningError, match=f"{topics.messages} has 0 \\(missing\\)"):
            await ensure_copartitioned(kafka, topics, timeout=0.5)


async def create(counts: Mapping[str, int], bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in counts.items()]
        )
    finally:
        await admin.close()

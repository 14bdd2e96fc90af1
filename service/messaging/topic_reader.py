# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Reading a whole topic from its start to its current end (reports, verification, tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from service.messaging.kafka_clients import security_options
from service.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """One record of a topic as read back."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


async def read_topic(  # noqa: C901 - paging with per-partition ends
    kafka: KafkaSettings | str, topic: str, *, timeout_ms: int = 1_000
) -> AsyncIterator[TopicRecord]:
    """Yield every record of ``topic`` present when the call starts, partition by partition.

    ``kafka`` is the cluster's settings (its security included), or the bootstrap address of a
    plaintext cluster (the embedded broker of tests and the benchmark).
    """
    if isinstance(kafka, str):
        kafka = KafkaSettings(bootstrap_servers=kafka)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        **security_options(kafka),
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer.client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # End offsets come from fetch responses (the high watermark): some Kafka-compatible
        # brokers answer ListOffsets(latest) with a stale value.
        ends: dict[TopicPartition, int] = {}
        remaining = set(tps)
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=timeout_ms)
            for tp in list(remaining):
                high = consumer.highwater(tp)
                if high is not None:
                    ends.setdefault(tp, high)
            for tp, records in batch.items():
                for raw in records:
                    if raw.offset >= ends.get(tp, raw.offset + 1):
                        continue
                    yield TopicRecord(
                        partition=raw.partition,
                        offset=raw.offset,
                        key=raw.key,
                        value=raw.value,
                        headers=tuple((k, bytes(v or b"")) for k, v in (raw.headers or ())),
                        timestamp_ms=raw.timestamp,
                    )
            for tp in list(remaining):
                if tp in ends and await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
